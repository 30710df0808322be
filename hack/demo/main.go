// Command demo shows the whole flow with no cluster of your own: it starts a local kube-apiserver and etcd
// with the real cert-manager controllers and the real Traefik in front, runs `kubectl kestra-tls generate`
// and `apply --wait` in ingress mode with a local CA issuer (or, with -mode acme, through pebble, Let's
// Encrypt's ACME test server, with cert-manager's own solver answering the HTTP-01 challenges through
// Traefik), shows the Ready certificate and its SANs, then loads Kestra's page (a stand-in for Kestra, in a
// pod network of its own) in headless Chromium through Traefik, and stops everything. Run it with `make
// demo` or `make demo MODE=acme`; Traefik and the pod network need root, Chromium needs Debian's chromium
// and libnss3-tools (without them the demo says so and stops before that step).
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/browser"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/netpod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/traefik"
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
	dns, err := acme.StartDNS()
	if err != nil {
		return err
	}
	defer dns.Stop()
	c.CertManagerArgs = []string{"--acme-http01-solver-nameservers", dns.Addr}
	if err := c.StartCertManager(); err != nil {
		return err
	}
	fmt.Printf("   up in %.1fs\n", time.Since(started).Seconds())
	// Traefik listens on ports 80 and 443 and Kestra's stand-in gets a network namespace: both need root.
	traffic := os.Geteuid() == 0
	if traffic {
		step("starting Traefik v3 (IngressClass traefik) on " + traefik.HTTPSAddress + " and " + traefik.HTTPAddress)
		proxy, err := traefik.Start(c.Kubeconfig, c.Client, c.Dynamic)
		if err != nil {
			return err
		}
		defer proxy.Stop()
	} else {
		fmt.Println("\n   (not root: no Traefik, pod network or browser in this run; run it as root to see the request go through)")
	}

	work, err := os.MkdirTemp("", "kestra-tls-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	overlay := filepath.Join(work, "kestra-tls")
	plugin := filepath.Join(testutil.BinDir(), "kubectl-kestra_tls")

	host := "kestra.demo." + acme.TraefikDomain
	args := []string{"generate", "--host", host, "--host", "kestra.internal", "--self-signed", "--ingress-class", "traefik", "-o", overlay}
	caFile := filepath.Join(overlay, "certs", "ca.pem")
	if viaACME {
		step("starting pebble (Let's Encrypt's ACME test server); cert-manager's solver pods run its acmesolver, behind Traefik")
		pebble, err := acme.StartPebble(acme.PebbleOptions{DNS: dns.Addr})
		if err != nil {
			return err
		}
		defer pebble.Stop()
		if traffic {
			_, stop := netpod.StartSolverPods(c.Client, "kestra")
			defer stop()
		} else {
			solver, err := acme.StartSolver(c.Dynamic)
			if err != nil {
				return err
			}
			defer solver.Stop()
			host = "kestra.demo.test"
		}
		args = []string{"generate", "--host", host, "--host", "www." + host, "--email", "ops@kestra.demo.test", "--ingress-class", "traefik",
			"--acme-server", pebble.Directory, "--acme-ca-bundle", pebble.CAFile, "-o", overlay}
		root, _, err := pebble.IssuingCAs()
		if err != nil {
			return err
		}
		caFile = filepath.Join(work, "pebble-root.pem")
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), 0o644); err != nil {
			return err
		}
	}
	step("kubectl kestra-tls " + strings.Join(args, " "))
	if err := show(plugin, args...); err != nil {
		return err
	}
	step("kubectl kestra-tls apply " + overlay + " -n kestra --create-namespace --timeout 90s")
	applied := time.Now()
	if err := show(plugin, "--kubeconfig", c.Kubeconfig, "apply", overlay, "-n", "kestra", "--create-namespace", "--timeout", "90s"); err != nil {
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
	if !traffic {
		return nil
	}
	return browse(c, work, host, caFile)
}

// browse runs Kestra's stand-in as its pod would, and loads its page in Chromium through Traefik.
func browse(c *cluster.Cluster, work, host, caFile string) error {
	step("Kestra's stand-in in a pod network of its own, as the endpoint of Service kestra/kestra")
	pod, err := netpod.Create()
	if pod != nil {
		defer pod.Remove()
	}
	if err != nil {
		return err
	}
	_, stop, err := javatls.LaunchStandIn(javatls.StandIn{Netns: pod.Netns, Address: pod.IP, Port: 8080, Name: "Kestra (demo stand-in)", Events: 1, Interval: time.Millisecond})
	if err != nil {
		return err
	}
	defer stop()
	removeEndpoints, err := netpod.WriteEndpoints(c.Client, "kestra", "kestra", []netpod.Port{{Name: "http", Port: 8080}}, pod)
	if err != nil {
		return err
	}
	defer removeEndpoints()
	fmt.Printf("   listening on %s:8080\n", pod.IP)

	url := "https://" + host + "/"
	step("headless Chromium opens " + url + " through Traefik, trusting only " + filepath.Base(caFile))
	if err := browser.Available(); err != nil {
		fmt.Printf("   skipped: %v\n", err)
		return nil
	}
	traefikIP, _, _ := net.SplitHostPort(traefik.HTTPSAddress)
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 1; ; attempt++ {
		page, err := browser.LoadIn(filepath.Join(work, fmt.Sprintf("browser-%d", attempt)), url, caFile, map[string]string{host: traefikIP})
		if err == nil && strings.Contains(page.DOM, "Kestra (demo stand-in)") {
			title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(page.DOM)
			fmt.Printf("   Chromium loaded %s: page %q, served by Kestra's stand-in through Traefik; the certificate is trusted\n", url, title[1])
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Chromium could not load %s: %v", url, err)
		}
		time.Sleep(time.Second) // Traefik picks up the new endpoints a moment later
	}
}

func step(text string) { fmt.Printf("\n==> %s\n", text) }

func show(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
