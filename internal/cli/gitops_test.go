package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/trustmanager"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// gitRepo runs git in dir, as a platform team's repository.
func gitRepo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	git := testutil.Program(t, "git", "apt-get install git")
	cmd := exec.Command(git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=platform", "GIT_AUTHOR_EMAIL=platform@example.com", "GIT_COMMITTER_NAME=platform", "GIT_COMMITTER_EMAIL=platform@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, output)
	}
	return string(output)
}

// secretsInTree names the files of dir that hold a PEM private key or a Java store (PKCS#12 or JKS).
func secretsInTree(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			if entry != nil && entry.Name() == ".git" {
				return filepath.SkipDir
			}
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// A JKS store that holds a key (a truststore of public certificates holds none, and may be in git).
		jks := bytes.HasPrefix(data, []byte{0xfe, 0xed, 0xfe, 0xed}) && jksHoldsKey(t, path, data)
		// A DER PKCS#12 store: a SEQUENCE holding version 3.
		p12 := len(data) > 8 && data[0] == 0x30 && bytes.Contains(data[:8], []byte{0x02, 0x01, 0x03})
		if bytes.Contains(data, []byte("PRIVATE KEY-----")) || jks || p12 || strings.HasSuffix(path, ".p12") {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// jksHoldsKey tells whether a JKS store holds a private key entry, or cannot be read (a store that is not
// what it seems counts as one).
func jksHoldsKey(t *testing.T, path string, data []byte) bool {
	t.Helper()
	store := keystore.New()
	if err := store.Load(bytes.NewReader(data), []byte("changeit")); err != nil {
		t.Logf("%s: %v", path, err)
		return true
	}
	for _, alias := range store.Aliases() {
		if store.IsPrivateKeyEntry(alias) {
			return true
		}
	}
	return false
}

// TestGitOpsOverlayInstallsFromAFreshClone is the platform team's path: generate --gitops into a git
// repository and commit; a fresh clone holds no private key and no keystore; the real kubectl builds it
// (plain kustomize: no plugin, no exec) and installs it with `kubectl apply --server-side`, not with this
// plugin; the real cert-manager makes our CA inside the cluster (the root's key stays there, the issuer is
// name-constrained) and issues Kestra's certificate: in app mode Kestra's own server serves TLS from the
// keystore cert-manager wrote, in ingress mode the Ingress's Secret covers the host; both verify against
// the CA `kubectl kestra-tls ca` prints. status finds the install healthy, and re-running generate changes
// nothing in git.
func TestGitOpsOverlayInstallsFromAFreshClone(t *testing.T) {
	c := testCluster(t)
	kubectl := testutil.Kubectls(t)[0]
	corp := startCorporateServer(t)
	for _, tc := range []struct {
		name, ns, host string
		args           []string
		// outbound: Kestra's tasks call the corporate server through the outbound trust.
		outbound bool
	}{
		{"app mode: Kestra's keystore from cert-manager", "gitops-app", "kestra.gitops.test", []string{"--mode", "app"}, false},
		{"ingress mode: the Ingress's certificate from our CA", "gitops-ingress", "kestra.gitops-ingress.test", nil, false},
		{"app mode with outbound trust: public certificates in git", "gitops-outbound", "kestra.gitops-outbound.test",
			[]string{"--mode", "app", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.RootCA}, true},
		{"app mode with outbound trust kept by trust-manager", "gitops-trust-manager", "kestra.gitops-tm.test",
			[]string{"--mode", "app", "--outbound-trust", "--trust-manager", "--trust-ca", corp.RootCA}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			repo := t.TempDir()
			gitRepo(t, repo, "init", "-q", "-b", "main")
			generate := append([]string{"generate", "--gitops", "--self-signed", "--host", tc.host, "-n", tc.ns, "-o", filepath.Join(repo, "kestra-tls")}, tc.args...)
			stdout, stderr, err := runCmd(t, generate...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "commit it") || !strings.Contains(stdout, "kubectl kestra-tls ca -n "+tc.ns) {
				t.Errorf("generate --gitops does not say to commit and where the CA comes from:\n%s", stdout)
			}
			gitRepo(t, repo, "add", "-A")
			gitRepo(t, repo, "commit", "-q", "-m", "Kestra over HTTPS")
			clone := filepath.Join(t.TempDir(), "clone")
			gitRepo(t, filepath.Dir(clone), "clone", "-q", "file://"+repo, clone)
			if found := secretsInTree(t, clone); len(found) > 0 {
				t.Fatalf("the repository holds private keys or keystores: %v", found)
			}

			overlay := filepath.Join(clone, "kestra-tls")
			if output, err := exec.Command(kubectl, "kustomize", overlay).CombinedOutput(); err != nil {
				t.Fatalf("kubectl kustomize on a fresh clone: %v\n%s", err, output)
			}
			if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := runCmd(t, append([]string{"ca"}, clusterArgs(c, "", tc.ns)...)...); err == nil || !strings.Contains(err.Error(), "--gitops") || !strings.Contains(err.Error(), "certs/ca.pem") {
				t.Errorf("ca before anything is applied = %v, want an error saying where a CA comes from", err)
			}
			if slices.Contains(tc.args, "--trust-manager") {
				tm, err := trustmanager.Start(c.Kubeconfig, "testdata/ca-bundle.pem", "cert-manager")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(tm.Stop)
			}
			if output, err := exec.Command(kubectl, "apply", "--server-side", "-k", overlay, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
				t.Fatalf("kubectl apply --server-side -k: %v\n%s", err, output)
			}
			if slices.Contains(tc.args, "--trust-manager") {
				// trust-manager writes the ConfigMap a moment after the Bundle exists.
				name := "kestra-tls-outbound-" + tc.ns
				deadline := time.Now().Add(60 * time.Second)
				for {
					cm, err := c.Client.CoreV1().ConfigMaps(tc.ns).Get(ctx, name, metav1.GetOptions{})
					if err == nil && len(cm.BinaryData["outbound-truststore.jks"]) > 0 && cm.Data["outbound-ca-bundle.pem"] != "" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("trust-manager wrote no ConfigMap %s/%s in 60s (%v)", tc.ns, name, err)
					}
					time.Sleep(300 * time.Millisecond)
				}
			}
			if output, err := exec.Command(kubectl, "wait", "--for=condition=Ready", "certificate", "--all", "-n", tc.ns, "--timeout=90s", "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
				t.Fatalf("cert-manager's certificates not Ready: %v\n%s\ncert-manager:\n%s", err, output, c.Logs.Tail(30))
			}
			if mode := tc.args; len(mode) == 0 {
				// ingress-shim makes Kestra's Certificate from the Ingress: wait for it too.
				if output, err := exec.Command(kubectl, "wait", "--for=condition=Ready", "certificate/kestra-tls", "-n", tc.ns, "--timeout=90s", "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
					t.Fatalf("the Ingress's certificate is not Ready: %v\n%s\ncert-manager:\n%s", err, output, c.Logs.Tail(30))
				}
			}

			caPEM, stderr, err := runCmd(t, append([]string{"ca"}, clusterArgs(c, "", tc.ns)...)...)
			if err != nil {
				t.Fatalf("kubectl kestra-tls ca: %v\n%s", err, stderr)
			}
			roots, err := pki.ParseCertificates([]byte(caPEM))
			if err != nil || len(roots) != 1 || !roots[0].IsCA || strings.Contains(caPEM, "PRIVATE KEY") {
				t.Fatalf("ca printed %d certificates (%v), want the root alone:\n%s", len(roots), err, caPEM)
			}
			pool := x509.NewCertPool()
			pool.AddCert(roots[0])

			var chain []*x509.Certificate
			if len(tc.args) > 0 {
				report, _ := statusOf(t, c, tc.ns)
				p := livePod(t, c, tc.ns, onlyInstall(t, report).Keystore)
				port := kestrapod.Serve(t, p)
				conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: pool, ServerName: tc.host})
				if err != nil {
					t.Fatalf("Kestra's server, from the keystore cert-manager wrote, does not verify against the CA: %v", err)
				}
				chain = conn.ConnectionState().PeerCertificates
				conn.Close()
				if tc.outbound {
					// The JVM with JAVA_OPTS's truststore, and curl with the container's environment, from the
					// ConfigMap of public certificates beside the stores cert-manager wrote.
					if body, err := kestrapod.CallOut(t, p, "127.0.0.1", corp.Port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
						t.Errorf("the JVM as %s with JAVA_OPTS's truststore: %v\n%s", p.User, err, body)
					}
					curl := testutil.Program(t, "curl", "apt-get install curl")
					if output, err := kestrapod.Exec(t, p, curl, "-sS", fmt.Sprintf("https://127.0.0.1:%d/", corp.Port)); err != nil || !strings.Contains(output, "kestra-tls-ok") {
						t.Errorf("curl as %s with the container's environment: %v\n%s", p.User, err, output)
					}
				}
			} else {
				secret, err := c.Client.CoreV1().Secrets(tc.ns).Get(ctx, "kestra-tls", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if chain, err = pki.ParseCertificates(secret.Data["tls.crt"]); err != nil {
					t.Fatal(err)
				}
				intermediates := x509.NewCertPool()
				for _, cert := range chain[1:] {
					intermediates.AddCert(cert)
				}
				if _, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates, DNSName: tc.host}); err != nil {
					t.Fatalf("the Ingress's certificate does not verify against the CA for %s: %v", tc.host, err)
				}
			}
			// Kestra's certificate comes from the name-constrained issuer, not from the root itself.
			if len(chain) < 2 || len(chain[1].PermittedDNSDomains) == 0 || !chain[1].PermittedDNSDomainsCritical {
				t.Errorf("the issuer above Kestra's certificate carries no critical name constraints: %+v", chain)
			}

			if _, code := statusOf(t, c, tc.ns); code != 0 {
				report, _, _ := runCmd(t, append([]string{"status"}, clusterArgs(c, "", tc.ns)...)...)
				t.Errorf("status of the install = exit %d:\n%s", code, report)
			}
			// Day two on an install made by kubectl: renew has cert-manager reissue Kestra's certificate, not
			// the CA's.
			stdout, stderr, err = runCmd(t, append([]string{"renew", overlay}, clusterArgs(c, "", tc.ns)...)...)
			if err != nil || strings.Contains(stdout, "-root") || strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls-ca ") {
				t.Errorf("renew of the overlay = %v, reissuing our CA too?\n%s\n%s", err, stdout, stderr)
			}
			if _, stderr, err := runCmd(t, generate...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if changed := gitRepo(t, repo, "status", "--porcelain"); changed != "" {
				t.Errorf("re-running generate changed the repository:\n%s", changed)
			}
			if stdout, stderr, err := runCmd(t, append([]string{"diff", overlay}, clusterArgs(c, "", tc.ns)...)...); ExitCode(err) > 1 {
				t.Errorf("diff of the install kubectl made = exit %d (%v):\n%s\n%s", ExitCode(err), err, stdout, stderr)
			}
			if stdout, stderr, err := runCmd(t, append([]string{"uninstall", overlay, "--yes", "--timeout", "0"}, clusterArgs(c, "", tc.ns)...)...); err != nil {
				t.Errorf("uninstall: %v\n%s\n%s", err, stdout, stderr)
			}
			if left, err := c.Dynamic.Resource(resources.Certificates).Namespace(tc.ns).List(ctx, metav1.ListOptions{}); err != nil || len(left.Items) != 0 {
				t.Errorf("uninstall left %d Certificates (%v)", len(left.Items), err)
			}
		})
	}
}

// TestGitOpsRotateCAThroughCertManager moves an install whose CA cert-manager made (--gitops --self-signed)
// to a new root in rotate-ca's three steps, on the real API server and cert-manager: step 1 adds a second
// root that `ca` prints beside the first while Kestra's certificate stays under the old one; --finish is
// refused before step 2; step 2 has the issuer signed by the new root and Kestra's certificate issued again
// under it, which Kestra's server serves; --finish removes the old root, and `ca` prints the new one alone.
// The overlay says the state at each step (to commit), and a re-run of generate after the rotation changes
// nothing.
func TestGitOpsRotateCAThroughCertManager(t *testing.T) {
	c := testCluster(t)
	kubectl := testutil.Kubectls(t)[0]
	ctx := context.Background()
	const ns, host = "gitops-rotate", "kestra.gitops-rotate.test"
	dir := filepath.Join(t.TempDir(), "kestra-tls")
	generate := []string{"generate", "--gitops", "--mode", "app", "--self-signed", "--host", host, "-n", ns, "-o", dir}
	if _, stderr, err := runCmd(t, generate...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if output, err := exec.Command(kubectl, "apply", "--server-side", "-k", dir, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply --server-side -k: %v\n%s", err, output)
	}
	if output, err := exec.Command(kubectl, "wait", "--for=condition=Ready", "certificate", "--all", "-n", ns, "--timeout=90s", "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
		t.Fatalf("cert-manager's certificates not Ready: %v\n%s\ncert-manager:\n%s", err, output, c.Logs.Tail(30))
	}
	roots := func() []*x509.Certificate {
		t.Helper()
		caPEM, stderr, err := runCmd(t, append([]string{"ca"}, clusterArgs(c, "", ns)...)...)
		if err != nil {
			t.Fatalf("kubectl kestra-tls ca: %v\n%s", err, stderr)
		}
		certs, err := pki.ParseCertificates([]byte(caPEM))
		if err != nil {
			t.Fatal(err)
		}
		return certs
	}
	// verifies tells whether Kestra's certificate, as cert-manager wrote it, chains to root.
	verifies := func(root *x509.Certificate) bool {
		t.Helper()
		secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "kestra-ssl", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		chain, err := pki.ParseCertificates(secret.Data["tls.crt"])
		if err != nil {
			t.Fatal(err)
		}
		pool, intermediates := x509.NewCertPool(), x509.NewCertPool()
		pool.AddCert(root)
		for _, cert := range chain[1:] {
			intermediates.AddCert(cert)
		}
		_, err = chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates, DNSName: host})
		return err == nil
	}
	rotate := func(extra ...string) (string, error) {
		t.Helper()
		stdout, stderr, err := runCmd(t, append(append([]string{"rotate-ca", dir}, extra...), clusterArgs(c, "", ns)...)...)
		return stdout + stderr, err
	}

	before := roots()
	if len(before) != 1 || !verifies(before[0]) {
		t.Fatalf("before the rotation: %d roots from ca, Kestra's certificate under it: %v", len(before), len(before) == 1 && verifies(before[0]))
	}
	old := before[0]
	if output, err := rotate(); err != nil || !strings.Contains(output, "step 1/3") {
		t.Fatalf("rotate-ca step 1: %v\n%s\ncert-manager:\n%s", err, output, c.Logs.Tail(30))
	}
	during := roots()
	if len(during) != 2 || !during[1].Equal(old) || during[0].Equal(old) {
		t.Fatalf("after step 1, ca prints %d roots, want the new one and then the old one", len(during))
	}
	next := during[0]
	if !verifies(old) || verifies(next) {
		t.Errorf("after step 1 Kestra's certificate must still come from the old root (under old: %v, under new: %v)", verifies(old), verifies(next))
	}
	if output, err := rotate("--finish"); err == nil || !strings.Contains(err.Error(), "step 2") {
		t.Errorf("--finish before step 2 = %v, want a refusal naming step 2\n%s", err, output)
	}
	if output, err := rotate(); err != nil || !strings.Contains(output, "step 2/3") {
		t.Fatalf("rotate-ca step 2: %v\n%s\ncert-manager:\n%s", err, output, c.Logs.Tail(30))
	}
	if !verifies(next) || verifies(old) {
		t.Errorf("after step 2 Kestra's certificate must come from the new root (under new: %v, under old: %v)", verifies(next), verifies(old))
	}
	report, _ := statusOf(t, c, ns)
	p := livePod(t, c, ns, onlyInstall(t, report).Keystore)
	port := kestrapod.Serve(t, p)
	pool := x509.NewCertPool()
	pool.AddCert(next)
	if conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: pool, ServerName: host}); err != nil {
		t.Errorf("Kestra's server, after step 2, does not verify against the new root: %v", err)
	} else {
		conn.Close()
	}
	if output, err := rotate("--finish"); err != nil || !strings.Contains(output, "step 3/3") {
		t.Fatalf("rotate-ca --finish: %v\n%s", err, output)
	}
	after := roots()
	if len(after) != 1 || !after[0].Equal(next) {
		t.Errorf("after --finish ca prints %d roots, want the new one alone", len(after))
	}
	if _, err := c.Dynamic.Resource(resources.Certificates).Namespace(ns).Get(ctx, "kestra-tls-ca-root", metav1.GetOptions{}); err == nil {
		t.Errorf("the old root's Certificate is still there after --finish")
	}
	bootstrap, err := os.ReadFile(filepath.Join(dir, "ca-bootstrap.yaml"))
	if err != nil || strings.Contains(string(bootstrap), "name: kestra-tls-ca-root\n") || !strings.Contains(string(bootstrap), "name: kestra-tls-ca-root-2\n") {
		t.Errorf("the overlay to commit still makes the old root, or not the new one (%v):\n%s", err, bootstrap)
	}
	snapshot := func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "values.yaml"))
		return string(data) + string(bootstrap)
	}
	was := snapshot()
	if _, stderr, err := runCmd(t, "generate", "-o", dir); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	bootstrap, _ = os.ReadFile(filepath.Join(dir, "ca-bootstrap.yaml"))
	if snapshot() != was {
		t.Errorf("re-running generate after the rotation changed the overlay")
	}
	if stdout, stderr, err := runCmd(t, append([]string{"uninstall", dir, "--yes", "--timeout", "0"}, clusterArgs(c, "", ns)...)...); err != nil {
		t.Errorf("uninstall: %v\n%s\n%s", err, stdout, stderr)
	}
}
