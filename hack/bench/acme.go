package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

// throughACME times apply to Ready when the certificate comes through ACME (pebble, with real HTTP-01
// validation), ours against kubectl apply -k + kubectl wait. Each run issues for hosts of its own, so no
// authorization is reused; the ClusterIssuer's account is registered once, outside the timings, as it is
// in a real cluster.
func throughACME(plugin, kubectl, work string, c *cluster.Cluster, dns *acme.DNS, seen *readyWatch) error {
	solver, err := acme.StartSolver(c.Dynamic)
	if err != nil {
		say("## 3b. Apply and wait through ACME\n\nSkipped: %v\n\n", err)
		return nil
	}
	defer solver.Stop()
	pebble, err := acme.StartPebble(acme.PebbleOptions{DNS: dns.Addr})
	if err != nil {
		return err
	}
	defer pebble.Stop()
	ctx := context.Background()
	cache := filepath.Join(work, "discovery")
	kube := []string{"--kubeconfig", c.Kubeconfig, "--cache-dir", cache}
	overlayFor := func(ns string) (string, error) {
		dir := filepath.Join(work, "acme-"+ns)
		_, err := runInProcess(nil, "generate", "-o", dir, "--host", ns+".bench.test", "--email", "ops@bench.test",
			"--acme-server", pebble.Directory, "--acme-ca-bundle", pebble.CAFile, "-n", ns)
		return dir, err
	}
	warm, err := overlayFor("acme-warm")
	if err != nil {
		return err
	}
	if _, err := runInProcess(nil, append([]string{"apply", warm, "--create-namespace", "--timeout", "120s"}, kube...)...); err != nil {
		return err
	}
	var ours, theirs durations
	for i := 0; i < *runs; i++ {
		ns := fmt.Sprintf("acme-ours-%d", i)
		dir, err := overlayFor(ns)
		if err != nil {
			return err
		}
		c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		started := time.Now()
		if _, err := timeProcess(nil, plugin, append([]string{"apply", dir, "--timeout", "120s"}, kube...)...); err != nil {
			return err
		}
		ours = append(ours, time.Since(started))
		seen.wait(ns)

		ns = fmt.Sprintf("acme-theirs-%d", i)
		if dir, err = overlayFor(ns); err != nil {
			return err
		}
		c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		started = time.Now()
		if err := kubectlApplyAndWait(kubectl, c.Kubeconfig, cache, dir, ns, "120s"); err != nil {
			return err
		}
		theirs = append(theirs, time.Since(started))
		seen.wait(ns)
	}
	say("## 3b. Apply and wait through ACME (pebble, real HTTP-01 validation; cert-manager's self-check takes 5 passes 2 s apart)\n\n")
	say("| command | median | min - max |\n|---|---|---|\n")
	say("| `kubectl-kestra_tls apply DIR` (apply, then watch until Ready, printing the Order and Challenges) | %s | %s |\n", ours.median(), ours.span())
	say("| `kubectl apply -k DIR && kubectl wait --for=create ... && kubectl wait --for=condition=Ready ...` | %s | %s |\n", theirs.median(), theirs.span())
	say("| ours / theirs | %.2f | |\n\n", float64(ours.median())/float64(theirs.median()))
	return nil
}
