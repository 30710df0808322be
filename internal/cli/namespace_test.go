package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestATerminatingNamespaceIsNamedAndWaitedFor deletes a namespace on the real API server (no namespace
// controller runs here, so it stays Terminating until the test finalizes it, as that controller would):
// apply says the namespace is being deleted, not that the user lacks a permission; with --create-namespace
// it waits within --timeout, and once the namespace is gone it makes it again and applies.
func TestATerminatingNamespaceIsNamedAndWaitedFor(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	ns := "terminating"
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := applyCmd(t, c, ns, out, "--mode", "app", "--host", "kestra.terminating.test", "--create-namespace"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if err := c.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if live, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil || live.DeletionTimestamp == nil {
		t.Fatalf("the namespace is not Terminating: %v %+v", err, live)
	}

	_, _, err := applyCmd(t, c, ns, out)
	if err == nil || !strings.Contains(err.Error(), `namespace "terminating" is being deleted (Terminating)`) || strings.Contains(err.Error(), "may not") {
		t.Errorf("apply into a Terminating namespace = %v, want it named as being deleted, with no RBAC hint", err)
	}
	_, _, err = applyCmd(t, c, ns, out, "--create-namespace", "--timeout", "2s")
	if err == nil || !strings.Contains(err.Error(), "still being deleted (Terminating) after 2s") {
		t.Errorf("apply --create-namespace --timeout 2s = %v, want it to say the namespace is still being deleted", err)
	}

	// What the namespace controller does once the namespace is empty: finalize it, and it is gone.
	go func() {
		time.Sleep(1500 * time.Millisecond)
		live, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return
		}
		live.Spec.Finalizers = nil
		c.Client.CoreV1().Namespaces().Finalize(ctx, live, metav1.UpdateOptions{})
	}()
	stdout, stderr, err := applyCmd(t, c, ns, out, "--create-namespace", "--timeout", "60s")
	if err != nil {
		t.Fatalf("apply --create-namespace once the namespace is gone: %v\n%s\n%s", err, stdout, stderr)
	}
	if live, err := c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil || live.DeletionTimestamp != nil {
		t.Errorf("the namespace was not made again: %v", err)
	}
}

// TestAQuotaRefusalIsNotCalledRBAC: a ResourceQuota that allows no Secret makes the API server refuse with
// Forbidden; apply says it is the quota, not a permission of the user's.
func TestAQuotaRefusalIsNotCalledRBAC(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	ns := "quota"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	none := corev1.ResourceList{corev1.ResourceSecrets: resource.MustParse("0")}
	quota, err := c.Client.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-secrets"}, Spec: corev1.ResourceQuotaSpec{Hard: none}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What the quota controller (not running here) would record, and the admission plugin enforces.
	quota.Status = corev1.ResourceQuotaStatus{Hard: none, Used: none}
	if _, err := c.Client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, quota, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "overlay")
	_, _, err = applyCmd(t, c, ns, out, "--mode", "app", "--host", "kestra.quota.test")
	if err == nil || !strings.Contains(err.Error(), "a ResourceQuota of the namespace refuses it") || strings.Contains(err.Error(), "may not") {
		t.Errorf("apply over a quota that allows no Secret = %v, want the quota named and no RBAC hint", err)
	}
}
