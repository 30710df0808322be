package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
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
// objects, nothing of ours left (objects with our marker, the Certificate cert-manager's ingress-shim or
// gateway-shim made, older generations of our Secrets, our field manager where another one applied the base
// first), the Deployment's new generation observed by the real deployment controller before our Secrets
// go, a Secret another workload mounts left, and a second uninstall changes nothing.
func TestUninstallReturnsKestraToItsBase(t *testing.T) {
	c := testCluster(t)
	controllers, err := c.StartWorkloadControllers()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(controllers.Stop)
	kubectl := testutil.Kubectls(t)[0]
	for name, tc := range map[string]struct {
		ns            string
		args          []string
		baseByKubectl bool
		// wantShimCertificate is the owner named in the line for the Certificate cert-manager made.
		wantShimCertificate string
		// regenerateWith makes a new keystore and applies it, leaving an older Secret generation.
		regenerateWith []string
		// anotherUser mounts one of our Secrets in a Deployment of the user's.
		anotherUser bool
	}{
		"ingress mode, the base applied by kestra-tls": {ns: "uninstall-ingress", args: []string{"--self-signed", "--host", "kestra.uninstall.test"}, wantShimCertificate: "Ingress kestra", anotherUser: true},
		"gateway mode, a new Gateway":                  {ns: "uninstall-gateway", args: []string{"--mode", "gateway", "--gateway-class", "example", "--self-signed", "--host", "kestra.uninstall.test"}, wantShimCertificate: "Gateway kestra"},
		// A Kestra before 1.3 reads its keystore at start: each keystore is a new Secret generation.
		"app mode over a base applied by kubectl, twice": {ns: "uninstall-app", args: []string{"--mode", "app", "--host", "kestra.uninstall.test", "--kestra-version", "1.2"}, baseByKubectl: true,
			regenerateWith: []string{"--mode", "app", "--host", "kestra.uninstall.test", "--host", "kestra2.uninstall.test"}},
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
			var olderSecrets []string
			if tc.regenerateWith != nil {
				olderSecrets = markedSecrets(t, c, tc.ns)
				if _, stderr, err := runCmd(t, append([]string{"generate", "-o", out}, tc.regenerateWith...)...); err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				if _, stderr, err := applyCmd(t, c, tc.ns, out, "--timeout", "60s"); err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				// The password stays the same, and so does its Secret: only the stores' Secret is new.
				before := olderSecrets
				added := slices.DeleteFunc(markedSecrets(t, c, tc.ns), func(name string) bool { return slices.Contains(before, name) })
				olderSecrets = slices.DeleteFunc(before, func(name string) bool { return strings.HasPrefix(name, "kestra-ssl-password-") })
				if len(added) != 1 || len(olderSecrets) != 1 || !strings.HasPrefix(added[0], "kestra-ssl-") {
					t.Fatalf("a new keystore made no new generation of the stores' Secret: %v, then %v added", before, added)
				}
			}
			var usedSecret string
			if tc.anotherUser {
				usedSecret = markedSecrets(t, c, tc.ns)[0]
				mountSecretInAnotherDeployment(t, c, tc.ns, "reporting", usedSecret)
			}

			before, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			dry, _, err := runCmd(t, append([]string{"uninstall", out, "--dry-run"}, clusterArgs(c, "", tc.ns)...)...)
			still, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			// The deployment controller writes its status meanwhile: the spec's generation tells a change.
			if err != nil || !strings.Contains(dry, "deleted (server dry run)") || still.Generation != before.Generation {
				t.Errorf("uninstall --dry-run = %v, changed the Deployment: %v:\n%s", err, still.Generation != before.Generation, dry)
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
			if tc.wantShimCertificate != "" && !strings.Contains(stdout, "certificate.cert-manager.io/kestra-tls deleted (made by cert-manager for our "+tc.wantShimCertificate+")") {
				t.Errorf("the Certificate cert-manager made for our %s is not removed:\n%s", tc.wantShimCertificate, stdout)
			}
			for _, older := range olderSecrets {
				if !strings.Contains(stdout, "secret/"+older+" deleted (an older generation of ") {
					t.Errorf("the older generation %s is not removed:\n%s", older, stdout)
				}
			}
			if !tc.baseByKubectl && !strings.Contains(stdout, "left: namespace/"+tc.ns+" (apply --create-namespace made it") {
				t.Errorf("uninstall does not say it leaves the namespace apply made:\n%s", stdout)
			}
			observed, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if observed.Status.ObservedGeneration != observed.Generation {
				t.Errorf("uninstall ended before the deployment controller observed generation %d (it has %d)", observed.Generation, observed.Status.ObservedGeneration)
			}
			if usedSecret != "" {
				if !strings.Contains(stdout, "left: secret/"+usedSecret+" (still used by Deployment reporting)") {
					t.Errorf("uninstall does not leave %s, which Deployment reporting mounts:\n%s", usedSecret, stdout)
				}
				if _, err := c.Client.CoreV1().Secrets(tc.ns).Get(ctx, usedSecret, metav1.GetOptions{}); err != nil {
					t.Errorf("secret %s, still mounted by another Deployment, went: %v", usedSecret, err)
				}
				if err := c.Client.AppsV1().Deployments(tc.ns).Delete(ctx, "reporting", metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
				if stdout, _, err := runCmd(t, append([]string{"uninstall", out, "--yes"}, clusterArgs(c, "", tc.ns)...)...); err != nil || !strings.Contains(stdout, "secret/"+usedSecret+" deleted") {
					t.Errorf("once nothing mounts it, uninstall does not remove %s: %v\n%s", usedSecret, err, stdout)
				}
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
			for _, resource := range []schema.GroupVersionResource{resources.Certificates, resources.Issuers, resources.Gateways, resources.HTTPRoutes} {
				list, err := c.Dynamic.Resource(resource).Namespace(tc.ns).List(ctx, metav1.ListOptions{})
				if err != nil || len(list.Items) != 0 {
					t.Errorf("%s left in %s: %v %d", resource.Resource, tc.ns, err, len(list.Items))
				}
			}
			deployment, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if tc.baseByKubectl {
				// kubectl still owns every field of the Service we added nothing to but a port: our manager goes.
				// The configuration field we took from kubectl with --force-conflicts goes back to it.
				service, _ := c.Client.CoreV1().Services(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
				for _, entry := range append(service.ManagedFields, deployment.ManagedFields...) {
					if entry.Manager == apply.FieldManager {
						t.Errorf("the Service or Deployment keeps fields of our field manager: %s", entry.FieldsV1)
					}
				}
			}

			again, _, err := runCmd(t, append([]string{"uninstall", out, "--yes"}, clusterArgs(c, "", tc.ns)...)...)
			after, _ := c.Client.AppsV1().Deployments(tc.ns).Get(ctx, "kestra", metav1.GetOptions{})
			if err != nil || strings.Contains(again, " deleted") || strings.Contains(again, "fields removed") || after.Generation != deployment.Generation {
				t.Errorf("a second uninstall changed something (%v, generation %d -> %d):\n%s", err, deployment.Generation, after.Generation, again)
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
		// The deployment controller counts the rollouts, which differ by design.
		unstructured.RemoveNestedField(object, "metadata", "annotations", "deployment.kubernetes.io/revision")
		if annotations, _, _ := unstructured.NestedMap(object, "metadata", "annotations"); len(annotations) == 0 {
			unstructured.RemoveNestedField(object, "metadata", "annotations")
		}
		unstructured.RemoveNestedField(object, "spec", "clusterIP")
		unstructured.RemoveNestedField(object, "spec", "clusterIPs")
		objects = append(objects, object)
	}
	return objects
}

// markedSecrets are the names of the Secrets with our marker in the namespace, sorted.
func markedSecrets(t *testing.T, c *cluster.Cluster, namespace string) []string {
	t.Helper()
	list, err := c.Client.CoreV1().Secrets(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: model.ManagedByLabel + "=" + model.ManagedByValue})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, secret := range list.Items {
		names = append(names, secret.Name)
	}
	slices.Sort(names)
	return names
}

// mountSecretInAnotherDeployment is a workload of the user's that came to rely on one of our Secrets.
func mountSecretInAnotherDeployment(t *testing.T, c *cluster.Cluster, namespace, name, secret string) {
	t.Helper()
	labels := map[string]string{"app": name}
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: name, Image: "busybox", VolumeMounts: []corev1.VolumeMount{{Name: "tls", MountPath: "/tls"}}}},
					Volumes:    []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}},
				},
			},
		},
	}
	if _, err := c.Client.AppsV1().Deployments(namespace).Create(context.Background(), deployment, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
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
	if stdout, _, err := runCmd(t, "uninstall", "kestra-tls", "--yes", "--delete-local"); err != nil || !strings.Contains(stdout, "files kestra-tls wrote in kestra-tls") {
		t.Errorf("uninstall --delete-local: %v\n%s", err, stdout)
	}
	if _, err := os.Stat("kestra-tls"); err == nil {
		t.Error("--delete-local kept the folder")
	}
}
