package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// madeByHand is what the guide-made base's Secrets hold (base64 of "made by hand").
const madeByHand = "bWFkZSBieSBoYW5k"

// TestGuideMadeSetupIsTakenOver generates over manifests made along the guide's Kubernetes steps (an
// Ingress kestra-ingress with its own issuer annotation and backend-protocol HTTPS towards the plain port,
// micronaut.server.ssl with password changeit, a volume ssl-secret at /app/ssl, a JAVA_OPTS trust store,
// the Secrets kestra-tls and kestra-ssl). In both modes the overlay builds with one Ingress for the host,
// one issuer, our Secrets only, and a Kestra that reads one SSL configuration with no password in plain
// text; each replacement is a line of output, and a re-run changes nothing.
func TestGuideMadeSetupIsTakenOver(t *testing.T) {
	const host = "kestra.yourdomain.com"
	for _, mode := range []string{"ingress", "app"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			args := []string{"generate", "-o", out, "--base", "testdata/bases/guide", "--mode", mode, "--host", host, "--email", "ops@yourdomain.com", "-n", "kestra"}
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			wantLines := []string{
				"taken over: Deployment kestra: the micronaut.server.ssl of its KESTRA_CONFIGURATION (keystore, password in plain text) is replaced by ours",
				"taken over: Deployment kestra: the javax.net.ssl.trustStore flags of its JAVA_OPTS are replaced by ours",
				"taken over: Deployment kestra: its volume ssl-secret at /app/ssl is replaced by ours",
			}
			if mode == "ingress" {
				wantLines = append(wantLines,
					"taken over: Ingress kestra-ingress of the base takes our TLS (Secret kestra-tls) and routes kestra.yourdomain.com to Service kestra-service port http",
					"taken over: Ingress kestra-ingress: annotation nginx.ingress.kubernetes.io/backend-protocol: HTTPS removed",
					"taken over: ClusterIssuer letsencrypt-prod of the base is replaced by ours",
					"taken over: Secret kestra-tls of the base is left out: cert-manager writes it")
			} else {
				wantLines = append(wantLines,
					"taken over: Ingress kestra-ingress of the base asks for HTTPS upstream: its backends to Service kestra-service now use port https",
					"taken over: Secret kestra-ssl of the base is replaced by ours")
			}
			for _, line := range wantLines {
				if !strings.Contains(stdout, line) {
					t.Errorf("generate does not say %q:\n%s", line, stdout)
				}
			}

			objects := builtObjects(t, out)
			ingresses := objectsOfKind(objects, "Ingress")
			if len(ingresses) != 1 {
				t.Fatalf("%d Ingresses, want the base's one taken over", len(ingresses))
			}
			ingress := ingresses[0]
			annotations, _ := dig(ingress, "metadata", "annotations").(map[string]any)
			backend := dig(ingress, "spec", "rules").([]any)[0]
			port := dig(backend, "http", "paths").([]any)[0].(map[string]any)["backend"].(map[string]any)["service"].(map[string]any)["port"].(map[string]any)
			issuers := 0
			for key := range annotations {
				if strings.HasPrefix(key, "cert-manager.io/") && strings.Contains(key, "issuer") {
					issuers++
				}
			}
			if mode == "ingress" {
				tls := fmt.Sprint(dig(ingress, "spec", "tls"))
				if issuers != 1 || annotations["cert-manager.io/cluster-issuer"] != "letsencrypt-prod" || annotations["nginx.ingress.kubernetes.io/backend-protocol"] != nil ||
					port["name"] != "http" || !strings.Contains(tls, host) || !strings.Contains(tls, "kestra-tls") {
					t.Errorf("the Ingress is not ours: annotations %v, backend port %v, tls %s", annotations, port, tls)
				}
				if secrets := secretsNamed(objects, "kestra-tls"); len(secrets) != 0 {
					t.Errorf("the base's Secret kestra-tls is still built; cert-manager writes it: %v", secrets)
				}
				if issuers := objectsOfKind(objects, "ClusterIssuer"); len(issuers) != 1 || dig(issuers[0], "spec", "acme", "email") != "ops@yourdomain.com" {
					t.Errorf("want our ClusterIssuer letsencrypt-prod alone: %v", issuers)
				}
			} else {
				if port["name"] != "https" {
					t.Errorf("the base's Ingress asks for HTTPS upstream but its backend port is %v, not https", port)
				}
				for _, secret := range secretsNamed(objects, "kestra-ssl") {
					if strings.Contains(fmt.Sprint(secret["data"]), madeByHand) {
						t.Error("the base's kestra-ssl Secret is still built beside ours")
					}
				}
			}

			p, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
			if err != nil {
				t.Fatalf("Kestra would not start: %v", err)
			}
			checkOneSSLSetup(t, p, mode)
			if mode == "app" {
				port := kestrapod.Serve(t, p)
				if body, err := javatls.Curl(t, filepath.Join(out, "certs", "ca.pem"), host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
					t.Errorf("curl: %v\n%s", err, body)
				}
			}

			stdout, _, err = runCmd(t, args...)
			if err != nil || !strings.Contains(stdout, "is up to date") {
				t.Errorf("a re-run changed files: %v\n%s", err, stdout)
			}
		})
	}
}

// checkOneSSLSetup: what Kestra reads has one SSL configuration, ours, with no password in plain text, one
// mount at /app/ssl, and no trust store flag of the guide's.
func checkOneSSLSetup(t *testing.T, p *kestrapod.Process, mode string) {
	t.Helper()
	for name, value := range p.Env {
		if strings.Contains(value, "changeit") {
			t.Errorf("%s still holds the guide's password changeit", name)
		}
	}
	for name, f := range p.Files {
		if strings.Contains(string(f.Data), "changeit") {
			t.Errorf("%s still holds the guide's password changeit", name)
		}
	}
	if strings.Contains(p.JVMOptions, "trustStorePassword") || strings.Contains(p.JVMOptions, "/app/ssl/truststore.jks") {
		t.Errorf("the JVM options keep the guide's trust store: %q", p.JVMOptions)
	}
	enabled := p.String("micronaut.server.ssl.enabled")
	if mode == "ingress" {
		if enabled != "" || p.String("micronaut.server.ssl.key-store.path") != "" || p.String("micronaut.server.ssl.key-name") != "" {
			t.Errorf("in ingress mode Kestra must serve plain HTTP to the Ingress, but micronaut.server.ssl.enabled = %q", enabled)
		}
		for name := range p.Files {
			if strings.HasPrefix(name, "/app/ssl/") {
				t.Errorf("%s is still mounted in ingress mode", name)
			}
		}
		return
	}
	if enabled != "true" || keystorePassword(p) == "" {
		t.Errorf("micronaut.server.ssl.enabled = %q", enabled)
	}
	var keystores []string
	for name := range p.Files {
		if strings.HasSuffix(name, ".p12") {
			keystores = append(keystores, name)
		}
	}
	if len(keystores) != 1 {
		t.Errorf("the container sees %d keystores (%v), want one", len(keystores), keystores)
	}
}

func objectsOfKind(objects []map[string]any, kind string) []map[string]any {
	var found []map[string]any
	for _, object := range objects {
		if object["kind"] == kind {
			found = append(found, object)
		}
	}
	return found
}

// secretsNamed are the Secrets called name, or name with the hash suffix a generator adds.
func secretsNamed(objects []map[string]any, name string) []map[string]any {
	var found []map[string]any
	for _, secret := range objectsOfKind(objects, "Secret") {
		n, _ := dig(secret, "metadata", "name").(string)
		if n == name || (strings.HasPrefix(n, name+"-") && len(n) == len(name)+11) {
			found = append(found, secret)
		}
	}
	return found
}

// TestBaseWithOurSecretNames: a base that already holds a Secret of the name the overlay generates gets
// ours in its place, whatever namespace it names.
func TestBaseWithOurSecretNames(t *testing.T) {
	for name, tc := range map[string]struct {
		secret, namespace string
		args              []string
	}{
		"kestra-tls, the guide's self-signed TLS Secret": {"kestra-tls", "", []string{"--self-signed", "--no-cert-manager"}},
		"kestra-tls in Kestra's namespace":               {"kestra-tls", "kestra", []string{"--self-signed", "--no-cert-manager"}},
		"kestra-ssl, the guide's stores":                 {"kestra-ssl", "", []string{"--mode", "app"}},
		"kestra-ssl-password":                            {"kestra-ssl-password", "kestra", []string{"--mode", "app"}},
		"kestra-tls-ca, the CA issuer's Secret":          {"kestra-tls-ca", "kestra", []string{"--self-signed"}},
	} {
		t.Run(name, func(t *testing.T) {
			namespace := ""
			if tc.namespace != "" {
				namespace = "\n  namespace: " + tc.namespace
			}
			base := embeddedBaseWith(t, map[string]string{
				"secret.yaml": fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s%s\ndata:\n  made-by-hand: %s\n", tc.secret, namespace, madeByHand),
			})

			out := filepath.Join(t.TempDir(), "overlay")
			args := append([]string{"generate", "-o", out, "--base", base, "--host", "kestra.example.com", "-n", "kestra"}, tc.args...)
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "taken over: Secret "+tc.secret+" of the base is replaced by ours") {
				t.Errorf("generate does not say it replaced Secret %s:\n%s", tc.secret, stdout)
			}
			objects := builtObjects(t, out)
			secrets := secretsNamed(objects, tc.secret)
			if len(secrets) != 1 || strings.Contains(fmt.Sprint(secrets[0]["data"]), madeByHand) {
				t.Errorf("want our Secret %s alone, got %v", tc.secret, secrets)
			}
			if stdout, _, err := runCmd(t, args...); err != nil || !strings.Contains(stdout, "is up to date") {
				t.Errorf("a re-run changed files: %v\n%s", err, stdout)
			}
		})
	}
}

// TestChartWithItsOwnIngress renders the official chart with its Ingress on (the chart's usual way to
// expose Kestra) and generates over it: ingress mode takes that Ingress over, app mode leaves it routing
// plain HTTP to the port dual-protocol keeps open, and --target helm sets the chart's ingress values so that
// the chart still renders one Ingress.
func TestChartWithItsOwnIngress(t *testing.T) {
	testutil.Chart(t)
	chartArgs := []string{"--set", "ingress.enabled=true", "--set", "ingress.hosts[0].host=kestra.example.com", "--set", "ingress.hosts[0].paths[0].path=/", "--set", "ingress.hosts[0].paths[0].pathType=Prefix"}
	rendered := testutil.RenderChart(t, "kestra", "kestra", chartArgs...)
	base := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(base, rendered, 0o644); err != nil {
		t.Fatal(err)
	}
	if n := len(objectsOfKind(decodeObjects(t, rendered), "Ingress")); n != 1 {
		t.Fatalf("the chart rendered %d Ingresses with ingress.enabled", n)
	}
	for _, mode := range []string{"ingress", "app"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			args := []string{"generate", "-o", out, "--base", base, "--mode", mode, "--host", "kestra.example.com", "--self-signed", "--csrf", "-n", "kestra"}
			stdout, stderr, err := runCmd(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			objects := builtObjects(t, out)
			ingresses := objectsOfKind(objects, "Ingress")
			if len(ingresses) != 1 {
				t.Fatalf("%d Ingresses, want the chart's one", len(ingresses))
			}
			tls := fmt.Sprint(dig(ingresses[0], "spec", "tls"))
			if mode == "ingress" {
				if !strings.Contains(stdout, "taken over: Ingress kestra of the base takes our TLS") || !strings.Contains(tls, "kestra-tls") ||
					dig(ingresses[0], "metadata", "annotations", "cert-manager.io/issuer") != "kestra-tls-ca" {
					t.Errorf("the chart's Ingress was not taken over (tls %s):\n%s", tls, stdout)
				}
			} else {
				server := checkKestraStarts(t, objects, "app", false)
				checkServesTLS(t, server, out, "kestra.example.com")
			}
			if stdout, _, err := runCmd(t, args...); err != nil || !strings.Contains(stdout, "is up to date") {
				t.Errorf("a re-run changed files: %v\n%s", err, stdout)
			}
		})
	}
	t.Run("helm", func(t *testing.T) {
		values := filepath.Join(t.TempDir(), "values.yaml")
		os.WriteFile(values, []byte("ingress:\n  enabled: true\n  hosts:\n    - host: kestra.example.com\n      paths: [{path: /, pathType: Prefix}]\n"), 0o644)
		out := filepath.Join(t.TempDir(), "helm")
		if _, stderr, err := runCmd(t, "generate", "--target", "helm", "-o", out, "--host", "kestra.example.com", "--email", "ops@example.com", "--chart-values", values, "-n", "kestra"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		objects := decodeObjects(t, testutil.RenderChart(t, "kestra", "kestra", "-f", values, "-f", filepath.Join(out, overlays.HelmValuesFile)))
		ingresses := objectsOfKind(objects, "Ingress")
		if len(ingresses) != 1 {
			t.Fatalf("the chart renders %d Ingresses, want one", len(ingresses))
		}
		rules := fmt.Sprint(dig(ingresses[0], "spec", "rules"))
		if strings.Count(rules, "host:kestra.example.com") != 1 || !strings.Contains(fmt.Sprint(dig(ingresses[0], "spec", "tls")), "kestra-tls") {
			t.Errorf("the chart's Ingress: rules %s, tls %v", rules, dig(ingresses[0], "spec", "tls"))
		}
	})
}

// TestApplyOfAGuideMadeSetupLeavesOneCertificate applies over the guide-made manifests on the real control
// plane with the real cert-manager: the Ingress is taken over, so ingress-shim makes one Certificate for
// kestra-tls, from our issuer, and it becomes Ready.
func TestApplyOfAGuideMadeSetupLeavesOneCertificate(t *testing.T) {
	c := testCluster(t)
	ns := "adopt-guide"
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := applyCmd(t, c, ns, out, "--base", "testdata/bases/guide", "--host", "kestra.yourdomain.com", "--self-signed", "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	if !strings.Contains(stderr, "taken over: Ingress kestra-ingress of the base") {
		t.Errorf("apply does not say what it took over:\n%s", stderr)
	}
	certificates, err := c.Dynamic.Resource(resources.Certificates).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, certificate := range certificates.Items {
		names = append(names, certificate.GetName()+" from "+fmt.Sprint(certificate.Object["spec"].(map[string]any)["issuerRef"]))
	}
	if len(certificates.Items) != 1 || certificates.Items[0].GetName() != "kestra-tls" || !strings.Contains(names[0], "kestra-tls-ca") {
		t.Errorf("Certificates: %v, want one, kestra-tls, from our issuer kestra-tls-ca", names)
	}
	ingresses, err := c.Client.NetworkingV1().Ingresses(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(ingresses.Items) != 1 {
		t.Fatalf("Ingresses: %v, %v", err, ingresses)
	}
	secret, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil || base64.StdEncoding.EncodeToString(secret.Data["tls.crt"]) == madeByHand || !slices.Contains([]string{"kestra-tls"}, secret.Name) {
		t.Errorf("Secret kestra-tls is not cert-manager's: %v", err)
	}
}

// TestGatewayModeTakesOverTheBasesRoute: a base whose HTTPRoute already routes the host to Kestra gets ours
// in its place (one route for the host), under the base's name; a Gateway of the base that already listens
// for the host is named in a warning with the --gateway that would use it.
func TestGatewayModeTakesOverTheBasesRoute(t *testing.T) {
	route := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: kestra-route
spec:
  parentRefs: [{name: old-gateway, namespace: infra}]
  hostnames: [kestra.example.com]
  rules:
    - backendRefs: [{name: kestra, port: 8080}]
      timeouts: {request: 30s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: public
  namespace: infra
spec:
  gatewayClassName: eg
  listeners:
    - {name: kestra-https, hostname: kestra.example.com, port: 443, protocol: HTTPS}
`
	base := embeddedBaseWith(t, map[string]string{"route.yaml": route})

	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := runCmd(t, "generate", "-o", out, "--base", base, "--mode", "gateway", "--gateway-class", "eg", "--host", "kestra.example.com", "--self-signed", "-n", "kestra")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "taken over: HTTPRoute kestra-route of the base is replaced by ours") {
		t.Errorf("generate does not say it took the route over:\n%s", stdout)
	}
	if !strings.Contains(stderr, "Gateway public of the base already has listener kestra-https for kestra.example.com") || !strings.Contains(stderr, "--gateway infra/public:kestra-https") {
		t.Errorf("no warning about the base's Gateway that already listens for the host:\n%s", stderr)
	}
	objects := builtObjects(t, out)
	routes := objectsOfKind(objects, "HTTPRoute")
	if len(routes) != 1 || dig(routes[0], "metadata", "name") != "kestra-route" {
		t.Fatalf("want the base's HTTPRoute alone, taken over: %v", routes)
	}
	parents := fmt.Sprint(dig(routes[0], "spec", "parentRefs"))
	if strings.Contains(parents, "old-gateway") || !strings.Contains(parents, "name:kestra") {
		t.Errorf("the route's parents are %s, want our Gateway only", parents)
	}
	if timeouts := fmt.Sprint(dig(routes[0], "spec", "rules")); strings.Contains(timeouts, "30s") {
		t.Errorf("the base's 30s request timeout stayed (it cuts Kestra's event streams): %s", timeouts)
	}
}

// embeddedBaseWith is the embedded minimal Kestra in a folder of its own, with more manifests listed.
func embeddedBaseWith(t *testing.T, manifests map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(testutil.RepoRoot(), "templates", "base"))); err != nil {
		t.Fatal(err)
	}
	kustomization := filepath.Join(dir, "kustomization.yaml")
	os.Chmod(kustomization, 0o644)
	listed, _ := os.ReadFile(kustomization)
	for name, content := range manifests {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		listed = append(listed, []byte("  - "+name+"\n")...)
	}
	if err := os.WriteFile(kustomization, listed, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
