package cli

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// klogLine is how client-go's log lines start: severity, date, time.
var klogLine = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d`)

// TestNoLibraryLogLineAndAMissingKubeconfigIsNamed runs the binary as a user would with a kubeconfig that
// is not there, or a cluster that does not answer: our one error, naming the file or the address, and no
// log line of client-go before it; -v brings those lines back, as kubectl's -v does.
func TestNoLibraryLogLineAndAMissingKubeconfigIsNamed(t *testing.T) {
	plugin := testutil.Plugin(t)
	overlay := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "--mode", "app", "--host", "kestra.example.com", "-o", overlay); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	home := t.TempDir() // no ~/.kube/config
	for name, tc := range map[string]struct {
		env  []string
		args []string
		want string
		logs bool
	}{
		"KUBECONFIG names a file that does not exist":   {env: []string{"KUBECONFIG=/nonexistent"}, want: "KUBECONFIG=/nonexistent: no such file"},
		"--kubeconfig names a file that does not exist": {args: []string{"--kubeconfig", "/nonexistent"}, want: "--kubeconfig /nonexistent"},
		"no kubeconfig at all":                          {want: "no kubeconfig: " + filepath.Join(home, ".kube", "config") + " does not exist"},
		"a cluster that does not answer":                {args: []string{"--server", "http://127.0.0.1:1"}, want: "cannot reach the cluster at http://127.0.0.1:1"},
		"a cluster that does not answer, with -v 6":     {args: []string{"--server", "http://127.0.0.1:1", "-v", "6"}, want: "cannot reach the cluster at http://127.0.0.1:1", logs: true},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(plugin, append([]string{"apply", overlay, "--timeout", "5s"}, tc.args...)...)
			cmd.Env = append(os.Environ(), append([]string{"HOME=" + home, "KUBECONFIG="}, tc.env...)...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("apply succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("the error does not say %q:\n%s", tc.want, out)
			}
			if logged := klogLine.MatchString(string(out)); logged != tc.logs {
				t.Errorf("client-go log lines printed: %v, want %v:\n%s", logged, tc.logs, out)
			}
		})
	}
}

// At -v 4, apply says each of its steps as it ends, in order, under klog's time stamps: a timeline of where
// an apply spends its time, without a profiler.
func TestApplyAtV4SaysItsStepsInOrder(t *testing.T) {
	overlay, out := applyLogged(t, "steps", "4")
	at := 0
	for _, step := range []string{
		"apply: overlay " + overlay + " built (",
		"apply: namespaces, route parents and the base's live objects read",
		"apply: the server-side dry run of every object passed",
		" objects applied",
		"wait: Certificate steps/kestra-tls Ready",
	} {
		i := strings.Index(string(out[at:]), step)
		if i < 0 {
			t.Fatalf("no %q after the steps before it:\n%s", step, out)
		}
		at += i + len(step)
	}
	if kinds, read := strings.Index(string(out), "apply: the cluster's kinds read"), strings.Index(string(out), "apply: namespaces, route parents"); kinds < 0 || kinds > read {
		t.Errorf("the cluster's kinds are not said to be read before the reads that need them:\n%s", out)
	}
	if !klogLine.MatchString(string(out)) {
		t.Errorf("the steps are not klog lines (time stamps):\n%s", out)
	}
}

// client-go logs request and response bodies from -v 8 on, and ours hold the issuer's key, the store
// password and keystores: -v above 7 logs at 7, says so, and no body (nor the key) is printed.
func TestApplyNeverLogsRequestBodies(t *testing.T) {
	overlay, out := applyLogged(t, "no-bodies", "9")
	key, err := os.ReadFile(filepath.Join(overlay, "certs", "issuer.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "-v 9 would print the requests' bodies, which hold keys and passwords: logging at -v 7") {
		t.Errorf("no word of the lowered level:\n%s", out)
	}
	if !strings.Contains(string(out), `verb="PATCH"`) {
		t.Errorf("the requests are not logged at all:\n%s", out)
	}
	for _, secret := range []string{"Body", base64.StdEncoding.EncodeToString(key), strings.Split(string(key), "\n")[1]} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the log holds %.40q...:\n%s", secret, out)
		}
	}
}

// applyLogged generates an ingress-mode overlay for namespace and applies it with the built plugin at -v
// level, against the shared cluster; it returns the overlay's folder and everything the plugin printed.
func applyLogged(t *testing.T, namespace, level string) (string, []byte) {
	t.Helper()
	c := testCluster(t)
	plugin := testutil.Plugin(t)
	overlay := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", overlay, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir, "-n", namespace); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, err := exec.Command(plugin, append([]string{"apply", overlay, "--create-namespace", "--timeout", "60s", "-v", level}, clusterArgs(c, "", namespace)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return overlay, out
}
