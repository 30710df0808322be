package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
)

// statusRow times `status -A` on the cluster as the scale benchmark leaves it after its n-install step:
// its API requests must not grow with the installs (one list per kind), only its time with what it reads.
func statusRow(plugin string, c *cluster.Cluster, work string, n int) (string, error) {
	cache := work + "/discovery-status"
	counts := &requestCounter{}
	out, err := runInProcess(counts, "status", "-A", "-o", "json", "--kubeconfig", c.Kubeconfig, "--cache-dir", cache)
	if err != nil && !strings.Contains(err.Error(), "(see the report above)") {
		return "", err
	}
	var report status.Report
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		return "", fmt.Errorf("status -A -o json: %v", err)
	}
	var times durations
	for i := 0; i < *runs; i++ {
		elapsed, err := timeStatus(plugin, c.Kubeconfig, cache)
		if err != nil {
			return "", err
		}
		times = append(times, elapsed)
	}
	return fmt.Sprintf("| %d (after the %d-install step) | %d | %s | %s |\n", len(report.Installs), n, counts.total(), times.median(), times.span()), nil
}

// timeStatus runs the binary, whose exit status (0 healthy, 2 warning, 3 broken) is the verdict, not a failure.
func timeStatus(plugin, kubeconfig, cache string) (time.Duration, error) {
	cmd := exec.Command(plugin, "status", "-A", "-o", "json", "--kubeconfig", kubeconfig, "--cache-dir", cache)
	started := time.Now()
	err := cmd.Run()
	elapsed := time.Since(started)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && (exit.ExitCode() == 2 || exit.ExitCode() == 3)) {
		return 0, fmt.Errorf("status -A: %v", err)
	}
	return elapsed, nil
}
