// Package renew makes an installed Kestra take a fresh certificate: cert-manager is asked to reissue the
// way cmctl renew asks it, and, where Kestra reads its keystore only at start (before Kestra 1.3), its
// workloads are rolled the way kubectl rollout restart rolls them.
package renew

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/conditions"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// Why a reissue was asked for, as the Issuing condition's message says it.
const (
	ByRenew          = "Certificate re-issuance manually triggered by kubectl kestra-tls renew"
	ByPasswordChange = "Certificate re-issuance triggered by kubectl kestra-tls apply: the keystores' password changed"
	ByCARotation     = "Certificate re-issuance triggered by kubectl kestra-tls rotate-ca: its issuer moved to the new CA"
)

// Triggered is a Certificate asked to reissue: wait for a revision above Revision.
type Triggered struct {
	Namespace, Name string
	Revision        int64
	// AlreadyIssuing is true when cert-manager was issuing anyway: nothing was written.
	AlreadyIssuing bool
}

// Trigger sets the Certificate's Issuing condition, as cmctl renew does: cert-manager's trigger controller
// then issues a new certificate whatever its renewal time. A Certificate already issuing is left alone.
// message is the condition's message: who asked, and why.
func Trigger(ctx context.Context, client dynamic.Interface, namespace, name, message string, now time.Time) (Triggered, error) {
	result := Triggered{Namespace: namespace, Name: name}
	certificates := client.Resource(resources.Certificates).Namespace(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		certificate, err := settled(ctx, certificates, name)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("Certificate %s/%s does not exist: apply the install first (kubectl kestra-tls apply)", namespace, name)
		}
		if err != nil {
			return err
		}
		result.Revision, _, _ = unstructured.NestedInt64(certificate.Object, "status", "revision")
		if conditions.IsTrue(certificate, "Issuing") {
			result.AlreadyIssuing = true
			return nil
		}
		list, _, _ := unstructured.NestedSlice(certificate.Object, "status", "conditions")
		issuing := map[string]any{
			"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
			"message":            message,
			"lastTransitionTime": now.UTC().Format(time.RFC3339),
			"observedGeneration": certificate.GetGeneration(),
		}
		// After a failed attempt cert-manager leaves Issuing False: replace it, as conditions are keyed by type.
		replaced := false
		for i, c := range list {
			if condition, _ := c.(map[string]any); condition["type"] == "Issuing" {
				list[i], replaced = issuing, true
			}
		}
		if !replaced {
			list = append(list, issuing)
		}
		if err := unstructured.SetNestedSlice(certificate.Object, list, "status", "conditions"); err != nil {
			return err
		}
		_, err = certificates.UpdateStatus(ctx, certificate, metav1.UpdateOptions{FieldManager: "kubectl-kestra-tls"})
		return err
	})
	return result, err
}

// settled reads the Certificate once cert-manager has recorded the revision of a certificate it reports
// Ready: its readiness controller can mark it Ready a moment before the issuing controller writes the
// revision, and a trigger read in between would take the first issuance for the renewal.
func settled(ctx context.Context, certificates dynamic.ResourceInterface, name string) (*unstructured.Unstructured, error) {
	for attempt := 0; ; attempt++ {
		certificate, err := certificates.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		revision, _, _ := unstructured.NestedInt64(certificate.Object, "status", "revision")
		if revision > 0 || !conditions.IsTrue(certificate, "Ready") || attempt == 25 {
			return certificate, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// RestartedAtAnnotation is kubectl rollout restart's pod template annotation.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Restarted is a workload whose pod template changed, so that its controller replaces every pod.
type Restarted struct {
	Kind, Namespace, Name string
	Generation            int64
}

// Restart rolls a Deployment or StatefulSet as kubectl rollout restart does, and returns once the API server
// has taken the new pod template (a higher generation); rolling the pods is its controller's work.
func Restart(ctx context.Context, client dynamic.Interface, kind, namespace, name string, now time.Time) (Restarted, error) {
	resource, ok := resources.Workloads(kind)
	if !ok {
		return Restarted{}, fmt.Errorf("cannot restart %s %s: only Deployments and StatefulSets", kind, name)
	}
	workloads := client.Resource(resource).Namespace(namespace)
	before, err := workloads.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Restarted{}, err
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, now.UTC().Format(time.RFC3339Nano))
	after, err := workloads.Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-kestra-tls"})
	if err != nil {
		return Restarted{}, fmt.Errorf("restarting %s %s/%s: %w", kind, namespace, name, err)
	}
	if after.GetGeneration() <= before.GetGeneration() {
		return Restarted{}, fmt.Errorf("restarting %s %s/%s: the API server kept generation %d: the pod template did not change", kind, namespace, name, after.GetGeneration())
	}
	return Restarted{Kind: kind, Namespace: namespace, Name: name, Generation: after.GetGeneration()}, nil
}
