package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// StorePasswordEnv supplies the store password when --store-password-file is not given.
const StorePasswordEnv = "KESTRA_TLS_STORE_PASSWORD"

// TLSFlags are the certificate flags shared by certs, generate and apply.
type TLSFlags struct {
	Hosts             []string
	KeyAlgorithm      string
	Days              int
	CACommonName      string
	CADir             string
	Force             bool
	StorePasswordFile string
	CertFile          string
	KeyFile           string
	CAFile            string
	PKCS12File        string
	KeyPasswordFile   string
}

// NewTLSFlags returns the defaults.
func NewTLSFlags() *TLSFlags {
	return &TLSFlags{KeyAlgorithm: string(pki.ECDSAP256), Days: pki.DefaultServerDays, CACommonName: pki.DefaultCACommonName}
}

// AddFlags registers the flags on cmd.
func (f *TLSFlags) AddFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVar(&f.Hosts, "host", f.Hosts, "DNS name, wildcard (*.example.com) or IP address the server answers to; repeat for more. The first is the common name")
	fs.StringVar(&f.KeyAlgorithm, "key-algorithm", f.KeyAlgorithm, "key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096")
	fs.IntVar(&f.Days, "days", f.Days, fmt.Sprintf("server certificate lifetime in days (at most %d)", pki.MaxServerDays))
	fs.StringVar(&f.CACommonName, "ca-common-name", f.CACommonName, "common name of a newly minted CA")
	fs.StringVar(&f.CADir, "ca-dir", f.CADir, "folder holding a CA to reuse across outputs (created with a new CA when empty)")
	fs.BoolVar(&f.Force, "force", f.Force, "replace an existing CA and server certificate instead of reusing them")
	fs.StringVar(&f.StorePasswordFile, "store-password-file", f.StorePasswordFile, "file holding the keystore password (default: $"+StorePasswordEnv+", the existing one, or a random one)")
	fs.StringVar(&f.CertFile, "cert", f.CertFile, "PEM server certificate (and chain) to use instead of minting one")
	fs.StringVar(&f.KeyFile, "key", f.KeyFile, "PEM private key of --cert, plain or encrypted PKCS#8")
	fs.StringVar(&f.CAFile, "ca", f.CAFile, "PEM certificate of the CA that signed --cert or --pkcs12")
	fs.StringVar(&f.PKCS12File, "pkcs12", f.PKCS12File, "PKCS#12 file with the server key and certificate, instead of --cert and --key")
	fs.StringVar(&f.KeyPasswordFile, "key-password-file", f.KeyPasswordFile, "file holding the password of an encrypted --key or of --pkcs12")
	for _, name := range []string{"cert", "key", "ca", "pkcs12", "key-password-file", "store-password-file"} {
		_ = cmd.MarkFlagFilename(name)
	}
	_ = cmd.MarkFlagDirname("ca-dir")
	_ = cmd.RegisterFlagCompletionFunc("key-algorithm", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		names := make([]string, len(pki.KeyAlgorithms))
		for i, a := range pki.KeyAlgorithms {
			names[i] = string(a)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// Request turns the flags into a material request for dir, reading the files they name.
func (f *TLSFlags) Request(dir string) (generate.Request, error) {
	req := generate.Request{Dir: dir, CADir: f.CADir, Days: f.Days, CACommonName: f.CACommonName, Force: f.Force, Now: time.Now()}
	var err error
	if req.Hosts, err = pki.ParseHosts(f.Hosts); err != nil {
		return req, err
	}
	if req.KeyAlgorithm, err = pki.ParseKeyAlgorithm(f.KeyAlgorithm); err != nil {
		return req, err
	}
	if req.Password, err = f.storePassword(); err != nil {
		return req, err
	}
	req.Supplied, err = f.supplied()
	return req, err
}

func (f *TLSFlags) storePassword() (string, error) {
	if f.StorePasswordFile != "" {
		return readSecretFile("--store-password-file", f.StorePasswordFile)
	}
	return os.Getenv(StorePasswordEnv), nil
}

func (f *TLSFlags) supplied() (*generate.Supplied, error) {
	switch {
	case f.CertFile == "" && f.KeyFile == "" && f.PKCS12File == "":
		if f.CAFile != "" {
			return nil, fmt.Errorf("--ca needs --cert and --key, or --pkcs12 (to reuse a CA with its key, use --ca-dir)")
		}
		return nil, nil
	case f.PKCS12File != "" && (f.CertFile != "" || f.KeyFile != ""):
		return nil, fmt.Errorf("--pkcs12 can't be combined with --cert or --key (pass one or the other)")
	case f.PKCS12File == "" && (f.CertFile == "" || f.KeyFile == ""):
		return nil, fmt.Errorf("--cert and --key go together (pass both, or --pkcs12)")
	case f.CADir != "" || f.Force:
		return nil, fmt.Errorf("--ca-dir and --force apply to minted certificates, not to --cert/--key/--pkcs12")
	}
	s := &generate.Supplied{CertSource: f.CertFile, KeySource: f.KeyFile, CASource: f.CAFile}
	var err error
	if f.KeyPasswordFile != "" {
		password, err := readSecretFile("--key-password-file", f.KeyPasswordFile)
		if err != nil {
			return nil, err
		}
		s.KeyPassword = []byte(password)
	}
	if f.PKCS12File != "" {
		s.CertSource = f.PKCS12File
		if s.PKCS12, err = readInput("--pkcs12", f.PKCS12File); err != nil {
			return nil, err
		}
	} else {
		if s.CertPEM, err = readInput("--cert", f.CertFile); err != nil {
			return nil, err
		}
		if s.KeyPEM, err = readInput("--key", f.KeyFile); err != nil {
			return nil, err
		}
	}
	if f.CAFile != "" {
		if s.CAPEM, err = readInput("--ca", f.CAFile); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func readInput(flag, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot read the file: %v", flag, path, unwrapPathError(err))
	}
	return data, nil
}

// readSecretFile reads a password file, dropping the line ending editors and `echo` add.
func readSecretFile(flag, path string) (string, error) {
	data, err := readInput(flag, path)
	if err != nil {
		return "", err
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", fmt.Errorf("%s %s is empty: put the password on its first line", flag, path)
	}
	return password, nil
}
