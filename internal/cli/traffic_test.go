package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/browser"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestraserver"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/netpod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/traefik"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
)

var (
	traefikOnce     sync.Once
	sharedTraefik   *traefik.Traefik
	traefikStartErr error
)

// testTraefik is the one Traefik of the test package, in front of the shared control plane; it stops in
// TestMain.
func testTraefik(t *testing.T) *traefik.Traefik {
	t.Helper()
	c := testCluster(t)
	netpod.RequireRoot(t)
	traefikOnce.Do(func() {
		sharedTraefik, traefikStartErr = traefik.Start(c.Kubeconfig, c.Client, c.Dynamic)
	})
	if traefikStartErr != nil {
		t.Fatal(traefikStartErr)
	}
	return sharedTraefik
}

func stopTraefik() {
	if sharedTraefik != nil {
		sharedTraefik.Stop()
	}
}

// kestraPod is Kestra's own server (Micronaut on Temurin 25, plain HTTP on 8080 with Kestra's built-in
// configuration: TLS ends in front of it) in a pod network of its own, as the Service's only endpoint. Its
// page names it; its event stream sends 5 events 400 ms apart.
func kestraPod(t *testing.T, namespace, name string) *netpod.Pod {
	t.Helper()
	c := testCluster(t)
	server := kestraserver.Start(t, kestraserver.Container{Root: t.TempDir(), UID: 1000, GID: 1000,
		Env: map[string]string{"TLSGROUND_NAME": name, "TLSGROUND_EVENTS": "5", "TLSGROUND_INTERVAL": "400ms"}})
	if server.Scheme != "http" || server.Port != 8080 {
		t.Fatalf("Kestra's server runs %s on %d, want plain HTTP on 8080", server.Scheme, server.Port)
	}
	netpod.Endpoints(t, c.Client, namespace, "kestra", []netpod.Port{{Name: "http", Port: 8080}}, server.Pod)
	return server.Pod
}

// rootsFrom is a pool of the CA certificates in a PEM file.
func rootsFrom(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("reading the CA %s: %v", caFile, err)
	}
	return roots
}

// throughTraefik is a client that reaches every host at Traefik's address, as DNS pointing at the load
// balancer would, trusting only roots.
func throughTraefik(t *testing.T, roots *x509.CertPool) *http.Client {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(address)
				if port == "443" {
					return dialer.DialContext(ctx, network, traefik.HTTPSAddress)
				}
				return dialer.DialContext(ctx, network, traefik.HTTPAddress)
			},
		},
	}
}

// getUntil retries while the controller picks up its new configuration (it watches the API server, and a
// route appears a moment after the objects do), and returns the last answer.
func getUntil(t *testing.T, client *http.Client, url, want string, tr *traefik.Traefik) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		response, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(response.Body)
			response.Body.Close()
			last = fmt.Sprintf("%s: %s", response.Status, body)
			if response.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return string(body)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s through Traefik never answered with %q; last: %s\ntraefik:\n%s", url, want, last, tr.Logs.Tail(30))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// checkEventsStream reads Kestra's event stream through the proxy and checks that each event arrives
// before the next is sent: a buffering proxy would hold them all until the stream ends.
func checkEventsStream(t *testing.T, client *http.Client, url string) {
	t.Helper()
	response, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s", url, response.Status)
	}
	type event struct{ sent, arrived time.Time }
	var events []event
	scanner := bufio.NewScanner(response.Body)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		millis, err := strconv.ParseInt(strings.TrimPrefix(line, "data: "), 10, 64)
		if err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		events = append(events, event{sent: time.UnixMilli(millis), arrived: time.Now()})
	}
	if len(events) != 5 {
		t.Fatalf("%d events arrived, want 5", len(events))
	}
	var delays []string
	for i, e := range events {
		delays = append(delays, e.arrived.Sub(e.sent).Round(time.Millisecond).String())
		if i+1 < len(events) && !e.arrived.Before(events[i+1].sent) {
			t.Errorf("event %d arrived at %s, after event %d was sent at %s: the proxy buffers the stream", i, e.arrived.Format(time.StampMilli), i+1, events[i+1].sent.Format(time.StampMilli))
		}
	}
	t.Logf("delay per event through the proxy: %s", strings.Join(delays, " "))
}

// checkInBrowser loads Kestra's page in headless Chromium through Traefik, trusting only the CA given.
func checkInBrowser(t *testing.T, url, caFile, host, want string) {
	t.Helper()
	traefikIP, _, _ := net.SplitHostPort(traefik.HTTPSAddress)
	page, err := browser.Load(t, url, caFile, map[string]string{host: traefikIP})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.DOM, want) {
		t.Errorf("Chromium loaded %s, but not Kestra's page (%q):\n%s", url, want, page.DOM)
	}
}

// TestKestraThroughTraefik applies each mode for Traefik's class with our CA: the real cert-manager issues
// the Secret (ingress-shim or gateway-shim), the real Traefik serves it for the host (Ingress provider, or
// Gateway API accepting our Gateway and HTTPRoute) and routes to Kestra's stand-in in its pod; Kestra's
// event stream passes through unbuffered, and Chromium loads the page.
func TestKestraThroughTraefik(t *testing.T) {
	c := testCluster(t)
	tr := testTraefik(t)
	for name, tc := range map[string]struct {
		ns, host string
		args     []string
	}{
		"ingress mode, the Ingress provider": {ns: "traffic-ingress", host: "kestra.traffic.test", args: []string{"--ingress-class", traefik.ClassName}},
		"gateway mode, the Gateway API":      {ns: "traffic-gateway", host: "kestra.gw.traffic.test", args: []string{"--mode", "gateway", "--gateway-class", traefik.ClassName}},
	} {
		t.Run(name, func(t *testing.T) {
			caDir := t.TempDir()
			args := append([]string{filepath.Join(t.TempDir(), "overlay"), "--host", tc.host, "--self-signed", "--ca-dir", caDir, "--create-namespace", "--timeout", "60s"}, tc.args...)
			if stdout, stderr, err := applyCmd(t, c, tc.ns, args...); err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			served := "kestra-behind-" + tc.ns
			kestraPod(t, tc.ns, served)
			caFile := filepath.Join(caDir, "ca.pem")
			client := throughTraefik(t, rootsFrom(t, caFile))
			getUntil(t, client, "https://"+tc.host+"/", served, tr)
			checkEventsStream(t, client, "https://"+tc.host+"/api/v1/events")
			checkInBrowser(t, "https://"+tc.host+"/", caFile, tc.host, served)
		})
	}
}

// TestBackendTLSIsEnforcedByTraefik applies gateway mode with --backend-tls for Traefik's GatewayClass:
// Kestra serves HTTPS from the keystore we made, Traefik verifies it through our BackendTLSPolicy (our CA,
// Kestra's Service name) and routes; when the pod behind the Service serves a certificate from another CA,
// Traefik refuses to route to it.
func TestBackendTLSIsEnforcedByTraefik(t *testing.T) {
	c := testCluster(t)
	tr := testTraefik(t)
	ns, host := "traffic-btls", "kestra.btls.traffic.test"
	caDir := t.TempDir()
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := applyCmd(t, c, ns, out, "--mode", "gateway", "--gateway-class", traefik.ClassName, "--backend-tls", "--host", host,
		"--self-signed", "--ca-dir", caDir, "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	// Kestra's own server started from the overlay's Deployment, as the pod would run it.
	servesHTTPS := func(overlay, name string) *netpod.Pod {
		t.Helper()
		p, err := kestrapod.Start(builtObjects(t, overlay), "Deployment", "kestra", "kestra")
		if err != nil {
			t.Fatalf("Kestra would not start: %v", err)
		}
		p.Env["TLSGROUND_NAME"] = name
		server := kestrapod.Run(t, p)
		if server.Scheme != "https" || server.Port != 8443 {
			t.Fatalf("Kestra's server runs %s on %d, want HTTPS on 8443", server.Scheme, server.Port)
		}
		return server.Pod
	}
	ours := servesHTTPS(out, "kestra-with-our-certificate")
	netpod.Endpoints(t, c.Client, ns, "kestra", []netpod.Port{{Name: "https", Port: 8443}}, ours)
	client := throughTraefik(t, rootsFrom(t, filepath.Join(caDir, "ca.pem")))
	getUntil(t, client, "https://"+host+"/", "kestra-with-our-certificate", tr)

	// Kestra's keystore from another CA, for the same names: the policy's CA does not verify it.
	other := filepath.Join(t.TempDir(), "other")
	if _, stderr, err := runCmd(t, "generate", "-o", other, "--mode", "gateway", "--gateway-class", traefik.ClassName, "--backend-tls", "--host", host,
		"--self-signed", "--ca-dir", t.TempDir(), "-n", ns); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	impostor := servesHTTPS(other, "kestra-with-another-ca")
	slices := c.Client.DiscoveryV1().EndpointSlices(ns)
	slice, err := slices.Get(context.Background(), "kestra-netpod", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice.Endpoints[0].Addresses = []string{impostor.IP}
	if _, err := slices.Update(context.Background(), slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		response, err := client.Get("https://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(response.Body)
		response.Body.Close()
		if strings.Contains(string(body), "kestra-with-another-ca") {
			t.Fatalf("Traefik routed to a Kestra whose certificate our CA did not sign (%s)", response.Status)
		}
		if response.StatusCode >= 500 {
			// The refusal is Traefik's certificate check, not a connection that failed otherwise. Its log line
			// comes through a pipe, a moment after the response may.
			logged := time.Now().Add(10 * time.Second)
			for !strings.Contains(tr.Logs.String(), "certificate signed by unknown authority") && time.Now().Before(logged) {
				time.Sleep(100 * time.Millisecond)
			}
			if !strings.Contains(tr.Logs.String(), "certificate signed by unknown authority") {
				t.Errorf("Traefik answers %s, but its log does not say it refused the certificate:\n%s", response.Status, tr.Logs.Tail(20))
			}
			t.Logf("Traefik refuses the other CA's Kestra: %s %s", response.Status, strings.TrimSpace(string(body)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Traefik still answers %s after the endpoint moved to the other CA's Kestra\ntraefik:\n%s", response.Status, tr.Logs.Tail(30))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestAnExistingTraefikGatewayAcceptsOurRoute attaches Kestra's HTTPRoute to a Gateway someone else runs
// with Traefik (its own wildcard certificate): apply waits until Traefik itself accepts the route, reports
// Traefik's conditions, and Kestra answers through that Gateway.
func TestAnExistingTraefikGatewayAcceptsOurRoute(t *testing.T) {
	c := testCluster(t)
	tr := testTraefik(t)
	ctx := context.Background()
	infra, host := "traffic-infra", "kestra.shared."+acme.TraefikDomain
	certs := filepath.Join(t.TempDir(), "certs")
	if _, stderr, err := runCmd(t, "certs", "--host", "*.shared."+acme.TraefikDomain, "-o", certs); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	certPEM, _ := os.ReadFile(filepath.Join(certs, "server.pem"))
	keyPEM, _ := os.ReadFile(filepath.Join(certs, "server.key"))
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: infra}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "wildcard"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM}}
	if _, err := c.Client.CoreV1().Secrets(infra).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gateway := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "shared", "namespace": infra},
		"spec": map[string]any{"gatewayClassName": traefik.ClassName, "listeners": []any{
			map[string]any{"name": "https", "port": int64(443), "protocol": "HTTPS", "hostname": "*.shared." + acme.TraefikDomain,
				"tls":           map[string]any{"mode": "Terminate", "certificateRefs": []any{map[string]any{"kind": "Secret", "name": "wildcard"}}},
				"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}},
		}},
	}}
	if _, err := c.Dynamic.Resource(gatewaysGVR).Namespace(infra).Create(ctx, gateway, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Kestra's pod runs before apply, as the endpoint controller would already list it behind the Service.
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "traffic-attached"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kestraPod(t, "traffic-attached", "kestra-on-a-shared-gateway")
	stdout, stderr, err := applyCmd(t, c, "traffic-attached", filepath.Join(t.TempDir(), "overlay"), "--mode", "gateway", "--gateway", infra+"/shared:https",
		"--host", host, "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ntraefik:\n%s", err, stdout, stderr, tr.Logs.Tail(20))
	}
	if !strings.Contains(stdout, "httproute.gateway.networking.k8s.io/kestra accepted by Gateway "+infra+"/shared") || !strings.Contains(stderr, "by traefik.io/gateway-controller") {
		t.Errorf("apply does not report Traefik's acceptance:\n%s\n%s", stdout, stderr)
	}
	getUntil(t, throughTraefik(t, rootsFrom(t, filepath.Join(certs, "ca.pem"))), "https://"+host+"/", "kestra-on-a-shared-gateway", tr)
}

// TestAppModeServesTheBrowserStraightFromKestra generates app mode and starts Kestra's own server
// (Micronaut on Temurin 25) from the overlay, in its pod network: Chromium, trusting only our CA, loads
// Kestra's page by its host name on Kestra's HTTPS port.
func TestAppModeServesTheBrowserStraightFromKestra(t *testing.T) {
	browser.Require(t)
	host := "kestra.app.traffic.test"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", host); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	server := kestrapod.Run(t, p)
	page, err := browser.Load(t, fmt.Sprintf("https://%s:%d/ui/", host, server.Port), filepath.Join(out, "certs", "ca.pem"), map[string]string{host: server.Pod.IP})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.DOM, "Kestra over https") {
		t.Errorf("Chromium did not load Kestra's page:\n%s", page.DOM)
	}
}

// TestACMEThroughTraefikGatewayAndTheSolversRoute is HTTP-01 in gateway mode: cert-manager's solver
// HTTPRoute attaches to our Gateway's http listener, Traefik serves it on port 80 and routes to the
// acmesolver pod, pebble validates, gateway-shim's Certificate becomes Ready, and Kestra answers through the
// Gateway with pebble's certificate.
func TestACMEThroughTraefikGatewayAndTheSolversRoute(t *testing.T) {
	c := acmeGround(t)
	tr := testTraefik(t)
	ns, host := "traffic-acme-gw", "kestra.acme-gw."+acme.TraefikDomain
	solvers := netpod.PlaySolverPods(t, c.Client, ns)
	stdout, stderr, err := acmeApply(t, c, ns, openPebble, "150s", "--mode", "gateway", "--gateway-class", traefik.ClassName,
		"--host", host, "--acme-ca-bundle", openPebble.CAFile)
	played, failures := solvers.Played()
	if err != nil {
		t.Fatalf("%v\n%s\n%s\nsolver pods played: %d %v\ncert-manager:\n%s\ntraefik:\n%s", err, stdout, stderr, played, failures, c.Logs.Tail(30), tr.Logs.Tail(30))
	}
	if played == 0 || len(failures) > 0 {
		t.Errorf("cert-manager's solver pods were not played (%d, %v): the challenge did not go through the solver", played, failures)
	}
	checkIssuedByPebble(t, c, ns, openPebble, []string{host})
	kestraPod(t, ns, "kestra-acme-behind-traefik-gateway")
	root, _, err := openPebble.IssuingCAs()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	getUntil(t, throughTraefik(t, roots), "https://"+host+"/", "kestra-acme-behind-traefik-gateway", tr)
}

// TestTheDefaultIngressClassServesAnIngressThatNamesNone generates ingress mode without --ingress-class:
// apply names the cluster's default IngressClass (Traefik's), adds the settings Kestra needs from its
// controller, and Traefik serves Kestra.
func TestTheDefaultIngressClassServesAnIngressThatNamesNone(t *testing.T) {
	c := testCluster(t)
	tr := testTraefik(t)
	ns, host := "traffic-default-class", "kestra.default-class.traffic.test"
	caDir := t.TempDir()
	stdout, stderr, err := applyCmd(t, c, ns, filepath.Join(t.TempDir(), "overlay"), "--host", host, "--self-signed", "--ca-dir", caDir, "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{
		"Ingress " + ns + "/kestra names no class: the cluster's default IngressClass traefik serves it (controller traefik.io/ingress-controller)",
		"Ingress " + ns + "/kestra: added the settings Kestra needs from traefik.io/ingress-controller (traefik.ingress.kubernetes.io/router.entrypoints, traefik.ingress.kubernetes.io/router.tls)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("apply does not say %q:\n%s", want, stderr)
		}
	}
	ingress, err := c.Client.NetworkingV1().Ingresses(ns).Get(context.Background(), "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The API server's DefaultIngressClass admission writes the default class's name into an Ingress created
	// without one; we never set it.
	if class := ingress.Spec.IngressClassName; (class != nil && *class != traefik.ClassName) || ingress.Annotations["traefik.ingress.kubernetes.io/router.entrypoints"] != "websecure" {
		t.Errorf("the Ingress names class %v, annotations %v: want none (or the default, %s) and Traefik's settings", class, ingress.Annotations, traefik.ClassName)
	}
	for _, entry := range ingress.ManagedFields {
		if entry.Manager == apply.FieldManager && strings.Contains(string(entry.FieldsV1.Raw), "ingressClassName") {
			t.Errorf("our field manager owns ingressClassName: %s", entry.FieldsV1.Raw)
		}
	}
	kestraPod(t, ns, "kestra-behind-the-default-class")
	getUntil(t, throughTraefik(t, rootsFrom(t, filepath.Join(caDir, "ca.pem"))), "https://"+host+"/", "kestra-behind-the-default-class", tr)
}

// behindTraefik is ingress mode with --client-auth applied for Traefik's IngressClass, with Kestra's
// stand-in behind it, a client of our CA and one of another CA.
type behindTraefik struct {
	cluster        *cluster.Cluster
	traefik        *traefik.Traefik
	host, url      string
	served, caFile string
	ours, intruder clientCert
}

func applyBehindTraefik(t *testing.T, namespace, host, mode string) behindTraefik {
	t.Helper()
	b := behindTraefik{cluster: testCluster(t), traefik: testTraefik(t), host: host, url: "https://" + host + "/", served: "kestra-behind-" + namespace}
	caDir, overlay := t.TempDir(), filepath.Join(t.TempDir(), "overlay")
	if stdout, stderr, err := applyCmd(t, b.cluster, namespace, overlay, "--host", host, "--self-signed", "--ca-dir", caDir, "--ingress-class", traefik.ClassName,
		"--client-auth", mode, "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	kestraPod(t, namespace, b.served)
	b.caFile = filepath.Join(caDir, "ca.pem")
	b.ours = issueClient(t, t.TempDir(), "ci-bot", "--ca-dir", caDir)
	b.intruder = clientOfAnotherCA(t, "intruder")
	return b
}

// client reaches Traefik trusting our CA and presenting c (nil: no certificate).
func (b behindTraefik) client(t *testing.T, c *clientCert) *http.Client {
	t.Helper()
	client := throughTraefik(t, rootsFrom(t, b.caFile))
	if c != nil {
		pair, err := tls.LoadX509KeyPair(c.pem, c.key)
		if err != nil {
			t.Fatal(err)
		}
		// Always presented, as curl does: Go's client would otherwise keep back a certificate whose issuer
		// is not among the CAs the server names, and the intruder would come as one without.
		client.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return client
}

// TestTraefikAsksForClientCertificates applies ingress mode with --client-auth for Traefik's IngressClass:
// Traefik (the real one, with its CRD provider) takes our TLSOption through the Ingress's annotation and,
// with need, refuses a client without a certificate and one of another CA, and routes one that `certs
// --client` signed with our CA to Kestra; the browser with the .p12 imported gets in too.
func TestTraefikAsksForClientCertificates(t *testing.T) {
	const ns = "traffic-mtls"
	b := applyBehindTraefik(t, ns, "kestra.mtls.traffic.test", "need")
	// Traefik picks the Ingress and its TLSOption up a moment after they exist.
	getUntil(t, b.client(t, &b.ours), b.url, b.served, b.traefik)
	for what, client := range map[string]*http.Client{"no certificate": b.client(t, nil), "a client of another CA": b.client(t, &b.intruder)} {
		if response, err := client.Get(b.url); err == nil {
			response.Body.Close()
			t.Errorf("%s: Traefik routed it (%s), want a refused handshake", what, response.Status)
		}
	}
	if page, err := browser.LoadWithClientCert(t, b.url, b.caFile, map[string]string{b.host: strings.Split(traefik.HTTPSAddress, ":")[0]}, browser.ClientCert{P12: b.ours.p12, Password: b.ours.password}); err != nil || !strings.Contains(page.DOM, b.served) {
		t.Errorf("Chromium with ci-bot.p12 through Traefik: %v\n%s", err, page.DOM)
	}
	report, _ := statusOf(t, b.cluster, ns)
	if got := onlyInstall(t, report).ClientAuth; got == nil || got.Mode != "need" || got.CheckedBy != "IngressClass "+traefik.ClassName || len(got.CAs) != 1 || got.CAs[0].DaysLeft < 3000 {
		t.Errorf("status's clientAuth = %+v, want need, checked by IngressClass %s, against our ten-year CA", got, traefik.ClassName)
	}
}

// TestTraefikWithWantLetsClientsWithoutACertificateThrough: --client-auth want through the real Traefik:
// a client without a certificate is routed to Kestra (which then asks for its login), one of our CA too, and
// one presenting another CA's certificate is refused (VerifyClientCertIfGiven), which shows that the
// TLSOption is in force and not merely absent.
func TestTraefikWithWantLetsClientsWithoutACertificateThrough(t *testing.T) {
	b := applyBehindTraefik(t, "traffic-mtls-want", "kestra.mtls-want.traffic.test", "want")
	// First the route with our certificate (before it, any client fails on Traefik's default certificate),
	// then the intruder's refusal, which tells that Traefik has taken the TLSOption up.
	getUntil(t, b.client(t, &b.ours), b.url, b.served, b.traefik)
	deadline := time.Now().Add(60 * time.Second)
	for {
		response, err := b.client(t, &b.intruder).Get(b.url)
		if err != nil {
			break
		}
		response.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("a client of another CA is still routed (%s) a minute after apply: Traefik never took the TLSOption up\ntraefik:\n%s", response.Status, b.traefik.Logs.Tail(30))
		}
		time.Sleep(300 * time.Millisecond)
	}
	getUntil(t, b.client(t, nil), b.url, b.served, b.traefik)
}
