package offline_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// TestTheLightCommandsLinkNoHeavyPackage keeps each command's start-up to what it uses: the plugin's own
// binary (certs, version) links neither Compose's loader (compose-go and the JSON Schema compiler it
// initializes), nor client-go's typed scheme, kustomize or the manifest templates; the engine links no
// Compose loader, which only `generate --target compose` needs, through kestra-tls-compose; and that one
// links no Kubernetes client.
func TestTheLightCommandsLinkNoHeavyPackage(t *testing.T) {
	for binary, heavy := range map[string][]string{
		"./cmd/kubectl-kestra_tls": {
			"github.com/compose-spec/compose-go", "github.com/santhosh-tekuri/jsonschema", "k8s.io/client-go/kubernetes/scheme",
			"k8s.io/client-go", "sigs.k8s.io/kustomize", "github.com/Masterminds/sprig", "k8s.io/api/",
		},
		"./cmd/kestra-tls-engine":  {"github.com/compose-spec/compose-go", "github.com/santhosh-tekuri/jsonschema", "github.com/distribution/reference"},
		"./cmd/kestra-tls-compose": {"k8s.io/client-go", "sigs.k8s.io/kustomize", "k8s.io/api/"},
	} {
		t.Run(binary, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", binary)
			cmd.Dir = testutil.RepoRoot()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, prefix := range heavy {
				for _, pkg := range strings.Fields(string(out)) {
					if strings.HasPrefix(pkg, prefix) {
						t.Errorf("%s links %s", binary, pkg)
						break
					}
				}
			}
		})
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
	if out, err := run(alone); err != nil || !strings.Contains(out, "kubectl kestra-tls [command]") || !strings.Contains(out, "rotate-ca") {
		t.Errorf("the root's help without the engine (the plugin keeps a copy of the engine's): %v\n%s", err, out)
	}
	out, err := run(alone, "generate", "--host", "kestra.example.com")
	if err == nil || !strings.Contains(out, "kestra-tls-engine is missing beside "+alone) || !strings.Contains(out, "kubectl krew reinstall kestra-tls") {
		t.Errorf("generate without the engine = %v:\n%s", err, out)
	}
}

// TestTheEngineReadsComposeProjectsThroughTheReader runs the installed layout on a Compose project: the
// plugin hands generate to the engine, which runs kestra-tls-compose beside it; without that file the error
// says what to reinstall.
func TestTheEngineReadsComposeProjectsThroughTheReader(t *testing.T) {
	plugin := testutil.Plugin(t)
	project := t.TempDir()
	compose := filepath.Join(project, "docker-compose.yml")
	if err := os.WriteFile(compose, []byte("services:\n  kestra:\n    image: kestra/kestra:latest\n    ports:\n      - \"8080:8080\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/usr/bin:/bin") // only what lies beside the plugin
	generate := func(binary string) (string, error) {
		cmd := exec.Command(binary, "generate", "--target", "compose", "--compose-file", compose, "--host", "kestra.example.com", "-o", filepath.Join(project, "kestra-tls"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := generate(plugin)
	if err != nil {
		t.Fatalf("generate --target compose: %v\n%s", err, out)
	}
	override, err := os.ReadFile(filepath.Join(project, "kestra-tls", "compose.kestra-tls.yaml"))
	if err != nil || !strings.Contains(string(override), "kestra:") || !strings.Contains(string(override), "8443:8443") {
		t.Errorf("the override for service kestra (%v):\n%s", err, override)
	}

	without := t.TempDir()
	for _, name := range []string{"kubectl-kestra_tls", "kestra-tls-engine"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(plugin), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(without, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err = generate(filepath.Join(without, "kubectl-kestra_tls"))
	if err == nil || !strings.Contains(out, "kestra-tls-compose is missing beside "+filepath.Join(without, "kestra-tls-engine")) || !strings.Contains(out, "kubectl krew reinstall kestra-tls") {
		t.Errorf("generate --target compose without the reader = %v:\n%s", err, out)
	}
}
