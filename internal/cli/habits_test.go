package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// TestKubectlHabitsWorkOnTheBuiltBinary types what kubectl, helm and docker compose taught users, into the
// built plugin: each works, or gets kubectl's pointer to help.
func TestKubectlHabitsWorkOnTheBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin (-short)")
	}
	plugin := testutil.Plugin(t)
	run := func(dir string, args ...string) (string, string, error) {
		cmd := exec.Command(plugin, args...)
		cmd.Dir = dir
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	t.Run("version -o json, as kubectl version -o json", func(t *testing.T) {
		stdout, _, err := run(t.TempDir(), "version", "-o", "json")
		var v struct {
			ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		}
		if err != nil || json.Unmarshal([]byte(stdout), &v) != nil || v.ClientVersion.GitVersion == "" {
			t.Errorf("version -o json: %v\n%s", err, stdout)
		}
		if stdout, _, err := run(t.TempDir(), "version", "-o", "yaml"); err != nil || !strings.Contains(stdout, "clientVersion:\n  gitVersion:") {
			t.Errorf("version -o yaml: %v\n%s", err, stdout)
		}
	})
	t.Run("an unknown flag points at --help", func(t *testing.T) {
		_, stderr, err := run(t.TempDir(), "generate", "--bogus")
		if err == nil || !strings.Contains(stderr, "unknown flag: --bogus") || !strings.Contains(stderr, "See 'kubectl kestra-tls generate --help' for usage.") {
			t.Errorf("generate --bogus: %v\n%s", err, stderr)
		}
	})
	t.Run("--dry-run=none|client|server, as kubectl has it", func(t *testing.T) {
		dir := t.TempDir()
		if stdout, stderr, err := run(dir, "generate", "--mode", "app", "--host", "kestra.example.com", "--dry-run=client"); err != nil || !strings.Contains(stdout, "kind: Deployment") {
			t.Errorf("generate --dry-run=client: %v\n%s", err, stderr)
		}
		if _, stderr, err := run(dir, "generate", "--mode", "app", "--host", "kestra.example.com", "--dry-run=server"); err == nil || !strings.Contains(stderr, "apply --dry-run=server") {
			t.Errorf("generate --dry-run=server: %v\n%s", err, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("a dry run wrote %v", entries)
		}
		// Parsed as a dry run, uninstall goes on to look for the cluster (there is none here).
		if _, stderr, err := run(dir, "uninstall", "nothing-here", "--dry-run=server", "--kubeconfig", "/nonexistent"); err == nil || strings.Contains(stderr, "--dry-run") {
			t.Errorf("uninstall --dry-run=server is not taken: %v\n%s", err, stderr)
		}
	})
	t.Run("certs ends with what comes next", func(t *testing.T) {
		stdout, _, err := run(t.TempDir(), "certs", "--host", "kestra.example.com", "-o", "c")
		if err != nil || !strings.Contains(stdout, "next: clients trust c/ca.pem") {
			t.Errorf("certs: %v\n%s", err, stdout)
		}
	})
	t.Run("the root help lists each command once", func(t *testing.T) {
		stdout, _, err := run(t.TempDir(), "--help")
		if err != nil || strings.Count(stdout, "rotate-ca") != 1 || strings.Count(stdout, "\n  generate ") != 1 {
			t.Errorf("--help: %v\n%s", err, stdout)
		}
	})
	t.Run("--target compose finds compose.yaml and its override as docker compose does", func(t *testing.T) {
		project := t.TempDir()
		writeFiles(t, project, map[string]string{
			"compose.yaml":          "services:\n  kestra:\n    image: kestra/kestra:latest\n    ports: [\"8080:8080\"]\n",
			"compose.override.yaml": "services:\n  kestra:\n    environment:\n      TZ: UTC\n",
		})
		stdout, stderr, err := run(project, "generate", "--target", "compose", "--host", "kestra.example.com")
		if err != nil || !strings.Contains(stdout, "docker compose -f compose.yaml -f compose.override.yaml -f kestra-tls/compose.kestra-tls.yaml up -d") {
			t.Errorf("generate --target compose without --compose-file: %v\n%s\n%s", err, stdout, stderr)
		}
		_, stderr, err = run(t.TempDir(), "generate", "--target", "compose", "--host", "kestra.example.com")
		if err == nil || !strings.Contains(stderr, "no Compose file here") || !strings.Contains(stderr, "--compose-file") {
			t.Errorf("generate --target compose in an empty folder: %v\n%s", err, stderr)
		}
	})
	t.Run("values an earlier run left are listed when this command line does not set them", func(t *testing.T) {
		dir := t.TempDir()
		if _, stderr, err := run(dir, "generate", "--mode", "app", "--host", "kestra.example.com", "-o", "out"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		_, stderr, err := run(dir, "generate", "--host", "kestra.example.com", "--email", "ops@example.com", "-o", "out")
		if err != nil || !strings.Contains(stderr, "reused from out/values.yaml (an earlier run; flags win, --reset-values starts over): mode=app") {
			t.Errorf("the re-run does not say app mode came from the earlier run: %v\n%s", err, stderr)
		}
	})
	t.Run("--email is optional for Let's Encrypt, and the demo base is named", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, err := run(dir, "generate", "--host", "kestra.example.com", "-o", "out")
		if err != nil {
			t.Fatalf("generate without --email: %v\n%s", err, stderr)
		}
		issuer, _ := os.ReadFile(filepath.Join(dir, "out", "cluster-issuer.yaml"))
		if !strings.Contains(string(issuer), "acme-v02.api.letsencrypt.org") || strings.Contains(string(issuer), "email:") {
			t.Errorf("the ClusterIssuer without --email:\n%s", issuer)
		}
		if !strings.Contains(stderr, "base: kestra-tls's minimal demo Kestra") {
			t.Errorf("generate does not name the demo base:\n%s", stderr)
		}
	})
}

// TestApplyRefusesTheDemoOverAnotherKestra: the namespace already runs a Kestra someone else made; an
// overlay over the demo base is refused with what to do, never with advice to force the demo over it.
func TestApplyRefusesTheDemoOverAnotherKestra(t *testing.T) {
	c := testCluster(t)
	ns := "demo-over-yours"
	ctx := context.Background()
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "kestra"}
	yours := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "kestra"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kestra", Image: "registry.corp/kestra:1.3.15"}}},
		}},
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, yours, metav1.CreateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := applyCmd(t, c, ns, filepath.Join(t.TempDir(), "overlay"), "--mode", "app", "--host", "kestra.example.com", "--timeout", "30s")
	if err == nil || !strings.Contains(err.Error(), "minimal demo Kestra") || !strings.Contains(err.Error(), "--base") || strings.Contains(err.Error(), "--force-conflicts") {
		t.Fatalf("apply of the demo over another Kestra = %v, want a refusal pointing at --base, not at --force-conflicts", err)
	}
	live, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
	if err != nil || live.Spec.Template.Spec.Containers[0].Image != "registry.corp/kestra:1.3.15" {
		t.Errorf("the user's Kestra was changed: %v %+v", err, live.Spec.Template.Spec.Containers)
	}
}

// TestStatusLooksAtKestrasReadiness applies each kind of install on the real API server, then records what a
// Deployment controller would after a failed rollout (observed, 0 of 1 pods ready): status says Kestra
// serves nothing, exit 3, instead of healthy, whether Kestra serves HTTPS itself or sits behind the Ingress
// (found through the Ingress's Service).
func TestStatusLooksAtKestrasReadiness(t *testing.T) {
	c := testCluster(t)
	for name, tc := range map[string]struct {
		namespace string
		args      []string
	}{
		"app mode: the workload mounting our stores":              {"status-readiness", []string{"--mode", "app", "--host", "kestra.example.com"}},
		"ingress mode: the workload behind the Ingress's Service": {"status-readiness-ingress", []string{"--host", "kestra.example.com", "--self-signed", "--no-cert-manager"}},
	} {
		t.Run(name, func(t *testing.T) {
			ns := tc.namespace
			args := append(tc.args, filepath.Join(t.TempDir(), "overlay"), "--create-namespace", "--timeout", "30s")
			if _, stderr, err := applyCmd(t, c, ns, args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			stdout, _, err := runCmd(t, append([]string{"status"}, clusterArgs(c, "", ns)...)...)
			if err != nil || strings.Contains(stdout, "ready pod") {
				t.Fatalf("status before any controller observed Kestra = %v:\n%s", err, stdout)
			}
			ctx := context.Background()
			deployment, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "kestra", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			deployment.Status = appsv1.DeploymentStatus{ObservedGeneration: deployment.Generation, Replicas: 1, UnavailableReplicas: 1}
			if _, err := c.Client.AppsV1().Deployments(ns).UpdateStatus(ctx, deployment, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			stdout, _, err = runCmd(t, append([]string{"status"}, clusterArgs(c, "", ns)...)...)
			if ExitCode(err) != 3 || !strings.Contains(stdout, "Deployment kestra has no ready pod (0 of 1)") {
				t.Errorf("status of a Kestra with no ready pod = exit %d:\n%s", ExitCode(err), stdout)
			}
		})
	}
}

// TestTakingOverAnIngressKeepsItsClassForTheSolver: the base's Ingress for the host names class nginx; the
// overlay takes it over, keeps the class, and cert-manager's HTTP-01 solver answers through it.
func TestTakingOverAnIngressKeepsItsClassForTheSolver(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"kestra.yaml": chartLikeBase + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: kestra-ingress}
spec:
  ingressClassName: nginx
  rules:
  - host: kestra.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: kestra, port: {number: 8080}}}}]}
`})
	out := filepath.Join(dir, "out")
	_, stderr, err := runCmd(t, "generate", "--host", "kestra.example.com", "--base", filepath.Join(dir, "kestra.yaml"), "-o", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "names no IngressClass") || !strings.Contains(stderr, "names IngressClass nginx") {
		t.Errorf("generate does not say it keeps the base's class:\n%s", stderr)
	}
	issuer, _ := os.ReadFile(filepath.Join(out, "cluster-issuer.yaml"))
	if !strings.Contains(string(issuer), "ingressClassName: nginx") {
		t.Errorf("the HTTP-01 solver names no class:\n%s", issuer)
	}
}

// TestStoredPathsWorkFromAnyFolder: generate with a relative --base, then again from another folder with -o
// naming the same overlay: values.yaml keeps its paths relative to the overlay, so the base is found.
func TestStoredPathsWorkFromAnyFolder(t *testing.T) {
	project := t.TempDir()
	writeFiles(t, project, map[string]string{"manifests/kestra.yaml": chartLikeBase})
	t.Chdir(project)
	if _, stderr, err := runCmd(t, "generate", "--mode", "app", "--host", "kestra.example.com", "--base", "manifests/kestra.yaml", "-o", "overlay"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stored, _ := os.ReadFile(filepath.Join(project, "overlay", "values.yaml"))
	if !strings.Contains(string(stored), "base: ../manifests/kestra.yaml") {
		t.Errorf("values.yaml does not keep --base relative to the overlay:\n%s", stored)
	}
	t.Chdir(filepath.Join(project, "manifests"))
	stdout, stderr, err := runCmd(t, "generate", "-o", "../overlay")
	if err != nil || !strings.Contains(stdout, "is up to date") {
		t.Errorf("the re-run from another folder: %v\n%s\n%s", err, stdout, stderr)
	}
}
