package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ChartConfiguration is the least configuration the official chart renders with (its checks.yaml refuses
// none): a Postgres repository and queue, as the chart's README shows.
const ChartConfiguration = `{"kestra":{"repository":{"type":"postgres"},"queue":{"type":"postgres"},"storage":{"type":"local","local":{"base-path":"/app/storage"}}},"datasources":{"postgres":{"url":"jdbc:postgresql://postgres:5432/kestra","username":"kestra","password":"k3str4"}}}`

// Chart is the official Kestra chart in ../shared/fixtures. Without it the test fails under CI (CI=true,
// where shared/ is always laid beside the clone) and is skipped elsewhere: a clone outside this team has
// no ../shared.
func Chart(t testing.TB) string {
	t.Helper()
	return filepath.Join(SharedFixture(t, "kestra-chart", "kestra/Chart.yaml"), "kestra")
}

// Helm is the real helm built into bin/ by `make tools`.
func Helm(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs helm (skipped by -short)")
	}
	path := filepath.Join(BinDir(), "helm")
	if !fileExists(path) {
		t.Fatalf("%s is missing: run `make tools`", path)
	}
	return path
}

// RunHelm runs the real helm with a scratch home (no repositories, no cache outside the test) and returns
// its standard output.
func RunHelm(t testing.TB, args ...string) []byte {
	t.Helper()
	helm := Helm(t)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// RenderChart is `helm template RELEASE <chart> -n NAMESPACE` with the chart configuration as the first
// values file (a --set would override every -f after it, ours included), then args.
func RenderChart(t testing.TB, release, namespace string, args ...string) []byte {
	t.Helper()
	return RunHelm(t, append([]string{"template", release, Chart(t), "-n", namespace, "-f", ChartValuesFile(t)}, args...)...)
}

// ChartValuesFile writes the chart configuration as a values file.
func ChartValuesFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "configuration.yaml")
	if err := os.WriteFile(path, []byte(`{"configurations":{"application":`+ChartConfiguration+`}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
