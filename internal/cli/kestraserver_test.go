package cli

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestraserver"
)

// startKestra generates an app-mode overlay over base (the chart's `helm template` output, or the embedded
// demo when empty) and starts Kestra's own server on it: Micronaut on Temurin 25, as the container's user.
func startKestra(t *testing.T, base string, args ...string) (*kestraserver.Server, *kestrapod.Process, string, []map[string]any) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "overlay")
	generate := append([]string{"generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--host", "127.0.0.1"}, args...)
	kind, name, container := "Deployment", "kestra", "kestra"
	if base != "" {
		generate = append(generate, "--base", base)
		name, container = "kestra-standalone", "kestra-standalone"
	}
	if _, stderr, err := runCmd(t, generate...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	objects := builtObjects(t, out)
	p, err := kestrapod.Start(objects, kind, name, container)
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	return kestrapod.Run(t, p), p, out, objects
}

// probe asks as the kubelet's httpGet probe does: it follows redirects to the same host (an HTTPS one
// unverified, as the kubelet does), and 200 to 399 is a pass.
func probe(t *testing.T, url string) (int, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 || req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func httpGet(t *testing.T, url string) (int, error) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestKestrasServerServesOurOverlay: Kestra's own server (Micronaut 4.10, its Netty server and management
// endpoints) reads the app-mode overlay's configuration as Kestra's launcher hands it over, resolves the
// store password from the container's environment, and serves HTTPS on 8443 with our chain (curl and
// OpenSSL verify it by name and IP); plain HTTP on 8080 exactly when dual-protocol says so; management on
// 8081 stays plain HTTP, where the probes ask.
func TestKestrasServerServesOurOverlay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	for _, c := range []struct {
		name         string
		args         []string
		dualProtocol bool
	}{
		{"the embedded base, whose Service reaches 8080: dual-protocol on", nil, true},
		{"--dual-protocol=false: 8080 closes", []string{"--dual-protocol=false"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			server, _, out, _ := startKestra(t, "", c.args...)
			if server.Scheme != "https" || server.Port != 8443 {
				t.Fatalf("Micronaut runs %s on %d, want https on 8443:\n%s", server.Scheme, server.Port, server.Logs.Tail(20))
			}
			ca := filepath.Join(out, "certs", "ca.pem")
			for _, host := range []string{"kestra.example.com", "127.0.0.1"} {
				if body, err := javatls.Curl(t, ca, host, server.Local); err != nil || !strings.Contains(body, "kestra-tls-ok") {
					t.Errorf("curl https://%s: %v\n%s", host, err, body)
				}
				if report, err := javatls.OpenSSLVerify(t, ca, host, server.Local); err != nil || !strings.Contains(report, "Verification: OK") {
					t.Errorf("openssl s_client %s: %v\n%s", host, err, report)
				}
			}
			status, err := httpGet(t, fmt.Sprintf("http://%s/", net.JoinHostPort(server.Pod.IP, "8080")))
			if c.dualProtocol && (err != nil || status != 200) {
				t.Errorf("plain HTTP on 8080 with dual-protocol: %d %v", status, err)
			}
			if !c.dualProtocol && err == nil {
				t.Errorf("plain HTTP on 8080 answers %d without dual-protocol", status)
			}
			for _, path := range []string{"/health", "/health/liveness", "/health/readiness"} {
				if status, err := httpGet(t, fmt.Sprintf("http://%s%s", net.JoinHostPort(server.Pod.IP, "8081"), path)); err != nil || status != 200 {
					t.Errorf("management http://:8081%s with TLS on: %d %v", path, status, err)
				}
			}
			if !strings.Contains(server.Logs.String(), "io.kestra.webserver.access") {
				t.Errorf("Kestra's built-in configuration (its access logger) was not read:\n%s", server.Logs.Tail(20))
			}
		})
	}
}

// TestRedirectHTTPSendsTheUIToHTTPS: with --redirect-http, Micronaut answers plain HTTP on 8080 with a
// redirect to the same path over HTTPS. It redirects the management port too, which would fail the probes
// the official chart asks there: generate refuses --redirect-http over such a workload.
func TestRedirectHTTPSendsTheUIToHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	server, _, out, _ := startKestra(t, "", "--redirect-http")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(fmt.Sprintf("http://%s/ui/", net.JoinHostPort(server.Pod.IP, "8080")))
	if err != nil {
		t.Fatalf("plain HTTP on 8080: %v\n%s", err, server.Logs.Tail(20))
	}
	resp.Body.Close()
	if location := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(location, "https://") || !strings.Contains(location, ":8443/ui/") {
		t.Errorf("plain HTTP on 8080 answers %d, Location %q: want a redirect to https://...:8443/ui/", resp.StatusCode, location)
	}
	// Micronaut redirects the management port too: a probe there, as the kubelet asks (following to 8443 on
	// the same host, unverified), fails. This is why generate refuses --redirect-http over a workload with
	// such probes (the official chart's), below.
	if status, err := probe(t, fmt.Sprintf("http://%s/health/readiness", net.JoinHostPort(server.Pod.IP, "8081"))); err == nil && status >= 200 && status < 400 {
		t.Errorf("a probe of the management port passes (%d) with http-to-https-redirect on: generate's refusal is no longer needed", status)
	}
	chart := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(chart, testutil.RenderChart(t, "kestra", "kestra", "--set", "dind.enabled=false"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCmd(t, "generate", "-o", filepath.Join(t.TempDir(), "o"), "--mode", "app", "--host", "kestra.example.com", "--redirect-http", "--base", chart, "-n", "kestra")
	if err == nil || !strings.Contains(err.Error(), "--redirect-http would fail Deployment kestra-standalone's startupProbe") {
		t.Errorf("generate --redirect-http over the chart = %v, want a refusal naming its probes", err)
	}
	if body, err := javatls.Curl(t, filepath.Join(out, "certs", "ca.pem"), "kestra.example.com", server.Local); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("HTTPS: %v\n%s", err, body)
	}
}

// TestTheChartsProbesPassWhileKestraServesHTTPS renders the official chart with the real helm, generates
// app mode over it, starts Kestra's server from the standalone Deployment, and asks every probe the chart
// declares, as the kubelet would: each answers 200 while the UI listener serves HTTPS.
func TestTheChartsProbesPassWhileKestraServesHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	base := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(base, testutil.RenderChart(t, "kestra", "kestra", "--set", "dind.enabled=false"), 0o644); err != nil {
		t.Fatal(err)
	}
	server, _, _, objects := startKestra(t, base, "-n", "kestra")
	if server.Scheme != "https" {
		t.Fatalf("Micronaut runs %s, want https", server.Scheme)
	}
	probes := 0
	for _, object := range objects {
		if object["kind"] != "Deployment" {
			continue
		}
		containers, _ := dig(object, "spec", "template", "spec", "containers").([]any)
		for _, c := range containers {
			c := c.(map[string]any)
			ports := map[string]int{}
			for _, p := range asSlice(c["ports"]) {
				p := p.(map[string]any)
				ports[fmt.Sprint(p["name"])] = int(p["containerPort"].(float64))
			}
			for _, kind := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
				get, ok := dig(c, kind, "httpGet").(map[string]any)
				if !ok {
					continue
				}
				port, ok := ports[fmt.Sprint(get["port"])]
				if !ok {
					t.Fatalf("%s names port %v, which the container does not declare", kind, get["port"])
				}
				status, err := probe(t, fmt.Sprintf("http://%s%v", net.JoinHostPort(server.Pod.IP, fmt.Sprint(port)), get["path"]))
				if err != nil || status != 200 {
					t.Errorf("%s GET :%d%v: %d %v", kind, port, get["path"], status, err)
				}
				probes++
			}
		}
	}
	if probes == 0 {
		t.Fatal("the chart's Deployment declares no probe")
	}
}

// TestClientCertificatesAreAskedOnlyWhenSet: by default Kestra's server asks no client for a certificate;
// the guide's clientAuthentication want, set through values, makes every handshake ask (OpenSSL shows the
// CAs it accepts), and clients without one still get in.
func TestClientCertificatesAreAskedOnlyWhenSet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	for _, c := range []struct {
		name  string
		args  []string
		asked bool
	}{
		{"by default", nil, false},
		{"with --set app.clientAuthentication=want", []string{"--set", "app.clientAuthentication=want"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			server, _, out, _ := startKestra(t, "", c.args...)
			cmd := exec.Command("openssl", "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", server.Local), "-CAfile", filepath.Join(out, "certs", "ca.pem"), "-servername", "kestra.example.com")
			cmd.Stdin = strings.NewReader("Q\n")
			report, _ := cmd.CombinedOutput()
			asked := strings.Contains(string(report), "Acceptable client certificate CA names")
			if asked != c.asked {
				t.Errorf("the server asks for a client certificate: %v, want %v\n%s", asked, c.asked, report)
			}
			if body, err := javatls.Curl(t, filepath.Join(out, "certs", "ca.pem"), "kestra.example.com", server.Local); err != nil || !strings.Contains(body, "kestra-tls-ok") {
				t.Errorf("curl without a client certificate: %v\n%s", err, body)
			}
		})
	}
}
