package cli

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// TestTheClusterKeyCannotSignOtherNames takes the key that `--self-signed` gives cert-manager (the issuer's)
// and signs with it as an attacker who can create Certificates would: a leaf for bank.example.org is
// rejected by openssl verify, by Go and by the JVM, all trusting only our root, as a browser that imported
// ca.pem does; leaves for the hosts and their subdomains pass.
func TestTheClusterKeyCannotSignOtherNames(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	certs := filepath.Join(out, "certs")
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(certs, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	chain, err := pki.ParseCertificates(read("issuer.pem"))
	if err != nil || len(chain) != 2 {
		t.Fatalf("issuer.pem: %v (%d certificates, want the issuer and the root)", err, len(chain))
	}
	issuerKey, err := pki.ParsePrivateKey(read("issuer.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer, root := pki.Pair{Cert: chain[0], Key: issuerKey}, chain[1]
	if !issuer.Cert.PermittedDNSDomainsCritical || strings.Join(issuer.Cert.PermittedDNSDomains, ",") != "kestra.example.com" {
		t.Fatalf("issuer constraints: critical %v, permitted %v", issuer.Cert.PermittedDNSDomainsCritical, issuer.Cert.PermittedDNSDomains)
	}
	issuerOnly := filepath.Join(t.TempDir(), "issuer-only.pem")
	os.WriteFile(issuerOnly, pki.EncodeCertificates(issuer.Cert), 0o644)
	caFile := filepath.Join(certs, "ca.pem")
	openssl := testutil.Program(t, "openssl", "apt-get install openssl")

	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"kestra.example.com", true},
		{"ui.kestra.example.com", true},
		{"bank.example.org", false},
		{"example.com", false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			hosts, _ := pki.ParseHosts([]string{tc.host})
			key, _ := pki.ECDSAP256.GenerateKey()
			leaf, err := pki.IssueServer(issuer, pki.ServerRequest{Hosts: hosts, Days: 30, Key: key, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			leafFile := filepath.Join(t.TempDir(), "leaf.pem")
			os.WriteFile(leafFile, pki.EncodeCertificates(leaf), 0o644)

			// Go
			roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root)
			intermediates.AddCert(issuer.Cert)
			_, goErr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, DNSName: tc.host})
			if (goErr == nil) != tc.ok {
				t.Errorf("Go: verify = %v, want ok=%v", goErr, tc.ok)
			}
			// OpenSSL
			verified, opensslErr := exec.Command(openssl, "verify", "-CAfile", caFile, "-untrusted", issuerOnly, leafFile).CombinedOutput()
			if (opensslErr == nil) != tc.ok {
				t.Errorf("openssl verify = %v, want ok=%v:\n%s", opensslErr, tc.ok, verified)
			}
			// The JVM: a server presents the leaf and the issuer; a client trusts only the root.
			dir := t.TempDir()
			p12, err := keystore.PKCS12(key, []*x509.Certificate{leaf, issuer.Cert}, "changeit1")
			if err != nil {
				t.Fatal(err)
			}
			jks, err := keystore.JKS([]keystore.TrustedEntry{{Alias: "ca", Cert: root}}, "changeit1")
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "keystore.p12"), p12, 0o600)
			os.WriteFile(filepath.Join(dir, "truststore.jks"), jks, 0o600)
			os.WriteFile(filepath.Join(dir, "password"), []byte("changeit1"), 0o600)
			port := javatls.StartServer(t, javatls.Stores{
				KeyStore: filepath.Join(dir, "keystore.p12"), KeyStoreType: "PKCS12",
				TrustStore: filepath.Join(dir, "truststore.jks"), TrustStoreType: "JKS", PasswordFile: filepath.Join(dir, "password"),
			})
			body, javaErr := javatls.JavaClient(t, filepath.Join(dir, "truststore.jks"), "JKS", "", tc.host, port)
			if (javaErr == nil && strings.Contains(body, "kestra-tls-ok")) != tc.ok {
				t.Errorf("Java client = %v, want ok=%v:\n%.400s", javaErr, tc.ok, body)
			}
		})
	}
}
