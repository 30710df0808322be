package cli

import (
	"fmt"
	"io"
	"net/http"
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
