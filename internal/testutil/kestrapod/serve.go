package kestrapod

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestraserver"
)

// LayOut writes the container's files into a scratch folder, each owned and moded as the container sees
// it, and returns the folder: a file at /app/ssl/keystore.p12 in the container is at ROOT/app/ssl/keystore.p12.
// It needs root (to give files away); the folder goes with the test.
func (p *Process) LayOut(t testing.TB) string {
	t.Helper()
	if p.root != "" {
		return p.root
	}
	RequireRoot(t)
	root, err := os.MkdirTemp("", "kestra-pod-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	// Folders are the runtime's: traversable by anyone, as the kubelet's volume folders and /app are.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir := range p.volumeDirs {
		local := filepath.Join(root, filepath.FromSlash(dir))
		layOutVolume(t, local, p.filesUnder(dir))
		for parent := local; parent != root; parent = filepath.Dir(parent) {
			os.Chmod(parent, 0o755) // MkdirAll's mode passes through the umask
		}
	}
	// A folder bound from the host gets its files as they are now too, for clients outside the server's
	// mount namespace (CallOut); the server sees the host folder itself, live.
	for dir := range p.binds {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(dir)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range p.Files {
		if _, inVolume := p.volumeDirOf(name); inVolume {
			continue
		}
		local := filepath.Join(root, filepath.FromSlash(name))
		writeFile(t, local, f)
		for dir := filepath.Dir(local); dir != root; dir = filepath.Dir(dir) {
			os.Chmod(dir, 0o755) // MkdirAll's mode passes through the umask
		}
	}
	p.root = root
	return root
}

// RequireRoot stops a test that must create files of other users and run processes as them: it fails
// under CI, where the run is root, and skips elsewhere, saying why.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root: it lays files out with the owners the kubelet gives them and runs Kestra's JVM as the container's user")
	}
	t.Skip("needs root: it lays files out with the owners the kubelet gives them and runs Kestra's JVM as the container's user (run the tests as root, as CI does)")
}

// Serve runs Kestra's own server (Micronaut on Temurin 25, internal/testutil/kestraserver) for the container:
// its files at their paths, its environment as Kestra's launcher leaves it, as its user. Micronaut reads the
// configuration itself; a store it cannot open or a password it cannot resolve fails the test with its own
// error. It returns a loopback port that reaches the server's main listener (HTTPS with TLS on).
func Serve(t testing.TB, p *Process) int {
	t.Helper()
	return Run(t, p).Local
}

// Run is Serve, returning the server itself: its pod's address, its listener, its logs.
func Run(t testing.TB, p *Process) *kestraserver.Server {
	t.Helper()
	root := p.LayOut(t)
	return kestraserver.Start(t, kestraserver.Container{Root: root, Env: p.Env, UID: p.User.UID, GID: p.User.GID, Groups: p.User.Groups, Binds: p.binds})
}

var trustStoreFlag = regexp.MustCompile(`-Djavax\.net\.ssl\.trustStore=(\S+)`)

// CallOut connects to https://host:port/ from a JVM with the container's JVM options, as a Kestra task
// calling out does, run as the container's user: the outbound trust store it names must open for that user.
func CallOut(t testing.TB, p *Process, host string, port int) (string, error) {
	t.Helper()
	flag := trustStoreFlag.FindStringSubmatch(p.JVMOptions)
	if flag == nil {
		t.Fatalf("the JVM options %q name no trust store", p.JVMOptions)
	}
	if _, ok := p.Files[flag[1]]; !ok {
		t.Fatalf("the JVM options name %s, which no mount provides", flag[1])
	}
	store := filepath.Join(p.LayOut(t), filepath.FromSlash(flag[1]))
	return javatls.JavaClientAs(t, p.credential(), store, "JKS", "", host, port)
}

func (p *Process) credential() *javatls.Credential {
	return &javatls.Credential{UID: p.User.UID, GID: p.User.GID, Groups: p.User.Groups}
}

// Exec runs a program inside the container, as its user with its environment (kestraserver.Exec): a task
// of Kestra's calling out.
func Exec(t testing.TB, p *Process, argv ...string) (string, error) {
	t.Helper()
	root := p.LayOut(t)
	return kestraserver.Exec(t, kestraserver.Container{Root: root, Env: p.Env, UID: p.User.UID, GID: p.User.GID, Groups: p.User.Groups}, argv...)
}
