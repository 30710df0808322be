package overlays

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

func TestCertManagerIssuesWithTheKeyTypeOfOurOwnCertificates(t *testing.T) {
	for keyAlgorithm, want := range map[string]map[string]string{
		"ecdsa-p256": {"cert-manager.io/issuer": "kestra-tls-ca", "cert-manager.io/private-key-algorithm": "ECDSA", "cert-manager.io/private-key-size": "256"},
		"ecdsa-p384": {"cert-manager.io/issuer": "kestra-tls-ca", "cert-manager.io/private-key-algorithm": "ECDSA", "cert-manager.io/private-key-size": "384"},
		"rsa-3072":   {"cert-manager.io/issuer": "kestra-tls-ca", "cert-manager.io/private-key-algorithm": "RSA", "cert-manager.io/private-key-size": "3072"},
		"RSA-4096":   {"cert-manager.io/issuer": "kestra-tls-ca", "cert-manager.io/private-key-algorithm": "RSA", "cert-manager.io/private-key-size": "4096"},
	} {
		t.Run(keyAlgorithm, func(t *testing.T) {
			v := values.Values{}
			v.Issuer.CertManager = true
			v.CertManager.CAIssuerName = "kestra-tls-ca"
			v.Certificates.KeyAlgorithm = keyAlgorithm
			if diff := cmp.Diff(want, issuerAnnotations(v)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := issuerAnnotations(values.Values{}); len(got) != 0 {
		t.Errorf("without cert-manager: %v", got)
	}
}
