// Package javatls runs the real JDK against our stores in tests: a TLS server configured the way
// Micronaut's micronaut.server.ssl configures Kestra, and a client trusting through javax.net.ssl.trustStore,
// plus curl and openssl s_client as the non-Java clients. Everything listens on loopback only.
package javatls

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

//go:embed TLSServer.java TLSClient.java KestraStandIn.java
var sources embed.FS

var (
	compileOnce sync.Once
	classDir    string
	compileErr  error
)

// classes compiles the Java sources once into a folder named by their hash, so later test runs reuse it.
func classes(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the JDK (skipped by -short)")
	}
	dir, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Compile compiles the Java sources once (per process, and reused across runs by their hash) and returns
// the folder of their classes.
func Compile() (string, error) {
	compileOnce.Do(func() {
		if _, err := exec.LookPath("javac"); err != nil {
			compileErr = fmt.Errorf("javac not found: install a JDK 17 (apt-get install openjdk-17-jdk-headless): %v", err)
			return
		}
		hash := sha256.New()
		names := []string{"TLSServer.java", "TLSClient.java", "KestraStandIn.java"}
		for _, name := range names {
			data, _ := sources.ReadFile(name)
			hash.Write(data)
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("kestra-tls-java-%x", hash.Sum(nil)[:8]))
		if _, err := os.Stat(filepath.Join(dir, "TLSClient.class")); err == nil {
			classDir = dir
			return
		}
		staging, err := os.MkdirTemp("", "kestra-tls-javac-")
		if err != nil {
			compileErr = err
			return
		}
		defer os.RemoveAll(staging)
		var files []string
		for _, name := range names {
			data, _ := sources.ReadFile(name)
			path := filepath.Join(staging, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				compileErr = err
				return
			}
			files = append(files, path)
		}
		out, err := exec.Command("javac", append([]string{"-d", staging}, files...)...).CombinedOutput()
		if err != nil {
			compileErr = fmt.Errorf("javac: %v\n%s", err, out)
			return
		}
		// A concurrent test binary may have won the race; either copy is good.
		if err := os.Rename(staging, dir); err != nil {
			if _, statErr := os.Stat(filepath.Join(dir, "TLSClient.class")); statErr != nil {
				compileErr = err
				return
			}
		}
		classDir = dir
	})
	if compileErr == nil {
		// Another user's JVM (the container's) loads the classes too.
		compileErr = openToEveryone(classDir)
	}
	return classDir, compileErr
}

// Stores names the files a server loads, as micronaut.server.ssl names them (no TrustStore: none).
type Stores struct {
	KeyStore, KeyStoreType     string
	TrustStore, TrustStoreType string
	// PasswordFile, or Password, which the JVM gets in its environment as Kestra gets it.
	PasswordFile string
	Password     string
	// RunAs is the user the JVM runs as; nil runs it as the test does.
	RunAs *Credential
}

// temurin25 is the JDK Kestra's images run since Kestra 1.3 (eclipse-temurin:25).
const temurin25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"

// javaBinary is Kestra's Java where the machine has it, so that the clients a task runs (JAVA_OPTS's trust
// store) are Kestra's JVM; else the machine's default one.
func javaBinary() string {
	if _, err := os.Stat(temurin25); err == nil {
		return temurin25
	}
	return "java"
}

// Credential is a process's user, groups and supplementary groups.
type Credential struct {
	UID, GID int
	Groups   []int
}

// passwordVariable carries Stores.Password to the server.
const passwordVariable = "KESTRA_TLS_TEST_STORE_PASSWORD"

// command runs java as the credential's user through setpriv (util-linux), with no capability left, as a
// container's non-root process has none; nil runs it as the test.
func command(ctx context.Context, as *Credential, args ...string) *exec.Cmd {
	if as == nil {
		return exec.CommandContext(ctx, javaBinary(), args...)
	}
	wrapped := []string{"--reuid=" + strconv.Itoa(as.UID), "--regid=" + strconv.Itoa(as.GID)}
	if len(as.Groups) == 0 {
		wrapped = append(wrapped, "--clear-groups")
	} else {
		var groups []string
		for _, g := range as.Groups {
			groups = append(groups, strconv.Itoa(g))
		}
		wrapped = append(wrapped, "--groups="+strings.Join(groups, ","))
	}
	// No hsperfdata folder for a user without a home: the JVM writes nothing outside what it is given.
	wrapped = append(wrapped, "--", javaBinary(), "-XX:-UsePerfData")
	cmd := exec.CommandContext(ctx, "setpriv", append(wrapped, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir())
	return cmd
}

func openToEveryone(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	})
}

// StartServer starts the Java TLS server and returns its loopback port; the server stops with the test.
func StartServer(t testing.TB, stores Stores) int {
	t.Helper()
	dir := classes(t)
	if stores.RunAs != nil && os.Geteuid() != 0 {
		t.Fatal("running the JVM as the container's user needs root")
	}
	password := stores.PasswordFile
	if password == "" {
		password = "env:" + passwordVariable
	}
	cmd := command(context.Background(), stores.RunAs, "-cp", dir, "TLSServer", stores.KeyStore, stores.KeyStoreType, stores.TrustStore, stores.TrustStoreType, password)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, passwordVariable+"="+stores.Password)
	return startListening(t, cmd, "Java TLS server")
}

// startListening starts a server that prints "LISTENING <port>" and stops when its stdin closes, stops it
// with the test, and returns the port.
func startListening(t testing.TB, cmd *exec.Cmd, what string) int {
	t.Helper()
	port, stop, err := launch(cmd, what)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return port
}

// launch starts a server that prints "LISTENING <port>" and stops when its stdin closes, and returns the
// port and how to stop it (by closing its stdin, then by its PID).
func launch(cmd *exec.Cmd, what string) (int, func(), error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	stop := func() {
		stdin.Close() // the server's own way out; the signal covers one that hangs
		testutil.Stop(cmd, 10*time.Second)
	}
	lines := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		if scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		var port int
		if !ok || func() bool { _, err := fmt.Sscanf(line, "LISTENING %d", &port); return err != nil }() {
			stop()
			return 0, nil, fmt.Errorf("%s did not start: %q\n%s", what, line, stderr.String())
		}
		return port, stop, nil
	case <-time.After(60 * time.Second):
		stop()
		return 0, nil, fmt.Errorf("%s did not start within 60s\n%s", what, stderr.String())
	}
}

// StandIn is Kestra's web server as a stand-in plays it in a pod: its page, and an event stream as its
// live logs send.
type StandIn struct {
	// Netns is the network namespace the pod has (ip netns), empty for the test's own.
	Netns   string
	Address string
	Port    int
	// Name is written into the page, so that a client tells which server answered.
	Name string
	// Events are sent on /api/v1/events, one each Interval.
	Events   int
	Interval time.Duration
	// TLS, when set, serves HTTPS from its KeyStore (Password in the environment, as Kestra gets it).
	TLS *Stores
}

// StartStandIn starts it as the pod would run it, and returns its port; it stops with the test.
func StartStandIn(t testing.TB, s StandIn) int {
	t.Helper()
	classes(t)
	port, stop, err := LaunchStandIn(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return port
}

// LaunchStandIn starts it, and returns its port and how to stop it.
func LaunchStandIn(s StandIn) (int, func(), error) {
	dir, err := Compile()
	if err != nil {
		return 0, nil, err
	}
	args := []string{"-XX:-UsePerfData", "-cp", dir, "KestraStandIn", s.Address, strconv.Itoa(s.Port), s.Name, strconv.Itoa(s.Events), strconv.FormatInt(s.Interval.Milliseconds(), 10)}
	if s.TLS != nil {
		args = append(args, s.TLS.KeyStore, s.TLS.KeyStoreType, "env:"+passwordVariable)
	}
	argv := append([]string{javaBinary()}, args...)
	if s.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", s.Netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	if s.TLS != nil {
		cmd.Env = append(cmd.Env, passwordVariable+"="+s.TLS.Password)
	}
	return launch(cmd, "Kestra's stand-in "+s.Name)
}

// JavaClient connects with -Djavax.net.ssl.trustStore, as JAVA_OPTS configures a Kestra task, and returns
// the response body.
func JavaClient(t testing.TB, trustStore, trustStoreType, password, host string, port int) (string, error) {
	t.Helper()
	return JavaClientAs(t, nil, trustStore, trustStoreType, password, host, port)
}

// JavaClientAs is JavaClient run as another user (nil: the test's).
func JavaClientAs(t testing.TB, as *Credential, trustStore, trustStoreType, password, host string, port int) (string, error) {
	t.Helper()
	dir := classes(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-Djavax.net.ssl.trustStore=" + trustStore, "-Djavax.net.ssl.trustStoreType=" + trustStoreType}
	if password != "" { // without one, Java reads the trusted certificates and skips the integrity check
		args = append(args, "-Djavax.net.ssl.trustStorePassword="+password)
	}
	cmd := command(ctx, as, append(args, "-cp", dir, "TLSClient", host, fmt.Sprint(port))...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// JavaClientWithCert is JavaClient asking for path, presenting the PKCS#12 keyStore (opened with
// keyStorePassword) as its client certificate through -Djavax.net.ssl.keyStore, as a JVM service calling
// Kestra's API would; keyStore "" presents none.
func JavaClientWithCert(t testing.TB, trustStore, trustStoreType, keyStore, keyStorePassword, host string, port int, path string) (string, error) {
	t.Helper()
	dir := classes(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-Djavax.net.ssl.trustStore=" + trustStore, "-Djavax.net.ssl.trustStoreType=" + trustStoreType}
	if keyStore != "" {
		args = append(args, "-Djavax.net.ssl.keyStore="+keyStore, "-Djavax.net.ssl.keyStoreType=PKCS12", "-Djavax.net.ssl.keyStorePassword="+keyStorePassword)
	}
	out, err := command(ctx, nil, append(args, "-cp", dir, "TLSClient", host, fmt.Sprint(port), path)...).CombinedOutput()
	return string(out), err
}

// Curl fetches https://host:port/ trusting only caFile, with host resolved to loopback.
func Curl(t testing.TB, caFile, host string, port int) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("https://%s:%d/", host, port)
	args := []string{"--silent", "--show-error", "--noproxy", "*", "--cacert", caFile}
	if !strings.Contains(host, ":") && strings.Trim(host, "0123456789.") != "" {
		args = append(args, "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, port))
	}
	out, err := exec.CommandContext(ctx, "curl", append(args, url)...).CombinedOutput()
	return string(out), err
}

// OpenSSLVerify runs openssl s_client with -verify_return_error against the server and the host name.
func OpenSSLVerify(t testing.TB, caFile, host string, port int) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-CAfile", caFile, "-verify_return_error", "-brief"}
	if strings.Trim(host, "0123456789.") == "" {
		args = append(args, "-verify_ip", host)
	} else {
		args = append(args, "-servername", host, "-verify_hostname", host)
	}
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("Q\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
