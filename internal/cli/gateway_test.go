package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

var gatewaysGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}

// TestGatewayModeWaitsUntilGatewayShimIssues applies a new Gateway with our CA: the API server (with the
// Gateway API's CRDs and their CEL rules) accepts the Gateway and the HTTPRoute, cert-manager's
// gateway-shim makes the Certificate named after the listeners' Secret, apply waits until it is Ready, and
// the Secret's certificate verifies for every host against our CA.
func TestGatewayModeWaitsUntilGatewayShimIssues(t *testing.T) {
	c := testCluster(t)
	caDir := t.TempDir()
	hosts := []string{"kestra.gw.example.com", "www.kestra.gw.example.com"}
	stdout, stderr, err := applyCmd(t, c, "gateway-ready", filepath.Join(t.TempDir(), "overlay"), "--mode", "gateway", "--gateway-class", "example",
		"--host", hosts[0], "--host", hosts[1], "--self-signed", "--ca-dir", caDir, "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	for _, want := range []string{"gateway.gateway.networking.k8s.io/kestra created", "httproute.gateway.networking.k8s.io/kestra created",
		"certificate.cert-manager.io/kestra-tls Ready (kestra.gw.example.com, www.kestra.gw.example.com)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	secret, err := c.Client.CoreV1().Secrets("gateway-ready").Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.ParseCertificates(secret.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	roots.AppendCertsFromPEM(caPEM)
	for _, cert := range chain[1:] {
		intermediates.AddCert(cert)
	}
	for _, host := range hosts {
		if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: intermediates}); err != nil {
			t.Errorf("the certificate does not verify for %s: %v", host, err)
		}
	}
	// status finds the install by its HTTPRoute, and gateway-shim's Certificate through our Gateway.
	report, code := statusOf(t, c, "gateway-ready")
	install := onlyInstall(t, report)
	if code != 0 || install.Mode != "gateway" || install.Kind != "HTTPRoute" || strings.Join(install.Hosts, ",") != strings.Join(hosts, ",") ||
		install.Certificate == nil || !install.Certificate.Ready || install.TLSSecret == nil || len(install.TLSSecret.MissingHosts) != 0 {
		t.Errorf("status of the gateway install = exit %d, %+v\n%s", code, install, findingsText(install))
	}
}

// TestAnExistingGatewayGetsOnlyTheRoute attaches to a Gateway someone else runs: only the HTTPRoute is
// written, with the parentRef's namespace and listener; a listener that does not allow routes from Kestra's
// namespace, or one that does not exist, is refused before anything is written.
func TestAnExistingGatewayGetsOnlyTheRoute(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "infra"}}, metav1.CreateOptions{})
	gateway := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "public", "namespace": "infra"},
		"spec": map[string]any{"gatewayClassName": "example", "listeners": []any{
			map[string]any{"name": "https", "port": int64(443), "protocol": "HTTPS", "hostname": "*.shared.example.com",
				"tls":           map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"kind": "Secret", "name": "wildcard"}}},
				"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}},
			map[string]any{"name": "internal", "port": int64(8443), "protocol": "HTTPS", "hostname": "*.internal.example.com",
				"tls": map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"kind": "Secret", "name": "internal"}}}},
		}},
	}}
	if _, err := c.Dynamic.Resource(gatewaysGVR).Namespace("infra").Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	apply := func(namespace, ref, host string) (string, string, error) {
		return applyCmd(t, c, namespace, filepath.Join(t.TempDir(), "overlay"), "--mode", "gateway", "--gateway", ref, "--host", host, "--create-namespace", "--timeout", "10s")
	}
	// No Gateway controller runs here: apply waits for one to accept the route, and says so when none does.
	stdout, stderr, err := apply("gateway-existing", "infra/public:https", "kestra.shared.example.com")
	var timeout interface{ ExitCode() int }
	if !errors.As(err, &timeout) || timeout.ExitCode() != 124 || !strings.Contains(err.Error(), "no Gateway controller has accepted it") {
		t.Fatalf("err = %v, want exit 124 saying no controller accepted the route\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "httproute.gateway.networking.k8s.io/kestra created") || strings.Contains(stdout, "gateway.gateway.networking.k8s.io/") || strings.Contains(stdout, "certificate") {
		t.Errorf("want only the route (and Kestra), got:\n%s", stdout)
	}
	routes := c.Dynamic.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}).Namespace("gateway-existing")
	route, err := routes.Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	if parent, _ := parents[0].(map[string]any); len(parents) != 1 || parent["namespace"] != "infra" || parent["sectionName"] != "https" || parent["name"] != "public" {
		t.Errorf("parentRefs = %v", parents)
	}

	// A real controller accepting the route, and apply reporting it: TestAnExistingTraefikGatewayAcceptsOurRoute.

	for name, tc := range map[string]struct{ namespace, ref, want string }{
		"a listener that allows only its own namespace": {"gateway-refused-same", "infra/public:internal", "listener internal of Gateway infra/public allows HTTPRoutes from namespace gateway-refused-same"},
		"a listener that does not exist":                {"gateway-refused-listener", "infra/public:http", `Gateway infra/public has no listener "http": it has https, internal`},
		"a Gateway that does not exist":                 {"gateway-refused-gateway", "infra/private", "Gateway infra/private, which does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := apply(tc.namespace, tc.ref, "kestra.internal.example.com")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			// envtest runs no namespace controller: a removed namespace stays, terminating.
			if namespace, err := c.Client.CoreV1().Namespaces().Get(ctx, tc.namespace, metav1.GetOptions{}); err == nil && namespace.DeletionTimestamp == nil {
				t.Error("the namespace created for the refused apply was left behind")
			}
		})
	}
}

// TestGatewayModeWithoutTheGatewayAPISaysWhatToInstall runs against a control plane without the Gateway
// API's CRDs: a clear error naming them, and nothing written.
func TestGatewayModeWithoutTheGatewayAPISaysWhatToInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane (-short)")
	}
	bare, err := cluster.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Stop()
	out := filepath.Join(t.TempDir(), "overlay")
	_, _, err = runCmd(t, "apply", out, "--mode", "gateway", "--gateway-class", "example", "--host", "kestra.example.com", "--issuer-ref", "corp",
		"--kubeconfig", bare.Kubeconfig, "--cache-dir", t.TempDir(), "-n", "default")
	if err == nil || !strings.Contains(err.Error(), "the Gateway API is not installed") || !strings.Contains(err.Error(), "standard-install.yaml") {
		t.Fatalf("err = %v, want it to say the Gateway API is not installed and what to install", err)
	}
	deployments, _ := bare.Client.AppsV1().Deployments("default").List(context.Background(), metav1.ListOptions{})
	if len(deployments.Items) > 0 {
		t.Error("something was written")
	}
}

// TestBackendTLSIsVerifiableByTheGateway applies gateway mode with --backend-tls: the API server accepts the
// BackendTLSPolicy (the Gateway API's CEL rules included) and cert-manager issues the Gateway's certificate;
// then Kestra, started as its pod would start it, serves HTTPS for the Service's DNS name from our stores,
// and the CA in the policy's ConfigMap verifies it (curl by that name, trusting only that CA).
func TestBackendTLSIsVerifiableByTheGateway(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := applyCmd(t, c, "gateway-btls", out, "--mode", "gateway", "--gateway-class", "example", "--backend-tls",
		"--host", "kestra.btls.example.com", "--self-signed", "--ca-dir", t.TempDir(), "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"backendtlspolicy.gateway.networking.k8s.io/kestra created", "configmap/kestra-tls-backend-ca created",
		"service/kestra created", "certificate.cert-manager.io/kestra-tls Ready (kestra.btls.example.com)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	ctx := context.Background()
	policy, err := c.Dynamic.Resource(schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "backendtlspolicies"}).Namespace("gateway-btls").Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hostname, _, _ := unstructured.NestedString(policy.Object, "spec", "validation", "hostname"); hostname != "kestra.gateway-btls.svc" {
		t.Errorf("validation.hostname = %q", hostname)
	}
	caMap, err := c.Client.CoreV1().ConfigMaps("gateway-btls").Get(ctx, "kestra-tls-backend-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	localCA, _ := os.ReadFile(filepath.Join(out, "certs", "ca.pem"))
	if caMap.Data["ca.crt"] != string(localCA) {
		t.Error("the policy's CA is not the CA that signed Kestra's certificate")
	}
	service, err := c.Client.CoreV1().Services("gateway-btls").Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hasHTTPS := false
	for _, port := range service.Spec.Ports {
		hasHTTPS = hasHTTPS || (port.Name == "https" && port.Port == 8443)
	}
	if !hasHTTPS {
		t.Errorf("Service ports %v lack https 8443, which the policy's sectionName names", service.Spec.Ports)
	}

	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	stream, _ := built.AsYaml()
	objects := decodeObjects(t, stream)
	p, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	for key, want := range map[string]string{
		"micronaut.server.ssl.enabled": "true", "micronaut.server.ssl.port": "8443",
		// The public URL is the Gateway's, not Kestra's own port.
		"kestra.url": "https://kestra.btls.example.com/",
	} {
		if got := p.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	checkServesTLS(t, started{kind: "Deployment", name: "kestra", container: "kestra", process: p}, out, "kestra.gateway-btls.svc", "kestra.gateway-btls.svc.cluster.local")
}
