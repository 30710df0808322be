package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/netpod"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/traefik"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// The ACME ground starts on first use: the HTTP-01 solver on port 80 and two pebbles, one open (refusing
// blocked.acme.test with rejectedIdentifier) and one that requires external account binding.
var (
	acmeOnce              sync.Once
	acmeErr               error
	acmeSolver            *acme.Solver
	openPebble, eabPebble *acme.Pebble
)

const (
	eabKeyID   = "kestra-tls-test-kid"
	eabHMACKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
	blocked    = "blocked.acme.test"
)

func acmeGround(t *testing.T) *cluster.Cluster {
	t.Helper()
	c := testCluster(t)
	acmeOnce.Do(func() {
		if acmeSolver, acmeErr = acme.StartSolver(c.Dynamic); acmeErr != nil {
			return
		}
		if openPebble, acmeErr = acme.StartPebble(acme.PebbleOptions{DNS: testDNS.Addr, Blocked: []string{blocked}}); acmeErr != nil {
			return
		}
		eabPebble, acmeErr = acme.StartPebble(acme.PebbleOptions{DNS: testDNS.Addr, EABKeys: map[string]string{eabKeyID: eabHMACKey}})
	})
	if acmeErr != nil {
		t.Fatal(acmeErr)
	}
	return c
}

func stopACME() {
	for _, p := range []*acme.Pebble{openPebble, eabPebble} {
		if p != nil {
			p.Stop()
		}
	}
	if acmeSolver != nil {
		acmeSolver.Stop()
	}
}

// acmeApply runs apply in ingress mode against a pebble, each test with its own namespace and
// ClusterIssuer name (ClusterIssuers are cluster-wide).
func acmeApply(t *testing.T, c *cluster.Cluster, namespace string, pebble *acme.Pebble, timeout string, args ...string) (string, string, error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "overlay")
	base := []string{out, "--email", "ops@kestra.test", "--set", "issuer.name=pebble-" + namespace,
		"--create-namespace", "--timeout", timeout}
	if pebble != nil {
		base = append(base, "--acme-server", pebble.Directory)
	}
	return applyCmd(t, c, namespace, append(base, args...)...)
}

// TestACMEIssuesThroughPebbleEndToEnd is the guide's production path, with nothing standing in for the
// HTTP-01 exchange: the ClusterIssuer registers with the ACME server, ingress-shim makes the Certificate,
// cert-manager's solver Ingress for the traefik class is served by the real Traefik (the hosts resolve to
// it), each solver pod runs cert-manager's own acmesolver with the pod's arguments, cert-manager's
// self-check and pebble's validation both fetch the key through Traefik, and apply returns once the
// Certificate is Ready. The Secret's certificate chains to pebble's issuing CA, and a client trusting only
// pebble's root reaches Kestra through Traefik with it.
func TestACMEIssuesThroughPebbleEndToEnd(t *testing.T) {
	c := acmeGround(t)
	tr := testTraefik(t)
	t.Parallel()
	ns := "acme-e2e"
	hosts := []string{"kestra.acme." + acme.TraefikDomain, "www.kestra.acme." + acme.TraefikDomain}
	solvers := netpod.PlaySolverPods(t, c.Client, ns)
	stdout, stderr, err := acmeApply(t, c, ns, openPebble, "150s",
		"--host", hosts[0], "--host", hosts[1], "--acme-ca-bundle", openPebble.CAFile, "--ingress-class", traefik.ClassName)
	played, failures := solvers.Played()
	if err != nil {
		t.Fatalf("%v\n%s\n%s\nsolver pods played: %d %v\ncert-manager:\n%s\npebble:\n%s\ntraefik:\n%s", err, stdout, stderr, played, failures, c.Logs.Tail(30), openPebble.Logs.Tail(20), tr.Logs.Tail(20))
	}
	for _, want := range []string{"clusterissuer.cert-manager.io/pebble-acme-e2e created", "certificate.cert-manager.io/kestra-tls Ready (" + hosts[0] + ", " + hosts[1] + ")"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// The Order and its Challenges show as they progress, before the Certificate is Ready.
	for _, want := range []string{"ACME Order kestra-tls-1-", "ACME Challenge kestra-tls-1-", "for " + hosts[0] + ": pending", "for " + hosts[1] + ": valid"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("the progress lacks %q:\n%s\n%s", want, stdout, stderr)
		}
	}
	t.Logf("apply printed:\n%s\n%s", stdout, stderr)
	checkIssuedByPebble(t, c, ns, openPebble, hosts)
	// Two challenges, each fetched by cert-manager's self-check and by pebble's validation.
	if answered := solvers.Answered(); played != 2 || len(failures) > 0 || answered < 4 {
		t.Errorf("cert-manager's acmesolver pods: %d played (want 2), %v, %d requests answered with the key (want at least 4)", played, failures, answered)
	}
	kestraPod(t, ns, "kestra-acme-behind-traefik")
	root, _, err := openPebble.IssuingCAs()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	getUntil(t, throughTraefik(t, roots), "https://"+hosts[0]+"/", "kestra-acme-behind-traefik", tr)
}

// TestACMEWithExternalAccountBinding registers through a pebble that requires EAB: with --eab-kid and
// --eab-hmac-key-file it issues, and the key reached the cluster only in its Secret.
func TestACMEWithExternalAccountBinding(t *testing.T) {
	c := acmeGround(t)
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(keyFile, []byte(eabHMACKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := "eab.acme." + acme.TraefikDomain
	testTraefik(t)
	netpod.PlaySolverPods(t, c.Client, "acme-eab")
	stdout, stderr, err := acmeApply(t, c, "acme-eab", eabPebble, "150s", "--host", host, "--ingress-class", traefik.ClassName,
		"--acme-ca-bundle", eabPebble.CAFile, "--eab-kid", eabKeyID, "--eab-hmac-key-file", keyFile)
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(30))
	}
	if strings.Contains(stdout+stderr, eabHMACKey) {
		t.Error("the HMAC key was printed")
	}
	checkIssuedByPebble(t, c, "acme-eab", eabPebble, []string{host})
	secret, err := c.Client.CoreV1().Secrets("cert-manager").Get(context.Background(), "pebble-acme-eab-eab", metav1.GetOptions{})
	if err != nil || string(secret.Data["secret"]) != eabHMACKey {
		t.Errorf("the EAB Secret does not hold the key: %v", err)
	}
}

func checkIssuedByPebble(t *testing.T, c *cluster.Cluster, namespace string, pebble *acme.Pebble, hosts []string) {
	t.Helper()
	secret, err := c.Client.CoreV1().Secrets(namespace).Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.ParseCertificates(secret.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	root, intermediate, err := pebble.IssuingCAs()
	if err != nil {
		t.Fatal(err)
	}
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	intermediates.AddCert(intermediate)
	for _, cert := range chain[1:] {
		intermediates.AddCert(cert)
	}
	for _, host := range hosts {
		if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: intermediates}); err != nil {
			t.Errorf("the certificate does not chain to pebble's issuing CA for %s: %v", host, err)
		}
	}
	if !slices.Equal(sortedCopy(chain[0].DNSNames), sortedCopy(hosts)) {
		t.Errorf("the certificate names %v, want %v", chain[0].DNSNames, hosts)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestACMEFailuresAreExplained provokes, for real, each way ACME issuance fails, and checks that apply
// exits 124 with an explanation naming the cause (and the Order or Challenge when there is one).
func TestACMEFailuresAreExplained(t *testing.T) {
	c := acmeGround(t)
	t.Parallel()
	unreachable := &acme.Pebble{Directory: "https://127.0.0.1:1/dir"}
	for name, tc := range map[string]struct {
		namespace, host string
		pebble          *acme.Pebble
		args            []string
		timeout         string
		// givesUp: cert-manager fails the issuance, and apply stops waiting long before the timeout.
		givesUp bool
		want    []string
	}{
		"the ACME server is unreachable": {
			namespace: "acme-unreachable", host: "down.acme.test", pebble: unreachable, timeout: "20s",
			want: []string{"ClusterIssuer pebble-acme-unreachable:", "connection refused", "-> cert-manager cannot reach the ACME server: check --acme-server"},
		},
		"its HTTPS certificate is not trusted without --acme-ca-bundle": {
			namespace: "acme-untrusted", host: "untrusted.acme.test", pebble: openPebble, timeout: "20s",
			want: []string{"ClusterIssuer pebble-acme-untrusted:", "x509: certificate signed by unknown authority", "-> cert-manager does not trust the ACME server's HTTPS certificate: pass --acme-ca-bundle"},
		},
		"external account binding is required but missing": {
			namespace: "acme-no-eab", host: "no-eab.acme.test", pebble: eabPebble, timeout: "20s",
			args: []string{"--acme-ca-bundle", eabPebble.CAFile},
			want: []string{"ClusterIssuer pebble-acme-no-eab:", "externalAccountRequired", "-> this ACME CA requires external account binding: pass --eab-kid and --eab-hmac-key-file"},
		},
		"the challenge fails validation": {
			namespace: "acme-wrong-key", host: acme.WrongKeyPrefix + "acme.test", pebble: openPebble, timeout: "300s", givesUp: true,
			args: []string{"--acme-ca-bundle", openPebble.CAFile},
			want: []string{"ACME Order kestra-tls-", `state "invalid"`, "ACME Challenge kestra-tls-", "for wrong-key.acme.test", "-> the ACME server fetched the challenge but got another answer"},
		},
		"the ACME server refuses the identifier": {
			namespace: "acme-blocked", host: blocked, pebble: openPebble, timeout: "300s", givesUp: true,
			args: []string{"--acme-ca-bundle", openPebble.CAFile},
			want: []string{"CertificateRequest kestra-tls-", "rejectedIdentifier", "-> the ACME server refuses to issue for this name"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			started := time.Now()
			stdout, stderr, err := acmeApply(t, c, tc.namespace, tc.pebble, tc.timeout, append([]string{"--host", tc.host}, tc.args...)...)
			elapsed := time.Since(started)
			var exit interface{ ExitCode() int }
			if !errors.As(err, &exit) || exit.ExitCode() != 124 {
				t.Fatalf("err = %v, want exit 124\n%s\n%s", err, stdout, stderr)
			}
			explanation := err.Error() + "\n" + stderr
			t.Logf("apply took %s and explained:\n%s", elapsed.Round(time.Second), err)
			if tc.givesUp {
				if limit := 120 * time.Second; elapsed > limit {
					t.Errorf("apply waited %s for an issuance cert-manager had given up on, want it to stop within %s", elapsed, limit)
				}
				tc.want = append(tc.want, "cert-manager gave up on this issuance", "kubectl kestra-tls renew -n "+tc.namespace+"`", "cmctl renew -n "+tc.namespace+" kestra-tls")
			}
			for _, want := range tc.want {
				if !strings.Contains(explanation, want) {
					t.Errorf("the explanation lacks %q:\n%s", want, explanation)
				}
			}
		})
	}
}
