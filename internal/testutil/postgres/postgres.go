// Package postgres runs PostgreSQL from Debian's packages in the test ground, with TLS on and only TLS
// accepted, as the user nobody (PostgreSQL refuses root), on loopback. It is test ground, never product code.
package postgres

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// nobody runs the server: a user /etc/passwd knows (initdb looks its name up), not root.
const nobody = 65534

// binary finds a PostgreSQL program: on the PATH, or in Debian's versioned folder.
func binary(t testing.TB, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(found) > 0 {
		return found[len(found)-1]
	}
	testutil.Unavailable(t, "PostgreSQL's %s is missing (apt-get install postgresql)", name)
	return ""
}

// Start runs a PostgreSQL server that serves chainPEM (its certificate, then intermediates) with keyPEM,
// accepts only TLS connections from loopback, for user kestra (database postgres), and stops with the test.
// It returns its port.
func Start(t testing.TB, chainPEM, keyPEM []byte) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: it runs PostgreSQL as the user nobody")
	}
	initdb, server := binary(t, "initdb"), binary(t, "postgres")
	root, err := os.MkdirTemp("", "kestra-tls-postgres-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	data := filepath.Join(root, "data")
	for name, content := range map[string][]byte{"server.crt": chainPEM, "server.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(root, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(root, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, nobody, nobody)
	}); err != nil {
		t.Fatal(err)
	}
	as := func(program string, args ...string) *exec.Cmd {
		cmd := exec.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups", "--", program}, args...)...)
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + root, "LC_ALL=C"}
		return cmd
	}
	if output, err := as(initdb, "-D", data, "-U", "kestra", "--auth=trust", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, output)
	}
	// TLS only, from loopback: a client that does not verify or cannot, fails.
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte("hostssl all all 127.0.0.1/32 trust\nlocal all all trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(data, "pg_hba.conf"), nobody, nobody)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	listener.Close()
	logs := &testutil.SyncBuffer{}
	cmd := as(server, "-D", data, "-p", fmt.Sprint(port), "-k", root, "-c", "listen_addresses=127.0.0.1",
		"-c", "ssl=on", "-c", "ssl_cert_file="+filepath.Join(root, "server.crt"), "-c", "ssl_key_file="+filepath.Join(root, "server.key"), "-c", "fsync=off")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testutil.Stop(cmd, 10*time.Second) })
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "ready to accept connections") {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("PostgreSQL did not start:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return port
}
