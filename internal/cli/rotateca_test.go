package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
)

// TestRotateCAOfAnInstallCertManagerIssues rotates the CA of an ingress install whose certificate the real
// cert-manager issues from our CA. At each step the TLS Secret, as cert-manager wrote it, is served the way
// an ingress controller serves it, and curl checks it: a client trusting both CAs (what step 1 hands out)
// trusts Kestra throughout, one trusting only the old CA stops at step 2, and after --finish ca.pem alone
// is enough.
func TestRotateCAOfAnInstallCertManagerIssues(t *testing.T) {
	c := testCluster(t)
	ns := "rotate-issuer"
	host := "kestra.rotate-issuer.test"
	out := filepath.Join(t.TempDir(), "overlay")
	if stdout, stderr, err := applyCmd(t, c, ns, out, "--host", host, "--self-signed", "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	rotate := func(extra ...string) (string, error) {
		stdout, stderr, err := runCmd(t, append(append([]string{"rotate-ca", out}, extra...), clusterArgs(c, "", ns)...)...)
		return stdout + stderr, err
	}
	certs := filepath.Join(out, "certs")
	keep := t.TempDir()
	oldCA := copyFile(t, filepath.Join(certs, "ca.pem"), filepath.Join(keep, "old-ca.pem"))
	curlTrusts := func(caFile string) bool {
		port := serveTLSSecret(t, c, ns, "kestra-tls")
		body, err := javatls.Curl(t, caFile, host, port)
		return err == nil && strings.Contains(body, "kestra-tls-ok")
	}
	if !curlTrusts(oldCA) {
		t.Fatal("before the rotation, a client trusting ca.pem does not trust Kestra")
	}

	// Step 1: a next CA in certs/, handed to clients; the certificate is still the old CA's.
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 1/3 applied") {
		t.Fatalf("rotate-ca step 1: %v\n%s", err, text)
	}
	nextPEM, err := os.ReadFile(filepath.Join(certs, "ca-next.pem"))
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _ := os.ReadFile(oldCA)
	bothCAs := filepath.Join(keep, "both.pem")
	if err := os.WriteFile(bothCAs, append(append([]byte{}, oldPEM...), nextPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	nextCA := copyFile(t, filepath.Join(certs, "ca-next.pem"), filepath.Join(keep, "next-ca.pem"))
	if !curlTrusts(oldCA) || !curlTrusts(bothCAs) {
		t.Error("step 1: a client trusting the old CA, or both, does not trust Kestra")
	}
	if _, err := rotate("--finish"); err == nil || !strings.Contains(err.Error(), "step 2 has not run") {
		t.Errorf("--finish at step 1 = %v, want a refusal", err)
	}
	rotationStep := func() string {
		report, _ := statusOf(t, c, ns)
		if install := onlyInstall(t, report); install.Certificate != nil {
			return install.Certificate.Issuer.CARotation
		}
		return "no Certificate"
	}
	if step := rotationStep(); !strings.HasPrefix(step, "1/3") {
		t.Errorf("status at step 1: caRotation %q", step)
	}

	// Step 2: cert-manager gets an issuer signed by the next CA and issues again.
	text, err := rotate()
	if err != nil || !strings.Contains(text, "step 2/3 applied") || !strings.Contains(text, "certificate.cert-manager.io/kestra-tls Ready") {
		t.Fatalf("rotate-ca step 2: %v\n%s\ncert-manager:\n%s", err, text, c.Logs.Tail(20))
	}
	if !curlTrusts(bothCAs) || !curlTrusts(nextCA) {
		t.Error("step 2: a client trusting both CAs, or the new one, does not trust Kestra")
	}
	if curlTrusts(oldCA) {
		t.Error("step 2: a client trusting only the old CA still trusts Kestra: cert-manager did not issue from the new CA")
	}
	report, code := statusOf(t, c, ns)
	if install := onlyInstall(t, report); code != 0 || install.TLSSecret == nil || install.TLSSecret.VerifiedBy != "ca.crt" ||
		install.Certificate == nil || !strings.HasPrefix(install.Certificate.Issuer.CARotation, "2/3") {
		t.Errorf("status at step 2 = exit %d, caRotation %q:\n%s", code, rotationStep(), findingsText(install))
	}
	// Step 2 again: nothing left to reissue, no file of certs/ changes.
	revision := certificateRevision(t, c, ns, "kestra-tls")
	before := certsDigest(t, out)
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 2/3 is in place") || strings.Contains(text, "reissue triggered") {
		t.Errorf("rotate-ca at step 2 again: %v\n%s", err, text)
	}
	if diff := cmp.Diff(before, certsDigest(t, out)); diff != "" {
		t.Errorf("repeating step 2 changed certs/ (-want +got):\n%s", diff)
	}
	if got := certificateRevision(t, c, ns, "kestra-tls"); got != revision {
		t.Errorf("repeating step 2 reissued: revision %d -> %d", revision, got)
	}

	// Step 3: the next CA becomes the CA.
	if text, err := rotate("--finish"); err != nil || !strings.Contains(text, "step 3/3 done") {
		t.Fatalf("rotate-ca --finish: %v\n%s", err, text)
	}
	if caPEM, _ := os.ReadFile(filepath.Join(certs, "ca.pem")); string(caPEM) != string(nextPEM) {
		t.Error("after --finish, certs/ca.pem is not the CA that was ca-next.pem")
	}
	for _, name := range []string{"ca-next.pem", "ca-next.key"} {
		if _, err := os.Stat(filepath.Join(certs, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after --finish certs/%s is still there: %v", name, err)
		}
	}
	if !curlTrusts(filepath.Join(certs, "ca.pem")) {
		t.Error("after --finish a client trusting ca.pem does not trust Kestra")
	}
	if step := rotationStep(); step != "" {
		t.Errorf("status after --finish: caRotation %q, want none", step)
	}
	if got := certificateRevision(t, c, ns, "kestra-tls"); got != revision {
		t.Errorf("--finish reissued: revision %d -> %d (the issuer it applies is step 2's)", revision, got)
	}
	if _, err := rotate("--finish"); err == nil || !strings.Contains(err.Error(), "no CA rotation is under way") {
		t.Errorf("--finish with no rotation = %v", err)
	}
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return to
}

func certificateRevision(t *testing.T, c *cluster.Cluster, namespace, name string) int64 {
	t.Helper()
	certificate, err := c.Dynamic.Resource(certificatesGVR).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	revision, _, _ := unstructured.NestedInt64(certificate.Object, "status", "revision")
	return revision
}

// serveTLSSecret serves the certificate and key of a TLS Secret on loopback, as an ingress controller
// serves the Secret an Ingress names, until the test ends.
func serveTLSSecret(t *testing.T, c *cluster.Cluster, namespace, name string) int {
	t.Helper()
	secret, err := c.Client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("Secret %s/%s: %v", namespace, name, err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("kestra-tls-ok")) }),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go server.ServeTLS(listener, "", "")
	t.Cleanup(func() { server.Close() })
	return listener.Addr().(*net.TCPAddr).Port
}

// TestRotateCAOfAppModeKeystoreFromCertManager: with --app-issuer cert-manager, step 2 has cert-manager
// write a keystore from the new CA and restarts Kestra, whose pods (stand-ins here, served by the JVM with
// the stores taken from the cluster) then present a certificate only the new CA verifies.
func TestRotateCAOfAppModeKeystoreFromCertManager(t *testing.T) {
	c := testCluster(t)
	ns := "rotate-appcm"
	host := "kestra.rotate-appcm.test"
	out := filepath.Join(t.TempDir(), "overlay")
	// A Kestra before 1.3: step 2 restarts it on cert-manager's new keystore.
	if stdout, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", host, "--self-signed", "--app-issuer", "cert-manager",
		"--kestra-version", "1.2", "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	startStandInPods(t, c, ns, "kestra")
	rotate := func(extra ...string) (string, error) {
		stdout, stderr, err := runCmd(t, append(append([]string{"rotate-ca", out}, extra...), clusterArgs(c, "", ns)...)...)
		return stdout + stderr, err
	}
	certs := filepath.Join(out, "certs")
	oldCA := copyFile(t, filepath.Join(certs, "ca.pem"), filepath.Join(t.TempDir(), "old-ca.pem"))
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 1/3 applied") {
		t.Fatalf("rotate-ca step 1: %v\n%s", err, text)
	}
	nextCA := copyFile(t, filepath.Join(certs, "ca-next.pem"), filepath.Join(t.TempDir(), "next-ca.pem"))
	text, err := rotate()
	if err != nil || !strings.Contains(text, "step 2/3 applied") || !strings.Contains(text, "deployment.apps/kestra restarted") {
		t.Fatalf("rotate-ca step 2: %v\n%s\ncert-manager:\n%s", err, text, c.Logs.Tail(20))
	}
	startStandInPods(t, c, ns, "kestra")
	report, code := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	if code != 0 || install.Keystore == nil || !install.Keystore.Opens || !install.Keystore.TruststoreHoldsIssuer {
		t.Fatalf("status after step 2 = exit %d:\n%s", code, findingsText(install))
	}
	port := servePod(t, c, ns, install.Keystore)
	if body, err := javatls.Curl(t, nextCA, host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("step 2: a client trusting the new CA does not trust the keystore cert-manager wrote: %v\n%s", err, body)
	}
	if _, err := javatls.Curl(t, oldCA, host, port); err == nil {
		t.Error("step 2: a client trusting only the old CA still trusts Kestra: cert-manager did not issue from the new CA")
	}
	if text, err := rotate("--finish"); err != nil || !strings.Contains(text, "step 3/3 done") {
		t.Fatalf("rotate-ca --finish: %v\n%s", err, text)
	}
	if _, code := statusOf(t, c, ns); code != 0 {
		t.Errorf("status after --finish = exit %d", code)
	}
}
