// Package conditions reads status conditions from objects as the dynamic client returns them, keyed by
// type as cert-manager and Kubernetes write them.
package conditions

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Find is the object's condition of this type, nil when it has none.
func Find(object *unstructured.Unstructured, kind string) map[string]any {
	conditions, _, _ := unstructured.NestedSlice(object.Object, "status", "conditions")
	for _, c := range conditions {
		if condition, ok := c.(map[string]any); ok && condition["type"] == kind {
			return condition
		}
	}
	return nil
}

// IsTrue tells whether the object's condition of this type has status True.
func IsTrue(object *unstructured.Unstructured, kind string) bool {
	condition := Find(object, kind)
	return condition != nil && condition["status"] == "True"
}
