package keystore

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

type chain struct {
	ca     pki.Pair
	server pki.Pair
}

func newChain(t *testing.T, algorithm pki.KeyAlgorithm) chain {
	t.Helper()
	now := time.Now()
	caKey, err := algorithm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA(pki.CARequest{CommonName: pki.DefaultCACommonName, Days: 30, Key: caKey, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := algorithm.GenerateKey()
	hosts, _ := pki.ParseHosts([]string{"kestra.example.com"})
	leaf, err := pki.IssueServer(ca, pki.ServerRequest{Hosts: hosts, Days: 30, Key: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return chain{ca: ca, server: pki.Pair{Cert: leaf, Key: key}}
}

func TestPKCS12RoundTripsKeyAndChain(t *testing.T) {
	for _, algorithm := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.RSA2048} {
		t.Run(string(algorithm), func(t *testing.T) {
			c := newChain(t, algorithm)
			full := []*x509.Certificate{c.server.Cert, c.ca.Cert}
			data, err := PKCS12(c.server.Key, full, "s3cret-pass")
			if err != nil {
				t.Fatal(err)
			}
			key, leaf, rest, err := pkcs12.DecodeChain(data, "s3cret-pass")
			if err != nil {
				t.Fatal(err)
			}
			if !pki.KeyMatches(c.server.Key, leaf.PublicKey) || !leaf.Equal(c.server.Cert) || len(rest) != 1 || !rest[0].Equal(c.ca.Cert) {
				t.Errorf("decoded key %T, leaf %q, chain %d certs", key, leaf.Subject.CommonName, len(rest))
			}
			if !PKCS12Holds(data, "s3cret-pass", c.server.Key, full) {
				t.Error("PKCS12Holds = false for the store just written")
			}
			if PKCS12Holds(data, "other-pass", c.server.Key, full) {
				t.Error("PKCS12Holds = true under the wrong password")
			}
			other := newChain(t, algorithm)
			if PKCS12Holds(data, "s3cret-pass", other.server.Key, full) {
				t.Error("PKCS12Holds = true for another key")
			}
			if _, _, _, err := pkcs12.DecodeChain(data, "wrong"); err == nil {
				t.Error("decoded with a wrong password")
			}
		})
	}
}

func TestJKSTruststoreLoadsAndIsDeterministic(t *testing.T) {
	c := newChain(t, pki.ECDSAP256)
	entries := []TrustedEntry{{Alias: "ca", Cert: c.ca.Cert}}
	first, err := JKS(entries, "s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := JKS(entries, "s3cret-pass")
	if !bytes.Equal(first, second) {
		t.Error("the same entries gave different JKS bytes: a re-run would roll pods for nothing")
	}
	store := jks.New()
	if err := store.Load(bytes.NewReader(first), []byte("s3cret-pass")); err != nil {
		t.Fatal(err)
	}
	entry, err := store.GetTrustedCertificateEntry("ca")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(entry.Certificate.Content, c.ca.Cert.Raw) {
		t.Error("the trusted entry is not the CA")
	}
	if err := jks.New().Load(bytes.NewReader(first), []byte("wrong-pass")); err == nil {
		t.Error("JKS loaded with a wrong password")
	}
}

func TestPKCS12TruststoreRoundTrips(t *testing.T) {
	c := newChain(t, pki.ECDSAP256)
	entries := []TrustedEntry{{Alias: "ca", Cert: c.ca.Cert}}
	data, err := PKCS12Truststore(entries, "s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pkcs12.DecodeTrustStore(data, "s3cret-pass")
	if err != nil || len(certs) != 1 || !certs[0].Equal(c.ca.Cert) {
		t.Fatalf("DecodeTrustStore = %d certs, %v", len(certs), err)
	}
	if !PKCS12TruststoreHolds(data, "s3cret-pass", entries) || PKCS12TruststoreHolds(data, "s3cret-pass", nil) {
		t.Error("PKCS12TruststoreHolds does not tell the content apart")
	}
}
