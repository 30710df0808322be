package apply

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	fakedynamic "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

func object(t *testing.T, yaml string) *unstructured.Unstructured {
	t.Helper()
	objects, err := Decode([]byte(yaml))
	if err != nil || len(objects) != 1 {
		t.Fatalf("decode: %v (%d objects)", err, len(objects))
	}
	return objects[0]
}

func TestCertificatesInFollowsIngressShim(t *testing.T) {
	ingress := object(t, `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: kestra
  annotations: {cert-manager.io/cluster-issuer: ca}
spec:
  tls: [{hosts: [a.example.com], secretName: kestra-tls}]
`)
	plain := object(t, `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: other}, spec: {tls: [{secretName: x}]}}`)
	got := CertificatesIn([]*unstructured.Unstructured{ingress, plain}, "kestra")
	want := []CertificateRef{{Namespace: "kestra", Name: "kestra-tls", IssuerKind: "ClusterIssuer", IssuerName: "ca", Via: "Ingress kestra", Hosts: []string{"a.example.com"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIsReady(t *testing.T) {
	ref := CertificateRef{Hosts: []string{"a.example.com"}}
	tests := map[string]struct {
		yaml string
		want bool
	}{
		"Ready for the current generation and hosts":              {`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {generation: 2}, spec: {dnsNames: [a.example.com]}, status: {conditions: [{type: Ready, status: "True", observedGeneration: 2}]}}`, true},
		"Ready for an older generation":                           {`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {generation: 3}, spec: {dnsNames: [a.example.com]}, status: {conditions: [{type: Ready, status: "True", observedGeneration: 2}]}}`, false},
		"Ready, but ingress-shim has not copied the new host yet": {`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {generation: 1}, spec: {dnsNames: [b.example.com]}, status: {conditions: [{type: Ready, status: "True", observedGeneration: 1}]}}`, false},
		"not Ready":         {`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {generation: 1}, spec: {dnsNames: [a.example.com]}, status: {conditions: [{type: Ready, status: "False", observedGeneration: 1}]}}`, false},
		"no conditions yet": {`{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {generation: 1}, spec: {dnsNames: [a.example.com]}}`, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := isReady(object(t, tc.yaml), ref); got != tc.want {
				t.Errorf("isReady = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAnExpiredWatchIsRelisted: a watch that ends in 410 Gone (its version compacted away) must not resume
// from "now", which would miss a Ready that happened meanwhile: the waiter lists again and finds it. The
// real API server only expires versions after compaction; a fake clientset provokes it here.
func TestAnExpiredWatchIsRelisted(t *testing.T) {
	scheme := runtime.NewScheme()
	notReady := certificate("False")
	client := fakedynamic.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{resources.Certificates: "CertificateList"}, notReady)
	lists := 0
	client.PrependReactor("list", "certificates", func(action k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		status := "False"
		if lists > 1 {
			status = "True" // Ready came while the watch was expiring
		}
		return true, &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "CertificateList", "metadata": map[string]any{"resourceVersion": "10"}}, Items: []unstructured.Unstructured{*certificate(status)}}, nil
	})
	client.PrependWatchReactor("certificates", func(action k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		go w.Error(&metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonExpired, Code: 410, Message: "too old resource version"})
		return true, w, nil
	})
	waiter := &Waiter{Dynamic: client}
	ready, err := waiter.Wait(context.Background(), []CertificateRef{{Namespace: "kestra", Name: "kestra-tls"}}, 10*time.Second)
	if err != nil || len(ready) != 1 {
		t.Fatalf("Wait = %v, %v; want Ready after a relist", ready, err)
	}
	if lists != 2 {
		t.Errorf("listed %d times, want 2 (once, then again after 410 Gone)", lists)
	}
}

func certificate(ready string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "kestra-tls", "namespace": "kestra", "generation": int64(1)},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready, "observedGeneration": int64(1)}}},
	}}
}
