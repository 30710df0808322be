package generate

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// A CA rotation keeps the next CA beside the current one until it is finished.
const (
	NextCACertFile = "ca-next.pem"
	NextCAKeyFile  = "ca-next.key"
	// NextCAAlias names the next CA in the truststores.
	NextCAAlias = "ca-next"

	// RotationTrust: stores trust the current and the next CA; the server certificate is still the current CA's.
	RotationTrust = "trust"
	// RotationIssue: the server certificate is the next CA's; stores still trust both.
	RotationIssue = "issue"
)

// Trusted are the CAs the truststores hold: ours, and the next one during a rotation.
func (b *Bundle) Trusted() []keystore.TrustedEntry {
	if len(b.ClientCAs) > 0 {
		// --client-ca: the clients' CA alone, so that a certificate of ours (or any other) is refused.
		entries := make([]keystore.TrustedEntry, len(b.ClientCAs))
		for i, ca := range b.ClientCAs {
			entries[i] = keystore.TrustedEntry{Alias: fmt.Sprintf("client-ca-%d", i+1), Cert: ca}
		}
		return entries
	}
	entries := []keystore.TrustedEntry{{Alias: TruststoreCAAlias, Cert: b.CA}}
	if b.NextCA != nil {
		entries = append(entries, keystore.TrustedEntry{Alias: NextCAAlias, Cert: b.NextCA})
	}
	return entries
}

// TrustedCerts are our CAs (the current one, and the next during a rotation): what clients of Kestra and
// Kestra's own tasks trust, whatever the truststore holds for client authentication.
func (b *Bundle) TrustedCerts() []*x509.Certificate {
	certs := []*x509.Certificate{b.CA}
	if b.NextCA != nil {
		certs = append(certs, b.NextCA)
	}
	return certs
}

// planNextCA reuses the next CA of a rotation under way, or mints it: a rotation started once keeps its
// CA across re-runs, so every step can be repeated.
func (b *Bundle) planNextCA(req Request, dir string) (pki.Pair, error) {
	if req.CADir != "" {
		return pki.Pair{}, fmt.Errorf("rotate-ca rotates the CA kept in the overlay's certs/; this overlay shares --ca-dir %s with others, which would all have to move at once: rotate that folder's CA by hand, or give this overlay its own CA", req.CADir)
	}
	next, found, err := loadCAFrom(dir, NextCACertFile, NextCAKeyFile, req.Now)
	if err != nil {
		return pki.Pair{}, err
	}
	if !found {
		key, err := req.KeyAlgorithm.GenerateKey()
		if err != nil {
			return pki.Pair{}, fmt.Errorf("generating the next CA's key: %w", err)
		}
		next, err = pki.NewCA(pki.CARequest{CommonName: rotatedName(req.CACommonName, req.Now), Days: pki.DefaultCADays, Key: key, Now: req.Now})
		if err != nil {
			return pki.Pair{}, err
		}
	}
	keyPEM, err := pki.EncodePrivateKey(next.Key)
	if err != nil {
		return pki.Pair{}, err
	}
	b.Files = append(b.Files,
		fileset.File{Name: NextCACertFile, Data: pki.EncodeCertificates(next.Cert), Mode: fileset.Public},
		fileset.File{Name: NextCAKeyFile, Data: keyPEM, Mode: fileset.Private})
	b.NextCA = next.Cert
	return next, nil
}

// rotatedName tells the next CA apart from the current one in truststores and in status.
func rotatedName(commonName string, now time.Time) string {
	base, _, _ := strings.Cut(commonName, " (rotated ")
	return fmt.Sprintf("%s (rotated %s)", base, now.UTC().Format("2006-01-02 15:04"))
}

// FinishRotation makes the next CA the CA in dir and drops the old one; it reports whether there was a
// next CA to promote. The CA files are replaced through one journalled write, then the next CA's files
// go: a run killed in between leaves ca-next equal to ca, which the next call removes.
func FinishRotation(dir string, now time.Time) (bool, error) {
	next, found, err := loadCAFrom(dir, NextCACertFile, NextCAKeyFile, now)
	if err != nil || !found {
		return false, err
	}
	files, err := caFiles(next)
	if err != nil {
		return false, err
	}
	if _, err := fileset.Write(dir, 0o700, files); err != nil {
		return false, err
	}
	for _, name := range []string{NextCACertFile, NextCAKeyFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, err
		}
	}
	return true, nil
}
