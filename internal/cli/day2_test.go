package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
)

// statusOf runs `status -o json` and decodes the report into its Go type; code is the exit status.
func statusOf(t *testing.T, c *cluster.Cluster, namespace string, extra ...string) (status.Report, int) {
	t.Helper()
	stdout, stderr, err := runCmd(t, append(append([]string{"status", "-o", "json"}, extra...), clusterArgs(c, "", namespace)...)...)
	var report status.Report
	if jsonErr := json.Unmarshal([]byte(stdout), &report); jsonErr != nil {
		t.Fatalf("status -o json is not a report: %v (%v)\n%s\n%s", jsonErr, err, stdout, stderr)
	}
	return report, ExitCode(err)
}

// install is the report's only install, failing the test otherwise.
func onlyInstall(t *testing.T, report status.Report) status.Install {
	t.Helper()
	if len(report.Installs) != 1 {
		t.Fatalf("status found %d installs, want 1: %+v", len(report.Installs), report.Installs)
	}
	return report.Installs[0]
}

func findingsText(install status.Install) string {
	var lines []string
	for _, f := range install.Findings {
		lines = append(lines, string(f.Severity)+": "+f.Message)
	}
	return strings.Join(lines, "\n")
}

// startStandInPods does what the Deployment controller and the kubelet would (neither runs in this
// control plane): replace the workload's pods with one made from its current pod template, started now.
func startStandInPods(t *testing.T, c *cluster.Cluster, namespace, deployment string) {
	t.Helper()
	ctx := context.Background()
	d, err := c.Client.AppsV1().Deployments(namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := c.Client.CoreV1().Pods(namespace)
	selector := metav1.FormatLabelSelector(d.Spec.Selector)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}, metav1.ListOptions{LabelSelector: selector}); err != nil {
		t.Fatal(err)
	}
	// Without a kubelet, deleted pods go at once (no finalizers), and the pod's start lies after the Secret's write.
	time.Sleep(1100 * time.Millisecond)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: deployment + "-", Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Now())
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now}
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// storesOf copies Kestra's stores and password from the cluster into a folder, as the pod mounts them.
func storesOf(t *testing.T, c *cluster.Cluster, namespace string, keystore *status.Keystore) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	stores, err := c.Client.CoreV1().Secrets(namespace).Get(ctx, keystore.Secret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	password, err := c.Client.CoreV1().Secrets(namespace).Get(ctx, keystore.PasswordSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"keystore.p12": stores.Data["keystore.p12"], "truststore.jks": stores.Data["truststore.jks"], "store-password": password.Data["password"]}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// servePod starts the JVM that stands in for Kestra as the pod its workload makes would run it: the live pod
// template, and the Secrets and ConfigMaps it mounts and reads as the cluster holds them (cert-manager's
// keystore Secret included), the files laid out as the kubelet does, the JVM run as the container's user.
func servePod(t *testing.T, c *cluster.Cluster, namespace string, keystore *status.Keystore) int {
	t.Helper()
	return kestrapod.Serve(t, livePod(t, c, namespace, keystore))
}

// livePod is Kestra's container as the pod its workload makes would start now: the live pod template, and
// the Secrets and ConfigMaps as the cluster holds them.
func livePod(t *testing.T, c *cluster.Cluster, namespace string, keystore *status.Keystore) *kestrapod.Process {
	t.Helper()
	if keystore == nil || len(keystore.Workloads) == 0 {
		t.Fatal("status names no workload mounting the stores")
	}
	kind, name, _ := strings.Cut(keystore.Workloads[0], "/")
	ctx := context.Background()
	var workload any
	var err error
	if kind == "StatefulSet" {
		workload, err = c.Client.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	} else {
		workload, err = c.Client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	objects := []map[string]any{asObject(t, kind, workload)}
	secrets, err := c.Client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range secrets.Items {
		objects = append(objects, asObject(t, "Secret", &secrets.Items[i]))
	}
	configMaps, err := c.Client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range configMaps.Items {
		objects = append(objects, asObject(t, "ConfigMap", &configMaps.Items[i]))
	}
	container := ""
	for _, c := range dig(objects[0], "spec", "template", "spec", "containers").([]any) {
		for _, m := range asSlice(c.(map[string]any)["volumeMounts"]) {
			if container == "" && m.(map[string]any)["name"] == model.StoresVolume {
				container = c.(map[string]any)["name"].(string)
			}
		}
	}
	p, err := kestrapod.Start(objects, kind, name, container)
	if err != nil {
		t.Fatalf("Kestra would not start from the cluster's %s %s: %v", kind, name, err)
	}
	return p
}

// asObject is a typed API object as the launcher reads objects: a map, with its kind.
func asObject(t *testing.T, kind string, object any) map[string]any {
	t.Helper()
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(object)
	if err != nil {
		t.Fatal(err)
	}
	fields["kind"] = kind
	return fields
}

func asSlice(node any) []any {
	list, _ := node.([]any)
	return list
}

// TestStatusAndRenewOfAppModeWithOurCA follows an app-mode install through its second day: status finds
// it by its stores Secret and checks the keystore the way Kestra loads it, a JVM serving those stores
// matches --url, renew mints a new server certificate from the same CA, and status then reports the pods
// still on the old stores until they are replaced, and a JVM still serving them as broken.
func TestStatusAndRenewOfAppModeWithOurCA(t *testing.T) {
	c := testCluster(t)
	ns := "day2-app"
	out := filepath.Join(t.TempDir(), "overlay")
	// A Kestra before 1.3, which reads its keystore at start (TestKestraReloadsARenewedCertificateWithoutRestart
	// renews one that reloads).
	if _, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", "kestra.day2.test", "--kestra-version", "1.2", "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	startStandInPods(t, c, ns, "kestra")

	report, code := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	if code != 0 || install.Health != status.Healthy {
		t.Fatalf("status of a fresh app install = exit %d, %s:\n%s", code, install.Health, findingsText(install))
	}
	k := install.Keystore
	if install.Mode != "app" || install.Kind != "Deployment" || install.Name != "kestra" || strings.Join(install.Hosts, ",") != "kestra.day2.test" {
		t.Errorf("install = %s %s/%s %v, want app Deployment/kestra [kestra.day2.test]", install.Mode, install.Kind, install.Name, install.Hosts)
	}
	if k == nil || !k.Opens || !k.KeyMatches || !k.TruststoreHoldsIssuer || k.Leaf == nil || k.Leaf.VerifiedBy != "truststore" || k.Pods != 1 || k.RestartNeeded {
		t.Fatalf("keystore = %+v", k)
	}
	if report.Requests != 14 {
		t.Errorf("status made %d requests, want its fixed 14 lists", report.Requests)
	}

	// A JVM loading the stores from the cluster, with the password from its Secret, serves what status expects.
	port := servePod(t, c, ns, k)
	url := fmt.Sprintf("https://kestra.day2.test:%d", port)
	connect := fmt.Sprintf("127.0.0.1:%d", port)
	report, code = statusOf(t, c, ns, "--url", url, "--connect-to", connect)
	if served := onlyInstall(t, report).Served; code != 0 || served == nil || !served.MatchesSecret {
		t.Fatalf("status --url against the JVM serving our stores = exit %d, served %+v\n%s", code, served, findingsText(onlyInstall(t, report)))
	}

	// renew DIR: a new server certificate from the CA kept in the overlay.
	caBefore, err := os.ReadFile(filepath.Join(out, "certs", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCmd(t, append([]string{"renew", out}, clusterArgs(c, "", ns)...)...)
	if err != nil {
		t.Fatalf("renew %s: %v\n%s\n%s", out, err, stdout, stderr)
	}
	caAfter, _ := os.ReadFile(filepath.Join(out, "certs", "ca.pem"))
	if string(caBefore) != string(caAfter) {
		t.Error("renew replaced the CA; it must only mint a new server certificate from it")
	}
	report, code = statusOf(t, c, ns, "--url", url, "--connect-to", connect)
	install = onlyInstall(t, report)
	if install.Keystore.Leaf.Fingerprint == k.Leaf.Fingerprint {
		t.Fatal("after renew the stores Secret holds the same certificate")
	}
	// The stores Secret has a new hashed name: the old pod is on the old one until the rollout replaces it,
	// and the JVM that loaded the old stores serves a certificate that is no longer the Secret's.
	if code != exitStatusBroken || install.Served == nil || install.Served.MatchesSecret ||
		len(install.Keystore.StalePods) != 1 || install.Keystore.StalePods[0].Reason != status.OlderSecret {
		t.Errorf("status after renew, before the rollout = exit %d, served %+v, stale %+v\n%s", code, install.Served, install.Keystore.StalePods, findingsText(install))
	}
	if !strings.Contains(findingsText(install), "not the one in Secret") {
		t.Errorf("the served mismatch is not explained:\n%s", findingsText(install))
	}

	startStandInPods(t, c, ns, "kestra")
	port = servePod(t, c, ns, install.Keystore)
	report, code = statusOf(t, c, ns, "--url", fmt.Sprintf("https://kestra.day2.test:%d", port), "--connect-to", fmt.Sprintf("127.0.0.1:%d", port))
	if install = onlyInstall(t, report); code != 0 || !install.Served.MatchesSecret {
		t.Errorf("status after the rollout = exit %d:\n%s", code, findingsText(install))
	}

	// The table names the install; an empty namespace is an error naming the flags.
	table, _, err := runCmd(t, append([]string{"status"}, clusterArgs(c, "", ns)...)...)
	if err != nil || !strings.Contains(table, "deployment/kestra") || !strings.Contains(table, "healthy") {
		t.Errorf("status table = %v\n%s", err, table)
	}
	_, _, err = runCmd(t, append([]string{"status"}, clusterArgs(c, "", "day2-nothing")...)...)
	if err == nil || ExitCode(err) != 1 || !strings.Contains(err.Error(), "-A") {
		t.Errorf("status in an empty namespace = %v, want exit 1 naming -n/-A", err)
	}

	// Stores mounted for root alone (what kestra-tls wrote before 0444): Kestra's image user cannot open them.
	rootOnly := []byte(`{"spec":{"template":{"spec":{"volumes":[{"name":"kestra-ssl","secret":{"defaultMode":256}}]}}}}`)
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(context.Background(), "kestra", types.StrategicMergePatchType, rootOnly, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	report, code = statusOf(t, c, ns)
	install = onlyInstall(t, report)
	if code != exitStatusBroken || len(install.Keystore.Unreadable) != 1 || !strings.Contains(findingsText(install), "cannot read keystore.p12 (mode 0400)") || !strings.Contains(findingsText(install), "fsGroup") {
		t.Errorf("status of stores mounted 0400 for the image's non-root user = exit %d, unreadable %v:\n%s", code, install.Keystore.Unreadable, findingsText(install))
	}
}

// TestStatusAndRenewOfIngressInstalls checks ingress installs against the real cert-manager: a healthy one;
// one whose certificate expires within --warn-within (a 1h certificate from the CA issuer); renew asking
// cert-manager for a new revision; and one whose Secret no longer covers a host the Ingress serves.
func TestStatusAndRenewOfIngressInstalls(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	ns := "day2-ingress"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := applyCmd(t, c, ns, out, "--host", "kestra.day2.test", "--self-signed", "--ca-dir", sharedCADir,
		"--set", `ingress.annotations.cert-manager\.io/duration=1h`, "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	// The certificate lives an hour: within the default 30d window it would warn.
	report, code := statusOf(t, c, ns, "--warn-within", "30m")
	install := onlyInstall(t, report)
	if code != 0 || install.Mode != "ingress" || install.Certificate == nil || !install.Certificate.Ready || !install.Certificate.Issuer.Ready ||
		install.TLSSecret == nil || install.TLSSecret.VerifiedBy != "ca.crt" || len(install.TLSSecret.MissingHosts) != 0 {
		t.Fatalf("status of a Ready ingress install = exit %d %+v %+v\n%s", code, install.Certificate, install.TLSSecret, findingsText(install))
	}
	if install.Certificate.RenewalTime == nil || install.Certificate.NotAfter == nil || install.Certificate.Issuer.Name != "kestra-tls-ca" {
		t.Errorf("certificate = %+v, want its renewal time, expiry and issuer kestra-tls-ca", install.Certificate)
	}

	// The certificate lives an hour: within a 2h window it is a warning (exit 2), outside a 30m one it is not.
	report, code = statusOf(t, c, ns, "--warn-within", "2h")
	if install = onlyInstall(t, report); code != exitStatusWarning || install.Health != status.Warning || !strings.Contains(findingsText(install), "expires in") {
		t.Errorf("status --warn-within 2h of a 1h certificate = exit %d:\n%s", code, findingsText(install))
	}
	if _, code = statusOf(t, c, ns, "--warn-within", "30m"); code != 0 {
		t.Errorf("status --warn-within 30m of a 1h certificate = exit %d, want 0", code)
	}

	// renew: cert-manager issues a new revision now; renew waits for it. (Ready can show before cert-manager
	// records the revision, so the revision compared is the one renew read when it triggered.)
	stdout, stderr, err := runCmd(t, append([]string{"renew", "--timeout", "60s"}, clusterArgs(c, "", ns)...)...)
	if err != nil {
		t.Fatalf("renew: %v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	match := regexp.MustCompile(`reissue triggered \(revision (\d+)\)`).FindStringSubmatch(stdout)
	if match == nil {
		t.Fatalf("renew did not report the revision it replaced:\n%s", stdout)
	}
	revision, _ := strconv.ParseInt(match[1], 10, 64)
	report, _ = statusOf(t, c, ns, "--warn-within", "30m")
	renewed := onlyInstall(t, report)
	if renewed.Certificate.Revision <= revision || renewed.TLSSecret.Fingerprint == install.TLSSecret.Fingerprint || !renewed.Certificate.Ready {
		t.Errorf("after renew: revision %d -> %d, certificate changed %v, Ready %v\n%s", revision, renewed.Certificate.Revision,
			renewed.TLSSecret.Fingerprint != install.TLSSecret.Fingerprint, renewed.Certificate.Ready, stdout)
	}
	if !strings.Contains(stdout, "reissue triggered (revision") || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls Ready") {
		t.Errorf("renew output:\n%s", stdout)
	}

	// Without cert-manager, a host added to the Ingress is one the Secret does not cover: broken (exit 3).
	plain := "day2-plain"
	plainOut := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := applyCmd(t, c, plain, plainOut, "--host", "kestra.day2.test", "--self-signed", "--no-cert-manager", "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, code := statusOf(t, c, plain); code != 0 {
		t.Fatalf("status of the plain-Secret install = exit %d", code)
	}
	ingress, err := c.Client.NetworkingV1().Ingresses(plain).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ingress.Spec.TLS[0].Hosts = append(ingress.Spec.TLS[0].Hosts, "new.day2.test")
	if _, err := c.Client.NetworkingV1().Ingresses(plain).Update(ctx, ingress, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	report, code = statusOf(t, c, plain)
	install = onlyInstall(t, report)
	if code != exitStatusBroken || strings.Join(install.TLSSecret.MissingHosts, ",") != "new.day2.test" || !strings.Contains(findingsText(install), "does not cover new.day2.test") {
		t.Errorf("status with a host the Secret lacks = exit %d, missing %v:\n%s", code, install.TLSSecret.MissingHosts, findingsText(install))
	}
	// -A sees both namespaces' installs, each with its own verdict; the worst decides.
	report, code = statusOf(t, c, "", "-A", "--warn-within", "30m")
	seen := map[string]status.Health{}
	for _, i := range report.Installs {
		seen[i.Namespace] = i.Health
	}
	if code != exitStatusBroken || seen[ns] != status.Healthy || seen[plain] != status.Broken {
		t.Errorf("status -A = exit %d, %v", code, seen)
	}
}

// TestAppModeKeystoreFromCertManager has cert-manager issue Kestra's own stores (--app-issuer cert-manager
// through our CA issuer): the JVM loads its Modern2023 keystore.p12 and truststore.jks with the password
// from our Secret and serves a certificate curl verifies for the public host and the Service name; after a
// renewal in place status says a restart is due, and renew restarts Kestra's workload.
func TestAppModeKeystoreFromCertManager(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	ns := "day2-appcm"
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", "kestra.day2.test", "--self-signed", "--app-issuer", "cert-manager",
		"--restart-on-renewal", "reloader", "--kestra-version", "1.2", "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("%v\n%s\n%s\ncert-manager:\n%s", err, stdout, stderr, c.Logs.Tail(20))
	}
	if !strings.Contains(stdout, "certificate.cert-manager.io/kestra-ssl Ready (kestra.day2.test, kestra.day2-appcm.svc, kestra.day2-appcm.svc.cluster.local)") {
		t.Errorf("apply did not wait for the keystore's Certificate:\n%s", stdout)
	}
	deployment, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := deployment.Annotations["secret.reloader.stakater.com/reload"]; got != "kestra-ssl" {
		t.Errorf("Reloader's annotation = %q, want kestra-ssl", got)
	}
	startStandInPods(t, c, ns, "kestra")

	report, code := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	k := install.Keystore
	if code != 0 || k == nil || !k.Opens || !k.KeyMatches || !k.TruststoreHoldsIssuer || install.Certificate == nil || install.Certificate.Name != "kestra-ssl" {
		t.Fatalf("status of cert-manager's keystore = exit %d, %+v, %+v\n%s", code, k, install.Certificate, findingsText(install))
	}

	// The JVM loads cert-manager's stores with the password from our Secret, as Micronaut would.
	dir := storesOf(t, c, ns, k)
	port := servePod(t, c, ns, k)
	caFile := filepath.Join(out, "certs", "ca.pem")
	for _, host := range []string{"kestra.day2.test", "kestra.day2-appcm.svc", "kestra.day2-appcm.svc.cluster.local"} {
		if body, err := javatls.Curl(t, caFile, host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("curl --cacert ca.pem https://%s against cert-manager's keystore: %v\n%s", host, err, body)
		}
	}
	password, _ := os.ReadFile(filepath.Join(dir, "store-password"))
	if body, err := javatls.JavaClient(t, filepath.Join(dir, "truststore.jks"), "JKS", string(password), "kestra.day2.test", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("a Java client trusting cert-manager's truststore.jks: %v\n%s", err, body)
	}
	url, connect := fmt.Sprintf("https://kestra.day2.test:%d", port), fmt.Sprintf("127.0.0.1:%d", port)

	// cert-manager renews in place (here asked by renew --restart=false, as its own renewal would): the pod
	// still serves the stores it loaded at start.
	if stdout, stderr, err := runCmd(t, append([]string{"renew", "--restart=false", "--timeout", "60s"}, clusterArgs(c, "", ns)...)...); err != nil {
		t.Fatalf("renew --restart=false: %v\n%s\n%s", err, stdout, stderr)
	}
	report, code = statusOf(t, c, ns, "--url", url, "--connect-to", connect)
	install = onlyInstall(t, report)
	if code != exitStatusBroken || !install.Keystore.RestartNeeded || install.Served.MatchesSecret ||
		!strings.Contains(findingsText(install), "restart needed") {
		t.Errorf("status after a renewal in place = exit %d, restart needed %v, served matches %v:\n%s", code, install.Keystore.RestartNeeded, install.Served.MatchesSecret, findingsText(install))
	}
	if _, code = statusOf(t, c, ns); code != exitStatusWarning {
		t.Errorf("status without --url after a renewal in place = exit %d, want %d (restart needed)", code, exitStatusWarning)
	}

	// renew restarts the workload the way kubectl rollout restart does.
	stdout, stderr, err = runCmd(t, append([]string{"renew", "--timeout", "60s"}, clusterArgs(c, "", ns)...)...)
	if err != nil || !strings.Contains(stdout, "deployment.apps/kestra restarted") {
		t.Fatalf("renew: %v\n%s\n%s", err, stdout, stderr)
	}
	restarted, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if restarted.Generation <= deployment.Generation || restarted.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("renew did not roll the pod template: generation %d -> %d, annotations %v", deployment.Generation, restarted.Generation, restarted.Spec.Template.Annotations)
	}
	startStandInPods(t, c, ns, "kestra")
	port = servePod(t, c, ns, install.Keystore)
	report, code = statusOf(t, c, ns, "--url", fmt.Sprintf("https://kestra.day2.test:%d", port), "--connect-to", fmt.Sprintf("127.0.0.1:%d", port))
	if install = onlyInstall(t, report); code != 0 || install.Keystore.RestartNeeded {
		t.Errorf("status after renew's restart = exit %d:\n%s", code, findingsText(install))
	}

	// A new store password changes our password Secret, but cert-manager encrypts keystores only when it
	// issues: apply sees that they no longer open, has cert-manager issue again, and waits for it.
	// Times in the API are whole seconds: let the Secret's next write fall in a later second than the pods' start.
	time.Sleep(1100 * time.Millisecond)
	passwordFile := filepath.Join(t.TempDir(), "store-password")
	if err := os.WriteFile(passwordFile, []byte("a-new-store-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	changePassword := []string{out, "--mode", "app", "--host", "kestra.day2.test", "--self-signed", "--app-issuer", "cert-manager",
		"--restart-on-renewal", "reloader", "--store-password-file", passwordFile, "--timeout", "60s"}
	stdout, stderr, err = applyCmd(t, c, ns, changePassword...)
	if err != nil || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-ssl reissue triggered: its keystores do not open with the new store password") ||
		!strings.Contains(stdout, "certificate.cert-manager.io/kestra-ssl Ready") {
		t.Fatalf("apply with a new store password: %v\n%s\n%s", err, stdout, stderr)
	}
	report, code = statusOf(t, c, ns)
	if install = onlyInstall(t, report); code != exitStatusWarning || !install.Keystore.Opens || !install.Keystore.RestartNeeded {
		t.Errorf("status after the password change = exit %d, opens %v, restart needed %v (want the keystore to open, and a restart due):\n%s",
			code, install.Keystore.Opens, install.Keystore.RestartNeeded, findingsText(install))
	}
	dir = storesOf(t, c, ns, install.Keystore)
	if password, _ := os.ReadFile(filepath.Join(dir, "store-password")); string(password) != "a-new-store-password" {
		t.Errorf("the password Secret holds %d bytes, not the new password", len(password))
	}
	port = servePod(t, c, ns, install.Keystore)
	if body, err := javatls.Curl(t, caFile, "kestra.day2.test", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("the JVM serving the keystores rewritten for the new password: %v\n%s", err, body)
	}
	// The same password again: the keystores open, nothing is reissued.
	if stdout, stderr, err = applyCmd(t, c, ns, changePassword...); err != nil || strings.Contains(stdout, "reissue triggered") {
		t.Errorf("apply with an unchanged password: %v\n%s\n%s", err, stdout, stderr)
	}
}

// TestRotateCAKeepsTrustAtEveryStep rotates an app-mode install's CA through its three steps. At each step
// Kestra's stores are taken from the cluster and served by the JVM; a Java client holding the truststore
// handed out at step 1 (both CAs) trusts the server at every step, while one that kept only the old CA
// stops at step 2, which is why step 1 comes first. A step not yet live is repeated, not skipped.
func TestRotateCAKeepsTrustAtEveryStep(t *testing.T) {
	c := testCluster(t)
	ns := "day2-rotate"
	host := "kestra.rotate.test"
	out := filepath.Join(t.TempDir(), "overlay")
	// A Kestra before 1.3 reads its stores at start: each step is live once its pods have restarted.
	if _, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", host, "--kestra-version", "1.2", "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	startStandInPods(t, c, ns, "kestra")
	rotate := func(extra ...string) (string, error) {
		stdout, stderr, err := runCmd(t, append(append([]string{"rotate-ca", out}, extra...), clusterArgs(c, "", ns)...)...)
		return stdout + stderr, err
	}
	keystore := func() *status.Keystore {
		report, _ := statusOf(t, c, ns)
		return onlyInstall(t, report).Keystore
	}
	// trusts reports whether a Java client with this truststore accepts the server the cluster's stores make.
	serverPort := func() (int, string) {
		k := keystore()
		password, _ := os.ReadFile(filepath.Join(storesOf(t, c, ns, k), "store-password"))
		return servePod(t, c, ns, k), string(password)
	}
	trusts := func(trustStore, password string, port int) bool {
		body, err := javatls.JavaClient(t, trustStore, "JKS", password, host, port)
		return err == nil && strings.Contains(body, "kestra-tls-ok")
	}
	oldOnly := filepath.Join(storesOf(t, c, ns, keystore()), "truststore.jks")

	// Step 1: both CAs trusted, the certificate still the old CA's.
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 1/3 applied") {
		t.Fatalf("rotate-ca step 1: %v\n%s", err, text)
	}
	// Not live until Kestra's pods run the new stores: a second run repeats step 1 and says so.
	if text, err := rotate(); err == nil || !strings.Contains(err.Error(), "not live yet") || !strings.Contains(err.Error(), "pods still run the stores from before step 1") {
		t.Errorf("rotate-ca before step 1's rollout = %v\n%s", err, text)
	}
	startStandInPods(t, c, ns, "kestra")
	k := keystore()
	if len(k.TrustedCAs) != 2 || !strings.HasPrefix(k.Rotation, "1/3") {
		t.Fatalf("status at step 1: trusted %v, rotation %q", k.TrustedCAs, k.Rotation)
	}
	port, password := serverPort()
	bothCAs := filepath.Join(storesOf(t, c, ns, k), "truststore.jks") // what clients get at step 1
	if !trusts(oldOnly, password, port) || !trusts(bothCAs, password, port) {
		t.Errorf("step 1: a client with the old CA trusts %v, with both %v; want both true", trusts(oldOnly, password, port), trusts(bothCAs, password, port))
	}

	// Step 2: the certificate from the new CA.
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 2/3 applied") {
		t.Fatalf("rotate-ca step 2: %v\n%s", err, text)
	}
	startStandInPods(t, c, ns, "kestra")
	if k = keystore(); !strings.HasPrefix(k.Rotation, "2/3") {
		t.Errorf("status at step 2: rotation %q", k.Rotation)
	}
	port, password = serverPort()
	if !trusts(bothCAs, password, port) {
		t.Error("step 2: a client trusting both CAs does not trust Kestra")
	}
	if trusts(oldOnly, password, port) {
		t.Error("step 2: a client trusting only the old CA still trusts Kestra, so the certificate did not move to the new CA")
	}
	// Repeating step 2 changes nothing.
	before := certsDigest(t, out)
	if text, err := rotate(); err != nil || !strings.Contains(text, "step 2/3 is in place") {
		t.Errorf("rotate-ca at step 2 again: %v\n%s", err, text)
	}
	if diff := cmp.Diff(before, certsDigest(t, out)); diff != "" {
		t.Errorf("repeating step 2 changed certs/ (-want +got):\n%s", diff)
	}

	// Step 3: the new CA alone.
	nextPEM, _ := os.ReadFile(filepath.Join(out, "certs", "ca-next.pem"))
	if text, err := rotate("--finish"); err != nil || !strings.Contains(text, "step 3/3 done") {
		t.Fatalf("rotate-ca --finish: %v\n%s", err, text)
	}
	if caPEM, _ := os.ReadFile(filepath.Join(out, "certs", "ca.pem")); string(caPEM) != string(nextPEM) {
		t.Error("after --finish, certs/ca.pem is not the CA that was ca-next.pem")
	}
	if _, err := os.Stat(filepath.Join(out, "certs", "ca-next.key")); !os.IsNotExist(err) {
		t.Errorf("after --finish the next CA's key is still in certs/: %v", err)
	}
	startStandInPods(t, c, ns, "kestra")
	report, code := statusOf(t, c, ns)
	if k = onlyInstall(t, report).Keystore; code != 0 || len(k.TrustedCAs) != 1 || k.Rotation != "" {
		t.Errorf("status after step 3 = exit %d, trusted %v, rotation %q", code, k.TrustedCAs, k.Rotation)
	}
	port, password = serverPort()
	newOnly := filepath.Join(storesOf(t, c, ns, k), "truststore.jks")
	if !trusts(bothCAs, password, port) || !trusts(newOnly, password, port) {
		t.Error("step 3: a client trusting both CAs, or the new one, does not trust Kestra")
	}
	if _, err := rotate("--finish"); err == nil || !strings.Contains(err.Error(), "no CA rotation is under way") {
		t.Errorf("--finish with no rotation = %v", err)
	}
}

// certsDigest fingerprints each file of the overlay's certs/ folder.
func certsDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	digests := map[string]string{}
	for name, content := range readTree(t, filepath.Join(dir, "certs"), "") {
		digests[name] = fmt.Sprintf("%x", sha256.Sum256([]byte(content)))
	}
	return digests
}

// TestStatusCronJobExampleRunsWithItsRole applies examples/status-cronjob.yaml with the real kubectl (the
// API server validates the CronJob) and runs status as its service account, with exactly the CronJob's
// arguments: the Role is enough, and the verdict is the exit status.
func TestStatusCronJobExampleRunsWithItsRole(t *testing.T) {
	c := testCluster(t)
	ns := "day2-cronjob"
	if _, stderr, err := applyCmd(t, c, ns, filepath.Join(t.TempDir(), "overlay"), "--host", "kestra.cron.test", "--self-signed", "--create-namespace", "--timeout", "60s"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "examples", "status-cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.ReplaceAll(strings.ReplaceAll(string(example), "namespace: kestra\n", "namespace: "+ns+"\n"), "--namespace=kestra", "--namespace="+ns)
	apply := exec.Command(filepath.Join(testutil.BinDir(), "kubectl"), "apply", "--server-side", "--field-manager", "example", "-f", "-", "--kubeconfig", c.Kubeconfig)
	apply.Stdin = strings.NewReader(manifest)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply the example: %v\n%s", err, out)
	}
	cronJob, err := c.Client.BatchV1().CronJobs(ns).Get(context.Background(), "kestra-tls-status", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := cronJob.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	account, err := c.KubeconfigFor("system:serviceaccount:"+ns+":kestra-tls-status", []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCmd(t, append(args, "--kubeconfig", account, "--cache-dir", discoveryDir)...)
	if err != nil || !strings.Contains(stdout, "ingress/kestra") || !strings.Contains(stdout, "healthy") {
		t.Fatalf("status as the CronJob runs it (%v) = %v\n%s\n%s", args, err, stdout, stderr)
	}
	// The same account sees nothing of another namespace: the Role is namespaced.
	if _, _, err := runCmd(t, "status", "-n", "default", "--kubeconfig", account, "--cache-dir", discoveryDir); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("status in another namespace with the example's Role = %v, want forbidden", err)
	}
}
