package cli

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
)

// corporateServer is an HTTPS server on loopback whose chain comes from a CA we did not make, served as a
// public site serves its chain: the leaf and an intermediate, the root known to clients only. It records
// the paths asked, so that a client that gave up before its request is told apart from one refused after.
type corporateServer struct {
	Port   int
	RootCA string // PEM file of the root, for --trust-ca
	mu     sync.Mutex
	paths  []string
}

func startCorporateServer(t *testing.T) *corporateServer {
	t.Helper()
	now := time.Now()
	rootKey, _ := pki.ECDSAP256.GenerateKey()
	root, err := pki.NewCA(pki.CARequest{CommonName: "Corp Root CA", Days: 3650, Key: rootKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	local, err := pki.ParseHosts([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	intermediateKey, _ := pki.ECDSAP256.GenerateKey()
	intermediate, err := pki.NewIssuer(root, pki.IssuerRequest{CommonName: "Corp Issuing CA", Permitted: local, Days: 365, Key: intermediateKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := pki.ECDSAP256.GenerateKey()
	leaf, err := pki.IssueServer(intermediate, pki.ServerRequest{Hosts: local, Days: 30, Key: leafKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s := &corporateServer{RootCA: filepath.Join(t.TempDir(), "corp-root.pem")}
	if err := os.WriteFile(s.RootCA, pki.EncodeCertificates(root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.paths = append(s.paths, r.URL.Path)
			s.mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "/info/refs") {
				http.NotFound(w, r) // git's first request: it got through TLS
				return
			}
			fmt.Fprintln(w, "kestra-tls-ok: reached through the corporate CA")
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw, intermediate.Cert.Raw}, PrivateKey: leafKey}}},
	}
	go server.ServeTLS(listener, "", "")
	t.Cleanup(func() { server.Close() })
	s.Port = listener.Addr().(*net.TCPAddr).Port
	return s
}

func (s *corporateServer) asked(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.paths {
		if strings.HasPrefix(p, path) {
			return true
		}
	}
	return false
}

// TestOutboundTrustReachesEveryConsumerInThePod: with --outbound-trust and --trust-ca (a corporate CA we did
// not make), the clients a task runs inside Kestra's container, as its user with its environment, reach a
// server whose chain comes from that CA: Python's standard library (as a script task uses it), curl, git,
// and the JVM through JAVA_OPTS's truststore. The same curl without the variables generate sets is refused,
// so the variables are what gives the trust.
func TestOutboundTrustReachesEveryConsumerInThePod(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python, curl, git and the JVM as the container's user (-short)")
	}
	kestrapod.RequireRoot(t)
	corp := startCorporateServer(t)
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com",
		"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.RootCA)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr+stdout, "1 from --trust-ca") {
		t.Errorf("generate does not say it added the --trust-ca CA:\n%s\n%s", stdout, stderr)
	}
	p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	bundle := "/app/ssl/" + model.OutboundBundleFile
	for _, variable := range model.TrustVariables {
		if p.Env[variable] != bundle {
			t.Errorf("%s = %q, want %s", variable, p.Env[variable], bundle)
		}
	}
	if f, ok := p.Files[bundle]; !ok || !p.User.CanRead(f) {
		t.Fatalf("%s is not mounted readable for %s", bundle, p.User)
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/", corp.Port)

	python := testutil.Program(t, "/usr/bin/python3", "apt-get install python3")
	for name, argv := range map[string][]string{
		"Python's urllib": {python, "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())", url},
		"curl":            {testutil.Program(t, "curl", "apt-get install curl"), "-sS", url},
	} {
		if output, err := kestrapod.Exec(t, p, argv...); err != nil || !strings.Contains(output, "kestra-tls-ok") {
			t.Errorf("%s as %s with the container's environment: %v\n%s", name, p.User, err, output)
		}
	}
	git := testutil.Program(t, "git", "apt-get install git")
	output, _ := kestrapod.Exec(t, p, git, "ls-remote", url+"repo.git")
	if strings.Contains(output, "SSL certificate problem") || !corp.asked("/repo.git/info/refs") {
		t.Errorf("git as %s did not get through TLS to ask for the repository:\n%s", p.User, output)
	}
	if body, err := kestrapod.CallOut(t, p, "127.0.0.1", corp.Port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("the JVM as %s with JAVA_OPTS's truststore: %v\n%s", p.User, err, body)
	}

	// The control: the same curl without our variables trusts only the system's roots.
	bare := *p
	bare.Env = map[string]string{}
	for key, value := range p.Env {
		if key != "CURL_CA_BUNDLE" && key != "SSL_CERT_FILE" {
			bare.Env[key] = value
		}
	}
	output, err = kestrapod.Exec(t, &bare, "curl", "-sS", url)
	if err == nil || strings.Contains(output, "kestra-tls-ok") {
		t.Errorf("curl without CURL_CA_BUNDLE reached the corporate server: the system trusts its CA?\n%s", output)
	}
	t.Logf("curl without our variables: %s", strings.TrimSpace(output))
}
