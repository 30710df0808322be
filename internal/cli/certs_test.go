package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// fixtures writes PEM material for bad-input cases into dir.
type fixtures struct {
	dir                          string
	caPEM, certPEM, keyPEM       string
	otherKeyPEM, expiredCertPEM  string
	encryptedKeyPEM, keyPassword string
}

func newFixtures(t *testing.T) fixtures {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, _ := pki.ECDSAP256.GenerateKey()
	ca, err := pki.NewCA(pki.CARequest{CommonName: "Test CA", Days: 100, Key: caKey, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := pki.ECDSAP256.GenerateKey()
	hosts, _ := pki.ParseHosts([]string{"kestra.example.com"})
	leaf, _ := pki.IssueServer(ca, pki.ServerRequest{Hosts: hosts, Days: 30, Key: key, Now: now})
	expired, _ := pki.IssueServer(ca, pki.ServerRequest{Hosts: hosts, Days: 1, Key: key, Now: now.AddDate(0, 0, -5)})
	other, _ := pki.ECDSAP256.GenerateKey()
	keyPEM, _ := pki.EncodePrivateKey(key)
	otherPEM, _ := pki.EncodePrivateKey(other)
	f := fixtures{
		dir:            dir,
		caPEM:          write("ca.pem", pki.EncodeCertificates(ca.Cert)),
		certPEM:        write("server.pem", pki.EncodeCertificates(leaf)),
		keyPEM:         write("server.key", keyPEM),
		otherKeyPEM:    write("other.key", otherPEM),
		expiredCertPEM: write("expired.pem", pki.EncodeCertificates(expired)),
		keyPassword:    write("wrong-password", []byte("not-the-password\n")),
	}
	out, err := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", f.keyPEM, "-passout", "pass:changeit").Output()
	if err != nil {
		t.Fatalf("openssl pkcs8: %v", err)
	}
	f.encryptedKeyPEM = write("encrypted.key", out)
	write("garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"))
	return f
}

func TestCertsBadInputNamesTheFlagAndWritesNothing(t *testing.T) {
	f := newFixtures(t)
	// A path below a regular file can't be created even by root, which ignores permission bits.
	notADir := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args    []string
		out     string // output directory to check, default a fresh one
		wantErr []string
	}{
		"no host": {
			args: []string{}, wantErr: []string{"--host", "kestra.example.com"},
		},
		"an invalid host name": {
			args: []string{"--host", "kestra_ui.example.com"}, wantErr: []string{`--host "kestra_ui.example.com"`},
		},
		"an unknown key algorithm": {
			args: []string{"--host", "a.example.com", "--key-algorithm", "dsa"}, wantErr: []string{"--key-algorithm", "ecdsa-p256"},
		},
		"a key that does not match the certificate": {
			args: []string{"--cert", f.certPEM, "--key", f.otherKeyPEM, "--ca", f.caPEM}, wantErr: []string{"does not belong to the certificate", "--key"},
		},
		"a certificate that does not cover a host": {
			args: []string{"--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--host", "other.example.com"}, wantErr: []string{"does not cover --host other.example.com"},
		},
		"an expired certificate": {
			args: []string{"--cert", f.expiredCertPEM, "--key", f.keyPEM, "--ca", f.caPEM}, wantErr: []string{"expired"},
		},
		"garbage PEM": {
			args: []string{"--cert", filepath.Join(f.dir, "garbage.pem"), "--key", f.keyPEM, "--ca", f.caPEM}, wantErr: []string{"--cert", "not valid X.509"},
		},
		"a wrong key password": {
			args: []string{"--cert", f.certPEM, "--key", f.encryptedKeyPEM, "--key-password-file", f.keyPassword, "--ca", f.caPEM}, wantErr: []string{"--key", "wrong password in --key-password-file"},
		},
		"an encrypted key without a password": {
			args: []string{"--cert", f.certPEM, "--key", f.encryptedKeyPEM, "--ca", f.caPEM}, wantErr: []string{"--key-password-file"},
		},
		"a missing file": {
			args: []string{"--cert", filepath.Join(f.dir, "nope.pem"), "--key", f.keyPEM, "--ca", f.caPEM}, wantErr: []string{"--cert", "nope.pem", "no such file"},
		},
		"a certificate without its CA": {
			args: []string{"--cert", f.certPEM, "--key", f.keyPEM}, wantErr: []string{"--ca is required"},
		},
		"a certificate without its key": {
			args: []string{"--cert", f.certPEM, "--ca", f.caPEM}, wantErr: []string{"--cert and --key go together"},
		},
		"an output directory that is not writable": {
			args: []string{"--host", "a.example.com"}, out: filepath.Join(notADir, "out"), wantErr: []string{"not a directory", "-o"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := tc.out
			if out == "" {
				out = filepath.Join(t.TempDir(), "out")
			}
			_, _, err := runCmd(t, append([]string{"certs", "-o", out}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("%d files written despite the error", len(entries))
			}
		})
	}
}

func TestCertsNeverPrintsSecrets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	stdout, stderr, err := runCmd(t, "certs", "--host", "kestra.example.com", "-o", dir)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := os.ReadFile(filepath.Join(dir, "store-password"))
	key, _ := os.ReadFile(filepath.Join(dir, "server.key"))
	for _, secret := range []string{string(password), "PRIVATE KEY", string(key[30:60])} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output shows secret material %q", secret)
		}
	}
	if !strings.Contains(stdout, "keystore.p12") {
		t.Errorf("output does not say what it wrote:\n%s", stdout)
	}
}

// TestJavaServesOurStores is the proof that matters: the JDK that Kestra runs on loads keystore.p12 and
// truststore.jks, and curl, OpenSSL and a Java client all verify the served chain by name and by IP.
func TestJavaServesOurStores(t *testing.T) {
	for _, algorithm := range []string{"ecdsa-p256", "rsa-4096"} {
		t.Run(algorithm, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if _, _, err := runCmd(t, "certs", "--host", "kestra.example.com", "--host", "127.0.0.1", "--key-algorithm", algorithm, "-o", dir); err != nil {
				t.Fatal(err)
			}
			password, _ := os.ReadFile(filepath.Join(dir, "store-password"))
			for store, storeType := range map[string]string{"keystore.p12": "PKCS12", "truststore.jks": "JKS", "truststore.p12": "PKCS12"} {
				out, err := exec.Command(testutil.Program(t, "keytool", "apt-get install openjdk-17-jdk-headless"), "-list", "-keystore", filepath.Join(dir, store), "-storetype", storeType, "-storepass", string(password)).CombinedOutput()
				if err != nil {
					t.Errorf("keytool -list %s: %v\n%s", store, err, out)
				}
				want := map[string]string{"keystore.p12": "PrivateKeyEntry", "truststore.jks": "trustedCertEntry", "truststore.p12": "trustedCertEntry"}[store]
				if !strings.Contains(string(out), want) {
					t.Errorf("keytool -list %s shows no %s:\n%s", store, want, out)
				}
			}
			port := javatls.StartServer(t, javatls.Stores{
				KeyStore: filepath.Join(dir, "keystore.p12"), KeyStoreType: "PKCS12",
				TrustStore: filepath.Join(dir, "truststore.jks"), TrustStoreType: "JKS",
				PasswordFile: filepath.Join(dir, "store-password"),
			})
			ca := filepath.Join(dir, "ca.pem")
			for _, host := range []string{"kestra.example.com", "127.0.0.1"} {
				if out, err := javatls.Curl(t, ca, host, port); err != nil || !strings.Contains(out, "kestra-tls-ok") {
					t.Errorf("curl --cacert ca.pem https://%s: %v\n%s", host, err, out)
				}
				if out, err := javatls.OpenSSLVerify(t, ca, host, port); err != nil || !strings.Contains(out, "Verification: OK") {
					t.Errorf("openssl s_client -verify_return_error %s: %v\n%s", host, err, out)
				}
			}
			if out, err := javatls.JavaClient(t, filepath.Join(dir, "truststore.jks"), "JKS", string(password), "kestra.example.com", port); err != nil || !strings.Contains(out, "kestra-tls-ok") {
				t.Errorf("Java client with -Djavax.net.ssl.trustStore=truststore.jks: %v\n%s", err, out)
			}
			if out, err := javatls.Curl(t, ca, "other.example.com", port); err == nil {
				t.Errorf("curl accepted a host outside the SANs:\n%s", out)
			}
		})
	}
}

// TestGuidePipelineOutputIsAcceptedAsSuppliedMaterial feeds the guide's own openssl output (RSA-4096,
// encrypted PKCS#8 key, password changeit) to certs and serves the result from Java.
func TestGuidePipelineOutputIsAcceptedAsSuppliedMaterial(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl and keytool (skipped by -short)")
	}
	guide := t.TempDir()
	if out, err := exec.Command(filepath.Join(testutil.RepoRoot(), "hack", "guide-pipeline.sh"), guide).CombinedOutput(); err != nil {
		t.Fatalf("guide pipeline: %v\n%s", err, out)
	}
	passwordFile := filepath.Join(guide, "password")
	os.WriteFile(passwordFile, []byte("changeit\n"), 0o600)
	for name, input := range map[string][]string{
		"PEM with the encrypted key": {"--cert", filepath.Join(guide, "server.pem"), "--key", filepath.Join(guide, "server.key")},
		"the guide's server.p12":     {"--pkcs12", filepath.Join(guide, "server.p12")},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			args := append([]string{"certs", "-o", dir, "--host", "localhost", "--key-password-file", passwordFile, "--ca", filepath.Join(guide, "cacert.pem")}, input...)
			if _, stderr, err := runCmd(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			port := javatls.StartServer(t, javatls.Stores{
				KeyStore: filepath.Join(dir, "keystore.p12"), KeyStoreType: "PKCS12",
				TrustStore: filepath.Join(dir, "truststore.jks"), TrustStoreType: "JKS",
				PasswordFile: filepath.Join(dir, "store-password"),
			})
			password, _ := os.ReadFile(filepath.Join(dir, "store-password"))
			if out, err := javatls.JavaClient(t, filepath.Join(dir, "truststore.jks"), "JKS", string(password), "localhost", port); err != nil || !strings.Contains(out, "kestra-tls-ok") {
				t.Errorf("Java client: %v\n%s", err, out)
			}
		})
	}
}
