package uninstall

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// rollout is a workload whose pod template we gave back, and the generation that did it.
type rollout struct {
	kind, namespace, name string
	generation            int64
}

// waitObserved waits until each workload's controller has seen the generation we made, as `kubectl
// rollout status` starts by doing: from then on the pods it makes no longer mount our Secrets, so deleting
// them cannot leave a pod half-started. It does not wait for the pods themselves (a slow image pull is not
// ours to wait for).
func (r *Remover) waitObserved(ctx context.Context, rollouts []rollout) error {
	deadline := time.Now().Add(r.Wait)
	for _, workload := range rollouts {
		gvr, _ := resources.Workloads(workload.kind)
		client := r.Client.Resource(gvr).Namespace(workload.namespace)
		for {
			live, err := client.Get(ctx, workload.name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("waiting for %s/%s: %v", strings.ToLower(workload.kind), workload.name, err)
			}
			observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
			if observed >= workload.generation {
				break
			}
			if !time.Now().Before(deadline) {
				return fmt.Errorf("%s %s/%s: its controller has not observed generation %d (it has seen %d) within --timeout %s; is kube-controller-manager running? See kubectl rollout status %s/%s -n %s, then run uninstall again (it is safe to repeat)",
					workload.kind, workload.namespace, workload.name, workload.generation, observed, r.Wait, strings.ToLower(workload.kind), workload.name, workload.namespace)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
