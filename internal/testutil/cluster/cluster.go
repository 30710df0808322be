// Package cluster runs the real test ground: kube-apiserver and etcd (built into bin/ by the tools module)
// started by envtest with cert-manager's CRDs, and the real cert-manager controllers as a subprocess.
// Everything listens on 127.0.0.1 and is stopped by Stop.
package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// Cluster is a running control plane, with or without cert-manager.
type Cluster struct {
	env         *envtest.Environment
	Config      *rest.Config
	Kubeconfig  string // an admin kubeconfig file
	Client      kubernetes.Interface
	Dynamic     dynamic.Interface
	dir         string
	certManager *exec.Cmd
	stdin       io.WriteCloser
	Logs        *testutil.SyncBuffer
}

// Start runs kube-apiserver and etcd with cert-manager's CRDs installed.
func Start(withCRDs bool) (*Cluster, error) {
	bin := testutil.BinDir()
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make tools`", name, bin)
		}
	}
	env := &envtest.Environment{BinaryAssetsDirectory: bin, ControlPlaneStartTimeout: 60 * time.Second, ControlPlaneStopTimeout: 20 * time.Second}
	if withCRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(bin, "cert-manager-crds")}
		env.ErrorIfCRDPathMissing = true
	}
	// kube-apiserver 1.37 takes a loopback advertise address only without the endpoint reconciler: keep
	// everything on 127.0.0.1.
	env.ControlPlane.GetAPIServer().Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none")
	config, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	c := &Cluster{env: env, Config: config}
	fail := func(err error) (*Cluster, error) { c.Stop(); return nil, err }
	if c.dir, err = os.MkdirTemp("", "kestra-tls-cluster-"); err != nil {
		return fail(err)
	}
	if c.Kubeconfig, err = c.KubeconfigFor("admin", []string{"system:masters"}); err != nil {
		return fail(err)
	}
	if c.Client, err = kubernetes.NewForConfig(config); err != nil {
		return fail(err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(config); err != nil {
		return fail(err)
	}
	return c, nil
}

// KubeconfigFor writes a kubeconfig for a user of the given groups and returns its path.
func (c *Cluster) KubeconfigFor(name string, groups []string) (string, error) {
	user, err := c.env.ControlPlane.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.dir, name+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// StartCertManager runs the cert-manager controllers against this cluster and waits until they run.
func (c *Cluster) StartCertManager() error {
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	binary := filepath.Join(testutil.BinDir(), "cert-manager-controller")
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s is missing: run `make tools`", binary)
	}
	cmd := exec.Command(binary, "--kubeconfig", c.Kubeconfig, "--cluster-resource-namespace", "cert-manager")
	c.Logs = &testutil.SyncBuffer{}
	cmd.Stderr = c.Logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.certManager = cmd
	started := make(chan bool, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		signalled := false
		for scanner.Scan() {
			if !signalled && strings.HasPrefix(scanner.Text(), "cert-manager controllers running") {
				started <- true
				signalled = true
			}
		}
		if !signalled {
			started <- false
		}
	}()
	select {
	case ok := <-started:
		if !ok {
			return fmt.Errorf("cert-manager-controller exited:\n%s", c.Logs.Tail(40))
		}
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("cert-manager-controller did not start in 60s:\n%s", c.Logs.Tail(40))
	}
}

// Stop ends cert-manager, kube-apiserver and etcd, and removes the kubeconfigs.
func (c *Cluster) Stop() {
	if c.certManager != nil {
		c.stdin.Close()
		_ = c.certManager.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { c.certManager.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.certManager.Process.Kill()
			<-done
		}
	}
	if c.env != nil {
		_ = c.env.Stop()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}
