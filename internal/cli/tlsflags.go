package cli

import (
	"fmt"
	"os"
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
	hosts, err := pki.NormalizeHosts(f.Hosts)
	if err != nil {
		return req, err
	}
	if req.Hosts, err = pki.ParseHosts(hosts); err != nil {
		return req, err
	}
	if req.KeyAlgorithm, err = pki.ParseKeyAlgorithm(f.KeyAlgorithm); err != nil {
		return req, err
	}
	req.Supplied, req.Password, err = f.Sources().Load()
	return req, err
}

// Sources names the supplied files and the password source.
func (f *TLSFlags) Sources() generate.Sources {
	// As model.Sources does for generate's values; built here so that certs links no manifest code.
	return generate.Sources{
		CertFile: f.CertFile, KeyFile: f.KeyFile, CAFile: f.CAFile, PKCS12File: f.PKCS12File,
		KeyPasswordFile: f.KeyPasswordFile, StorePasswordFile: f.StorePasswordFile,
		StorePassword: os.Getenv(StorePasswordEnv), Minting: f.CADir != "" || f.Force,
	}
}
