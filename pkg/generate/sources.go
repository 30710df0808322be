package generate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// Sources names the files a user supplies, by the flags that name them.
type Sources struct {
	CertFile, KeyFile, CAFile, PKCS12File, KeyPasswordFile, StorePasswordFile string
	// StorePassword comes from the environment; StorePasswordFile wins over it.
	StorePassword string
	// Minting says whether the CA flags (--ca-dir, --force) are in use, which supplied material excludes.
	Minting bool
}

// Load reads the supplied material and the store password. It returns a nil Supplied when the user
// supplies no certificate.
func (s Sources) Load() (*Supplied, string, error) {
	password := s.StorePassword
	if s.StorePasswordFile != "" {
		var err error
		if password, err = ReadSecretFile("--store-password-file", s.StorePasswordFile); err != nil {
			return nil, "", err
		}
	}
	supplied, err := s.supplied()
	return supplied, password, err
}

func (s Sources) supplied() (*Supplied, error) {
	switch {
	case s.CertFile == "" && s.KeyFile == "" && s.PKCS12File == "":
		if s.CAFile != "" {
			return nil, errors.New("--ca needs --cert and --key, or --pkcs12 (to reuse a CA with its key, use --ca-dir)")
		}
		return nil, nil
	case s.PKCS12File != "" && (s.CertFile != "" || s.KeyFile != ""):
		return nil, errors.New("--pkcs12 can't be combined with --cert or --key (pass one or the other)")
	case s.PKCS12File == "" && (s.CertFile == "" || s.KeyFile == ""):
		return nil, errors.New("--cert and --key go together (pass both, or --pkcs12)")
	case s.Minting:
		return nil, errors.New("--ca-dir and --force apply to minted certificates, not to --cert/--key/--pkcs12")
	}
	supplied := &Supplied{CertSource: s.CertFile, KeySource: s.KeyFile, CASource: s.CAFile, CertFlag: "--cert"}
	var err error
	if s.KeyPasswordFile != "" {
		password, err := ReadSecretFile("--key-password-file", s.KeyPasswordFile)
		if err != nil {
			return nil, err
		}
		supplied.KeyPassword = []byte(password)
	}
	if s.PKCS12File != "" {
		supplied.CertSource, supplied.CertFlag = s.PKCS12File, "--pkcs12"
		if supplied.PKCS12, err = ReadInput("--pkcs12", s.PKCS12File); err != nil {
			return nil, err
		}
	} else {
		if supplied.CertPEM, err = ReadInput("--cert", s.CertFile); err != nil {
			return nil, err
		}
		if supplied.KeyPEM, err = ReadInput("--key", s.KeyFile); err != nil {
			return nil, err
		}
	}
	if s.CAFile != "" {
		if supplied.CAPEM, err = ReadInput("--ca", s.CAFile); err != nil {
			return nil, err
		}
	}
	return supplied, nil
}

// ReadInput reads a file named by a flag, with an error that names both.
func ReadInput(flag, path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot read the file: %v", flag, path, fileset.Cause(err))
	}
	defer file.Close()
	if info, err := file.Stat(); err == nil && info.IsDir() {
		return nil, fmt.Errorf("%s %s is a folder: pass a file", flag, path)
	}
	// Bounded: a device or a huge file must not take the machine's memory.
	data, err := io.ReadAll(io.LimitReader(file, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: cannot read the file: %v", flag, path, fileset.Cause(err))
	}
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%s %s is over %d MiB: pass the file it names (certificates, keys, manifests are far smaller)", flag, path, MaxInputSize>>20)
	}
	return data, nil
}

// MaxInputSize bounds every file a flag names.
const MaxInputSize = 16 << 20

// ReadSecretFile reads a password file, dropping the line ending editors and `echo` add.
func ReadSecretFile(flag, path string) (string, error) {
	data, err := ReadInput(flag, path)
	if err != nil {
		return "", err
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", fmt.Errorf("%s %s is empty: put the password on its first line", flag, path)
	}
	return password, nil
}
