package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGenerateRefusesANamespaceTheBaseContradicts: a base whose objects say namespace prod, with -n other,
// would put our Secrets in other and leave Kestra in prod naming Secrets it cannot read.
func TestGenerateRefusesANamespaceTheBaseContradicts(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "kestra.yaml")
	withNamespace := strings.ReplaceAll(chartLikeBase, "metadata: {name: kestra}", "metadata: {name: kestra, namespace: prod}")
	if err := os.WriteFile(base, []byte(withNamespace), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "overlay")
	_, _, err := runCmd(t, "generate", "--mode", "app", "--host", "kestra.example.com", "--base", base, "-n", "other", "-o", out)
	for _, want := range []string{"--namespace other contradicts --base " + base, "Deployment kestra is in namespace prod", "pass -n prod"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("generate -n other over a base in prod: %v; want %q", err, want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run left its folder")
	}
	// The base's own namespace, given or not, is fine.
	for _, args := range [][]string{{"-n", "prod"}, nil} {
		if _, stderr, err := runCmd(t, append([]string{"generate", "--mode", "app", "--host", "kestra.example.com", "--base", base, "-o", out}, args...)...); err != nil {
			t.Errorf("generate %v over a base in prod: %v\n%s", args, err, stderr)
		}
	}
}

// TestApplyRefusesANamespaceTheOverlayContradicts generates into k3, then applies with -n k4 on the real API
// server: refused, naming both, with nothing made in k4; without -n, the overlay's k3 is used and said.
func TestApplyRefusesANamespaceTheOverlayContradicts(t *testing.T) {
	c := testCluster(t)
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "--mode", "app", "--host", "kestra.example.com", "-n", "contra-k3", "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, _, err := applyCmd(t, c, "contra-k4", out, "--create-namespace", "--timeout", "60s")
	for _, want := range []string{"-n contra-k4 contradicts " + out, "namespace contra-k3", "apply with -n contra-k3"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("apply -n contra-k4 of an overlay in contra-k3: %v; want %q", err, want)
		}
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(context.Background(), "contra-k4", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace contra-k4 was made: %v", err)
	}
	if _, err := c.Client.CoreV1().Namespaces().Get(context.Background(), "contra-k3", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace contra-k3 was made by a refused apply: %v", err)
	}

	// Without -n (the kubeconfig's namespace is default), the overlay's own namespace is used, and said.
	stdout, stderr, err := runCmd(t, "apply", out, "--create-namespace", "--timeout", "60s", "--kubeconfig", c.Kubeconfig, "--cache-dir", discoveryDir)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "namespace contra-k3: "+out+" names it") {
		t.Errorf("apply does not say which namespace it uses:\n%s", stderr)
	}
	if _, err := c.Client.AppsV1().Deployments("contra-k3").Get(context.Background(), "kestra", metav1.GetOptions{}); err != nil {
		t.Errorf("Kestra is not in contra-k3: %v", err)
	}
}
