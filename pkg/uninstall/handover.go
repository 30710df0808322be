package uninstall

import (
	"bytes"
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
)

// handOver gives the fields still ours, now at the base's values, to the manager that owns most of the
// object (Helm, the user's kubectl): fields apply took from it with --allow-helm-owned or --force-conflicts
// go back to it, as the managed fields were before the install, and its next upgrade owns them without a
// conflict. It rewrites the managed fields only, guarded by the resourceVersion, as kubectl's own
// client-side-apply upgrade (csaupgrade) does. Nil, nil when no manager owns at least half of what we hold
// (the base was applied by us: those fields stay ours).
func (r *Remover) handOver(ctx context.Context, resource dynamic.ResourceInterface, object *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	for attempt := 1; ; attempt++ {
		handed, err := handOverAt(ctx, resource, object)
		if err == nil || attempt == 5 {
			return handed, err
		}
		// A controller wrote the object (the Deployment's status, as it rolls out the base's pod template)
		// between our read and our patch, and the resourceVersion test refused it: read it again.
		latest, getErr := resource.Get(ctx, object.GetName(), metav1.GetOptions{})
		if getErr != nil || latest.GetResourceVersion() == object.GetResourceVersion() {
			return nil, err
		}
		object = latest
	}
}

// handOverAt rewrites the managed fields of object as it is at its resourceVersion.
func handOverAt(ctx context.Context, resource dynamic.ResourceInterface, object *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	entries := object.GetManagedFields()
	ourIndex, ownerIndex := -1, -1
	var ours, owner *fieldpath.Set
	for i, entry := range entries {
		if entry.FieldsV1 == nil || entry.Subresource != "" {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(entry.FieldsV1.Raw)); err != nil {
			return nil, nil
		}
		switch {
		case entry.Manager == apply.FieldManager && entry.Operation == metav1.ManagedFieldsOperationApply:
			ourIndex, ours = i, set
		case entry.Manager != apply.FieldManager && entry.Manager != "before-first-apply" && (owner == nil || set.Size() > owner.Size()):
			ownerIndex, owner = i, set
		}
	}
	if ours == nil || owner == nil || 2*ours.Leaves().Intersection(owner.Leaves()).Size() < ours.Leaves().Size() {
		return nil, nil
	}
	merged, err := owner.Union(ours).ToJSON()
	if err != nil {
		return nil, err
	}
	entries[ownerIndex].FieldsV1 = &metav1.FieldsV1{Raw: merged}
	kept := append(entries[:ourIndex:ourIndex], entries[ourIndex+1:]...)
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": object.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": kept},
	})
	if err != nil {
		return nil, err
	}
	return resource.Patch(ctx, object.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{})
}
