// Package testutil finds the real programs the tests run: kubectl on the machine and the one built into
// bin/ by the tools module.
package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir is where `make tools` builds kube-apiserver, etcd and kubectl.
func BinDir() string { return filepath.Join(RepoRoot(), "bin") }

// Kubectls returns every real kubectl available: the machine's and bin/kubectl (v1.37 from the tools
// module). It fails the test when there is none: the tests that call it prove compatibility with kubectl.
// Under -short (make test-unit) it returns none: the caller checks what it can without kubectl.
func Kubectls(t testing.TB) []string {
	t.Helper()
	if testing.Short() {
		t.Log("-short: no comparison with the real kubectl")
		return nil
	}
	var found []string
	if path, err := exec.LookPath("kubectl"); err == nil {
		found = append(found, path)
	}
	if built := filepath.Join(BinDir(), "kubectl"); fileExists(built) {
		found = append(found, built)
	}
	if len(found) == 0 {
		t.Fatal("no kubectl: run `make tools` (builds bin/kubectl) or install kubectl")
	}
	return found
}

// Program returns the path of a program the test runs (keytool, openssl...); -short skips the test, and
// a missing program fails it with the package to install.
func Program(t testing.TB, name, install string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s (skipped by -short)", name)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: %s", name, install)
	}
	return path
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// SyncBuffer collects a subprocess's output while the test reads it.
type SyncBuffer struct {
	mu   sync.Mutex
	data []byte
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	return len(p), nil
}

// String is everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.data)
}

// Tail returns the last lines written.
func (b *SyncBuffer) Tail(lines int) string {
	all := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

var (
	pluginOnce sync.Once
	pluginPath string
	pluginErr  error
)

// Plugin builds the plugin from the code under test, once per test binary, into a private folder: a test
// that runs the binary must not run whatever `make build` left in bin/.
func Plugin(t testing.TB) string {
	t.Helper()
	pluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kestra-tls-plugin-")
		if err != nil {
			pluginErr = err
			return
		}
		pluginPath = filepath.Join(dir, "kubectl-kestra_tls")
		pluginErr = buildInto(dir, "./cmd/kubectl-kestra_tls")
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginPath
}

// RemovePlugin deletes the binary Plugin built; TestMain calls it.
func RemovePlugin() {
	if pluginPath != "" {
		os.RemoveAll(filepath.Dir(pluginPath))
	}
}

// DockerCompose is the real docker compose CLI that `make tools` builds into bin/ (standalone: its
// `config` needs no Docker engine). -short skips the test; a missing binary fails it.
func DockerCompose(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs docker compose (skipped by -short)")
	}
	path := filepath.Join(BinDir(), "docker-compose")
	if !fileExists(path) {
		t.Fatal("bin/docker-compose not found: run `make tools` (builds docker compose v5 from the Go module proxy)")
	}
	return path
}

// Stop ends a process the test started, by its PID: SIGINT, then SIGKILL once grace has passed.
func Stop(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

// buildInto builds the repository's commands into dir, as `make build` does (static, no cgo).
func buildInto(dir string, packages ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-o", dir + string(filepath.Separator)}, packages...)...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(packages, " "), err, out)
	}
	return nil
}

// Unavailable stops a test whose real program or fixture this machine lacks: under CI (CI=true), where
// .ci/run must have installed it, the test fails; elsewhere it skips, saying why.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// SharedFixture is the folder ../shared/fixtures/NAME beside the clone, holding marker; where it is
// missing the test is Unavailable (a clone outside this team has no ../shared).
func SharedFixture(t testing.TB, name, marker string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(), "..", "shared", "fixtures", name)
	if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
		Unavailable(t, "%s is missing at %s (../shared is laid beside this team's clones and CI's)", marker, dir)
	}
	return dir
}

// FreePort is a loopback TCP port free at the moment of asking, for a program the test ground starts.
func FreePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}
