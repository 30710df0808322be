// Package kestraserver runs Kestra's own server in the test ground: Micronaut's Netty HTTP server and its
// management endpoints, at the Micronaut version Kestra's platform pins (the Maven project beside this
// file, built by `make tools` into bin/kestra-server), on Temurin 25 as Kestra's images run it, with
// Kestra's built-in application.yml on its classpath (../shared/fixtures/kestra-config).
//
// It is started as Kestra's container starts: in a network namespace of its own (Micronaut binds the ports
// the configuration names, 8080, 8443, 8081), with the container's files at their paths (a mount namespace
// shows the laid-out /app), as the container's user, with the container's environment, and with
// MICRONAUT_CONFIG_FILES as Kestra's launcher leaves it. Micronaut reads every line of the configuration
// itself: a store it cannot open, a password it cannot resolve, fail the start with its own error.
package kestraserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/netpod"
)

// JavaHome is the JDK Kestra's images run since Kestra 1.3 (eclipse-temurin:25).
const JavaHome = "/usr/lib/jvm/temurin-25-jdk-amd64"

// Java is Temurin 25's java; where the machine lacks it, the test fails under CI and skips elsewhere.
func Java(t testing.TB) string {
	t.Helper()
	java := filepath.Join(JavaHome, "bin", "java")
	if _, err := os.Stat(java); err != nil {
		testutil.Unavailable(t, "Kestra's Java is missing: %s (install Temurin 25 there to run Kestra's server)", java)
	}
	return java
}

// KestraConfigDir holds Kestra's built-in application.yml, the first configuration Kestra's server reads.
func KestraConfigDir(t testing.TB) string {
	t.Helper()
	return testutil.SharedFixture(t, "kestra-config", "application.yml")
}

// classpath is the server's jar and its libraries, built by `make tools`.
func classpath(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(testutil.BinDir(), "kestra-server")
	if _, err := os.Stat(filepath.Join(dir, "kestra-server.jar")); err != nil {
		t.Fatalf("%s/kestra-server.jar is missing: run `make tools` (builds Kestra's Micronaut server with Maven)", dir)
	}
	return filepath.Join(dir, "kestra-server.jar") + ":" + filepath.Join(dir, "lib", "*")
}

// Container is what the server is started with: the container's files and process.
type Container struct {
	// Root holds the container's files at their paths: ROOT/app/ssl/keystore.p12 is /app/ssl/keystore.p12.
	Root string
	// Env is the container's environment as Kestra's launcher leaves it (MICRONAUT_CONFIG_FILES set).
	Env map[string]string
	// UID, GID and Groups are the container's user.
	UID, GID int
	Groups   []int
	// Binds are host folders mounted live at container paths (Compose's bind mounts of folders).
	Binds map[string]string
}

// Server is a running Kestra server.
type Server struct {
	// Pod is its network namespace; IP its address there.
	Pod *netpod.Pod
	// Scheme and Port are where Micronaut says it runs (https and 8443 with TLS on).
	Scheme string
	Port   int
	// Local is a loopback port that forwards to Port, for clients that connect to 127.0.0.1.
	Local int
	Logs  *testutil.SyncBuffer
}

var serverRunning = regexp.MustCompile(`Server Running: (https?)://[^:/]+:(\d+)`)

// Start runs the server for the container, and stops it with the test. It needs root (namespaces, and
// the container's user).
func Start(t testing.TB, c Container) *Server {
	t.Helper()
	java := Java(t)
	cp := classpath(t) + ":" + KestraConfigDir(t)
	pod := netpod.New(t)
	script, err := mountScript(c.Root)
	if err != nil {
		t.Fatal(err)
	}
	targets := make([]string, 0, len(c.Binds))
	for target := range c.Binds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		script += fmt.Sprintf(" && mount --bind '%s' '%s'", c.Binds[target], target)
	}
	// Kestra's launcher: java ${JAVA_OPTS} ... (the word splitting is the shell's, as there).
	script += fmt.Sprintf(" && exec setpriv --reuid=%d --regid=%d %s -- %s -XX:-UsePerfData $JAVA_OPTS -cp '%s' io.kestra.tlsground.Application", c.UID, c.GID, groups(c.Groups), java, cp)
	cmd := exec.Command("ip", "netns", "exec", pod.Netns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"}
	for key, value := range c.Env {
		cmd.Env = append(cmd.Env, key+"="+value)
	}
	s := &Server{Pod: pod, Logs: &testutil.SyncBuffer{}}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.Logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testutil.Stop(cmd, 10*time.Second) })
	running := make(chan []string, 1)
	exited := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(io.TeeReader(stdout, s.Logs))
		for scanner.Scan() {
			if match := serverRunning.FindStringSubmatch(scanner.Text()); match != nil {
				running <- match
			}
		}
		close(exited)
	}()
	select {
	case match := <-running:
		s.Scheme = match[1]
		s.Port, _ = strconv.Atoi(match[2])
	case <-exited:
		t.Fatalf("Kestra's server did not start:\n%s", s.Logs.Tail(40))
	case <-time.After(90 * time.Second):
		t.Fatalf("Kestra's server did not start within 90 s:\n%s", s.Logs.Tail(40))
	}
	s.Local = forward(t, net.JoinHostPort(pod.IP, strconv.Itoa(s.Port)))
	return s
}

// mountScript shows ROOT's top folders at their paths in the server's own mount namespace. A top folder
// the machine lacks (/app) is made, empty, as a mount point; one it has (/etc) is refused: it would hide
// what the JVM needs.
func mountScript(root string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(entries))
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	sort.Strings(names)
	steps := []string{"true"}
	for _, name := range names {
		target := "/" + name
		if name != "app" {
			if _, err := os.Stat(target); err == nil {
				return "", fmt.Errorf("the container's files under %s would hide the machine's own %s: lay them out under /app", target, target)
			}
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return "", err
		}
		steps = append(steps, fmt.Sprintf("mount --bind '%s' '%s'", filepath.Join(root, name), target))
	}
	return strings.Join(steps, " && "), nil
}

func groups(ids []int) string {
	if len(ids) == 0 {
		return "--clear-groups"
	}
	var names []string
	for _, id := range ids {
		names = append(names, strconv.Itoa(id))
	}
	return "--groups=" + strings.Join(names, ",")
}

// forward listens on a loopback port and relays each connection to target, until the test ends.
func forward(t testing.TB, target string) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			open[c] = true
		} else {
			delete(open, c)
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		listener.Close()
		mu.Lock()
		for c := range open {
			c.Close() // a client still reading an event stream
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := listener.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				server, err := net.DialTimeout("tcp", target, 10*time.Second)
				if err != nil {
					client.Close()
					return
				}
				track(client, true)
				track(server, true)
				defer func() {
					client.Close()
					server.Close()
					track(client, false)
					track(server, false)
				}()
				done := make(chan struct{}, 2)
				go func() { io.Copy(server, client); server.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(client, server); client.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return listener.Addr().(*net.TCPAddr).Port
}

// Exec runs a program as a process of the container would: its files at their paths (a mount namespace),
// its user, its environment; on this machine's network, so that it reaches servers on loopback. It is how
// a task of Kestra's (a script, curl, git) runs inside Kestra's container.
func Exec(t testing.TB, c Container, argv ...string) (string, error) {
	t.Helper()
	script, err := mountScript(c.Root)
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(argv))
	for i, arg := range argv {
		quoted[i] = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
	}
	script += fmt.Sprintf(" && exec setpriv --reuid=%d --regid=%d %s -- %s", c.UID, c.GID, groups(c.Groups), strings.Join(quoted, " "))
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp"}
	for key, value := range c.Env {
		cmd.Env = append(cmd.Env, key+"="+value)
	}
	output, err := cmd.CombinedOutput()
	return string(output), err
}
