package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

var (
	certificatesGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}
)

func applyCmd(t *testing.T, c *cluster.Cluster, namespace string, args ...string) (string, string, error) {
	t.Helper()
	return runCmd(t, append(append([]string{"apply"}, args...), clusterArgs(c, "", namespace)...)...)
}

var kustomizeHash = regexp.MustCompile(`-[a-z0-9]{10}$`)

// TestIngressModeWaitsUntilCertManagerIssues applies ingress mode with our CA as a cert-manager CA
// ClusterIssuer; apply returns once ingress-shim's Certificate is Ready, and the Secret's certificate
// covers every host and verifies against our CA.
func TestIngressModeWaitsUntilCertManagerIssues(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := applyCmd(t, c, "ingress-ready", out, "--host", "kestra.example.com", "--host", "ui.kestra.example.com",
		"--self-signed", "--ca-dir", sharedCADir, "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	for _, want := range []string{"ingress.networking.k8s.io/kestra created", "issuer.cert-manager.io/kestra-tls-ca created", "certificate.cert-manager.io/kestra-tls Ready (kestra.example.com, ui.kestra.example.com)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	secret, err := c.Client.CoreV1().Secrets("ingress-ready").Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// cert-manager serves the leaf and our name-constrained issuer; the root is what clients trust.
	chain, err := pki.ParseCertificates(secret.Data["tls.crt"])
	if err != nil || len(chain) < 2 {
		t.Fatalf("tls.crt: %v (%d certificates, want the leaf and the issuer)", err, len(chain))
	}
	leaf := chain[0]
	intermediates := x509.NewCertPool()
	for _, cert := range chain[1:] {
		intermediates.AddCert(cert)
	}
	caPEM, _ := os.ReadFile(filepath.Join(sharedCADir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"kestra.example.com", "ui.kestra.example.com"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: intermediates}); err != nil {
			t.Errorf("the issued certificate does not verify for %s against our CA: %v", host, err)
		}
	}

	// `wait` alone, on the existing install: Ready at once; a Certificate that isn't there times out (124).
	stdout, _, err = runCmd(t, append([]string{"wait", "--timeout", "10s"}, clusterArgs(c, "", "ingress-ready")...)...)
	if err != nil || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls Ready") {
		t.Errorf("wait = %q, %v", stdout, err)
	}
	// --timeout 0 checks once: a Ready certificate is Ready at once, not a timeout.
	stdout, _, err = runCmd(t, append([]string{"wait", "--timeout", "0"}, clusterArgs(c, "", "ingress-ready")...)...)
	if err != nil || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls Ready") {
		t.Errorf("wait --timeout 0 on a Ready certificate = %q, %v", stdout, err)
	}
	_, _, err = runCmd(t, append([]string{"wait", "no-such-certificate", "--timeout", "0"}, clusterArgs(c, "", "ingress-ready")...)...)
	var timeout interface{ ExitCode() int }
	if !errors.As(err, &timeout) || timeout.ExitCode() != 124 || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("wait on a missing Certificate = %v, want exit 124 saying it does not exist", err)
	}
}

// TestReapplyIsANoOpAndANewHostUpdatesInPlace checks resourceVersions: an identical apply changes none; a
// changed --host updates the Ingress in place and cert-manager reissues for it.
func TestReapplyIsANoOpAndANewHostUpdatesInPlace(t *testing.T) {
	c := testCluster(t)
	ns := "reapply"
	out := filepath.Join(t.TempDir(), "overlay")
	args := []string{out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir, "--create-namespace", "--timeout", "60s"}
	if _, stderr, err := applyCmd(t, c, ns, args...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	before := resourceVersions(t, c, ns)
	stdout, _, err := applyCmd(t, c, ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, resourceVersions(t, c, ns)); diff != "" {
		t.Errorf("an identical apply changed objects (-want +got):\n%s", diff)
	}
	if strings.Contains(stdout, " created") {
		t.Errorf("a re-apply claims to create:\n%s", stdout)
	}

	stdout, stderr, err := applyCmd(t, c, ns, out, "--host", "kestra.example.com", "--host", "new.kestra.example.com", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "ingress.networking.k8s.io/kestra configured") || !strings.Contains(stdout, "new.kestra.example.com") {
		t.Errorf("a new host did not configure the Ingress and wait for the new certificate:\n%s\n%s", stdout, stderr)
	}
	secret, _ := c.Client.CoreV1().Secrets(ns).Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	block, _ := pem.Decode(secret.Data["tls.crt"])
	leaf, _ := x509.ParseCertificate(block.Bytes)
	if err := leaf.VerifyHostname("new.kestra.example.com"); err != nil {
		t.Errorf("the Secret was not reissued for the new host: %v", err)
	}
}

// resourceVersions covers the objects apply writes; cert-manager goes on updating the Certificate and its
// temporary key Secret after Ready, which is not ours to judge.
func resourceVersions(t *testing.T, c *cluster.Cluster, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	versions := map[string]string{}
	add := func(kind string, object metav1.Object, err error) {
		if err != nil {
			t.Fatal(err)
		}
		versions[kind+"/"+object.GetNamespace()+"/"+object.GetName()] = object.GetResourceVersion()
	}
	ingress, err := c.Client.NetworkingV1().Ingresses(ns).Get(ctx, "kestra", metav1.GetOptions{})
	add("ingress", ingress, err)
	deployment, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	add("deployment", deployment, err)
	service, err := c.Client.CoreV1().Services(ns).Get(ctx, "kestra", metav1.GetOptions{})
	add("service", service, err)
	caSecret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "kestra-tls-ca", metav1.GetOptions{})
	add("secret", caSecret, err)
	return versions
}

// TestAppModeIsAcceptedByTheAPIServer applies app mode first as a server-side dry run, then for real.
func TestAppModeIsAcceptedByTheAPIServer(t *testing.T) {
	c := testCluster(t)
	ns := "app-mode"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--csrf"); err != nil {
		t.Fatal(err)
	}
	c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	stdout, _, err := applyCmd(t, c, ns, out, "--dry-run=server", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "<masked:") || strings.Contains(stdout, "keystore.p12: MII") {
		t.Errorf("server dry-run output does not mask Secret data")
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "kestra", metav1.GetOptions{}); err == nil {
		t.Error("--dry-run=server persisted the Deployment")
	}
	// --show-secrets is about printing: it must not make apply regenerate the folder first.
	stdout, stderr, err := applyCmd(t, c, ns, out, "--dry-run=server", "-o", "yaml", "--show-secrets")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "generated") || !strings.Contains(stdout, "keystore.p12: ") || strings.Contains(stdout, "<masked:") {
		t.Errorf("apply -o yaml --show-secrets regenerated the folder or masked the data:\n%s", stderr)
	}
	stdout, stderr, err = applyCmd(t, c, ns, out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(stdout, "certificate") {
		t.Errorf("app mode waited for a certificate:\n%s", stdout)
	}
	ctx := context.Background()
	secrets, _ := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	keys := map[string][]string{}
	for _, s := range secrets.Items {
		for key := range s.Data {
			prefix := kustomizeHash.ReplaceAllString(s.Name, "") // the name without kustomize's hash suffix
			keys[prefix] = append(keys[prefix], key)
		}
	}
	for name := range keys {
		sort.Strings(keys[name])
	}
	if diff := cmp.Diff(map[string][]string{"kestra-ssl": {"keystore.p12", "truststore.jks"}, "kestra-ssl-password": {"password"}}, keys); diff != "" {
		t.Errorf("Secrets (-want +got):\n%s", diff)
	}
	deployment, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	container := deployment.Spec.Template.Spec.Containers[0]
	if container.VolumeMounts[0].MountPath != "/app/ssl" || container.Ports[0].ContainerPort != 8443 {
		t.Errorf("Deployment not patched: mounts %v ports %v", container.VolumeMounts, container.Ports)
	}
	service, _ := c.Client.CoreV1().Services(ns).Get(ctx, "kestra", metav1.GetOptions{})
	var ports []int32
	for _, p := range service.Spec.Ports {
		ports = append(ports, p.Port)
	}
	if diff := cmp.Diff([]int32{8443, 8080}, ports); diff != "" {
		t.Errorf("Service ports (-want +got):\n%s", diff)
	}
}

// TestMissingIssuerTimesOutWith124AndNamesIt runs the real binary: exit code 124 within the timeout plus
// 2 s, and the explanation names the missing issuer.
func TestMissingIssuerTimesOutWith124AndNamesIt(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	cmd := exec.Command(testutil.Plugin(t), append([]string{"apply", out,
		"--host", "kestra.example.com", "--issuer-ref", "no-such-issuer", "--create-namespace", "--timeout", "3s"},
		clusterArgs(c, "", "missing-issuer")...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	started := time.Now()
	err := cmd.Run()
	elapsed := time.Since(started)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 124 {
		t.Fatalf("exit = %v, want 124\n%s", err, stderr.String())
	}
	if elapsed > 5*time.Second {
		t.Errorf("returned after %s, want within timeout + 2s", elapsed)
	}
	if !strings.Contains(stderr.String(), `ClusterIssuer "no-such-issuer" does not exist`) {
		t.Errorf("the explanation does not name the missing issuer:\n%s", stderr.String())
	}
}

// TestCtrlCStopsTheWaitWith130 sends SIGINT to the real binary while it waits.
func TestCtrlCStopsTheWaitWith130(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	cmd := exec.Command(testutil.Plugin(t), append([]string{"apply", out,
		"--host", "kestra.example.com", "--issuer-ref", "no-such-issuer", "--create-namespace", "--timeout", "60s"},
		clusterArgs(c, "", "interrupted")...)...)
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "Certificate interrupted/kestra-tls") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130\n%s", err, stderr.String())
	}
	if took := time.Since(signalled); took > 2*time.Second {
		t.Errorf("took %s to stop after Ctrl-C", took)
	}
}

func TestApplyErrorsSayWhatToDo(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir); err != nil {
		t.Fatal(err)
	}
	viewer, err := c.KubeconfigFor("nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	unreachable := filepath.Join(t.TempDir(), "unreachable.kubeconfig")
	os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	// The real API server, but a kubeconfig without its CA: the client must not trust it.
	untrusted := filepath.Join(t.TempDir(), "untrusted.kubeconfig")
	os.WriteFile(untrusted, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+c.Config.Host+`"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	tests := map[string]struct {
		kubeconfig string
		namespace  string
		args       []string
		wantErr    []string
	}{
		"an API server whose certificate is not trusted":                   {kubeconfig: untrusted, namespace: "default", wantErr: []string{"certificate your kubeconfig does not trust", "certificate-authority"}},
		"a missing namespace without --create-namespace":                   {namespace: "absent", wantErr: []string{`namespace "absent" does not exist`, "--create-namespace"}},
		"a server dry run into a namespace only a real apply would create": {namespace: "not-yet", args: []string{"--dry-run=server", "--create-namespace"}, wantErr: []string{"--dry-run=server cannot check objects", "kubectl create namespace not-yet", "--dry-run=client"}},
		"a user without RBAC permissions":                                  {kubeconfig: viewer, namespace: "default", wantErr: []string{"forbidden", "may not get namespaces", "kubectl auth can-i get namespaces"}},
		"an unreachable cluster":                                           {kubeconfig: unreachable, namespace: "default", wantErr: []string{"cannot reach the cluster at https://127.0.0.1:1", "--kubeconfig"}},
		"a bad --dry-run":                                                  {namespace: "default", args: []string{"--dry-run=later"}, wantErr: []string{"--dry-run=later", `"server"`}},
		"a folder that is no overlay":                                      {namespace: "default", args: []string{"--", filepath.Join(out, "nope")}, wantErr: []string{"not an overlay folder", "generate"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"apply", out}, tc.args...)
			if strings.Contains(name, "no overlay") {
				args = []string{"apply", filepath.Join(out, "nope")}
			}
			_, _, err := runCmd(t, append(args, clusterArgs(c, tc.kubeconfig, tc.namespace)...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// TestConflictWithAnotherFieldManagerSuggestsForceConflicts lets another manager own the Service's port,
// then applies: the error names the conflict and --force-conflicts, which then takes the field over.
func TestConflictWithAnotherFieldManagerSuggestsForceConflicts(t *testing.T) {
	c := testCluster(t)
	ns := "conflict"
	out := filepath.Join(t.TempDir(), "overlay")
	// A base of the user's (over the demo base, apply never suggests forcing: TestApplyRefusesTheDemoOverAnotherKestra).
	base := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(base, []byte(chartLikeBase), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--base", base); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	other := []byte(`{"apiVersion":"v1","kind":"Service","metadata":{"name":"kestra"},"spec":{"selector":{"app":"other"},"ports":[{"name":"http","port":8080,"targetPort":9090}]}}`)
	force := true
	if _, err := c.Client.CoreV1().Services(ns).Patch(ctx, "kestra", types.ApplyPatchType, other, metav1.PatchOptions{FieldManager: "helm", Force: &force}); err != nil {
		t.Fatal(err)
	}
	_, _, err := applyCmd(t, c, ns, out)
	if err == nil || !strings.Contains(err.Error(), "--force-conflicts") || !strings.Contains(err.Error(), "helm") {
		t.Fatalf("error = %v, want a conflict naming the other manager and --force-conflicts", err)
	}
	if _, stderr, err := applyCmd(t, c, ns, out, "--force-conflicts"); err != nil {
		t.Fatalf("--force-conflicts: %v\n%s", err, stderr)
	}
}

// TestWithoutCertManagerApplyRefusesBeforeWriting uses a control plane without cert-manager's CRDs.
func TestWithoutCertManagerApplyRefusesBeforeWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane")
	}
	bare, err := cluster.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Stop()
	out := filepath.Join(t.TempDir(), "overlay")
	_, _, err = runCmd(t, append([]string{"apply", out, "--host", "kestra.example.com", "--self-signed", "--create-namespace"}, clusterArgs(bare, "", "no-cm")...)...)
	if err == nil || !strings.Contains(err.Error(), "cert-manager is not installed") || !strings.Contains(err.Error(), "--no-cert-manager") {
		t.Fatalf("error = %v, want one saying cert-manager is missing and pointing to --no-cert-manager", err)
	}
	if _, err := bare.Client.CoreV1().Namespaces().Get(context.Background(), "no-cm", metav1.GetOptions{}); err == nil {
		t.Error("the namespace was created although nothing should be written")
	}
	// The no-cert-manager path works on this cluster.
	stdout, stderr, err := runCmd(t, append([]string{"apply", out, "--host", "kestra.example.com", "--self-signed", "--no-cert-manager", "--create-namespace"}, clusterArgs(bare, "", "no-cm")...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "secret/kestra-tls created") {
		t.Errorf("no kestra-tls Secret applied:\n%s", stdout)
	}
}

// TestIssuerNotReadyIsExplained points the Ingress at a CA ClusterIssuer whose Secret does not exist: the
// real cert-manager marks it not Ready, and the timeout explanation says so with cert-manager's reason.
func TestIssuerNotReadyIsExplained(t *testing.T) {
	c := testCluster(t)
	issuer := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
		"metadata": map[string]any{"name": "broken-ca"},
		"spec":     map[string]any{"ca": map[string]any{"secretName": "no-such-secret"}},
	}}
	clusterIssuers := schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "clusterissuers"}
	if _, err := c.Dynamic.Resource(clusterIssuers).Create(context.Background(), issuer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "overlay")
	_, _, err := applyCmd(t, c, "broken-issuer", out, "--host", "kestra.example.com", "--issuer-ref", "broken-ca", "--create-namespace", "--timeout", "3s")
	var timeout interface{ ExitCode() int }
	if !errors.As(err, &timeout) || timeout.ExitCode() != 124 {
		t.Fatalf("error = %v, want a timeout (exit 124)", err)
	}
	for _, want := range []string{"ClusterIssuer broken-ca:", "Ready=False", "no-such-secret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("explanation lacks %q:\n%s", want, err)
		}
	}
}

// TestGenerateThenApplyPrintsSecretsOnlyWhenAsked runs generate's flags through apply with -o yaml.
func TestGenerateThenApplyPrintsSecretsOnlyWhenAsked(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	masked, _, err := applyCmd(t, c, "print-secrets", out, "--mode", "app", "--host", "kestra.example.com", "--create-namespace", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	shown, _, err := applyCmd(t, c, "print-secrets", out, "-o", "yaml", "--show-secrets")
	if err != nil {
		t.Fatal(err)
	}
	password, _ := os.ReadFile(filepath.Join(out, "certs", "store-password"))
	encoded := base64.StdEncoding.EncodeToString(password)
	if strings.Contains(masked, encoded) || !strings.Contains(masked, "<masked:") {
		t.Error("-o yaml printed the store password without --show-secrets")
	}
	if !strings.Contains(shown, encoded) {
		t.Error("--show-secrets did not print the Secret data")
	}
}

// TestInterruptDuringARequestExits130 cancels the command (as Ctrl-C does) while apply's first request is
// in flight, held by a proxy in front of the real API server: the cancelled request comes back as a
// *url.Error, which must read as an interrupt (130), not "cannot reach the cluster"; nothing is written.
func TestInterruptDuringARequestExits130(t *testing.T) {
	c := testCluster(t)
	ns := "interrupted-apply"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir); err != nil {
		t.Fatal(err)
	}
	kubeconfig, held := holdingProxy(t, c, func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/")
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-held; cancel() }()
	cmd := NewCmdKestraTLS(genericiooptions.NewTestIOStreamsDiscard())
	cmd.SetArgs(append([]string{"apply", out, "--create-namespace"}, clusterArgs(c, kubeconfig, ns)...))
	err := cmd.ExecuteContext(ctx)
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("apply cancelled mid-request = %v, want exit 130", err)
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err == nil {
		t.Error("an interrupted apply created the namespace")
	}
}

// TestBackToBackAppliesReadUnchanged re-applies within the same second as a real change: the word comes
// from the server's revision, so the no-op still reads "unchanged" (a clock-based verdict said "configured").
func TestBackToBackAppliesReadUnchanged(t *testing.T) {
	c := testCluster(t)
	ns := "back-to-back"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := applyCmd(t, c, ns, out, "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stdout, _, err := applyCmd(t, c, ns, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.HasSuffix(line, " unchanged") {
			t.Errorf("a no-op re-apply printed %q", line)
		}
	}
}

// TestApplyIsAllOrNothing: an object the API server rejects (an unknown field, refused by strict field
// validation, as kubectl does) comes last in apply's order; nothing before it is written, the namespace
// apply created for it is removed, and the message names the object and the field.
func TestApplyIsAllOrNothing(t *testing.T) {
	c := testCluster(t)
	ns := "all-or-nothing"
	templates := t.TempDir()
	ingress, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "templates", "ingress.yaml.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(templates, "ingress.yaml.tpl"), []byte(strings.Replace(string(ingress), "spec:\n", "spec:\n  bogusField: 1\n", 1)), 0o644)
	out := filepath.Join(t.TempDir(), "overlay")
	_, _, err = applyCmd(t, c, ns, out, "--host", "kestra.example.com", "--self-signed", "--no-cert-manager", "--templates", templates, "--create-namespace")
	if err == nil || !strings.Contains(err.Error(), "Ingress") || !strings.Contains(err.Error(), "bogusField") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("apply with a rejected Ingress = %v, want the Ingress and its unknown field named, nothing written", err)
	}
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "kestra-tls", metav1.GetOptions{}); err == nil {
		t.Error("the Secret before the rejected Ingress was written")
	}
	if namespace, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && namespace.DeletionTimestamp == nil {
		t.Error("the namespace apply created for the rejected objects is still there")
	}
}
