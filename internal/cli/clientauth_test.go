package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/browser"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	generatepkg "github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// clientCert is a client certificate certs --client wrote: its PEM pair and its PKCS#12 with password.
type clientCert struct{ name, pem, key, p12, password string }

// issueClient runs `certs --client NAME -o dir` (with extra flags) and returns what it wrote.
func issueClient(t *testing.T, dir, name string, extra ...string) clientCert {
	t.Helper()
	if _, stderr, err := runCmd(t, append([]string{"certs", "--client", name, "-o", dir}, extra...)...); err != nil {
		t.Fatalf("certs --client %s: %v\n%s", name, err, stderr)
	}
	base := filepath.Join(dir, "clients", name)
	password, err := os.ReadFile(base + ".p12-password")
	if err != nil {
		t.Fatal(err)
	}
	return clientCert{name: name, pem: base + ".pem", key: base + ".key", p12: base + ".p12", password: string(password)}
}

// clientOfAnotherCA is a client certificate NAME of a CA that is not the overlay's ("Another CA").
func clientOfAnotherCA(t *testing.T, name string) clientCert {
	t.Helper()
	other := t.TempDir()
	if _, stderr, err := runCmd(t, "certs", "--host", "other.example.com", "--ca-common-name", "Another CA", "-o", other); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return issueClient(t, other, name)
}

// TestKestraAuthenticatesClientCertificates: Kestra's own server (Micronaut 4.10), configured by an app-mode
// overlay with --client-auth, as its launcher starts it, asked by the real curl: with need it refuses a
// client without a certificate and one whose certificate another CA signed, and accepts one `certs
// --client` signed with the overlay's CA (as PEM, and as the PKCS#12 a browser imports); with want it
// accepts a client without a certificate and ours, and tells which it verified, but still refuses a
// certificate it cannot verify (JSSE's way); with --client-ca, only the clients of that CA get in, ours no
// longer. Chromium, with the PKCS#12 imported into its NSS database, gets in with need; without, it is
// refused. The management port stays without client authentication (probes).
func TestKestraAuthenticatesClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	curl := testutil.Program(t, "curl", "apt-get install curl")
	const host = "kestra.example.com"
	// A CA that is not the overlay's, and a client of it.
	other := t.TempDir()
	if _, stderr, err := runCmd(t, "certs", "--host", "other.example.com", "--ca-common-name", "Another CA", "-o", other); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	intruder := issueClient(t, other, "intruder")

	for _, tc := range []struct {
		name, mode string
		clientCA   bool // the overlay trusts other's CA for clients (--client-ca), not its own
	}{
		{"need", "need", false},
		{"want", "want", false},
		{"need with --client-ca", "need", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			args := []string{"generate", "-o", out, "--mode", "app", "--host", host, "--client-auth", tc.mode}
			if tc.clientCA {
				args = append(args, "--client-ca", filepath.Join(other, "ca.pem"))
			}
			if _, stderr, err := runCmd(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			ours := issueClient(t, filepath.Join(out, "certs"), "ci-bot")
			p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
			if err != nil {
				t.Fatal(err)
			}
			server := kestrapod.Run(t, p)
			ask := func(client []string) (string, error) {
				t.Helper()
				argv := append([]string{"-sS", "--max-time", "10", "--cacert", filepath.Join(out, "certs", "ca.pem"),
					"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, server.Local)}, client...)
				output, err := exec.Command(curl, append(argv, fmt.Sprintf("https://%s:%d/api/v1/client", host, server.Local))...).CombinedOutput()
				return strings.TrimSpace(string(output)), err
			}
			withPEM := func(c clientCert) []string { return []string{"--cert", c.pem, "--key", c.key} }
			withP12 := func(c clientCert) []string { return []string{"--cert-type", "P12", "--cert", c.p12 + ":" + c.password} }

			accepted, refused := map[string][]string{}, map[string][]string{}
			switch {
			case tc.clientCA:
				accepted["a client of the --client-ca CA"] = withPEM(intruder)
				refused["no certificate"] = nil
				refused["a client of our own CA"] = withPEM(ours)
			case tc.mode == "need":
				accepted["our client (PEM)"] = withPEM(ours)
				accepted["our client (PKCS#12)"] = withP12(ours)
				refused["no certificate"] = nil
				refused["a client of another CA"] = withPEM(intruder)
			default:
				accepted["our client (PEM)"] = withPEM(ours)
				accepted["our client (PKCS#12)"] = withP12(ours)
				accepted["no certificate"] = nil
				// Found on the real server: JSSE (Temurin 25) ends the handshake with certificate_unknown
				// when a client presents a certificate it cannot verify, want or need alike; want only
				// lets a client present none.
				refused["a client of another CA"] = withPEM(intruder)
			}
			for what, client := range accepted {
				output, err := ask(client)
				if err != nil {
					t.Errorf("%s: refused by Kestra's server with --client-auth %s: %v\n%s", what, tc.mode, err, output)
					continue
				}
				want := "none"
				if client != nil {
					want = "CN=ci-bot"
					if tc.clientCA {
						want = "CN=intruder"
					}
				}
				if output != want {
					t.Errorf("%s: Kestra's server verified %q, want %q", what, output, want)
				}
			}
			for what, client := range refused {
				if output, err := ask(client); err == nil {
					t.Errorf("%s: accepted by Kestra's server with --client-auth %s (it verified %q)", what, tc.mode, output)
				}
			}
			if tc.name == "need" {
				// A browser: Chromium with our .p12 imported into its NSS database gets in, one without is refused.
				url := fmt.Sprintf("https://%s:%d/api/v1/client", host, server.Local)
				hosts := map[string]string{host: "127.0.0.1"}
				page, err := browser.LoadWithClientCert(t, url, filepath.Join(out, "certs", "ca.pem"), hosts, browser.ClientCert{P12: ours.p12, Password: ours.password})
				if err != nil || !strings.Contains(page.DOM, "CN=ci-bot") {
					t.Errorf("Chromium with ci-bot.p12 imported: %v\n%s", err, page.DOM)
				}
				if page, err := browser.Load(t, url, filepath.Join(out, "certs", "ca.pem"), hosts); err == nil || !strings.Contains(err.Error(), "ERR_BAD_SSL_CLIENT_AUTH_CERT") {
					t.Errorf("Chromium without a client certificate = %v, want ERR_BAD_SSL_CLIENT_AUTH_CERT\n%s", err, page.DOM)
				}
				// A JVM service: the .p12 as its javax.net.ssl.keyStore gets in, without it, not.
				truststore := filepath.Join(out, "certs", "truststore.jks")
				if output, err := javatls.JavaClientWithCert(t, truststore, "JKS", ours.p12, ours.password, host, server.Local, "/api/v1/client"); err != nil || !strings.Contains(output, "CN=ci-bot") {
					t.Errorf("the JVM with ci-bot.p12 as its keyStore: %v\n%s", err, output)
				}
				if output, err := javatls.JavaClientWithCert(t, truststore, "JKS", "", "", host, server.Local, "/api/v1/client"); err == nil {
					t.Errorf("the JVM without a client certificate got in:\n%s", output)
				}
			}
			// The probes' port asks for no certificate.
			if output, err := exec.Command(curl, "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://%s:8081/health", server.Pod.IP)).CombinedOutput(); err != nil || string(output) != "200" {
				t.Errorf("the management port with --client-auth %s: %v %s", tc.mode, err, output)
			}
		})
	}
}

// TestClientCertificatesLiveThroughACARotation: Kestra's own server with --client-auth need, through the
// CA rotation's states as rotate-ca sets them (certificates.rotation trust, then issue, then the next CA
// promoted): a client of the old CA keeps getting in while both are trusted, a client of the next CA gets
// in from step 1 on; once the rotation is finished only the new CA's clients do, and `certs --client`
// issues the old client again, from the new CA.
func TestClientCertificatesLiveThroughACARotation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	curl := testutil.Program(t, "curl", "apt-get install curl")
	const host = "kestra.example.com"
	out := filepath.Join(t.TempDir(), "overlay")
	certs := filepath.Join(out, "certs")
	generate := func(extra ...string) {
		t.Helper()
		if _, stderr, err := runCmd(t, append([]string{"generate", "-o", out, "--mode", "app", "--host", host, "--client-auth", "need"}, extra...)...); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	// asks says whether Kestra's server, started from the overlay as it is now, lets client in.
	asks := func(client clientCert, trusted ...string) (string, error) {
		t.Helper()
		p, err := kestrapod.Start(builtObjects(t, out), "Deployment", "kestra", "kestra")
		if err != nil {
			t.Fatal(err)
		}
		server := kestrapod.Run(t, p)
		bundle := filepath.Join(t.TempDir(), "cas.pem")
		var pem []byte
		for _, file := range trusted {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			pem = append(pem, data...)
		}
		if err := os.WriteFile(bundle, pem, 0o644); err != nil {
			t.Fatal(err)
		}
		output, err := exec.Command(curl, "-sS", "--max-time", "10", "--cacert", bundle, "--cert", client.pem, "--key", client.key,
			"--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, server.Local), fmt.Sprintf("https://%s:%d/api/v1/client", host, server.Local)).CombinedOutput()
		return strings.TrimSpace(string(output)), err
	}
	oldCA, nextCA := filepath.Join(certs, "ca.pem"), filepath.Join(certs, "ca-next.pem")

	generate()
	old := issueClient(t, certs, "old-bot")
	if output, err := asks(old, oldCA); err != nil || output != "CN=old-bot" {
		t.Fatalf("before the rotation, the old CA's client: %v %q", err, output)
	}
	for _, step := range []string{"trust", "issue"} {
		generate("--set", "certificates.rotation="+step)
		next := issueClient(t, t.TempDir(), "next-bot", "--client-ca", nextCA, "--client-ca-key", filepath.Join(certs, "ca-next.key"))
		for _, client := range []clientCert{old, next} {
			if output, err := asks(client, oldCA, nextCA); err != nil || output != "CN="+client.name {
				t.Errorf("rotation step %s: %s refused: %v %q", step, client.name, err, output)
			}
		}
	}
	// rotate-ca --finish: the next CA becomes the CA, the old one leaves the truststore.
	if _, err := generatepkg.FinishRotation(certs, time.Now()); err != nil {
		t.Fatal(err)
	}
	generate("--set", "certificates.rotation=")
	if output, err := asks(old, oldCA); err == nil {
		t.Errorf("after the rotation, the old CA's client still gets in (%q)", output)
	}
	again := issueClient(t, certs, "old-bot")
	if output, err := asks(again, oldCA); err != nil || output != "CN=old-bot" {
		t.Errorf("old-bot issued again from the new CA: %v %q", err, output)
	}
}

// TestIngressNginxAsksForClientCertificatesOnlyOnItsOwnClass: ingress mode with --client-auth for the
// class named nginx, on the real API server. Where that class is F5's NGINX Ingress Controller (it ignores
// ingress-nginx's annotations, so every client would get in), apply refuses and writes nothing; on
// ingress-nginx's class it applies the Ingress with auth-tls-* naming the Secret of our CA, and status
// reports who checks client certificates and that CA's expiry, and that a missing CA Secret locks every
// client out. ingress-nginx itself (nginx with its Lua modules) cannot run here: what it does with these
// annotations is its documented behaviour, not proven by this test.
func TestIngressNginxAsksForClientCertificatesOnlyOnItsOwnClass(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	const ns = "nginx-mtls"
	classes := c.Client.NetworkingV1().IngressClasses()
	makeClass := func(controller string) {
		t.Helper()
		// spec.controller is immutable: the class is made again for each controller.
		if err := classes.Delete(ctx, "nginx", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if _, err := classes.Create(ctx, class, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { classes.Delete(context.Background(), "nginx", metav1.DeleteOptions{}) })
	caDir := t.TempDir()
	apply := func(ns string) (string, string, error) {
		return applyCmd(t, c, ns, filepath.Join(t.TempDir(), "overlay"), "--host", "kestra.nginx-mtls.test", "--self-signed", "--ca-dir", caDir,
			"--ingress-class", "nginx", "--client-auth", "need", "--create-namespace", "--timeout", "60s")
	}

	makeClass("nginx.org/ingress-controller")
	// Its own namespace: apply removes the namespace it made for a refused overlay, and this control plane
	// has no namespace controller to finish that.
	_, stderr, err := apply(ns + "-f5")
	if err == nil || !strings.Contains(err.Error(), "IngressClass nginx is served by nginx.org/ingress-controller") || !strings.Contains(err.Error(), "nothing was applied") {
		t.Fatalf("apply on F5's class = %v, want a refusal naming the class's controller:\n%s", err, stderr)
	}
	if _, err := c.Client.NetworkingV1().Ingresses(ns+"-f5").Get(ctx, "kestra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused apply left an Ingress (err = %v)", err)
	}

	makeClass("k8s.io/ingress-nginx")
	if stdout, stderr, err := apply(ns); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	ingress, err := c.Client.NetworkingV1().Ingresses(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"nginx.ingress.kubernetes.io/auth-tls-secret":        ns + "/kestra-tls-client-ca",
		"nginx.ingress.kubernetes.io/auth-tls-verify-client": "on",
	} {
		if got := ingress.Annotations[key]; got != want {
			t.Errorf("Ingress annotation %s = %q, want %q", key, got, want)
		}
	}
	// ingress-nginx reads the CA from the Secret's ca.crt.
	secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, "kestra-tls-client-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ourCA, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["ca.crt"]) != string(ourCA) {
		t.Errorf("Secret kestra-tls-client-ca's ca.crt is not our CA:\n%s", secret.Data["ca.crt"])
	}
	cas, err := pki.ParseCertificates(ourCA)
	if err != nil || len(cas) != 1 {
		t.Fatalf("ca.pem: %v", err)
	}

	report, _ := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	if got := install.ClientAuth; got == nil || got.Mode != "need" || got.CheckedBy != "IngressClass nginx" || len(got.CAs) != 1 || got.CAs[0].Subject != cas[0].Subject.CommonName || !got.CAs[0].NotAfter.Equal(cas[0].NotAfter) {
		t.Errorf("status's clientAuth = %+v, want need, checked by IngressClass nginx, against %q until %s", got, cas[0].Subject.CommonName, cas[0].NotAfter)
	}
	stdout, _, _ := runCmd(t, append([]string{"status"}, clusterArgs(c, "", ns)...)...)
	if want := fmt.Sprintf("client certificates required by IngressClass nginx; client CA %q expires %s", cas[0].Subject.CommonName, cas[0].NotAfter.Format("2006-01-02")); !strings.Contains(stdout, want) {
		t.Errorf("status does not say %q:\n%s", want, stdout)
	}

	// A class of ingress-nginx under a name of the cluster's own: values say whose it is.
	internal := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx-internal"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	if _, err := classes.Create(ctx, internal, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { classes.Delete(context.Background(), "nginx-internal", metav1.DeleteOptions{}) })
	if stdout, stderr, err := applyCmd(t, c, ns+"-internal", filepath.Join(t.TempDir(), "overlay"), "--host", "kestra.nginx-internal.test", "--self-signed", "--ca-dir", caDir,
		"--ingress-class", "nginx-internal", "--set", "ingress.controller=nginx", "--client-auth", "want", "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("--ingress-class nginx-internal --set ingress.controller=nginx: %v\n%s\n%s", err, stdout, stderr)
	}
	if ingress, err := c.Client.NetworkingV1().Ingresses(ns+"-internal").Get(ctx, "kestra", metav1.GetOptions{}); err != nil || ingress.Annotations["nginx.ingress.kubernetes.io/auth-tls-verify-client"] != "optional" {
		t.Errorf("the Ingress on class nginx-internal does not ask for client certificates the optional way (%v): %v", err, ingress.Annotations)
	}

	if err := c.Client.CoreV1().Secrets(ns).Delete(ctx, "kestra-tls-client-ca", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	report, code := statusOf(t, c, ns)
	if findings := findingsText(onlyInstall(t, report)); code == 0 || !strings.Contains(findings, "broken: Secret kestra-tls-client-ca") || !strings.Contains(findings, "refuses every client") {
		t.Errorf("status without the client CA's Secret (exit %d) does not say every client is refused:\n%s", code, findings)
	}
}

// TestClientCAsBesideCertManagersKeystore: app mode with the keystore from cert-manager and --client-ca:
// cert-manager's truststore holds its issuer's CA, so the clients' CA travels in a ConfigMap projected
// beside the stores. Kestra's own server, on the pod as the cluster holds it, asked by the real curl: a
// client of the --client-ca CA gets in, one without a certificate and one of the issuer's CA (ours) do not;
// status names the ConfigMap and that CA's expiry.
func TestClientCAsBesideCertManagersKeystore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server and the control plane (-short)")
	}
	curl := testutil.Program(t, "curl", "apt-get install curl")
	c := testCluster(t)
	ctx := context.Background()
	const ns, host = "appcm-client-ca", "kestra.client-ca.test"
	corporate := t.TempDir()
	if _, stderr, err := runCmd(t, "certs", "--host", "clients.corp.test", "--ca-common-name", "Corporate Clients CA", "-o", corporate); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	theirs := issueClient(t, corporate, "ci-bot")
	out := filepath.Join(t.TempDir(), "overlay")
	if stdout, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", host, "--self-signed", "--app-issuer", "cert-manager",
		"--client-auth", "need", "--client-ca", filepath.Join(corporate, "ca.pem"), "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	ours := issueClient(t, filepath.Join(out, "certs"), "ours")

	report, _ := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	if got := install.ClientAuth; got == nil || got.Mode != "need" || got.CheckedBy != "Kestra" || !strings.HasPrefix(got.Source, "ConfigMap kestra-tls-client-trust-") || len(got.CAs) != 1 || got.CAs[0].Subject != "Corporate Clients CA" {
		t.Errorf("status's clientAuth = %+v, want need, checked by Kestra against Corporate Clients CA in ConfigMap kestra-tls-client-trust-*\n%s", got, findingsText(install))
	}
	p := livePod(t, c, ns, install.Keystore)
	server := kestrapod.Run(t, p)
	secret, err := c.Client.CoreV1().Secrets(ns).Get(ctx, install.Keystore.Secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, secret.Data["ca.crt"], 0o644); err != nil {
		t.Fatal(err)
	}
	ask := func(client ...string) (string, error) {
		argv := append([]string{"-sS", "--max-time", "10", "--cacert", caFile, "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, server.Local)}, client...)
		output, err := exec.Command(curl, append(argv, fmt.Sprintf("https://%s:%d/api/v1/client", host, server.Local))...).CombinedOutput()
		return strings.TrimSpace(string(output)), err
	}
	if output, err := ask("--cert", theirs.pem, "--key", theirs.key); err != nil || output != "CN=ci-bot" {
		t.Errorf("a client of the --client-ca CA: %v, Kestra's server verified %q, want CN=ci-bot", err, output)
	}
	for what, client := range map[string][]string{"no certificate": nil, "a client of cert-manager's issuer CA": {"--cert", ours.pem, "--key", ours.key}} {
		if output, err := ask(client...); err == nil {
			t.Errorf("%s: accepted by Kestra's server (it verified %q), want a refused handshake", what, output)
		}
	}
}

// TestWithoutATruststoreKestraVerifiesClientsAgainstTheJVMsRoots is the finding behind generate's refusal
// of --client-auth over a keystore from the user's issuer without --client-ca: Micronaut with
// clientAuthentication need and no truststore of its own verifies client certificates against the JVM's
// default trust (cacerts, or javax.net.ssl.trustStore), so a certificate any CA there signed gets in. Kestra's
// own server runs an app-mode overlay with its trust-name taken out and a JVM trust store holding only
// another CA: that CA's client is let in, ours refused.
func TestWithoutATruststoreKestraVerifiesClientsAgainstTheJVMsRoots(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kestra's server (-short)")
	}
	curl := testutil.Program(t, "curl", "apt-get install curl")
	const host = "kestra.example.com"
	other := t.TempDir()
	if _, stderr, err := runCmd(t, "certs", "--host", "other.example.com", "--ca-common-name", "A CA of the JVM's roots", "-o", other); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	outsider := issueClient(t, other, "outsider")
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", host, "--client-auth", "need"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ours := issueClient(t, filepath.Join(out, "certs"), "ci-bot")

	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := built.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	// What Micronaut gets over a keystore whose truststore kestra-tls cannot fill: no trust-name.
	withoutTrust := regexp.MustCompile(`(?m)^\s*trust-name: kestra-tls-trust\n`).ReplaceAll(stream, nil)
	if bytes.Equal(withoutTrust, stream) {
		t.Fatal("the overlay's configuration names no trust-name to take out")
	}
	objects := decodeObjects(t, withoutTrust)
	otherPEM, err := os.ReadFile(filepath.Join(other, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.ParseCertificates(otherPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := keystore.JKS([]keystore.TrustedEntry{{Alias: "jvm-root", Cert: otherCA[0]}}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	// The JVM's trust store travels in the stores Secret and volume, and JAVA_OPTS names it.
	for _, object := range objects {
		switch object["kind"] {
		case "Secret":
			if data, ok := object["data"].(map[string]any); ok && data["keystore.p12"] != nil {
				data["jvm-roots.jks"] = base64.StdEncoding.EncodeToString(roots)
			}
		case "Deployment":
			spec := object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			for _, volume := range spec["volumes"].([]any) {
				if secret, ok := volume.(map[string]any)["secret"].(map[string]any); ok {
					secret["items"] = append(secret["items"].([]any), map[string]any{"key": "jvm-roots.jks", "path": "jvm-roots.jks"})
				}
			}
			container := spec["containers"].([]any)[0].(map[string]any)
			container["env"] = append(container["env"].([]any), map[string]any{"name": "JAVA_OPTS", "value": "-Djavax.net.ssl.trustStore=/app/ssl/jvm-roots.jks -Djavax.net.ssl.trustStoreType=JKS"})
		}
	}
	p, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatal(err)
	}
	server := kestrapod.Run(t, p)
	ask := func(c clientCert) (string, error) {
		output, err := exec.Command(curl, "-sS", "--max-time", "10", "--cacert", filepath.Join(out, "certs", "ca.pem"), "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, server.Local),
			"--cert", c.pem, "--key", c.key, fmt.Sprintf("https://%s:%d/api/v1/client", host, server.Local)).CombinedOutput()
		return strings.TrimSpace(string(output)), err
	}
	if output, err := ask(outsider); err != nil || output != "CN=outsider" {
		t.Errorf("a client of the JVM's roots: %v, Kestra's server verified %q; the finding no longer holds (want CN=outsider)", err, output)
	}
	if output, err := ask(ours); err == nil {
		t.Errorf("our client got in (verified %q) though no truststore names our CA", output)
	}
}
