// Package resources names, once, the API resources the plugin reads and writes through dynamic clients
// (apply, wait, status, renew and rotate-ca must agree on them, and a version moves in one place), and reads
// what they all read from them.
package resources

import (
	"encoding/base64"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	CertManagerGroup = "cert-manager.io"
	ACMEGroup        = "acme.cert-manager.io"
	GatewayGroup     = "gateway.networking.k8s.io"
)

var (
	Namespaces   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	Secrets      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	ConfigMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	Pods         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	Services     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	Events       = schema.GroupVersionResource{Version: "v1", Resource: "events"}
	Deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	StatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	Ingresses    = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
	// IngressClasses is cluster-scoped.
	IngressClasses = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingressclasses"}

	Certificates        = schema.GroupVersionResource{Group: CertManagerGroup, Version: "v1", Resource: "certificates"}
	CertificateRequests = schema.GroupVersionResource{Group: CertManagerGroup, Version: "v1", Resource: "certificaterequests"}
	Issuers             = schema.GroupVersionResource{Group: CertManagerGroup, Version: "v1", Resource: "issuers"}
	ClusterIssuers      = schema.GroupVersionResource{Group: CertManagerGroup, Version: "v1", Resource: "clusterissuers"}
	Orders              = schema.GroupVersionResource{Group: ACMEGroup, Version: "v1", Resource: "orders"}
	Challenges          = schema.GroupVersionResource{Group: ACMEGroup, Version: "v1", Resource: "challenges"}

	Gateways   = schema.GroupVersionResource{Group: GatewayGroup, Version: "v1", Resource: "gateways"}
	HTTPRoutes = schema.GroupVersionResource{Group: GatewayGroup, Version: "v1", Resource: "httproutes"}
	// SealedSecrets are Bitnami's: what the overlay of a supplied certificate holds with --gitops --seal-with.
	SealedSecrets = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}
)

// Workloads is the resource of a Kestra workload kind, and false for any other kind.
func Workloads(kind string) (schema.GroupVersionResource, bool) {
	switch kind {
	case "Deployment":
		return Deployments, true
	case "StatefulSet":
		return StatefulSets, true
	}
	return schema.GroupVersionResource{}, false
}

// SecretData is a Secret's data, decoded, as read through a dynamic client. The API server only stores
// base64 there; a key that does not decode is left out.
func SecretData(secret *unstructured.Unstructured) map[string][]byte {
	data := map[string][]byte{}
	encoded, _, _ := unstructured.NestedStringMap(secret.Object, "data")
	for key, value := range encoded {
		if decoded, err := base64.StdEncoding.DecodeString(value); err == nil {
			data[key] = decoded
		}
	}
	return data
}
