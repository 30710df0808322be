// Package trustmanager runs the real trust-manager (cert-manager's, built into bin/ by the tools module
// hack/tools/trust-manager) against the test ground's cluster, with its Bundle CRD installed and a default
// CA package (what its image ships, here made from the PEM file the test gives), until Stop.
package trustmanager

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// TrustManager is a running trust-manager.
type TrustManager struct {
	cmd  *exec.Cmd
	dir  string
	Logs *testutil.SyncBuffer
}

// Start installs the Bundle CRD and runs trust-manager with defaultCAs (its useDefaultCAs source) from the
// PEM file, trusting sources in trustNamespace.
func Start(kubeconfig, defaultCAs, trustNamespace string) (*TrustManager, error) {
	bin := testutil.BinDir()
	binary, crds := filepath.Join(bin, "trust-manager"), filepath.Join(bin, "trust-manager-crds")
	for _, path := range []string{binary, crds} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make tools`", path)
		}
	}
	kubectl := filepath.Join(bin, "kubectl")
	if output, err := exec.Command(kubectl, "apply", "--server-side", "-f", crds, "--kubeconfig", kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("installing trust-manager's CRDs: %v\n%s", err, output)
	}
	if output, err := exec.Command(kubectl, "wait", "--for=condition=Established", "crd/bundles.trust.cert-manager.io", "--timeout=30s", "--kubeconfig", kubeconfig).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("trust-manager's CRDs: %v\n%s", err, output)
	}
	dir, err := os.MkdirTemp("", "kestra-tls-trust-manager-")
	if err != nil {
		return nil, err
	}
	tm := &TrustManager{dir: dir, Logs: &testutil.SyncBuffer{}}
	fail := func(err error) (*TrustManager, error) { os.RemoveAll(dir); return nil, err }
	// The default package, as trust-manager's image ships one (Debian's CA bundle), from the test's PEM.
	roots, err := os.ReadFile(defaultCAs)
	if err != nil {
		return fail(err)
	}
	pkg, _ := json.Marshal(map[string]string{"name": "kestra-tls-test", "bundle": string(roots), "version": "1"})
	packageFile := filepath.Join(dir, "package.json")
	if err := os.WriteFile(packageFile, pkg, 0o644); err != nil {
		return fail(err)
	}
	// Its webhook must serve TLS to start, though no webhook configuration points the API server at it.
	if err := selfSigned(filepath.Join(dir, "tls")); err != nil {
		return fail(err)
	}
	webhook, ready, metrics := freePort(), freePort(), freePort()
	tm.cmd = exec.Command(binary, "--kubeconfig", kubeconfig, "--leader-elect=false",
		"--trust-namespace", trustNamespace, "--default-package-location", packageFile,
		"--webhook-host", "127.0.0.1", "--webhook-port", strconv.Itoa(webhook), "--webhook-certificate-dir", filepath.Join(dir, "tls"),
		"--readiness-probe-port", strconv.Itoa(ready), "--metrics-port", strconv.Itoa(metrics))
	tm.cmd.Stdout, tm.cmd.Stderr = tm.Logs, tm.Logs
	if err := tm.cmd.Start(); err != nil {
		return fail(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if response, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", ready)); err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return tm, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	tm.Stop()
	return nil, fmt.Errorf("trust-manager was not ready in 60s:\n%s", tm.Logs.Tail(30))
}

// Stop ends trust-manager and removes its files.
func (tm *TrustManager) Stop() {
	testutil.Stop(tm.cmd, 10*time.Second)
	os.RemoveAll(tm.dir)
}

// selfSigned writes tls.crt and tls.key for 127.0.0.1 into dir.
func selfSigned(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trust-manager webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}

// freePort is testutil.FreePort, 0 (the program then fails to listen, and says so) when none is free.
func freePort() int {
	port, _ := testutil.FreePort()
	return port
}
