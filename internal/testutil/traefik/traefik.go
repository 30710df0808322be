// Package traefik runs the real Traefik v3 (built into bin/ by hack/tools/traefik) against the test control
// plane, as the ingress controller and the Gateway API implementation in front of Kestra's stand-ins: its
// Kubernetes Ingress and Gateway providers read the cluster through KUBECONFIG, and it listens on loopback
// at the ports our Ingress and Gateways use (Traefik gives a Gateway listener the entry point of the same
// port): 80 (web, HTTP-01) and 443 (websecure). Ports below 1024 need
// root, as the network namespaces of the stand-in pods do.
package traefik

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

const (
	// ClassName is the IngressClass and GatewayClass Traefik serves.
	ClassName = "traefik"
	// HTTPSAddress and HTTPAddress are where it listens, as a load balancer in front of it would: a
	// loopback address of its own, as 127.0.0.1:80 is the ACME tests' challenge server.
	HTTPSAddress = "127.0.0.2:443"
	HTTPAddress  = "127.0.0.2:80"
)

// Traefik is the running controller.
type Traefik struct {
	cmd  *exec.Cmd
	Logs *testutil.SyncBuffer
}

// Start makes Traefik's IngressClass (the default one) and GatewayClass and runs it until Stop.
func Start(kubeconfig string, client kubernetes.Interface, dyn dynamic.Interface) (*Traefik, error) {
	binary, crds := filepath.Join(testutil.BinDir(), "traefik"), filepath.Join(testutil.BinDir(), "traefik-crds")
	for _, path := range []string{binary, crds} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make tools`", path)
		}
	}
	// Traefik's own resource definitions (TLSOption, IngressRoute...), which its CRD provider watches.
	kubectl := filepath.Join(testutil.BinDir(), "kubectl")
	if output, err := exec.Command(kubectl, "apply", "--server-side", "-f", crds, "--kubeconfig", kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("installing Traefik's CRDs: %v\n%s", err, output)
	}
	if output, err := exec.Command(kubectl, "wait", "--for=condition=Established", "crd/tlsoptions.traefik.io", "--timeout=30s", "--kubeconfig", kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("Traefik's CRDs: %v\n%s", err, output)
	}
	ctx := context.Background()
	// The cluster's default class, as an install of Traefik (or any controller) usually makes it: an
	// Ingress that names no class is Traefik's.
	class := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: ClassName, Annotations: map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}},
		Spec:       networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"},
	}
	if _, err := client.NetworkingV1().IngressClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	gatewayClass := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": resources.GatewayGroup + "/v1", "kind": "GatewayClass",
		"metadata": map[string]any{"name": ClassName},
		"spec":     map[string]any{"controllerName": "traefik.io/gateway-controller"},
	}}
	gatewayClasses := dyn.Resource(resources.Gateways.GroupVersion().WithResource("gatewayclasses"))
	if _, err := gatewayClasses.Create(ctx, gatewayClass, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	ping, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	t := &Traefik{Logs: &testutil.SyncBuffer{}}
	t.cmd = exec.Command(binary,
		"--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
		"--entryPoints.web.address="+HTTPAddress,
		"--entryPoints.websecure.address="+HTTPSAddress,
		"--entryPoints.ping.address=127.0.0.1:"+strconv.Itoa(ping),
		"--ping=true", "--ping.entryPoint=ping",
		"--providers.kubernetesIngress=true",
		"--providers.kubernetesGateway=true",
		// Its own resources too: the TLSOption that --client-auth gives our Ingress.
		"--providers.kubernetesCRD=true",
		"--log.level=DEBUG",
	)
	t.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	t.cmd.Stdout = t.Logs
	t.cmd.Stderr = t.Logs
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		response, err := http.Get("http://127.0.0.1:" + strconv.Itoa(ping) + "/ping")
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return t, nil
			}
		}
		if time.Now().After(deadline) {
			t.Stop()
			return nil, fmt.Errorf("traefik did not answer /ping within 60s:\n%s", t.Logs.Tail(40))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop ends the process it started.
func (t *Traefik) Stop() { testutil.Stop(t.cmd, 10*time.Second) }
