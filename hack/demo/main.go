// Command demo shows the whole flow with no cluster of your own: it starts a local kube-apiserver and etcd
// with the real cert-manager controllers, runs `kubectl kestra-tls generate` and `apply --wait` in ingress
// mode with a local CA issuer (or, with -mode acme, through pebble, Let's Encrypt's ACME test server, with
// the Order and Challenges shown as they happen), shows the Ready certificate and its SANs, and stops
// everything. Run it with `make demo` or `make demo MODE=acme`.
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

func main() {
	mode := flag.String("mode", "ca", "ca: our own CA as a cert-manager Issuer; acme: Let's Encrypt's way, through pebble")
	flag.Parse()
	if *mode != "ca" && *mode != "acme" {
		fmt.Fprintf(os.Stderr, "demo: -mode %q: use ca or acme (make demo MODE=acme)\n", *mode)
		os.Exit(1)
	}
	if err := run(*mode == "acme"); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(viaACME bool) error {
	step("starting kube-apiserver, etcd and the cert-manager controllers on 127.0.0.1")
	started := time.Now()
	c, err := cluster.Start(true)
	if err != nil {
		return err
	}
	defer func() { step("stopping everything"); c.Stop() }()
	var dns *acme.DNS
	if viaACME {
		if dns, err = acme.StartDNS(); err != nil {
			return err
		}
		defer dns.Stop()
		c.CertManagerArgs = []string{"--acme-http01-solver-nameservers", dns.Addr}
	}
	if err := c.StartCertManager(); err != nil {
		return err
	}
	fmt.Printf("   up in %.1fs\n", time.Since(started).Seconds())

	work, err := os.MkdirTemp("", "kestra-tls-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	overlay := filepath.Join(work, "kestra-tls")
	plugin := filepath.Join(testutil.BinDir(), "kubectl-kestra_tls")

	args := []string{"generate", "--host", "kestra.example.com", "--host", "kestra.internal", "--self-signed", "-o", overlay}
	if viaACME {
		step("starting pebble (Let's Encrypt's ACME test server) and, on 127.0.0.1:80, a stand-in for the ingress controller that serves the HTTP-01 challenges")
		solver, err := acme.StartSolver(c.Dynamic)
		if err != nil {
			return err
		}
		defer solver.Stop()
		pebble, err := acme.StartPebble(acme.PebbleOptions{DNS: dns.Addr})
		if err != nil {
			return err
		}
		defer pebble.Stop()
		args = []string{"generate", "--host", "kestra.demo.test", "--host", "www.kestra.demo.test", "--email", "ops@kestra.demo.test",
			"--acme-server", pebble.Directory, "--acme-ca-bundle", pebble.CAFile, "-o", overlay}
	}
	step("kubectl kestra-tls " + strings.Join(args, " "))
	if err := show(plugin, args...); err != nil {
		return err
	}
	step("kubectl kestra-tls apply " + overlay + " -n kestra --create-namespace --timeout 60s")
	applied := time.Now()
	if err := show(plugin, "--kubeconfig", c.Kubeconfig, "apply", overlay, "-n", "kestra", "--create-namespace", "--timeout", "60s"); err != nil {
		return err
	}
	fmt.Printf("   applied and Ready in %.2fs\n", time.Since(applied).Seconds())

	step("the certificate cert-manager issued into Secret kestra/kestra-tls")
	secret, err := c.Client.CoreV1().Secrets("kestra").Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil {
		return err
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		return fmt.Errorf("Secret kestra-tls holds no certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	fmt.Printf("   subject %q, issuer %q\n   SANs: %s\n   valid until %s\n", cert.Subject.CommonName, cert.Issuer.CommonName,
		strings.Join(cert.DNSNames, ", "), cert.NotAfter.Format(time.RFC3339))
	return nil
}

func step(text string) { fmt.Printf("\n==> %s\n", text) }

func show(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
