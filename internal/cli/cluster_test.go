package cli

import (
	"os"
	"sync"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

// One control plane with cert-manager serves every test of this package that needs a cluster; it starts
// on first use (~5 s) and TestMain stops it.
var (
	clusterOnce   sync.Once
	sharedCluster *cluster.Cluster
	clusterErr    error
	discoveryDir  string
	// sharedCADir holds one CA for the one kestra-tls-ca ClusterIssuer every ingress test applies.
	sharedCADir string
	// testDNS resolves every test host to 127.0.0.1 for cert-manager's HTTP-01 self-check (and pebble).
	testDNS *acme.DNS
)

func TestMain(m *testing.M) {
	testutil.KillOrphans() // an earlier run killed on its timeout may have left the control plane or Traefik
	code := m.Run()
	stopTraefik()
	testutil.RemovePlugin()
	stopACME()
	if sharedCluster != nil {
		sharedCluster.Stop()
	}
	if testDNS != nil {
		testDNS.Stop()
	}
	for _, dir := range []string{discoveryDir, sharedCADir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

func testCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the control plane (-short)")
	}
	clusterOnce.Do(func() {
		if discoveryDir, clusterErr = os.MkdirTemp("", "kestra-tls-discovery-"); clusterErr != nil {
			return
		}
		if sharedCADir, clusterErr = os.MkdirTemp("", "kestra-tls-test-ca-"); clusterErr != nil {
			return
		}
		if sharedCluster, clusterErr = cluster.Start(true); clusterErr != nil {
			return
		}
		if testDNS, clusterErr = acme.StartDNS(); clusterErr != nil {
			return
		}
		sharedCluster.CertManagerArgs = []string{"--acme-http01-solver-nameservers", testDNS.Addr, "--enable-gateway-api"}
		clusterErr = sharedCluster.StartCertManager()
	})
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return sharedCluster
}

// clusterArgs are the kubeconfig flags for the shared cluster, with a private discovery cache.
func clusterArgs(c *cluster.Cluster, kubeconfig, namespace string) []string {
	if kubeconfig == "" {
		kubeconfig = c.Kubeconfig
	}
	return []string{"--kubeconfig", kubeconfig, "--cache-dir", discoveryDir, "-n", namespace}
}
