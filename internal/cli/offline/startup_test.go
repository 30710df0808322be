package offline_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// TestTheLightCommandsLinkNoHeavyPackage keeps certs and version fast to start: the plugin's own binary
// links neither Compose's loader (compose-go and the JSON schema compiler it initializes), nor client-go's
// typed scheme, kustomize or the manifest templates; those start in kestra-tls-engine only.
func TestTheLightCommandsLinkNoHeavyPackage(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/kubectl-kestra_tls")
	cmd.Dir = testutil.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, heavy := range []string{
		"github.com/compose-spec/compose-go", "github.com/santhosh-tekuri/jsonschema", "k8s.io/client-go/kubernetes/scheme",
		"k8s.io/client-go", "sigs.k8s.io/kustomize", "github.com/Masterminds/sprig", "k8s.io/api/",
	} {
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, heavy) {
				t.Errorf("kubectl-kestra_tls links %s", pkg)
				break
			}
		}
	}
}

// TestThePluginHandsOtherCommandsToTheEngine runs the plugin as built: certs and version by itself, the
// rest through kestra-tls-engine beside it, and a clear error when that file is missing.
func TestThePluginHandsOtherCommandsToTheEngine(t *testing.T) {
	plugin := testutil.Plugin(t)
	run := func(binary string, args ...string) (string, error) {
		out, err := exec.Command(binary, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run(plugin, "generate", "--help"); err != nil || !strings.Contains(out, "kubectl kestra-tls generate") {
		t.Errorf("generate --help through the engine: %v\n%s", err, out)
	}
	if out, err := run(plugin, "--kubeconfig", "/nonexistent", "version"); err != nil || !strings.HasPrefix(out, "kubectl-kestra_tls ") {
		t.Errorf("a global flag first: the engine runs version: %v\n%s", err, out)
	}

	alone := filepath.Join(t.TempDir(), "kubectl-kestra_tls")
	data, err := os.ReadFile(plugin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := run(alone, "version"); err != nil || !strings.HasPrefix(out, "kubectl-kestra_tls ") {
		t.Errorf("version without the engine: %v\n%s", err, out)
	}
	t.Setenv("PATH", filepath.Dir(alone)+string(os.PathListSeparator)+"/usr/bin:/bin")
	out, err := run(alone, "generate", "--host", "kestra.example.com")
	if err == nil || !strings.Contains(out, "kestra-tls-engine is missing beside "+alone) || !strings.Contains(out, "kubectl krew reinstall kestra-tls") {
		t.Errorf("generate without the engine = %v:\n%s", err, out)
	}
}
