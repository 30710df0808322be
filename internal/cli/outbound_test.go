package cli

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestraserver"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/postgres"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/proxy"
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

// corporateHost is the corporate server's name: unknown to DNS here, so that only a proxy (which resolves
// names itself) reaches it by name.
const corporateHost = "intranet.corp.test"

// corporatePKI is a CA we did not make: a root, an issuing intermediate, and a server certificate for hosts.
type corporatePKI struct {
	rootFile           string // PEM of the root, for --trust-ca
	chainPEM, keyPEM   []byte // the server's certificate and the intermediate, its key
	leaf, intermediate *x509.Certificate
	leafKey            crypto.Signer
}

func newCorporatePKI(t *testing.T, hosts ...string) *corporatePKI {
	t.Helper()
	now := time.Now()
	rootKey, _ := pki.ECDSAP256.GenerateKey()
	root, err := pki.NewCA(pki.CARequest{CommonName: "Corp Root CA", Days: 3650, Key: rootKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	names, err := pki.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	intermediateKey, _ := pki.ECDSAP256.GenerateKey()
	intermediate, err := pki.NewIssuer(root, pki.IssuerRequest{CommonName: "Corp Issuing CA", Permitted: names, Days: 365, Key: intermediateKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := pki.ECDSAP256.GenerateKey()
	leaf, err := pki.IssueServer(intermediate, pki.ServerRequest{Hosts: names, Days: 30, Key: leafKey, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodePrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &corporatePKI{rootFile: filepath.Join(t.TempDir(), "corp-root.pem"), chainPEM: pki.EncodeCertificates(leaf, intermediate.Cert), keyPEM: keyPEM,
		leaf: leaf, intermediate: intermediate.Cert, leafKey: leafKey}
	if err := os.WriteFile(c.rootFile, pki.EncodeCertificates(root.Cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func startCorporateServer(t *testing.T) *corporateServer {
	t.Helper()
	corp := newCorporatePKI(t, "127.0.0.1", corporateHost)
	s := &corporateServer{RootCA: corp.rootFile}
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
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{corp.leaf.Raw, corp.intermediate.Raw}, PrivateKey: corp.leafKey}}},
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

// fetchJava is what a Java task does: an HttpsURLConnection, which follows the JVM's proxy and trust
// properties. Run with Java's source launcher, as the container's user, with JAVA_OPTS as Kestra's launcher
// passes it.
const fetchJava = `import java.net.*;
public class Fetch {
    public static void main(String[] args) throws Exception {
        HttpURLConnection connection = (HttpURLConnection) URI.create(args[0]).toURL().openConnection();
        System.out.println(new String(connection.getInputStream().readAllBytes()));
    }
}
`

// TestProxyCarriesEveryConsumersCalls: with --proxy (and --trust-ca for the server behind it), the JVM of a
// Java task, curl, Python and git, each run inside Kestra's container as its user with its environment,
// reach a server by a name only the proxy resolves, through the proxy's CONNECT tunnel, verifying the
// server's chain with the outbound trust; an address of the default no-proxy list (loopback) is reached
// directly.
func TestProxyCarriesEveryConsumersCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python, curl, git and the JVM as the container's user (-short)")
	}
	kestrapod.RequireRoot(t)
	corp := startCorporateServer(t)
	forward := proxy.Start(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem",
		"--trust-ca", corp.RootCA, "--proxy", fmt.Sprintf("http://127.0.0.1:%d", forward.Port), "--no-proxy", "build.corp.test"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	if !strings.Contains(p.Env["NO_PROXY"], ".svc") || !strings.Contains(p.Env["no_proxy"], "build.corp.test") || !strings.Contains(p.JVMOptions, "*.cluster.local") {
		t.Errorf("the cluster's names and --no-proxy are not all reached directly: NO_PROXY=%q no_proxy=%q JVM %q", p.Env["NO_PROXY"], p.Env["no_proxy"], p.JVMOptions)
	}
	java := filepath.Join(p.LayOut(t), "app", "task")
	if err := os.MkdirAll(java, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(java, "Fetch.java"), []byte(fetchJava), 0o644); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://%s:%d/", corporateHost, corp.Port)
	clients := map[string][]string{
		"curl":            {"curl", "-sS", url},
		"Python's urllib": {"/usr/bin/python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())", url},
		// Kestra's launcher: java ${JAVA_OPTS} (word-split by the shell).
		"a Java task": {"sh", "-c", kestraserver.JavaHome + "/bin/java -XX:-UsePerfData $JAVA_OPTS /app/task/Fetch.java " + url},
	}
	for name, argv := range clients {
		before := len(forward.Tunnels())
		output, err := kestrapod.Exec(t, p, argv...)
		if err != nil || !strings.Contains(output, "kestra-tls-ok") {
			t.Errorf("%s as %s through the proxy: %v\n%s", name, p.User, err, output)
		}
		if tunnels := forward.Tunnels()[before:]; len(tunnels) != 1 || tunnels[0] != fmt.Sprintf("%s:%d", corporateHost, corp.Port) {
			t.Errorf("%s went through the proxy's tunnels %v, want one to %s:%d", name, tunnels, corporateHost, corp.Port)
		}
	}
	before := len(forward.Tunnels())
	output, _ := kestrapod.Exec(t, p, "git", "ls-remote", url+"repo.git")
	if strings.Contains(output, "SSL certificate problem") || !corp.asked("/repo.git/info/refs") || len(forward.Tunnels()) != before+1 {
		t.Errorf("git did not reach the server through the proxy over verified TLS (tunnels %v):\n%s", forward.Tunnels()[before:], output)
	}
	// Loopback is on the default no-proxy list: reached directly.
	before = len(forward.Tunnels())
	if output, err := kestrapod.Exec(t, p, "curl", "-sS", fmt.Sprintf("https://127.0.0.1:%d/", corp.Port)); err != nil || !strings.Contains(output, "kestra-tls-ok") || len(forward.Tunnels()) != before {
		t.Errorf("curl to loopback, which NO_PROXY lists: %v, tunnels %v\n%s", err, forward.Tunnels()[before:], output)
	}
}

// TestRegistryCAReachesTheChartsDockerDaemon: with --registry, the official chart's Docker-in-Docker
// sidecar (rendered by the real helm) gets the outbound trust as certs.d/<registry>/ca.crt where its
// daemon reads it, as its user reads it: under the rootless daemon's home (the chart's default mode, uid
// 1000) or in /etc/docker/certs.d (insecure mode, root); the file verifies the registry's chain as Docker
// does (the registry's CA beside the system's roots).
func TestRegistryCAReachesTheChartsDockerDaemon(t *testing.T) {
	testutil.Chart(t)
	corp := startCorporateServer(t)
	registry := fmt.Sprintf("%s:%d", corporateHost, corp.Port)
	checkDaemon := func(t *testing.T, objects []map[string]any, certsDir string) {
		t.Helper()
		dind, err := kestrapod.Start(objects, "Deployment", "kestra-standalone", "kestra-standalone-docker-dind")
		if err != nil {
			t.Fatal(err)
		}
		caFile := certsDir + "/" + registry + "/ca.crt"
		f, ok := dind.Files[caFile]
		if !ok {
			var seen []string
			for path := range dind.Files {
				seen = append(seen, path)
			}
			t.Fatalf("the Docker daemon finds no %s; it sees %v", caFile, seen)
		}
		if !dind.User.CanRead(f) {
			t.Errorf("%s is %s, which the daemon's user %s cannot read", caFile, f, dind.User)
		}
		cas, err := pki.ParseCertificates(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, ca := range cas {
			pool.AddCert(ca)
		}
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", corp.Port), &tls.Config{RootCAs: pool, ServerName: corporateHost})
		if err != nil {
			t.Fatalf("the registry's chain does not verify against %s: %v", caFile, err)
		}
		conn.Close()
	}
	t.Run("--target helm through the chart dind.extraVolumeMounts", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "helm")
		if _, stderr, err := runCmd(t, "generate", "--target", "helm", "-o", out, "--mode", "app", "--host", "kestra.example.com", "-n", "kestra",
			"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.RootCA, "--registry", registry); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		rendered := testutil.RenderChart(t, "kestra", "kestra", "-f", filepath.Join(out, "helm-values.yaml"))
		checkDaemon(t, append(decodeObjects(t, rendered), builtObjects(t, out)...), "/home/rootless/.config/docker/certs.d")
	})
	for name, tc := range map[string]struct {
		helmArgs []string
		certsDir string
	}{
		"rootless dind (the chart default)": {nil, "/home/rootless/.config/docker/certs.d"},
		"insecure dind as root":             {[]string{"--set", "dind.mode=insecure"}, "/etc/docker/certs.d"},
	} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join(t.TempDir(), "kestra.yaml")
			if err := os.WriteFile(base, testutil.RenderChart(t, "kestra", "kestra", tc.helmArgs...), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "overlay")
			if _, stderr, err := runCmd(t, "generate", "-o", out, "--base", base, "--mode", "app", "--host", "kestra.example.com", "-n", "kestra",
				"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.RootCA, "--registry", registry); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			checkDaemon(t, builtObjects(t, out), tc.certsDir)
		})
	}
}

// jdbcJava is what Kestra's PostgreSQL backend does at start: the JDBC driver connects with the URL of
// its datasource.
const jdbcJava = `import java.sql.*;
public class Jdbc {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], "kestra", "");
             ResultSet r = c.createStatement().executeQuery("select 'kestra-tls-ok: ' || version()")) {
            r.next();
            System.out.println(r.getString(1));
        }
    }
}
`

// TestPostgresBackendVerifiesThroughTheOutboundBundle: a Kestra datasource that asks PostgreSQL's JDBC
// driver to verify the server (sslmode=verify-full), in the base's KESTRA_CONFIGURATION or in the chart's
// configurations.application (rendered by the real helm), gets sslrootcert pointing at the outbound bundle;
// the real driver (the version Kestra's platform pins) on Kestra's Java, run in the container as its user
// with the URL Kestra reads, reaches Debian's PostgreSQL over TLS, its certificate from a --trust-ca CA.
// The URL as the base wrote it fails there: the driver finds no CA.
func TestPostgresBackendVerifiesThroughTheOutboundBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL and the JVM (-short)")
	}
	kestrapod.RequireRoot(t)
	java := kestraserver.Java(t)
	drivers, _ := filepath.Glob(filepath.Join(testutil.BinDir(), "kestra-server", "lib", "postgresql-*.jar"))
	if len(drivers) == 0 {
		t.Fatal("bin/kestra-server/lib has no PostgreSQL JDBC driver: run `make tools`")
	}
	corp := newCorporatePKI(t, "127.0.0.1")
	port := postgres.Start(t, corp.chainPEM, corp.keyPEM)
	url := fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/postgres?sslmode=verify-full", port)
	trust := []string{"--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.rootFile}
	for _, tc := range []struct {
		name string
		// kestra renders Kestra with generate's output in out: the objects and Kestra's workload and container.
		kestra func(t *testing.T, out string) (objects []map[string]any, workload, container string, said string)
	}{
		{"kustomize over a base with KESTRA_CONFIGURATION", func(t *testing.T, out string) ([]map[string]any, string, string, string) {
			base := filepath.Join(t.TempDir(), "kestra.yaml")
			writeFiles(t, filepath.Dir(base), map[string]string{"kestra.yaml": strings.Replace(chartLikeBase, "ports: [{name: http, containerPort: 8080}]}",
				"ports: [{name: http, containerPort: 8080}], env: [{name: KESTRA_CONFIGURATION, value: \"datasources:\\n  postgres:\\n    url: "+url+"\\n    username: kestra\\nkestra:\\n  repository:\\n    type: postgres\\n\"}]}", 1)})
			stdout, stderr, err := runCmd(t, append([]string{"generate", "-o", out, "--base", base}, trust...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			return builtObjects(t, out), "kestra", "kestra", stdout + stderr
		}},
		{"kustomize over the chart's helm template output", func(t *testing.T, out string) ([]map[string]any, string, string, string) {
			testutil.Chart(t)
			mine := filepath.Join(t.TempDir(), "my-values.yaml")
			writeFiles(t, filepath.Dir(mine), map[string]string{"my-values.yaml": "configurations:\n  application:\n    datasources:\n      postgres:\n        url: " + url + "\n        username: kestra\n    kestra:\n      repository:\n        type: postgres\n"})
			base := filepath.Join(t.TempDir(), "kestra.yaml")
			if err := os.WriteFile(base, testutil.RunHelm(t, "template", "kestra", testutil.Chart(t), "-n", "kestra", "-f", mine), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := runCmd(t, append([]string{"generate", "-o", out, "--base", base, "-n", "kestra"}, trust...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			return builtObjects(t, out), "kestra-standalone", "kestra-standalone", stdout + stderr
		}},
		{"--target helm over the chart's configurations.application", func(t *testing.T, out string) ([]map[string]any, string, string, string) {
			testutil.Chart(t)
			mine := filepath.Join(t.TempDir(), "my-values.yaml")
			writeFiles(t, filepath.Dir(mine), map[string]string{"my-values.yaml": "configurations:\n  application:\n    datasources:\n      postgres:\n        url: " + url + "\n        username: kestra\n    kestra:\n      repository:\n        type: postgres\n"})
			stdout, stderr, err := runCmd(t, append([]string{"generate", "--target", "helm", "-o", out, "-n", "kestra", "--chart-values", mine}, trust...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			rendered := testutil.RunHelm(t, "template", "kestra", testutil.Chart(t), "-n", "kestra", "-f", mine, "-f", filepath.Join(out, "helm-values.yaml"))
			return append(decodeObjects(t, rendered), builtObjects(t, out)...), "kestra-standalone", "kestra-standalone", stdout + stderr
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			objects, workload, container, said := tc.kestra(t, out)
			if !strings.Contains(said, "datasource postgres verifies the database's certificate against the outbound bundle") {
				t.Errorf("generate does not say it points the datasource at the bundle:\n%s", said)
			}
			p, err := kestrapod.Start(objects, "Deployment", workload, container)
			if err != nil {
				t.Fatal(err)
			}
			written := p.String("datasources.postgres.url")
			if written != url+"&sslrootcert=/app/ssl/"+model.OutboundBundleFile {
				t.Fatalf("Kestra reads datasources.postgres.url = %q", written)
			}
			task := filepath.Join(p.LayOut(t), "app", "task")
			if err := os.MkdirAll(task, 0o755); err != nil {
				t.Fatal(err)
			}
			driver, err := os.ReadFile(drivers[0])
			if err != nil {
				t.Fatal(err)
			}
			for name, content := range map[string][]byte{"Jdbc.java": []byte(jdbcJava), "postgresql.jar": driver} {
				if err := os.WriteFile(filepath.Join(task, name), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			connect := func(url string) (string, error) {
				return kestrapod.Exec(t, p, java, "-XX:-UsePerfData", "-cp", "/app/task/postgresql.jar", "/app/task/Jdbc.java", url)
			}
			if output, err := connect(written); err != nil || !strings.Contains(output, "kestra-tls-ok: PostgreSQL") {
				t.Errorf("the JDBC driver with the URL Kestra reads, as %s: %v\n%s", p.User, err, output)
			}
			if output, err := connect(url); err == nil || strings.Contains(output, "kestra-tls-ok") {
				t.Errorf("the base's URL, without sslrootcert, reached PostgreSQL: the test proves nothing\n%s", output)
			}
		})
	}
}

// TestKestra2ControllerAndWorkersGetTheOutboundTrust: over Kestra 2's distributed install as its
// development chart renders it (a controller Deployment with its own gRPC Service, Kestra's Service in
// front of the webserver only), the webserver serves HTTPS and the controller, like every component,
// reaches a server of a --trust-ca CA through the JVM's truststore (_JAVA_OPTIONS, which the chart sets and
// which wins over JAVA_OPTS), as Kestra's launcher starts them; the controller's gRPC Service is left as it
// was.
func TestKestra2ControllerAndWorkersGetTheOutboundTrust(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and the JVM as the container's user (-short)")
	}
	kestrapod.RequireRoot(t)
	corp := startCorporateServer(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--base", "testdata/bases/kestra2-distributed",
		"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", corp.RootCA); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	objects := builtObjects(t, out)
	for _, component := range []string{"controller", "worker", "executor", "scheduler", "webserver"} {
		p, err := kestrapod.Start(objects, "Deployment", "kestra-"+component, "kestra-"+component)
		if err != nil {
			t.Fatalf("the %s would not start: %v", component, err)
		}
		if body, err := kestrapod.CallOut(t, p, "127.0.0.1", corp.Port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("the %s's JVM as %s: %v\n%s", component, p.User, err, body)
		}
		if component == "webserver" {
			if server := kestrapod.Run(t, p); server.Scheme != "https" {
				t.Errorf("the webserver serves %s, want https", server.Scheme)
			}
		}
	}
	for _, object := range objects {
		if object["kind"] == "Service" && dig(object, "metadata", "name") == "kestra-controller" {
			ports := dig(object, "spec", "ports").([]any)
			if len(ports) != 1 || fmt.Sprint(dig(ports[0].(map[string]any), "port")) != "50051" {
				t.Errorf("the controller's gRPC Service changed: %v", ports)
			}
		}
	}
}
