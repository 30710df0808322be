package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// WorkloadControllers is the real kube-controller-manager running only the workload controllers
// (Deployment, ReplicaSet, StatefulSet): what observes a Deployment's new generation and writes its status,
// with no namespace or garbage collector controller to change what the other tests see. No scheduler or
// kubelet runs, so the pods it asks for stay Pending.
type WorkloadControllers struct {
	cmd  *exec.Cmd
	Logs *testutil.SyncBuffer
}

// StartWorkloadControllers runs them against this cluster until Stop.
func (c *Cluster) StartWorkloadControllers() (*WorkloadControllers, error) {
	binary := filepath.Join(testutil.BinDir(), "kube-controller-manager")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("%s is missing: run `make tools`", binary)
	}
	controllers := &WorkloadControllers{Logs: &testutil.SyncBuffer{}}
	controllers.cmd = exec.Command(binary, "--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers="+strings.Join([]string{"deployment-controller", "replicaset-controller", "statefulset-controller"}, ","))
	controllers.cmd.Stdout = controllers.Logs
	controllers.cmd.Stderr = controllers.Logs
	if err := controllers.cmd.Start(); err != nil {
		return nil, err
	}
	return controllers, nil
}

// Stop ends the controller manager it started.
func (w *WorkloadControllers) Stop() { testutil.Stop(w.cmd, 10*time.Second) }
