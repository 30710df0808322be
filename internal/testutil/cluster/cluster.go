// Package cluster runs the real test ground: kube-apiserver and etcd (built into bin/ by the tools module)
// started by envtest with cert-manager's and the Gateway API's CRDs, and the real cert-manager controllers as
// a subprocess.
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
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

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
	certDir     string
	// restartedAPIServer is the kube-apiserver RestartAPIServer started, if any.
	restartedAPIServer *exec.Cmd
	apiServerLogs      *testutil.SyncBuffer
	Logs               *testutil.SyncBuffer
	// CertManagerArgs are passed to every start of the cert-manager controllers, restarts included.
	CertManagerArgs []string
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
	// Our own certificate folder: envtest removes one it made itself on Stop, and a restarted API server
	// would then serve a new certificate that no kubeconfig of ours trusts.
	certDir, err := os.MkdirTemp("", "kestra-tls-apiserver-")
	if err != nil {
		return nil, err
	}
	env.ControlPlane.GetAPIServer().CertDir = certDir
	if withCRDs {
		env.CRDDirectoryPaths = []string{filepath.Join(bin, "cert-manager-crds"), filepath.Join(bin, "gateway-api-crds")}
		env.ErrorIfCRDPathMissing = true
	}
	// kube-apiserver 1.37 takes a loopback advertise address only without the endpoint reconciler: keep
	// everything on 127.0.0.1.
	// A /16 of Service addresses (envtest's default /24 holds 254): the fleet benchmark makes 1000 installs.
	env.ControlPlane.GetAPIServer().Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none").
		Set("service-cluster-ip-range", "10.0.0.0/16")
	// envtest logs through controller-runtime's logger; unset, it prints a stack trace on every start,
	// which buried the real output of CI runs.
	ctrllog.SetLogger(logr.Discard())
	config, err := env.Start()
	if err != nil {
		os.RemoveAll(certDir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	c := &Cluster{env: env, Config: config, certDir: certDir}
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
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	binary := filepath.Join(testutil.BinDir(), "cert-manager-controller")
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s is missing: run `make tools`", binary)
	}
	cmd := exec.Command(binary, append([]string{"--kubeconfig", c.Kubeconfig, "--cluster-resource-namespace", "cert-manager"}, c.CertManagerArgs...)...)
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

// KillCertManager ends the cert-manager controllers with SIGKILL, as a crash or an evicted pod would;
// StartCertManager runs them again.
func (c *Cluster) KillCertManager() {
	if c.certManager == nil {
		return
	}
	c.certManager.Process.Kill()
	c.certManager.Wait()
	c.certManager = nil
}

// RestartAPIServer kills kube-apiserver with SIGKILL, as a crash would (etcd keeps running with every
// object), waits, and starts the same command line again: same address, same certificates. The new
// process is ours, stopped by Stop.
func (c *Cluster) RestartAPIServer(down time.Duration) error {
	pid, argv, err := c.findAPIServer()
	if err != nil {
		return err
	}
	process, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := process.Kill(); err != nil {
		return fmt.Errorf("killing kube-apiserver: %w", err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(status), ") Z ") {
			break // a zombie until envtest reaps it: already gone from the network
		}
	}
	time.Sleep(down)
	cmd := exec.Command(argv[0], argv[1:]...)
	c.apiServerLogs = &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = c.apiServerLogs, c.apiServerLogs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	c.restartedAPIServer = cmd
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver did not come back in 60 s:\n%s", c.apiServerLogs.Tail(20))
}

// findAPIServer finds this cluster's kube-apiserver by its certificate folder, unique to the cluster.
func (c *Cluster) findAPIServer() (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if strings.HasSuffix(argv[0], "kube-apiserver") && strings.Contains(string(data), c.certDir) {
			return pid, argv, nil
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver with --cert-dir %s", c.certDir)
}

// Stop ends cert-manager, kube-apiserver and etcd, and removes the kubeconfigs.
func (c *Cluster) Stop() {
	if c.certManager != nil {
		c.stdin.Close()
		testutil.Stop(c.certManager, 10*time.Second)
	}
	testutil.Stop(c.restartedAPIServer, 20*time.Second)
	if c.env != nil {
		_ = c.env.Stop()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
	if c.certDir != "" {
		os.RemoveAll(c.certDir)
	}
}
