package renew

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

func certificate(conditions ...map[string]any) *unstructured.Unstructured {
	var list []any
	for _, c := range conditions {
		list = append(list, c)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "kestra-tls", "namespace": "kestra", "generation": int64(2)},
		"status":   map[string]any{"revision": int64(3), "conditions": list},
	}}
}

// TestTrigger sets the Issuing condition the way cmctl renew does; the real cert-manager acting on it is
// tested in internal/cli (TestStatusAndRenewOfIngressInstalls).
func TestTrigger(t *testing.T) {
	ready := map[string]any{"type": "Ready", "status": "True"}
	tests := map[string]struct {
		existing       *unstructured.Unstructured
		alreadyIssuing bool
		issuing        int // Issuing conditions after the call
		err            string
	}{
		"a Ready certificate gets one Issuing condition":                   {certificate(ready), false, 1, ""},
		"a failed attempt's Issuing False is replaced, not doubled":        {certificate(ready, map[string]any{"type": "Issuing", "status": "False", "reason": "Failed"}), false, 1, ""},
		"a certificate already issuing is left alone":                      {certificate(ready, map[string]any{"type": "Issuing", "status": "True"}), true, 1, ""},
		"a missing certificate is an error that says to apply the install": {nil, false, 0, "apply the install first"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var objects []runtime.Object
			if tc.existing != nil {
				objects = append(objects, tc.existing)
			}
			client := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme(), objects...)
			got, err := Trigger(context.Background(), client, "kestra", "kestra-tls", ByRenew, time.Now())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.AlreadyIssuing != tc.alreadyIssuing || got.Revision != 3 {
				t.Errorf("Trigger = %+v", got)
			}
			after, err := client.Resource(resources.Certificates).Namespace("kestra").Get(context.Background(), "kestra-tls", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			conditions, _, _ := unstructured.NestedSlice(after.Object, "status", "conditions")
			count := 0
			for _, c := range conditions {
				if condition := c.(map[string]any); condition["type"] == "Issuing" {
					count++
					if condition["status"] != "True" {
						t.Errorf("Issuing = %v", condition)
					}
				}
			}
			if count != tc.issuing {
				t.Errorf("%d Issuing conditions, want %d: %v", count, tc.issuing, conditions)
			}
		})
	}
}
