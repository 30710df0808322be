package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDiffShowsWhatApplyWouldChange runs diff against the real API server around an app-mode install:
// before it (every object to create, nothing written), right after it (exit 0, nothing printed), and with a
// changed value (only the changed field, the Deployment named as restarting); the store password is never
// printed, and KUBECTL_EXTERNAL_DIFF is the program that compares. (Masking a Secret whose value changes in
// place: pkg/diff's table; app mode's Secrets are hash-named, so a new value is a new Secret.)
func TestDiffShowsWhatApplyWouldChange(t *testing.T) {
	c := testCluster(t)
	ns := "diff"
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "overlay")
	flags := []string{"--mode", "app", "--host", "kestra.diff.test"}
	diffCmd := func(extra ...string) (string, string, int) {
		t.Helper()
		stdout, stderr, err := runCmd(t, append(append([]string{"diff", out}, extra...), clusterArgs(c, "", ns)...)...)
		return stdout, stderr, ExitCode(err)
	}

	stdout, stderr, code := diffCmd(flags...)
	if code != 1 || !strings.Contains(stdout, "to create, 0 to change, 0 unchanged") || !strings.Contains(stdout, "+kind: Deployment") {
		t.Fatalf("diff of a first install = exit %d, want 1 and every object to create:\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("diff wrote the overlay folder")
	}

	if _, stderr, err := applyCmd(t, c, ns, append([]string{out}, flags...)...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	password, _ := os.ReadFile(filepath.Join(out, "certs", "store-password"))
	if stdout, stderr, code := diffCmd(); code != 0 || stdout != "" {
		t.Errorf("diff right after apply = exit %d, want 0 and nothing printed:\n%s\n%s", code, stdout, stderr)
	}

	stdout, stderr, code = diffCmd(append(flags, "--set", "app.clientAuthentication=need")...)
	// The Deployment's field, and the stores Secret's annotation that tells status Kestra asks for client
	// certificates: nothing else.
	if code != 1 || !strings.Contains(stdout, "0 to create, 2 to change") || !strings.Contains(stdout, "the apply restarts deployment/diff/kestra") ||
		!regexp.MustCompile(`(?m)^\+\s+clientAuthentication: need$`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^\+\s+kestra-tls.io/client-auth: need$`).MatchString(stdout) || strings.Count(stdout, "\n+ ") > 2 {
		t.Errorf("diff of a changed value = exit %d, want only the Deployment's field, the stores' annotation and the restart:\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, strings.TrimSpace(string(password))) {
		t.Error("the diff prints the store password")
	}
	if data, _ := os.ReadFile(filepath.Join(out, "values.yaml")); strings.Contains(string(data), "need") {
		t.Error("diff with generate's flags rewrote values.yaml")
	}

	t.Setenv("KUBECTL_EXTERNAL_DIFF", "diff -q")
	stdout, _, code = diffCmd(append(flags, "--set", "app.clientAuthentication=need")...)
	if code != 1 || !strings.Contains(stdout, "differ") || strings.Contains(stdout, "clientAuthentication") {
		t.Errorf("KUBECTL_EXTERNAL_DIFF=diff -q was not the program that compared (exit %d):\n%s", code, stdout)
	}
}
