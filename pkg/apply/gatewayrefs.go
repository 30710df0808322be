package apply

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// issuerAnnotation is the issuer cert-manager's shims read from an Ingress or a Gateway.
func issuerAnnotation(object *unstructured.Unstructured) (kind, name string) {
	annotations := object.GetAnnotations()
	if issuer := annotations["cert-manager.io/cluster-issuer"]; issuer != "" {
		return "ClusterIssuer", issuer
	}
	if issuer := annotations["cert-manager.io/issuer"]; issuer != "" {
		return "Issuer", issuer
	}
	return "", ""
}

// gatewayCertificates are the Certificates gateway-shim makes for an annotated Gateway: one per Secret its
// TLS listeners refer to, named after the Secret, for the hostnames of those listeners.
func gatewayCertificates(object *unstructured.Unstructured, namespace string) []CertificateRef {
	kind, name := issuerAnnotation(object)
	if name == "" {
		return nil
	}
	listeners, _, _ := unstructured.NestedSlice(object.Object, "spec", "listeners")
	hosts := map[string][]string{}
	var order []string
	for _, raw := range listeners {
		listener, _ := raw.(map[string]any)
		hostname, _ := listener["hostname"].(string)
		if mode, _, _ := unstructured.NestedString(listener, "tls", "mode"); mode != "" && mode != "Terminate" {
			continue
		}
		refs, _, _ := unstructured.NestedSlice(listener, "tls", "certificateRefs")
		for _, rawRef := range refs {
			ref, _ := rawRef.(map[string]any)
			secret, _ := ref["name"].(string)
			if refKind, _ := ref["kind"].(string); secret == "" || (refKind != "" && refKind != "Secret") {
				continue
			}
			if _, seen := hosts[secret]; !seen {
				order = append(order, secret)
			}
			if hostname != "" {
				hosts[secret] = append(hosts[secret], hostname)
			}
		}
	}
	var out []CertificateRef
	for _, secret := range order {
		out = append(out, CertificateRef{Namespace: namespace, Name: secret, IssuerKind: kind, IssuerName: name, Via: "Gateway " + object.GetName(), Hosts: hosts[secret]})
	}
	return out
}
