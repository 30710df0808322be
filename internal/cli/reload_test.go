package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestraserver"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/helmvalues"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
)

// reloadInterval is the test's app.reloadInterval: short, so that a reload is seen in seconds.
const reloadInterval = 5 * time.Second

// httpsLoop requests Kestra's UI over HTTPS, a new TLS handshake each time, verifying our CA, until stop:
// what a browser reloading the page does across a renewal. It keeps every failure and the serial of each
// certificate served, in order.
type httpsLoop struct {
	mu       sync.Mutex
	failures []string
	serials  []*big.Int
	seenAt   map[string]time.Time
	requests int
	stop     chan struct{}
	done     chan struct{}
}

func startHTTPSLoop(t *testing.T, port int, caFile string) *httpsLoop {
	return startHTTPSLoopFor(t, "kestra.example.com", port, caFile)
}

// startHTTPSLoopFor is startHTTPSLoop for another host name.
func startHTTPSLoopFor(t *testing.T, host string, port int, caFile string) *httpsLoop {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil, DialContext: dial, DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host},
	}}
	l := &httpsLoop{seenAt: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		// Bounded: a loop the test forgets ends by itself.
		deadline := time.After(5 * time.Minute)
		for {
			select {
			case <-l.stop:
				return
			case <-deadline:
				return
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := client.Get("https://" + host + "/ui/")
			l.mu.Lock()
			l.requests++
			switch {
			case err != nil:
				l.failures = append(l.failures, err.Error())
			case resp.StatusCode != http.StatusOK:
				l.failures = append(l.failures, resp.Status)
			default:
				serial := resp.TLS.PeerCertificates[0].SerialNumber
				if len(l.serials) == 0 || l.serials[len(l.serials)-1].Cmp(serial) != 0 {
					l.serials = append(l.serials, serial)
					l.seenAt[serial.String()] = time.Now()
				}
			}
			l.mu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	t.Cleanup(l.finish)
	return l
}

func (l *httpsLoop) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// waitServed waits until the loop has been served the certificate with serial, and says when.
func (l *httpsLoop) waitServed(serial *big.Int, within time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		at, ok := l.seenAt[serial.String()]
		l.mu.Unlock()
		if ok {
			return at, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, false
}

func (l *httpsLoop) report() (requests int, failures []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests, append([]string{}, l.failures...)
}

func servedSerial(t *testing.T, port int) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true, ServerName: "kestra.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

func storesSerial(t *testing.T, dir string) *big.Int {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, "certs", "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block := strings.SplitN(string(pem), "-----END CERTIFICATE-----", 2)[0] + "-----END CERTIFICATE-----\n"
	certs, err := pki.ParseCertificates([]byte(block))
	if err != nil || len(certs) == 0 {
		t.Fatalf("certs/server.pem: %v", err)
	}
	return certs[0].SerialNumber
}

// TestKestraReloadsARenewedCertificateWithoutRestart applies app mode on the real API server, runs Kestra's
// own server (Micronaut 4.10 on Temurin 25) on the Secret volume laid out as the kubelet's atomic writer lays
// it out, and renews while a client loop keeps asking over HTTPS, a new handshake each time: renew leaves
// the Deployment alone (no restart), the Secret keeps its name and changes in place, the kubelet-style
// ..data swap reaches the pod, and Micronaut serves the new serial within the reload interval, in the same
// JVM, without one failed request.
func TestKestraReloadsARenewedCertificateWithoutRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and the control plane (-short)")
	}
	c := testCluster(t)
	ns := "reload-in-place"
	srv, p, out, _ := startKestra(t, "", "--set", "app.reloadInterval="+reloadInterval.String(), "-n", ns)
	if _, stderr, err := applyCmd(t, c, ns, out, "--create-namespace", "--timeout", "30s"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ctx := context.Background()
	before, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := storesSerial(t, out)
	if served := servedSerial(t, srv.Local); served.Cmp(first) != 0 {
		t.Fatalf("Kestra serves serial %x, the overlay's certificate is %x", served, first)
	}
	loop := startHTTPSLoop(t, srv.Local, filepath.Join(out, "certs", "ca.pem"))
	time.Sleep(time.Second)

	stdout, stderr, err := runCmd(t, append([]string{"renew", out}, clusterArgs(c, "", ns)...)...)
	if err != nil {
		t.Fatalf("renew: %v\n%s\n%s", err, stdout, stderr)
	}
	if strings.Contains(stdout, "restarted") || !strings.Contains(stdout+stderr, "reloads") {
		t.Errorf("renew of a Kestra that reloads should say so and restart nothing:\n%s\n%s", stdout, stderr)
	}
	after, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation {
		t.Errorf("renew changed the Deployment (generation %d to %d): its pods would be replaced, not reloaded", before.Generation, after.Generation)
	}
	renewed := storesSerial(t, out)
	if renewed.Cmp(first) == 0 {
		t.Fatal("renew minted no new server certificate")
	}
	if report, _, _ := runCmd(t, append([]string{"status"}, clusterArgs(c, "", ns)...)...); !strings.Contains(report, "deployment/kestra: reload due by") || strings.Contains(report, "restart") && !strings.Contains(report, "no restart") {
		t.Errorf("status right after the renewal should say Kestra is to reload, not restart:\n%s", report)
	}
	// The kubelet: the Secret as the API server now holds it, swapped into the running pod's volume.
	live, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "kestra-ssl", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the stores Secret kept no fixed name: %v", err)
	}
	objects := builtObjects(t, out)
	next, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatal(err)
	}
	if string(live.Data["keystore.p12"]) != string(next.Files["/app/ssl/keystore.p12"].Data) {
		t.Fatal("the keystore in the cluster is not the overlay's renewed one")
	}
	swapped := time.Now()
	if updated := p.Update(t, next); len(updated) != 1 || updated[0] != "/app/ssl" {
		t.Fatalf("the kubelet would have updated %v, want /app/ssl only", updated)
	}
	servedWithoutRestart(t, loop, srv, renewed, swapped)
}

// remintServer mints a new server certificate from the overlay's CA in dir, as renew does before it
// applies, without a cluster.
func remintServer(t *testing.T, dir string) {
	t.Helper()
	g, err := regenerateOptions(genericclioptions.NewConfigFlags(false), genericiooptions.NewTestIOStreamsDiscard(), dir)
	if err != nil {
		t.Fatal(err)
	}
	g.renewServer = true
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAFileWatcherMissesTheKubeletsSwap is why generate picks Micronaut's SCHEDULER: with refresh-mode
// FILE_WATCHER, Micronaut watches keystore.p12's folder for events on keystore.p12 itself, and the kubelet's
// update renames ..data_tmp over ..data, so no such event comes and Kestra keeps serving the old
// certificate; the same server with SCHEDULER (the overlay as generated) serves the new one.
func TestAFileWatcherMissesTheKubeletsSwap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--set", "app.reloadInterval=2s"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	start := func(refreshMode string) (*kestrapod.Process, *kestraserver.Server) {
		p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
		if err != nil {
			t.Fatal(err)
		}
		if refreshMode != "" {
			// Micronaut's environment-variable form of the property wins over our file's.
			p.Env["MICRONAUT_CERTIFICATE_FILE_KESTRA_TLS_REFRESH_MODE"] = refreshMode
		}
		return p, kestrapod.Run(t, p)
	}
	watcher, watcherServer := start("FILE_WATCHER")
	scheduler, schedulerServer := start("")
	first := storesSerial(t, out)
	remintServer(t, out)
	renewed := storesSerial(t, out)
	next, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatal(err)
	}
	watcher.Update(t, next)
	scheduler.Update(t, next)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && servedSerial(t, schedulerServer.Local).Cmp(renewed) != 0 {
		time.Sleep(200 * time.Millisecond)
	}
	if served := servedSerial(t, schedulerServer.Local); served.Cmp(renewed) != 0 {
		t.Fatalf("with SCHEDULER Kestra still serves %x, want the renewed %x:\n%s", served, renewed, schedulerServer.Logs.Tail(20))
	}
	time.Sleep(3 * time.Second) // past the interval once more: a watcher that saw anything has reloaded by now
	if served := servedSerial(t, watcherServer.Local); served.Cmp(first) != 0 {
		t.Errorf("with FILE_WATCHER Kestra serves %x after the kubelet's swap, want the old %x still (then the watcher would do)", served, first)
	}
}

// servedWithoutRestart checks what a renewal in place must give: the serial served within the reload
// interval of the change, no failed request of the loop, Kestra's server started once.
func servedWithoutRestart(t *testing.T, loop *httpsLoop, srv *kestraserver.Server, serial *big.Int, changed time.Time) {
	t.Helper()
	at, ok := loop.waitServed(serial, reloadInterval+10*time.Second)
	if !ok {
		t.Fatalf("Kestra still serves serial %x %s after the change (reload interval %s):\n%s", servedSerial(t, srv.Local), time.Since(changed).Round(time.Second), reloadInterval, srv.Logs.Tail(20))
	}
	if took := at.Sub(changed); took > reloadInterval+2*time.Second {
		t.Errorf("the new serial was served %s after the change, past the reload interval %s", took.Round(100*time.Millisecond), reloadInterval)
	}
	time.Sleep(time.Second)
	loop.finish()
	requests, failures := loop.report()
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed across the renewal: %s", len(failures), requests, strings.Join(failures[:min(len(failures), 5)], "; "))
	}
	if started := strings.Count(srv.Logs.String(), "Server Running"); started != 1 {
		t.Errorf("Kestra's server started %d times, want once (no restart)", started)
	}
	t.Logf("%d requests, none failed; serial %x served %s after the change", requests, serial, at.Sub(changed).Round(100*time.Millisecond))
}

// keystorePassword is the password Micronaut opens Kestra's keystore with, as it resolves it: the file
// certificate provider's where Kestra reloads, else micronaut.server.ssl.key-store's.
func keystorePassword(p *kestrapod.Process) string {
	if provider := p.String("micronaut.server.ssl.key-name"); provider != "" {
		return p.String("micronaut.certificate.file." + provider + ".password")
	}
	return p.String("micronaut.server.ssl.key-store.password")
}

// TestComposeKestraReloadsRenewedStoresWithoutRestart: with target compose, Kestra's service mounts the
// folder of its stores (a bind mount of a folder shows what renew writes in it later; one of a file would
// keep the file it found at start), and the real renew, run on the folder while a client loop asks over
// HTTPS, gets the new certificate served within the reload interval, by the same JVM, with no failed
// request.
func TestComposeKestraReloadsRenewedStoresWithoutRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and docker compose (-short)")
	}
	project := t.TempDir()
	if err := os.CopyFS(project, os.DirFS("testdata/compose/guide")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(project)
	if _, stderr, err := runCmd(t, "generate", "--target", "compose", "--host", "kestra.example.com", "-o", "kestra-tls", "--set", "app.reloadInterval="+reloadInterval.String()); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	p, err := kestrapod.FromCompose(dockerComposeService(t, "kestra", nil, "docker-compose.yml", "kestra-tls/compose.kestra-tls.yaml"))
	if err != nil {
		t.Fatalf("the service would not start: %v", err)
	}
	srv := kestrapod.Run(t, p)
	loop := startHTTPSLoop(t, srv.Local, filepath.Join("kestra-tls", "certs", "ca.pem"))
	time.Sleep(time.Second)

	stdout, stderr, err := runCmd(t, "renew", "kestra-tls")
	if err != nil {
		t.Fatalf("renew: %v\n%s\n%s", err, stdout, stderr)
	}
	renewed := storesSerial(t, "kestra-tls")
	if !strings.Contains(stdout, "reloads the keystore") || strings.Contains(stdout, "restart Kestra") {
		t.Errorf("renew should say Kestra reloads in place:\n%s\n%s", stdout, stderr)
	}
	servedWithoutRestart(t, loop, srv, renewed, time.Now())
}

// caBundle writes the PEM certificates of files into one file, as a client given both CAs at step 1 holds.
func caBundle(t *testing.T, files ...string) string {
	t.Helper()
	var bundle []byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		bundle = append(bundle, data...)
	}
	name := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(name, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestRotateCAWithoutRestartWhereKestraReloads takes an app-mode install of a Kestra that reloads through
// rotate-ca's three steps on the real API server, Kestra's own server following the stores Secret as the
// kubelet updates it: no step changes the Deployment, the JVM never restarts, a client trusting the old CA
// is served without a failure until step 2, one trusting both CAs throughout, and step 2's certificate from
// the new CA is served within the reload interval.
func TestRotateCAWithoutRestartWhereKestraReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and the control plane (-short)")
	}
	// The test ground's kubelet swaps a changed Secret into the pod at once.
	sync := status.KubeletSync
	status.KubeletSync = 0
	t.Cleanup(func() { status.KubeletSync = sync })
	c := testCluster(t)
	ns := "rotate-in-place"
	srv, p, out, _ := startKestra(t, "", "--set", "app.reloadInterval=2s", "-n", ns)
	if _, stderr, err := applyCmd(t, c, ns, out, "--create-namespace", "--timeout", "30s"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ctx := context.Background()
	deployment, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := func() {
		t.Helper()
		next, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
		if err != nil {
			t.Fatal(err)
		}
		p.Update(t, next)
	}
	// rotate runs a step, again while the step before is not live yet (Micronaut has not re-read it).
	rotate := func(want string, extra ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			stdout, stderr, err := runCmd(t, append(append([]string{"rotate-ca", out}, extra...), clusterArgs(c, "", ns)...)...)
			if err == nil && strings.Contains(stdout, want) {
				kubelet()
				return
			}
			if err == nil || !strings.Contains(err.Error(), "not live yet") || time.Now().After(deadline) {
				t.Fatalf("rotate-ca %v: %v\n%s\n%s", extra, err, stdout, stderr)
			}
			kubelet()
			time.Sleep(time.Second)
		}
	}
	oldCA := filepath.Join(out, "certs", "ca.pem")
	oldOnly := startHTTPSLoop(t, srv.Local, oldCA)

	rotate("step 1/3 applied")
	both := startHTTPSLoop(t, srv.Local, caBundle(t, oldCA, filepath.Join(out, "certs", "ca-next.pem")))
	time.Sleep(time.Second)
	rotate("step 2/3 applied")
	// Served once Micronaut re-reads the keystore; until then the client of the old CA keeps working.
	issued := storesSerial(t, out)
	if _, ok := both.waitServed(issued, 15*time.Second); !ok {
		t.Fatalf("step 2's certificate is not served: %x\n%s", servedSerial(t, srv.Local), srv.Logs.Tail(20))
	}
	oldOnly.finish()
	if _, failures := oldOnly.report(); len(failures) > 0 && !strings.Contains(failures[0], "certificate signed by unknown authority") {
		t.Errorf("the client of the old CA failed before step 2's certificate: %v", failures[0])
	}
	rotate("step 3/3 done", "--finish")
	time.Sleep(3 * time.Second)
	both.finish()
	if requests, failures := both.report(); len(failures) > 0 {
		t.Errorf("%d of %d requests of the client trusting both CAs failed across the rotation: %s", len(failures), requests, strings.Join(failures[:min(len(failures), 5)], "; "))
	}
	after, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != deployment.Generation {
		t.Errorf("rotate-ca changed the Deployment (generation %d to %d): its pods would be replaced", deployment.Generation, after.Generation)
	}
	if started := strings.Count(srv.Logs.String(), "Server Running"); started != 1 {
		t.Errorf("Kestra's server started %d times, want once (no restart)", started)
	}
}

// TestCertManagersRenewalReachesAKestraThatReloads: app mode with the keystore from cert-manager (our CA as
// its CA issuer). Kestra's own server runs on the pod as the cluster holds it; renew has cert-manager issue
// again into the same Secret, says Kestra reloads, restarts nothing, and, once the kubelet swaps the
// Secret's new content in, the new certificate is served within the reload interval without a failed
// request from a client loop.
func TestCertManagersRenewalReachesAKestraThatReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and the control plane (-short)")
	}
	c := testCluster(t)
	ctx := context.Background()
	ns := "appcm-reload"
	host := "kestra.reload.test"
	out := filepath.Join(t.TempDir(), "overlay")
	if stdout, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", host, "--self-signed", "--app-issuer", "cert-manager",
		"--set", "app.reloadInterval="+reloadInterval.String(), "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	report, _ := statusOf(t, c, ns)
	k := onlyInstall(t, report).Keystore
	if !k.Reloads() {
		t.Fatalf("status says the keystore from cert-manager is renewed by %q, want reload", k.Renewal)
	}
	p := livePod(t, c, ns, k)
	srv := kestrapod.Run(t, p)
	secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, k.Secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, secret.Data["ca.crt"], 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	loop := startHTTPSLoopFor(t, host, srv.Local, caFile)
	time.Sleep(time.Second)

	stdout, stderr, err := runCmd(t, append([]string{"renew"}, clusterArgs(c, "", ns)...)...)
	if err != nil || strings.Contains(stdout, "restarted") || !strings.Contains(stdout, "no restart") {
		t.Fatalf("renew of a Kestra that reloads cert-manager's keystore = %v:\n%s\n%s", err, stdout, stderr)
	}
	renewedSecret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, k.Secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.ParseCertificates(renewedSecret.Data["tls.crt"])
	if err != nil || chain[0].SerialNumber.Cmp(servedSerial(t, srv.Local)) == 0 {
		t.Fatalf("cert-manager issued no new certificate: %v", err)
	}
	swapped := time.Now()
	p.Update(t, livePod(t, c, ns, k))
	servedWithoutRestart(t, loop, srv, chain[0].SerialNumber, swapped)
	after, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil || after.Generation != before.Generation {
		t.Errorf("renew changed the Deployment: generation %d to %d (%v)", before.Generation, after.Generation, err)
	}
}

// TestHelmChecksumRollsOnlyWhatKestraCannotReload: with --target helm the pods carry a checksum that rolls
// them on helm upgrade. A renewed keystore changes it only for a Kestra that reads its stores at start; for
// one that reloads, the Secret changes in place and the pods stay.
func TestHelmChecksumRollsOnlyWhatKestraCannotReload(t *testing.T) {
	for name, tc := range map[string]struct {
		version string
		rolls   bool
	}{
		"Kestra 1.3 reloads: the checksum stays":  {"1.3", false},
		"Kestra 1.2 restarts: the checksum moves": {"1.2", true},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "helm")
			if _, stderr, err := runCmd(t, "generate", "--target", "helm", "--mode", "app", "--host", "kestra.example.com", "--kestra-version", tc.version, "-o", out); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			checksum := func() string {
				data, err := os.ReadFile(filepath.Join(out, "helm-values.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				match := regexp.MustCompile(regexp.QuoteMeta(helmvalues.ChecksumAnnotation) + `: ([0-9a-f]{64})`).FindSubmatch(data)
				if match == nil {
					t.Fatalf("helm-values.yaml carries no checksum:\n%s", data)
				}
				return string(match[1])
			}
			before, serial := checksum(), storesSerial(t, out)
			remintServer(t, out)
			if storesSerial(t, out).Cmp(serial) == 0 {
				t.Fatal("no new server certificate")
			}
			if rolled := checksum() != before; rolled != tc.rolls {
				t.Errorf("a renewal moved the checksum: %v, want %v", rolled, tc.rolls)
			}
		})
	}
}
