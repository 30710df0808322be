package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// helmInstall installs (or upgrades) the official chart into the test cluster with the real helm.
func helmInstall(t *testing.T, c *cluster.Cluster, release, namespace string, args ...string) {
	t.Helper()
	testutil.RunHelm(t, append([]string{"upgrade", "--install", release, testutil.Chart(t), "-n", namespace, "--create-namespace",
		"--kubeconfig", c.Kubeconfig, "-f", testutil.ChartValuesFile(t)}, args...)...)
}

// TestHelmTargetInstallsWithHelmAndWaitsForTheCertificate is the chart user's path: generate --target
// helm, apply the folder (the issuer and its CA), `helm upgrade --install` with our values, then `wait`:
// the real cert-manager issues for the chart's Ingress and the certificate names the host.
func TestHelmTargetInstallsWithHelmAndWaitsForTheCertificate(t *testing.T) {
	testutil.Chart(t)
	c := testCluster(t)
	ns := "helm-target"
	out := filepath.Join(t.TempDir(), "kestra-tls-helm")
	if _, stderr, err := runCmd(t, "generate", "--target", "helm", "-o", out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := applyCmd(t, c, ns, out, "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	helmInstall(t, c, "kestra", ns, "-f", filepath.Join(out, overlays.HelmValuesFile))
	stdout, stderr, err := runCmd(t, append([]string{"wait", "--timeout", "60s"}, clusterArgs(c, "", ns)...)...)
	if err != nil || !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls Ready (kestra.example.com)") {
		t.Fatalf("wait = %q, %v\n%s\ncert-manager:\n%s", stdout, err, stderr, c.Logs.Tail(20))
	}
	secret, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), "kestra-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("kestra.example.com"); err != nil {
		t.Error(err)
	}
	// status finds the chart's Ingress by our annotation (the chart owns its labels) and checks it.
	report, code := statusOf(t, c, ns)
	install := onlyInstall(t, report)
	if code != 0 || install.Kind != "Ingress" || install.Certificate == nil || !install.Certificate.Ready || install.TLSSecret == nil || install.TLSSecret.VerifiedBy != "ca.crt" {
		t.Errorf("status of the helm-installed Ingress = exit %d, %+v\n%s", code, install, findingsText(install))
	}
}

// TestApplyOverAHelmReleaseRefusesThenPatchesOnlyOurFields installs the chart with helm, then applies an
// overlay over its `helm template` output: refused before any write, with the helm-values command; with
// --allow-helm-owned, only the fields the overlay sets change, helm keeps the rest, and the objects the
// overlay only carries are left to helm.
func TestApplyOverAHelmReleaseRefusesThenPatchesOnlyOurFields(t *testing.T) {
	testutil.Chart(t)
	c := testCluster(t)
	ns := "helm-owned"
	helmInstall(t, c, "kestra", ns)
	base := filepath.Join(t.TempDir(), "kestra.yaml")
	if err := os.WriteFile(base, testutil.RenderChart(t, "kestra", ns), 0o644); err != nil {
		t.Fatal(err)
	}
	deployments := c.Client.AppsV1().Deployments(ns)
	before, err := deployments.Get(context.Background(), "kestra-standalone", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "overlay")
	args := []string{out, "--base", base, "--host", "kestra.example.com", "--self-signed", "--ca-dir", sharedCADir, "--timeout", "60s"}

	_, _, err = applyCmd(t, c, ns, args...)
	var refused *apply.HelmOwnedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "Deployment helm-owned/kestra-standalone") || !strings.Contains(err.Error(), "--target helm") || !strings.Contains(err.Error(), "--allow-helm-owned") {
		t.Fatalf("apply over a Helm release = %v, want a refusal naming the Deployment, --target helm and --allow-helm-owned", err)
	}
	if _, err := c.Client.NetworkingV1().Ingresses(ns).Get(context.Background(), "kestra", metav1.GetOptions{}); err == nil {
		t.Error("the refused apply wrote the Ingress")
	}
	if after, _ := deployments.Get(context.Background(), "kestra-standalone", metav1.GetOptions{}); after.ResourceVersion != before.ResourceVersion {
		t.Error("the refused apply changed the Deployment")
	}

	stdout, stderr, err := applyCmd(t, c, ns, append(args, "--allow-helm-owned")...)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"configmap/kestra-config unchanged (owned by Helm release kestra", "service/kestra unchanged (owned by Helm release kestra", "deployment.apps/kestra-standalone configured", "certificate.cert-manager.io/kestra-tls Ready"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	after, err := deployments.Get(context.Background(), "kestra-standalone", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var files string
	for _, e := range after.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "MICRONAUT_CONFIG_FILES" {
			files = e.Value
		}
	}
	if files != "/app/confs/_default.yml,"+overlays.ConfigMountPath {
		t.Errorf("MICRONAUT_CONFIG_FILES = %q", files)
	}
	owned := map[string]string{}
	for _, entry := range after.ManagedFields {
		owned[entry.Manager] = string(entry.FieldsV1.Raw)
	}
	ours := owned[apply.FieldManager]
	for _, notOurs := range []string{`"f:image"`, `"f:livenessProbe"`, `"f:replicas"`, `"f:selector"`} {
		if strings.Contains(ours, notOurs) {
			t.Errorf("kubectl-kestra-tls took over %s from helm", notOurs)
		}
	}
	var helmManaged string
	for manager, fields := range owned {
		if manager != apply.FieldManager && strings.Contains(fields, `"f:livenessProbe"`) {
			helmManaged = manager
		}
	}
	if helmManaged == "" {
		t.Errorf("nobody but us manages the probes any more: %v", keys(owned))
	}
	service, _ := c.Client.CoreV1().Services(ns).Get(context.Background(), "kestra", metav1.GetOptions{})
	for _, entry := range service.ManagedFields {
		if entry.Manager == apply.FieldManager {
			data, _ := json.Marshal(entry.FieldsV1)
			t.Errorf("the Service, which ingress mode only carries, is now co-owned by us: %s", data)
		}
	}

	// uninstall gives helm its Deployment back as helm made it, and leaves helm's objects alone.
	stdout, stderr, err = runCmd(t, append([]string{"uninstall", out, "--yes", "--timeout", "0"}, clusterArgs(c, "", ns)...)...)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"deployment.apps/kestra-standalone fields removed", "ingress.networking.k8s.io/kestra deleted"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("uninstall does not say %q:\n%s", want, stdout)
		}
	}
	given, err := deployments.Get(context.Background(), "kestra-standalone", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before.Spec, given.Spec); diff != "" {
		t.Errorf("the Deployment after uninstall is not helm's (-helm +after uninstall):\n%s", diff)
	}
	if diff := cmp.Diff(before.Labels, given.Labels); diff != "" {
		t.Errorf("the Deployment's labels after uninstall are not helm's (-helm +after uninstall):\n%s", diff)
	}
	helmFields := func(object *appsv1.Deployment) map[string]string {
		fields := map[string]string{}
		for _, entry := range object.ManagedFields {
			if entry.Manager != apply.FieldManager && entry.Subresource == "" {
				fields[entry.Manager] = string(entry.FieldsV1.Raw)
			}
		}
		return fields
	}
	if diff := cmp.Diff(helmFields(before), helmFields(given)); diff != "" {
		t.Errorf("helm's managed fields changed (-before our apply +after uninstall):\n%s", diff)
	}
	for _, configMap := range []string{"kestra-config"} {
		if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(context.Background(), configMap, metav1.GetOptions{}); err != nil {
			t.Errorf("helm's ConfigMap %s went: %v", configMap, err)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for key := range m {
		out = append(out, key)
	}
	return out
}
