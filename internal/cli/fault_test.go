package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

// holdingProxy stands in front of the real API server and holds the first request that matches until
// the client gives up; every other request passes. It returns a kubeconfig for it and a channel that
// fires when a request is held.
func holdingProxy(t *testing.T, c *cluster.Cluster, match func(*http.Request) bool) (string, <-chan struct{}) {
	t.Helper()
	transport, err := rest.TransportFor(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(c.Config.Host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	proxy.FlushInterval = -1 // watches stream
	held := make(chan struct{}, 1)
	closing := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if match(r) {
			// Read the body first: only then does the server notice a client that goes away.
			io.Copy(io.Discard, r.Body)
			select {
			case held <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-closing:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(closing); server.Close() })
	kubeconfig := filepath.Join(t.TempDir(), "proxy.kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \""+server.URL+"\"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"), 0o600)
	return kubeconfig, held
}

// TestSignalsAtEveryPhaseExit130 runs the real binary and signals it while a request of each phase is in
// flight: before the first write, between writes, while waiting, while explaining a timeout. Each exits
// as a shell reports the signal (130 SIGINT, 143 SIGTERM) within 2 s; a re-run then completes the install.
func TestSignalsAtEveryPhaseExitAsTheShellSays(t *testing.T) {
	c := testCluster(t)
	plugin := testutil.Plugin(t)
	phases := []struct {
		name   string
		signal syscall.Signal
		args   []string
		match  func(*http.Request) bool
	}{
		{"before the first write", syscall.SIGINT, nil, func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/signal-")
		}},
		{"between writes", syscall.SIGTERM, nil, func(r *http.Request) bool {
			return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/ingresses/") && r.URL.Query().Get("dryRun") == ""
		}},
		{"while waiting", syscall.SIGTERM, nil, func(r *http.Request) bool {
			return r.URL.Query().Get("watch") == "true" && strings.Contains(r.URL.Path, "/certificates")
		}},
		{"while explaining", syscall.SIGINT, []string{"--issuer-ref", "no-such-issuer", "--timeout", "1s"}, func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/certificaterequests")
		}},
	}
	for i, phase := range phases {
		t.Run(phase.name, func(t *testing.T) {
			ns := "signal-" + string(rune('a'+i))
			out := filepath.Join(t.TempDir(), "overlay")
			issuer := phase.args
			if issuer == nil {
				issuer = []string{"--self-signed", "--ca-dir", sharedCADir, "--timeout", "60s"}
			}
			kubeconfig, held := holdingProxy(t, c, phase.match)
			args := append(append([]string{"apply", out, "--host", "kestra.example.com", "--create-namespace"}, issuer...), clusterArgs(c, kubeconfig, ns)...)
			cmd := exec.Command(plugin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-held:
			case err := <-done:
				t.Fatalf("the command ended before the phase was reached: %v\n%s", err, stderr.String())
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the phase was never reached\n%s", stderr.String())
			}
			signalled := time.Now()
			cmd.Process.Signal(phase.signal)
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10 s after %s", phase.signal)
			}
			if took := time.Since(signalled); took > 2*time.Second {
				t.Errorf("took %s to stop after %s", took, phase.signal)
			}
			var exit *exec.ExitError
			if want := 128 + int(phase.signal); !errors.As(err, &exit) || exit.ExitCode() != want {
				t.Fatalf("exit = %v, want %d\n%s", err, want, stderr.String())
			}
			if phase.args != nil {
				return // the explaining phase waits on an issuer that does not exist
			}
			// A re-run, straight to the API server, completes the install.
			stdout, stderr2, err := applyCmd(t, c, ns, out, "--timeout", "60s", "--create-namespace")
			if err != nil || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls Ready") {
				t.Errorf("the re-run after %s: %v\n%s\n%s", phase.signal, err, stdout, stderr2)
			}
		})
	}
}

// TestWaitRidesOutAnAPIServerRestart stops kube-apiserver (etcd keeps every object) in the middle of a
// wait and starts it again: the wait says it lost the server, resumes when it is back, and reports Ready
// once cert-manager, started after the restart, issues.
func TestWaitRidesOutAnAPIServerRestart(t *testing.T) {
	c := testCluster(t)
	ns := "apiserver-restart"
	c.KillCertManager()
	defer func() {
		if err := c.StartCertManager(); err != nil {
			t.Fatal(err)
		}
	}()
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := applyCmd(t, c, ns, out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir, "--create-namespace", "--wait=false"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	type result struct {
		stdout, stderr string
		err            error
	}
	waited := make(chan result, 1)
	go func() {
		stdout, stderr, err := runCmd(t, append([]string{"wait", "--timeout", "90s"}, clusterArgs(c, "", ns)...)...)
		waited <- result{stdout, stderr, err}
	}()
	time.Sleep(time.Second)
	if err := c.RestartAPIServer(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.StartCertManager(); err != nil {
		t.Fatal(err)
	}
	r := <-waited
	if r.err != nil || !strings.Contains(r.stdout, "certificate.cert-manager.io/kestra-tls Ready") {
		t.Fatalf("wait across a restart = %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	for _, want := range []string{"lost the API server", "the API server is back after"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the wait did not say %q:\n%s", want, r.stderr)
		}
	}
}

// TestWaitTimesOutSayingTheAPIServerIsGone: when the server is still away at the deadline, the wait exits
// 124 and says for how long it was unreachable.
func TestWaitTimesOutSayingTheAPIServerIsGone(t *testing.T) {
	c := testCluster(t)
	// A port where nothing listens, behind a kubeconfig that looks like the cluster's.
	gone := filepath.Join(t.TempDir(), "gone.kubeconfig")
	os.WriteFile(gone, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"http://127.0.0.1:1\"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"), 0o600)
	started := time.Now()
	_, _, err := runCmd(t, append([]string{"wait", "--timeout", "3s"}, clusterArgs(c, gone, "default")...)...)
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 124 || !strings.Contains(err.Error(), "unreachable for the last") {
		t.Fatalf("wait against a server that is gone = %v, want 124 saying how long it was unreachable", err)
	}
	if took := time.Since(started); took > 6*time.Second {
		t.Errorf("took %s for a 3 s timeout", took)
	}
}

// TestCertManagerKilledMidIssuanceRecovers kills the cert-manager controllers with SIGKILL right after the
// apply, while they work on the new Certificate, and starts them again: Ready arrives.
func TestCertManagerKilledMidIssuanceRecovers(t *testing.T) {
	c := testCluster(t)
	ns := "cert-manager-killed"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := applyCmd(t, c, ns, out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir, "--create-namespace", "--wait=false"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	c.KillCertManager()
	time.Sleep(500 * time.Millisecond)
	if err := c.StartCertManager(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := NewCmdKestraTLS(genericiooptions.NewTestIOStreamsDiscard())
	cmd.SetArgs(append([]string{"wait", "--timeout", "60s"}, clusterArgs(c, "", ns)...))
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("wait after cert-manager was killed and restarted: %v\ncert-manager:\n%s", err, c.Logs.Tail(20))
	}
}
