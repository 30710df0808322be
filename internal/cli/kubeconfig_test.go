package cli

import (
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
