package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// TestTheOneFileRunsEveryCommand copies the built plugin alone into an empty folder, with nothing of ours on
// PATH, as a user who downloads one file has it: every command runs from it, Compose projects included.
func TestTheOneFileRunsEveryCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin (-short)")
	}
	data, err := os.ReadFile(testutil.Plugin(t))
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "kubectl-kestra_tls")
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "docker-compose.yml"), []byte("services:\n  kestra:\n    image: kestra/kestra:latest\n    ports: [\"8080:8080\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "kubectl-kestra_tls "},
		{[]string{"--help"}, "rotate-ca"},
		{[]string{"certs", "--host", "kestra.example.com", "-o", "certs-out"}, "keystore.p12"},
		{[]string{"generate", "--mode", "app", "--host", "kestra.example.com", "-o", "overlay"}, "apply it with: kubectl kestra-tls apply overlay"},
		{[]string{"generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--host", "kestra.example.com", "-o", "compose-out"}, "compose.kestra-tls.yaml up -d"},
	} {
		cmd := exec.Command(alone, c.args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH=/usr/bin:/bin")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("kubectl-kestra_tls %s: %v\n%s", strings.Join(c.args, " "), err, out)
		}
	}
}
