package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// TestUninstallReturnsKestraToItsBase installs, uninstalls, and compares Kestra's Deployment and Service
// with those of a fresh apply of the base alone (by the real kubectl, in a namespace of its own): the same
// objects, nothing of ours left (objects with our marker, ingress-shim's Certificate, our field manager where
// another one applied the base first), and a second uninstall changes nothing.
func TestUninstallReturnsKestraToItsBase(t *testing.T) {
	c := testCluster(t)
	kubectl := testutil.Kubectls(t)[0]
	for name, tc := range map[string]struct {
		ns            string
		args          []string
		baseByKubectl bool
		wantCertsGone bool
	}{
		"ingress mode, the base applied by kestra-tls": {ns: "uninstall-ingress", args: []string{"--self-signed", "--host", "kestra.uninstall.test"}, wantCertsGone: true},
		"app mode over a base applied by kubectl":      {ns: "uninstall-app", args: []string{"--mode", "app", "--host", "kestra.uninstall.test"}, baseByKubectl: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			out := filepath.Join(t.TempDir(), "overlay")
			if _, stderr, err := runCmd(t, append([]string{"generate", "-o", out}, tc.args...)...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			baseDir := filepath.Join(out, "base")
			kubectlApply := func(namespace string) {
				t.Helper()
				if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				if output, err := exec.Command(kubectl, "apply", "--server-side", "-k", baseDir, "-n", namespace, "--kubeconfig", c.Kubeconfig).CombinedOutput(); err != nil {
					t.Fatalf("kubectl apply: %v\n%s", err, output)
				}
			}
			kubectlApply(tc.ns + "-ref")
			createNamespace := "--create-namespace"
			if tc.baseByKubectl {
				kubectlApply(tc.ns)
				// We merge into kubectl's KESTRA_CONFIGURATION: take that field, as a user would.
				createNamespace = "--force-conflicts"
			}
			if _, stderr, err := applyCmd(t, c, tc.ns, out, createNamespace, "--timeout", "60s"); err != nil {
				t.Fatalf("%v\n%s\ncert-manager:\n%s", err, stderr, c.Logs.Tail(20))
			}

			before, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			dry, _, err := runCmd(t, append([]string{"uninstall", out, "--dry-run"}, clusterArgs(c, "", tc.ns)...)...)
			still, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if err != nil || !strings.Contains(dry, "deleted (server dry run)") || still.ResourceVersion != before.ResourceVersion {
				t.Errorf("uninstall --dry-run = %v, changed the Deployment: %v:\n%s", err, still.ResourceVersion != before.ResourceVersion, dry)
			}
			stdout, stderr, err := runCmd(t, append([]string{"uninstall", out, "--yes"}, clusterArgs(c, "", tc.ns)...)...)
			if err != nil {
				t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
			}
			wantLines := []string{"deployment.apps/kestra fields removed", " deleted"}
			if tc.baseByKubectl { // app mode patches the Service's ports too
				wantLines = append(wantLines, "service/kestra fields removed")
			}
			for _, want := range wantLines {
				if !strings.Contains(stdout, want) {
					t.Errorf("uninstall does not say %q:\n%s", want, stdout)
				}
			}
			if tc.wantCertsGone && !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls deleted (made by cert-manager for our Ingress kestra)") {
				t.Errorf("ingress-shim's Certificate is not removed:\n%s", stdout)
			}

			for _, kind := range []string{"deployments", "services"} {
				got, want := comparable(t, c, kind, tc.ns), comparable(t, c, kind, tc.ns+"-ref")
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s after uninstall differ from the base alone (-base +after uninstall):\n%s", kind, diff)
				}
			}
			marked, err := c.Client.CoreV1().Secrets(tc.ns).List(ctx, metav1.ListOptions{LabelSelector: model.ManagedByLabel + "=" + model.ManagedByValue})
			if err != nil || len(marked.Items) != 0 {
				t.Errorf("Secrets of ours left: %v %v", err, marked)
			}
			if list, err := c.Client.NetworkingV1().Ingresses(tc.ns).List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) != 0 {
				t.Errorf("Ingresses left: %v %v", err, list)
			}
			for _, gvr := range []string{"certificates", "issuers"} {
				resource := resources.Certificates
				if gvr == "issuers" {
					resource = resources.Issuers
				}
				list, err := c.Dynamic.Resource(resource).Namespace(tc.ns).List(ctx, metav1.ListOptions{})
				if err != nil || len(list.Items) != 0 {
					t.Errorf("%s left in %s: %v %d", gvr, tc.ns, err, len(list.Items))
				}
			}
			deployment, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if tc.baseByKubectl {
				// kubectl still owns every field of the Service we added nothing to but a port: our manager goes.
				service, _ := c.Client.CoreV1().Services(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
				for _, entry := range service.ManagedFields {
					if entry.Manager == apply.FieldManager {
						t.Errorf("the Service keeps fields of our field manager: %s", entry.FieldsV1)
					}
				}
			}

			again, _, err := runCmd(t, append([]string{"uninstall", out, "--yes"}, clusterArgs(c, "", tc.ns)...)...)
			after, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if err != nil || strings.Contains(again, " deleted") || strings.Contains(again, "fields removed") || after.ResourceVersion != deployment.ResourceVersion {
				t.Errorf("a second uninstall changed something (%v, resourceVersion %s -> %s):\n%s", err, deployment.ResourceVersion, after.ResourceVersion, again)
			}
		})
	}
}

// comparable is every object of the kind in the namespace, without what differs between two applies of
// the same manifests (identity, versions, managers, namespace, a Service's allocated cluster IPs).
func comparable(t *testing.T, c *cluster.Cluster, resource, namespace string) []map[string]any {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: resource}
	if resource == "services" {
		gvr.Group = ""
	}
	list, err := c.Dynamic.Resource(gvr).Namespace(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var objects []map[string]any
	for _, item := range list.Items {
		object := item.Object
		delete(object, "status")
		for _, field := range []string{"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "namespace"} {
			unstructured.RemoveNestedField(object, "metadata", field)
		}
		unstructured.RemoveNestedField(object, "spec", "clusterIP")
		unstructured.RemoveNestedField(object, "spec", "clusterIPs")
		objects = append(objects, object)
	}
	return objects
}

// TestUninstallOfAComposeOverlay removes the override and its env file, keeps the rest of the folder, and
// prints how to start Kestra from the user's files alone.
func TestUninstallOfAComposeOverlay(t *testing.T) {
	project := t.TempDir()
	if err := os.CopyFS(project, os.DirFS("testdata/compose/env-file")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(project)
	if _, stderr, err := runCmd(t, "generate", "--target", "compose", "--compose-file", "docker-compose.yml", "--env-file", "config/prod.env", "--host", "kestra.example.com", "-o", "kestra-tls"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stdout, stderr, err := runCmd(t, "uninstall", "kestra-tls", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, gone := range []string{"kestra-tls/compose.kestra-tls.yaml", "kestra-tls/certs/compose.env"} {
		if _, err := os.Stat(gone); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	if _, err := os.Stat("kestra-tls/certs/ca.key"); err != nil {
		t.Errorf("the CA key went without --delete-local: %v", err)
	}
	if !strings.Contains(stdout, "restart Kestra without TLS: docker compose --env-file config/prod.env -f docker-compose.yml up -d") {
		t.Errorf("uninstall does not say how to restart:\n%s", stdout)
	}
	if stdout, _, err := runCmd(t, "uninstall", "kestra-tls", "--yes", "--delete-local"); err != nil || !strings.Contains(stdout, "removed kestra-tls") {
		t.Errorf("uninstall --delete-local: %v\n%s", err, stdout)
	}
	if _, err := os.Stat("kestra-tls"); err == nil {
		t.Error("--delete-local kept the folder")
	}
}
