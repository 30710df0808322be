// Package sealedsecrets runs the real Sealed Secrets controller (Bitnami's, built into bin/ by the tools
// module hack/tools/sealed-secrets) against the test ground's cluster, as it runs in its pod: it knows the
// API server from KUBERNETES_SERVICE_HOST and PORT and its service account from the token, CA and namespace
// files at /var/run/secrets/kubernetes.io/serviceaccount (it has no kubeconfig flag), laid out in a mount
// namespace of its own; it runs as the image's user (1001), in kube-system, with its CRD installed.
package sealedsecrets

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

const (
	namespace      = "kube-system"
	serviceAccount = "sealed-secrets-controller"
	// imageUser is the user the controller's image runs as.
	imageUser = 1001
	// activeKeyLabel marks the controller's current sealing key Secret.
	activeKeyLabel = "sealedsecrets.bitnami.com/sealed-secrets-key=active"
)

// Controller is a running Sealed Secrets controller.
type Controller struct {
	cmd  *exec.Cmd
	dir  string
	Logs *testutil.SyncBuffer
	c    *cluster.Cluster
}

// Start installs the SealedSecret CRD and runs the controller until Stop.
func Start(c *cluster.Cluster) (*Controller, error) {
	bin := testutil.BinDir()
	binary, crd := filepath.Join(bin, "sealed-secrets-controller"), filepath.Join(bin, "sealed-secrets-crds")
	for _, path := range []string{binary, crd} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make tools`", path)
		}
	}
	kubectl := filepath.Join(bin, "kubectl")
	if output, err := exec.Command(kubectl, "apply", "--server-side", "-f", crd, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("installing the SealedSecret CRD: %v\n%s", err, output)
	}
	if output, err := exec.Command(kubectl, "wait", "--for=condition=Established", "crd/sealedsecrets.bitnami.com", "--timeout=30s", "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("the SealedSecret CRD: %v\n%s", err, output)
	}
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount, Namespace: namespace}}
	if _, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	// The chart binds narrower roles; what it may do is not under test here.
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: serviceAccount},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: namespace}},
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	expiry := int64(3600)
	token, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("a token for the controller's service account: %v", err)
	}
	server, err := url.Parse(c.Config.Host)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(server.Host)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kestra-tls-sealed-secrets-")
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{"token": []byte(token.Status.Token), "ca.crt": c.Config.CAData, "namespace": []byte(namespace)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	listen, metrics := freePort(), freePort()
	script := fmt.Sprintf(`mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && cp %s/* /run/secrets/kubernetes.io/serviceaccount/ && exec setpriv --reuid=%d --regid=%d --clear-groups %s --key-size 2048 --listen-addr 127.0.0.1:%d --listen-metrics-addr 127.0.0.1:%d`,
		dir, imageUser, imageUser, binary, listen, metrics)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port, "POD_NAMESPACE=" + namespace}
	controller := &Controller{cmd: cmd, dir: dir, Logs: &testutil.SyncBuffer{}, c: c}
	cmd.Stdout, cmd.Stderr = controller.Logs, controller.Logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return controller, nil
}

// Cert is the controller's public certificate (PEM), what `kubeseal --fetch-cert` prints: the tls.crt of its
// active key Secret, once it has made one.
func (ctl *Controller) Cert(ctx context.Context) ([]byte, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		keys, err := ctl.c.Client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{LabelSelector: activeKeyLabel})
		if err == nil && len(keys.Items) > 0 {
			return keys.Items[0].Data["tls.crt"], nil
		}
		if ctl.cmd.ProcessState != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("the Sealed Secrets controller made no key in 60s:\n%s", ctl.Logs.Tail(30))
}

// Stop ends the controller and removes its files.
func (ctl *Controller) Stop() {
	testutil.Stop(ctl.cmd, 10*time.Second)
	os.RemoveAll(ctl.dir)
}

// freePort is testutil.FreePort, 0 (the program then fails to listen, and says so) when none is free.
func freePort() int {
	port, _ := testutil.FreePort()
	return port
}
