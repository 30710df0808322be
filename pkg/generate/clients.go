package generate

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// ClientsDir holds the client certificates `certs --client` issues, beside the CA that signs them.
const ClientsDir = "clients"

// ClientRequest asks for client certificates (mutual TLS with Kestra's API): each NAME gets NAME.pem (the
// certificate and the CA), NAME.key, and NAME.p12 for browsers and `curl --cert-type P12`, with its
// password in NAME.p12-password (given, or generated once and kept).
type ClientRequest struct {
	// Dir receives clients/; the CA is read from CADir (ca.pem, ca.key) unless CACertFile and CAKeyFile
	// name one (a corporate CA, --client-ca and --client-ca-key).
	Dir, CADir            string
	CACertFile, CAKeyFile string
	Names                 []string
	Days                  int
	KeyAlgorithm          pki.KeyAlgorithm
	Password              string
	Now                   time.Time
}

// ClientBundle is what ClientRequest plans: files, and the names left as they were.
type ClientBundle struct {
	CA        pki.Pair
	Files     []fileset.File
	Issued    []string
	Unchanged []string
}

// PlanClients issues the client certificates that are missing, expire within a third of their life, or
// come from another CA; a name whose certificate is still good is left as it is (re-running is safe).
func PlanClients(req ClientRequest) (*ClientBundle, error) {
	ca, err := req.ca()
	if err != nil {
		return nil, err
	}
	b := &ClientBundle{CA: ca}
	for _, name := range req.Names {
		if err := ValidClientName(name); err != nil {
			return nil, err
		}
		if req.reusable(ca, name) {
			b.Unchanged = append(b.Unchanged, name)
			continue
		}
		key, err := req.KeyAlgorithm.GenerateKey()
		if err != nil {
			return nil, err
		}
		cert, err := pki.IssueClient(ca, pki.ClientRequest{Name: name, Days: req.Days, Key: key, Now: req.Now})
		if err != nil {
			return nil, err
		}
		keyPEM, err := pki.EncodePrivateKey(key)
		if err != nil {
			return nil, err
		}
		password, err := req.password(name)
		if err != nil {
			return nil, err
		}
		p12, err := keystore.PKCS12(key, []*x509.Certificate{cert, ca.Cert}, password)
		if err != nil {
			return nil, err
		}
		base := ClientsDir + "/" + name
		b.Files = append(b.Files,
			fileset.File{Name: base + ".pem", Data: pki.EncodeCertificates(cert, ca.Cert), Mode: fileset.Public},
			fileset.File{Name: base + ".key", Data: keyPEM, Mode: fileset.Private},
			fileset.File{Name: base + ".p12", Data: p12, Mode: fileset.Private},
			fileset.File{Name: base + ".p12-password", Data: []byte(password), Mode: fileset.Private})
		b.Issued = append(b.Issued, name)
	}
	return b, nil
}

func (req ClientRequest) ca() (pki.Pair, error) {
	if req.CACertFile != "" || req.CAKeyFile != "" {
		if req.CACertFile == "" || req.CAKeyFile == "" {
			return pki.Pair{}, fmt.Errorf("--client-ca and --client-ca-key go together: the CA's certificate and its key")
		}
		return loadClientCA(req.CACertFile, req.CAKeyFile, req.Now)
	}
	ca, found, err := loadCA(req.CADir, req.Now)
	if err != nil {
		return pki.Pair{}, err
	}
	if !found {
		return pki.Pair{}, fmt.Errorf("no CA in %s to sign client certificates with: run `kubectl kestra-tls certs --host NAME -o %s` (or generate) first, pass --ca-dir, or give a corporate CA with --client-ca and --client-ca-key", req.CADir, req.Dir)
	}
	return ca, nil
}

// reusable tells whether name's certificate in Dir is from ca, with its key and store, and not due.
func (req ClientRequest) reusable(ca pki.Pair, name string) bool {
	base := filepath.Join(req.Dir, ClientsDir, name)
	certPEM, err := os.ReadFile(base + ".pem")
	if err != nil {
		return false
	}
	certs, err := pki.ParseCertificates(certPEM)
	if err != nil || certs[0].CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	keyPEM, err := os.ReadFile(base + ".key")
	if err != nil {
		return false
	}
	key, err := pki.ParsePrivateKey(keyPEM, nil)
	if err != nil || !pki.KeyMatches(key, certs[0].PublicKey) {
		return false
	}
	if _, err := os.Stat(base + ".p12"); err != nil {
		return false
	}
	life := certs[0].NotAfter.Sub(certs[0].NotBefore)
	return req.Now.Before(certs[0].NotAfter.Add(-life / 3))
}

// password is the PKCS#12 password: given, else the one kept beside the store, else a new random one.
func (req ClientRequest) password(name string) (string, error) {
	if req.Password != "" {
		return req.Password, nil
	}
	existing, err := os.ReadFile(filepath.Join(req.Dir, ClientsDir, name+".p12-password"))
	switch {
	case err == nil && len(existing) >= minPasswordLength:
		return string(existing), nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	random := make([]byte, randomPasswordSize)
	if _, err := rand.Read(random); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(random), nil
}

// ValidClientName keeps a name to what makes a file name and a certificate's common name.
func ValidClientName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("--client %q: give a name of 1 to 64 letters, digits, dots, dashes or underscores (it becomes the certificate's common name and clients/NAME.pem)", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') || name[0] == '.' {
			return fmt.Errorf("--client %q: give a name of 1 to 64 letters, digits, dots, dashes or underscores (it becomes the certificate's common name and clients/NAME.pem)", name)
		}
	}
	return nil
}

// loadClientCA reads a CA of the user's (--client-ca, --client-ca-key) and checks that it can sign.
func loadClientCA(certFile, keyFile string, now time.Time) (pki.Pair, error) {
	certPEM, err := ReadInput("--client-ca", certFile)
	if err != nil {
		return pki.Pair{}, err
	}
	keyPEM, err := ReadInput("--client-ca-key", keyFile)
	if err != nil {
		return pki.Pair{}, err
	}
	certs, err := pki.ParseCertificates(certPEM)
	if err != nil {
		return pki.Pair{}, fmt.Errorf("--client-ca %s: %v", certFile, err)
	}
	key, err := pki.ParsePrivateKey(keyPEM, nil)
	if err != nil {
		return pki.Pair{}, fmt.Errorf("--client-ca-key %s: %v", keyFile, err)
	}
	ca := pki.Pair{Cert: certs[0], Key: key}
	switch {
	case !ca.Cert.IsCA:
		return pki.Pair{}, fmt.Errorf("--client-ca %s: %q is not a CA certificate: give the CA that signs your clients' certificates", certFile, ca.Cert.Subject.CommonName)
	case !pki.KeyMatches(key, ca.Cert.PublicKey):
		return pki.Pair{}, fmt.Errorf("--client-ca-key %s is not the key of --client-ca %s: give the matching pair", keyFile, certFile)
	case now.After(ca.Cert.NotAfter):
		return pki.Pair{}, fmt.Errorf("--client-ca %s expired on %s", certFile, ca.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return ca, nil
}
