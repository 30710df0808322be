package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
)

// resolvedBase asks Kestra's server for the base URL it builds from a request (Micronaut's host resolver,
// as Kestra's SSO redirect URIs are built), the request sent as the Ingress controller forwards it.
func resolvedBase(t *testing.T, port int, host string, headers map[string]string) string {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/api/v1/host", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	request.Host = host
	for key, value := range headers {
		request.Header.Set(key, value)
	}
	response, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}).Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	return string(body)
}

// TestKestraBuildsHTTPSURLsBehindTheIngress: behind an Ingress that ends TLS and forwards plain HTTP with
// X-Forwarded-Proto (and the Host it was asked for), Kestra's own server (Micronaut 4.10), configured by the
// ingress-mode overlay, builds https://HOST URLs; the base alone builds http:// ones from the same request
// (Micronaut reads X-Forwarded-Proto by default only beside X-Forwarded-Host, which not every controller
// sends); a request with a Host that is no --host gets http://localhost, not a URL of the attacker's.
func TestKestraBuildsHTTPSURLsBehindTheIngress(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	start := func(dir string) int {
		p, err := kestrapod.Start(builtObjects(t, dir), "Deployment", "kestra", "kestra")
		if err != nil {
			t.Fatal(err)
		}
		return kestrapod.Run(t, p).Local
	}
	ours, base := start(out), start(filepath.Join(out, "base"))
	forwarded := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
	for name, tc := range map[string]struct {
		port    int
		host    string
		headers map[string]string
		want    string
	}{
		"the overlay, a request the Ingress forwards":            {ours, "kestra.example.com", forwarded, "https://kestra.example.com"},
		"the overlay, with X-Forwarded-Host too (ingress-nginx)": {ours, "kestra.example.com", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kestra.example.com"}, "https://kestra.example.com"},
		"the overlay, a forged Host":                             {ours, "evil.example", forwarded, "http://localhost"},
		"the overlay, through kubectl port-forward":              {ours, "localhost:8080", nil, "http://localhost:8080"},
		"the base alone, the same request":                       {base, "kestra.example.com", forwarded, "http://kestra.example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := resolvedBase(t, tc.port, tc.host, tc.headers); got != tc.want {
				t.Errorf("Kestra builds %q, want %q", got, tc.want)
			}
		})
	}
}

// property asks Kestra's server for a property as Micronaut resolved it from every source Kestra's
// launcher hands over: what Kestra's own beans bind, for settings only Kestra acts on.
func property(t *testing.T, client *http.Client, base, name string) string {
	t.Helper()
	response, err := client.Get(base + "/api/v1/property?name=" + url.QueryEscape(name))
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", name, response.Status, body)
	}
	return string(body)
}

// TestKestraReadsItsHTTPSSettings: the settings Kestra 2.0 acts on itself reach the configuration Kestra's
// server resolves, as its launcher hands it over: --hsts in app mode sets kestra.webserver.security-headers'
// Strict-Transport-Security (read on the HTTPS listener, with our CA); behind the Ingress, cookies are
// Secure (kestra.webserver.cookies.secure). The bases alone set neither.
func TestKestraReadsItsHTTPSSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	const host = "kestra.example.com"
	const hsts, secure = "kestra.webserver.security-headers.strict-transport-security", "kestra.webserver.cookies.secure"
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string
	}{
		{"app mode with --hsts=600", []string{"--mode", "app", "--hsts=600"}, map[string]string{hsts: "max-age=600", secure: ""}},
		{"ingress mode", []string{"--self-signed"}, map[string]string{hsts: "", secure: "true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			if _, stderr, err := runCmd(t, append([]string{"generate", "-o", out, "--host", host}, tc.args...)...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			for _, dir := range []string{out, filepath.Join(out, "base")} {
				p, err := kestrapod.Start(builtObjects(t, dir), "Deployment", "kestra", "kestra")
				if err != nil {
					t.Fatal(err)
				}
				server := kestrapod.Run(t, p)
				client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
				if server.Scheme == "https" {
					caPEM, err := os.ReadFile(filepath.Join(out, "certs", "ca.pem"))
					if err != nil {
						t.Fatal(err)
					}
					pool := x509.NewCertPool()
					pool.AppendCertsFromPEM(caPEM)
					client.Transport = &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host}}
				}
				base := fmt.Sprintf("%s://127.0.0.1:%d", server.Scheme, server.Local)
				for name, want := range tc.want {
					if dir != out {
						want = ""
					}
					if got := property(t, client, base, name); got != want {
						t.Errorf("%s: Kestra's server resolves %s = %q, want %q", filepath.Base(dir), name, got, want)
					}
				}
			}
		})
	}
}
