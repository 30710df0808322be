package cli

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// checkSameCA verifies that the overlay carries the CA of the shared folder, and that the shared folder's
// key belongs to it.
func checkSameCA(t *testing.T, caDir, certs string) {
	t.Helper()
	shared, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, copied) {
		t.Errorf("%s/ca.pem is not the CA of %s", certs, caDir)
	}
	keyPEM, err := os.ReadFile(filepath.Join(caDir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParsePrivateKey(keyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	cas, err := pki.ParseCertificates(shared)
	if err != nil {
		t.Fatal(err)
	}
	if !pki.KeyMatches(key, cas[0].PublicKey) {
		t.Errorf("%s: ca.key does not belong to ca.pem", caDir)
	}
}

// checkConsistentSet verifies that the material in certs/ belongs together: the keystore's key is
// server.key, the CA signs server.pem (and the keystore's certificate), the password opens both stores,
// and the truststore holds that CA.
func checkConsistentSet(t *testing.T, certs string) {
	t.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(certs, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return data
	}
	password := strings.TrimSpace(string(read("store-password")))
	caCerts, err := pki.ParseCertificates(read("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	server, err := pki.ParseCertificates(read("server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	serverKey, err := pki.ParsePrivateKey(read("server.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCerts[0])
	if _, err := server[0].Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("ca.pem does not sign server.pem: %v", err)
	}
	key, cert, _, err := pkcs12.DecodeChain(read("keystore.p12"), password)
	if err != nil {
		t.Fatalf("the password does not open keystore.p12: %v", err)
	}
	if !cert.Equal(server[0]) {
		t.Error("keystore.p12 holds another certificate than server.pem")
	}
	type publicKey interface{ Equal(crypto.PublicKey) bool }
	signer, ok := key.(crypto.Signer)
	if pub, okPub := serverKey.Public().(publicKey); !ok || !okPub || !pub.Equal(signer.Public()) {
		t.Error("keystore.p12 holds another key than server.key")
	}
	trust := keystore.New()
	if err := trust.Load(bytes.NewReader(read("truststore.jks")), []byte(password)); err != nil {
		t.Fatalf("the password does not open truststore.jks: %v", err)
	}
	entry, err := trust.GetTrustedCertificateEntry("ca")
	if err != nil || !bytes.Equal(entry.Certificate.Content, caCerts[0].Raw) {
		t.Errorf("truststore.jks does not hold ca.pem: %v", err)
	}
}

// TestConcurrentGeneratesNeverMixTheirFiles starts two first runs into one -o at once, five times: the
// folder lock makes the second wait and reuse the first's CA, so the set always belongs together.
func TestConcurrentGeneratesNeverMixTheirFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary (skipped by -short)")
	}
	plugin := testutil.Plugin(t)
	for round := 0; round < 5; round++ {
		out := filepath.Join(t.TempDir(), "overlay")
		var wg sync.WaitGroup
		outputs := make([]string, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data, err := exec.Command(plugin, "generate", "--mode", "app", "--host", "kestra.example.com", "-o", out).CombinedOutput()
				if err != nil {
					t.Errorf("run %d: %v\n%s", i, err, data)
				}
				outputs[i] = string(data)
			}()
		}
		wg.Wait()
		checkConsistentSet(t, filepath.Join(out, "certs"))
		if strings.Count(outputs[0]+outputs[1], "wrote "+filepath.Join(out, "certs", "ca.key")) > 1 {
			t.Errorf("both runs minted a CA:\n%s\n%s", outputs[0], outputs[1])
		}
	}
}

// TestKilledRunsAreRepairedByTheNextRun kills generate with SIGKILL at random moments, 30 times per
// layout, over an overlay it is rewriting (--force mints everything anew); after each kill, a plain re-run
// must leave a set that belongs together. Without the write journal, a kill between the renames of ca.pem
// and ca.key left a pair the re-run rightly refused.
func TestKilledRunsAreRepairedByTheNextRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary (skipped by -short)")
	}
	plugin := testutil.Plugin(t)
	for name, shareCA := range map[string]bool{"the CA inside the overlay": false, "a shared --ca-dir": true} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			out := filepath.Join(root, "overlay")
			args := []string{"generate", "--mode", "app", "--host", "kestra.example.com", "--host", "127.0.0.1", "-o", out}
			caDir := filepath.Join(out, "certs")
			if shareCA {
				caDir = filepath.Join(root, "ca")
				args = append(args, "--ca-dir", caDir)
			}
			if data, err := exec.Command(plugin, args...).CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			for i := range 30 {
				cmd := exec.Command(plugin, append(args, "--force")...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				if data, err := exec.Command(plugin, args...).CombinedOutput(); err != nil {
					t.Fatalf("kill %d: the re-run failed: %v\n%s", i, err, data)
				}
				checkConsistentSet(t, filepath.Join(out, "certs"))
				if shareCA {
					checkSameCA(t, caDir, filepath.Join(out, "certs"))
				}
				if t.Failed() {
					t.Fatalf("kill %d left a set the re-run did not repair", i)
				}
			}
			for _, dir := range []string{filepath.Join(out, "certs"), caDir, out} {
				leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
				if _, err := os.Lstat(filepath.Join(dir, fileset.JournalFile)); err == nil {
					leftovers = append(leftovers, fileset.JournalFile)
				}
				if len(leftovers) > 0 {
					t.Errorf("temporary files or journals of killed runs are left behind: %v", leftovers)
				}
			}
		})
	}
}
