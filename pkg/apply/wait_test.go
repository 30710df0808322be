package apply

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
