package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"filippo.io/age"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/sealedsecrets"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

var sealedSecretsResource = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}

// TestGitOpsSealsASuppliedCertificate is a platform team with a corporate certificate for Kestra, which goes
// into git encrypted: sealed for the cluster's Sealed Secrets controller (--seal-with its certificate, as
// kubeseal --fetch-cert gives it), or encrypted by SOPS for an age key (--sops-age, Flux's way). generate,
// commit; the fresh clone holds no key, no keystore and not the store password; plain kubectl builds it,
// also from a parent kustomization that moves it to another namespace and prefixes its names; the cluster
// opens it (the real controller unseals; Flux's step is played by the real sops with the same library and
// rules: decrypt every built Secret that SOPS encrypted, then kubectl apply --server-side). Kestra's stores
// and password are then byte for byte what generate made, and Kestra's server serves the corporate
// certificate from them. A re-run changes nothing in git; uninstall takes the install away.
func TestGitOpsSealsASuppliedCertificate(t *testing.T) {
	c := testCluster(t)
	kubectl := testutil.Kubectls(t)[0]
	ctx := context.Background()
	f := newFixtures(t)
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ageKeyFile := filepath.Join(t.TempDir(), "age.key")
	if err := os.WriteFile(ageKeyFile, []byte(identity.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, ns string
		// way starts what opens the overlay in the cluster and returns generate's flags for it.
		way func(t *testing.T) []string
		// install puts the overlay in dir into the cluster, as Argo CD or Flux would.
		install func(t *testing.T, dir string)
		// sealedForAnother is how status tells an overlay sealed for another cluster's key.
		sealedForAnother string
	}{
		{
			name: "Sealed Secrets: the controller unseals", ns: "gitops-sealed",
			way: func(t *testing.T) []string {
				controller, err := sealedsecrets.Start(c)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(controller.Stop)
				cert, err := controller.Cert(ctx)
				if err != nil {
					t.Fatal(err)
				}
				sealWith := filepath.Join(t.TempDir(), "sealed-secrets.pem")
				if err := os.WriteFile(sealWith, cert, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("Sealed Secrets controller:\n%s", controller.Logs.Tail(30))
					}
				})
				return []string{"--seal-with", sealWith}
			},
			install: func(t *testing.T, dir string) {
				if output, err := exec.Command(kubectl, "apply", "--server-side", "-k", dir, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
					t.Fatalf("kubectl apply --server-side -k %s: %v\n%s", dir, err, output)
				}
			},
			sealedForAnother: "could not unseal it",
		},
		{
			name: "SOPS for age: decrypted as Flux does", ns: "gitops-sops",
			way: func(t *testing.T) []string { return []string{"--sops-age", identity.Recipient().String()} },
			install: func(t *testing.T, dir string) {
				built, err := exec.Command(kubectl, "kustomize", dir).Output()
				if err != nil {
					t.Fatalf("kubectl kustomize %s: %v", dir, err)
				}
				var decrypted []string
				for _, doc := range strings.Split(string(built), "\n---\n") {
					if strings.Contains(doc, "\nsops:\n") {
						doc = sopsDecrypt(t, ageKeyFile, doc)
					}
					decrypted = append(decrypted, doc)
				}
				apply := exec.Command(kubectl, "apply", "--server-side", "-f", "-", "--kubeconfig", c.Kubeconfig)
				apply.Stdin = strings.NewReader(strings.Join(decrypted, "\n---\n"))
				if output, err := apply.CombinedOutput(); err != nil {
					t.Fatalf("kubectl apply --server-side of the decrypted build of %s: %v\n%s", dir, err, output)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			moved := tc.ns + "-moved"
			const host = "kestra.example.com"
			repo := t.TempDir()
			gitRepo(t, repo, "init", "-q", "-b", "main")
			out := filepath.Join(repo, "kestra-tls")
			generate := append([]string{"generate", "--gitops", "--mode", "app", "--host", host, "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "-n", tc.ns, "-o", out}, tc.way(t)...)
			if _, stderr, err := runCmd(t, generate...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			// A parent kustomization, as a fleet repository has one per cluster.
			parent := filepath.Join(repo, "moved")
			if err := os.MkdirAll(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(parent, "kustomization.yaml"), []byte("namespace: "+moved+"\nresources:\n  - ../kestra-tls\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			gitRepo(t, repo, "add", "-A")
			gitRepo(t, repo, "commit", "-q", "-m", "Kestra over HTTPS with our corporate certificate")
			clone := filepath.Join(t.TempDir(), "clone")
			gitRepo(t, filepath.Dir(clone), "clone", "-q", "file://"+repo, clone)
			if found := secretsInTree(t, clone); len(found) > 0 {
				t.Fatalf("the repository holds private keys or keystores: %v", found)
			}
			password, err := os.ReadFile(filepath.Join(out, "certs", "store-password"))
			if err != nil {
				t.Fatal(err)
			}
			if found := filesHolding(t, clone, bytes.TrimSpace(password)); len(found) > 0 {
				t.Fatalf("the store password is in the repository: %v", found)
			}

			overlay := filepath.Join(clone, "kestra-tls")
			for _, namespace := range []string{tc.ns, moved} {
				if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			tc.install(t, overlay)
			tc.install(t, filepath.Join(clone, "moved"))
			// What other tests' status -A would see: gone with this test.
			t.Cleanup(func() { kubectlDelete(t, kubectl, c.Kubeconfig, filepath.Join(clone, "moved")) })
			want := map[string]map[string]string{
				"kestra-ssl":          {"keystore.p12": "keystore.p12", "truststore.jks": "truststore.jks"},
				"kestra-ssl-password": {"password": "store-password"},
			}
			for _, namespace := range []string{tc.ns, moved} {
				for name, files := range want {
					secret := secretOf(t, c, namespace, name)
					for key, file := range files {
						made, err := os.ReadFile(filepath.Join(out, "certs", file))
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(secret.Data[key], made) {
							t.Errorf("Secret %s/%s, %s: %d bytes in the cluster that differ from generate's %s", namespace, name, key, len(secret.Data[key]), file)
						}
					}
				}
			}

			report, _ := statusOf(t, c, tc.ns)
			p := livePod(t, c, tc.ns, onlyInstall(t, report).Keystore)
			port := kestrapod.Serve(t, p)
			caPEM, err := os.ReadFile(f.caPEM)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(caPEM)
			conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: pool, ServerName: host})
			if err != nil {
				t.Fatalf("Kestra's server, from the stores the cluster opened, does not verify against the corporate CA: %v", err)
			}
			served := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			certPEM, _ := os.ReadFile(f.certPEM)
			if supplied, err := pki.ParseCertificates(certPEM); err != nil || !served.Equal(supplied[0]) {
				t.Errorf("Kestra serves %s, not the certificate supplied (%v)", served.Subject, err)
			}

			if tc.sealedForAnother != "" {
				// The same overlay sealed for another cluster's controller: status says so, and how to seal
				// for this one.
				other := filepath.Join(t.TempDir(), "other-cluster.pem")
				if err := os.WriteFile(other, rsaCertificate(t), 0o644); err != nil {
					t.Fatal(err)
				}
				wrong := tc.ns + "-wrong"
				elsewhere := filepath.Join(t.TempDir(), "kestra-tls")
				if _, stderr, err := runCmd(t, "generate", "--gitops", "--mode", "app", "--host", host, "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "-n", wrong, "-o", elsewhere, "--seal-with", other); err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wrong}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				tc.install(t, elsewhere)
				t.Cleanup(func() { kubectlDelete(t, kubectl, c.Kubeconfig, elsewhere) })
				var report string
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
					stdout, _, err := runCmd(t, append([]string{"status"}, clusterArgs(c, "", wrong)...)...)
					if report = stdout; ExitCode(err) == 3 && strings.Contains(stdout, tc.sealedForAnother) {
						break
					}
				}
				if !strings.Contains(report, tc.sealedForAnother) || !strings.Contains(report, "kubeseal --fetch-cert") {
					t.Errorf("status of an overlay sealed for another controller does not say it could not be unsealed:\n%s", report)
				}
			}

			if _, stderr, err := runCmd(t, generate...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if changed := gitRepo(t, repo, "status", "--porcelain"); changed != "" {
				t.Errorf("re-running generate changed the repository (sealing again?):\n%s", changed)
			}
			if stdout, stderr, err := runCmd(t, append([]string{"uninstall", out, "--yes", "--timeout", "0"}, clusterArgs(c, "", tc.ns)...)...); err != nil {
				t.Errorf("uninstall: %v\n%s\n%s", err, stdout, stderr)
			}
			if left, err := c.Client.CoreV1().Secrets(tc.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=kubectl-kestra-tls"}); err != nil || len(left.Items) != 0 {
				t.Errorf("uninstall left %d Secrets of ours (%v)", len(left.Items), err)
			}
			if tc.ns == "gitops-sealed" {
				if left, err := c.Dynamic.Resource(sealedSecretsResource).Namespace(tc.ns).List(ctx, metav1.ListOptions{}); err != nil || len(left.Items) != 0 {
					t.Errorf("uninstall left %d SealedSecrets (%v)", len(left.Items), err)
				}
			}
		})
	}
}

// sopsDecrypt is doc decrypted by the real sops (bin/sops, the library Flux's kustomize-controller
// decrypts with) for the age identity in keyFile.
func sopsDecrypt(t *testing.T, keyFile, doc string) string {
	t.Helper()
	sops := filepath.Join(testutil.BinDir(), "sops")
	if _, err := os.Stat(sops); err != nil {
		t.Fatalf("%s is missing: run `make tools`", sops)
	}
	cmd := exec.Command(sops, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
	cmd.Env = []string{"SOPS_AGE_KEY_FILE=" + keyFile, "HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	decrypted, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops --decrypt: %v\n%s\n%s", err, stderr.String(), doc)
	}
	return string(decrypted)
}

// secretOf waits for the Secret (the Sealed Secrets controller makes it a moment after the SealedSecret).
func secretOf(t *testing.T, c *cluster.Cluster, namespace, name string) *corev1.Secret {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if secret, err := c.Client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			return secret
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no Secret %s/%s in 60s", namespace, name)
	return nil
}

// filesHolding names the files of dir (outside .git) that contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(dir, func(path string, entry os.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			if entry != nil && entry.Name() == ".git" {
				return filepath.SkipDir
			}
			return err
		}
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, needle) {
			found = append(found, strings.TrimPrefix(path, dir))
		}
		return nil
	})
	return found
}

// rsaCertificate is a self-signed RSA certificate (PEM), as another cluster's Sealed Secrets controller has.
func rsaCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// kubectlDelete deletes what the kustomization in dir holds, and the Secrets of ours left in its namespaces
// (a Secret the Sealed Secrets controller made, or one Flux would have decrypted, has no owner that goes).
func kubectlDelete(t *testing.T, kubectl, kubeconfig, dir string) {
	t.Helper()
	built, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Errorf("kubectl kustomize %s: %v", dir, err)
		return
	}
	var namespaces []string
	for _, line := range strings.Split(string(built), "\n") {
		if namespace, ok := strings.CutPrefix(line, "  namespace: "); ok && !slices.Contains(namespaces, namespace) {
			namespaces = append(namespaces, namespace)
		}
	}
	var kept []string
	for _, doc := range strings.Split(string(built), "\n---\n") {
		// An encrypted Secret cannot be sent to the API server, even for a delete.
		if !strings.Contains(doc, "\nsops:\n") {
			kept = append(kept, doc)
		}
	}
	cmd := exec.Command(kubectl, "delete", "--ignore-not-found", "--wait=false", "-f", "-", "--kubeconfig", kubeconfig)
	cmd.Stdin = strings.NewReader(strings.Join(kept, "\n---\n"))
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("kubectl delete of %s: %v\n%s", dir, err, output)
	}
	for _, namespace := range namespaces {
		if output, err := exec.Command(kubectl, "delete", "secrets", "-l", "app.kubernetes.io/managed-by=kubectl-kestra-tls", "-n", namespace, "--kubeconfig", kubeconfig).CombinedOutput(); err != nil {
			t.Errorf("kubectl delete secrets in %s: %v\n%s", namespace, err, output)
		}
	}
}
