package apply

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

func TestKeystoreToCheck(t *testing.T) {
	for name, tc := range map[string]struct {
		spec, format, secret string
	}{
		"a Certificate without keystores has nothing to check": {spec: "", format: ""},
		"Kestra's keystore.p12 is checked before keystore.jks": {
			spec:   "keystores: {jks: {create: true, passwordSecretRef: {name: j, key: password}}, pkcs12: {create: true, passwordSecretRef: {name: kestra-store-password, key: password}}}",
			format: "pkcs12", secret: "kestra-store-password",
		},
		"a keystore cert-manager is not asked to create is not checked": {
			spec:   "keystores: {pkcs12: {create: false, passwordSecretRef: {name: p, key: password}}, jks: {create: true, passwordSecretRef: {name: j, key: password}}}",
			format: "jks", secret: "j",
		},
		"a keystore without a password Secret is not checked": {
			spec: "keystores: {pkcs12: {create: true, password: {}}}", format: "",
		},
	} {
		t.Run(name, func(t *testing.T) {
			certificate := object(t, "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: kestra-ssl}\nspec: {secretName: kestra-ssl, "+tc.spec+"}\n")
			format, ref := keystoreToCheck(certificate)
			if format != tc.format || ref.name != tc.secret {
				t.Errorf("keystoreToCheck = %q %+v, want %q with Secret %q", format, ref, tc.format, tc.secret)
			}
		})
	}
}

func TestOpensWith(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA(pki.CARequest{CommonName: "keystores test", Days: 1, Key: key, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := keystore.PKCS12(ca.Key, []*x509.Certificate{ca.Cert}, "before")
	if err != nil {
		t.Fatal(err)
	}
	jks, err := keystore.JKS([]keystore.TrustedEntry{{Alias: "ca", Cert: ca.Cert}}, "before")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		format   string
		stores   map[string][]byte
		password string
		opens    bool
	}{
		"a PKCS#12 keystore opens with the password it was written with":  {"pkcs12", map[string][]byte{"keystore.p12": p12}, "before", true},
		"a PKCS#12 keystore written before the password changed is stale": {"pkcs12", map[string][]byte{"keystore.p12": p12}, "after", false},
		"a JKS keystore written before the password changed is stale":     {"jks", map[string][]byte{"keystore.jks": jks}, "after", false},
		"a JKS keystore opens with the password it was written with":      {"jks", map[string][]byte{"keystore.jks": jks}, "before", true},
		"a keystore not written yet is cert-manager's to write":           {"pkcs12", map[string][]byte{"tls.crt": nil}, "after", true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := opensWith(tc.format, tc.stores, []byte(tc.password)); got != tc.opens {
				t.Errorf("opensWith = %v, want %v", got, tc.opens)
			}
		})
	}
}
