package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/sealedsecrets"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

var sealedSecretsResource = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}

// TestGitOpsSealsASuppliedCertificate is a platform team with a corporate certificate for Kestra: generate
// --gitops --seal-with the cluster's controller certificate (fetched as kubeseal --fetch-cert would), commit;
// the fresh clone holds no key, no keystore and not the store password; plain kubectl builds and applies it;
// the real Sealed Secrets controller unseals Kestra's stores and password, byte for byte what generate made,
// and Kestra's server serves the corporate certificate from them. A parent kustomization that moves the
// overlay to another namespace still unseals (cluster-wide scope); a re-run changes nothing in git; uninstall
// takes the SealedSecrets away.
func TestGitOpsSealsASuppliedCertificate(t *testing.T) {
	c := testCluster(t)
	kubectl := testutil.Kubectls(t)[0]
	controller, err := sealedsecrets.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(controller.Stop)
	ctx := context.Background()
	controllerCert, err := controller.Cert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sealWith := filepath.Join(t.TempDir(), "sealed-secrets.pem")
	if err := os.WriteFile(sealWith, controllerCert, 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixtures(t)

	const ns, moved, host = "gitops-sealed", "gitops-sealed-moved", "kestra.example.com"
	repo := t.TempDir()
	gitRepo(t, repo, "init", "-q", "-b", "main")
	out := filepath.Join(repo, "kestra-tls")
	generate := []string{"generate", "--gitops", "--mode", "app", "--host", host, "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--seal-with", sealWith, "-n", ns, "-o", out}
	if _, stderr, err := runCmd(t, generate...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// A second folder, for a parent kustomization that moves the install to another namespace.
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
	for _, dir := range []string{overlay, filepath.Join(clone, "moved")} {
		if output, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput(); err != nil {
			t.Fatalf("kubectl kustomize %s on a fresh clone: %v\n%s", dir, err, output)
		}
	}
	for _, namespace := range []string{ns, moved} {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{overlay, filepath.Join(clone, "moved")} {
		if output, err := exec.Command(kubectl, "apply", "--server-side", "-k", dir, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
			t.Fatalf("kubectl apply --server-side -k %s: %v\n%s", dir, err, output)
		}
	}
	want := map[string]map[string]string{
		"kestra-ssl":          {"keystore.p12": "keystore.p12", "truststore.jks": "truststore.jks"},
		"kestra-ssl-password": {"password": "store-password"},
	}
	for _, namespace := range []string{ns, moved} {
		for name, files := range want {
			secret := unsealed(t, c, controller, namespace, name)
			for key, file := range files {
				made, err := os.ReadFile(filepath.Join(out, "certs", file))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(secret.Data[key], made) {
					t.Errorf("Secret %s/%s, %s: the controller unsealed %d bytes that differ from generate's %s", namespace, name, key, len(secret.Data[key]), file)
				}
			}
		}
	}

	report, _ := statusOf(t, c, ns)
	p := livePod(t, c, ns, onlyInstall(t, report).Keystore)
	port := kestrapod.Serve(t, p)
	caPEM, err := os.ReadFile(f.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		t.Fatalf("Kestra's server, from the stores the controller unsealed, does not verify against the corporate CA: %v", err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	certPEM, _ := os.ReadFile(f.certPEM)
	if supplied, err := pki.ParseCertificates(certPEM); err != nil || !served.Equal(supplied[0]) {
		t.Errorf("Kestra serves %s, not the certificate supplied (%v)", served.Subject, err)
	}

	if _, stderr, err := runCmd(t, generate...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if changed := gitRepo(t, repo, "status", "--porcelain"); changed != "" {
		t.Errorf("re-running generate changed the repository (sealing again?):\n%s", changed)
	}
	if stdout, stderr, err := runCmd(t, append([]string{"uninstall", out, "--yes", "--timeout", "0"}, clusterArgs(c, "", ns)...)...); err != nil {
		t.Errorf("uninstall: %v\n%s\n%s", err, stdout, stderr)
	}
	if left, err := c.Dynamic.Resource(sealedSecretsResource).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil || len(left.Items) != 0 {
		t.Errorf("uninstall left %d SealedSecrets (%v)", len(left.Items), err)
	}
}

// unsealed waits for the Secret the controller makes from the SealedSecret of that name.
func unsealed(t *testing.T, c *cluster.Cluster, controller *sealedsecrets.Controller, namespace, name string) *corev1.Secret {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if secret, err := c.Client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{}); err == nil {
			return secret
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the Sealed Secrets controller made no Secret %s/%s in 60s:\n%s", namespace, name, controller.Logs.Tail(30))
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
