// Command cert-manager-controller runs the real cert-manager controllers the tests and `make demo` need:
// CA, selfSigned and ACME issuance (accounts, Orders, Challenges with the HTTP-01 solver), the approver,
// the Certificate life cycle and ingress-shim. cert-manager's own controller binary lives in a module the
// Go proxy does not serve, so this launcher assembles the same controllers from
// github.com/cert-manager/cert-manager: no webhook, no leader election.
//
// It prints "cert-manager controllers running" once its informers have synced, and stops on SIGTERM/SIGINT
// or when stdin closes (so a test that dies can't leave it behind).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each of these registers its controller with controllerpkg in init.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	gateways "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	// The issuer types the (Cluster)Issuer controllers can set up.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server to work against")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager", "namespace of the Secrets that ClusterIssuers use")
	verbosity := flag.Int("v", 0, "log verbosity")
	enableGatewayAPI := flag.Bool("enable-gateway-api", false, "run gateway-shim, which makes Certificates for annotated Gateways (the Gateway API CRDs must be installed), as cert-manager's own flag")
	solverNameservers := flag.String("acme-http01-solver-nameservers", "", "comma-separated host:port of the DNS servers the HTTP-01 self-check resolves with, as cert-manager's own flag")
	flag.Parse()
	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", fmt.Sprint(*verbosity))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // stdin closing means our parent is gone
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	ctx = logf.NewContext(ctx, logf.Log, "controller")

	var nameservers []string
	if *solverNameservers != "" {
		nameservers = strings.Split(*solverNameservers, ",")
	}
	if err := run(ctx, *kubeconfig, *clusterResourceNamespace, nameservers, *enableGatewayAPI); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, clusterResourceNamespace string, solverNameservers []string, enableGatewayAPI bool) error {
	quantity := resource.MustParse
	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   200,
		KubernetesAPIBurst: 400,
		ConfigOptions:      controllerpkg.ConfigOptions{EnableGatewayAPI: enableGatewayAPI},
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: clusterResourceNamespace},
		// There is no kubelet: the solver pods never run, and whoever tests stands in for them and the
		// ingress controller on port 80 of the address solverNameservers resolve the hosts to.
		ACMEOptions: controllerpkg.ACMEOptions{
			HTTP01SolverNameservers:           solverNameservers,
			HTTP01SolverImage:                 "quay.io/jetstack/cert-manager-acmesolver:v1.21.2",
			HTTP01SolverResourceRequestCPU:    quantity("10m"),
			HTTP01SolverResourceRequestMemory: quantity("64Mi"),
			HTTP01SolverResourceLimitsCPU:     quantity("100m"),
			HTTP01SolverResourceLimitsMemory:  quantity("64Mi"),
			DNS01CheckRetryPeriod:             10 * time.Second,
		},
		IngressShimOptions: controllerpkg.IngressShimOptions{
			DefaultIssuerKind:                 "Issuer",
			DefaultIssuerGroup:                "cert-manager.io",
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
		},
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controllerpkg.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return err
	}

	names := make([]string, 0, len(controllerpkg.Known()))
	for name := range controllerpkg.Known() {
		names = append(names, name)
	}
	sort.Strings(names)
	controllers := make([]controllerpkg.Interface, 0, len(names))
	var running []string
	for _, name := range names {
		// As cert-manager's own controller: gateway-shim only with the Gateway API enabled.
		if name == gateways.ControllerName && !enableGatewayAPI {
			continue
		}
		controller, err := controllerpkg.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("constructing %s: %w", name, err)
		}
		controllers = append(controllers, controller)
		running = append(running, name)
	}

	// The controllers registered their informers on the shared factories; start them now.
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if enableGatewayAPI {
		shared.GWShared.Start(ctx.Done())
		shared.GWShared.WaitForCacheSync(ctx.Done())
	}
	shared.SharedInformerFactory.WaitForCacheSync(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.WaitForCacheSync(ctx.Done())

	var wg sync.WaitGroup
	errs := make(chan error, len(controllers))
	for i, controller := range controllers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := controller.Run(5, ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", running[i], err)
			}
		}()
	}
	fmt.Printf("cert-manager controllers running: %v\n", running)
	wg.Wait()
	close(errs)
	return <-errs
}
