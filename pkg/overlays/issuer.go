package overlays

import "github.com/kestra-tls/kubectl-kestra-tls/pkg/values"

// issuerRef is the cert-manager issuer the values name, Issuer or ClusterIssuer; no kind with
// --no-cert-manager, where the Secret is ours and nobody issues.
func issuerRef(v values.Values) (kind, name string) {
	switch {
	case v.Issuer.Type == "letsencrypt":
		return "ClusterIssuer", v.Issuer.Name
	case v.Issuer.Type == "ref" && v.Issuer.RefKind == "Issuer":
		return "Issuer", v.Issuer.RefName
	case v.Issuer.Type == "ref":
		return "ClusterIssuer", v.Issuer.RefName
	case !v.Issuer.CertManager:
		return "", ""
	case v.CertManager.ClusterIssuer:
		return "ClusterIssuer", v.CertManager.CAIssuerName
	}
	return "Issuer", v.CertManager.CAIssuerName
}

// issuerAnnotations is the cert-manager annotation that makes ingress-shim (on the Ingress) or gateway-shim
// (on the Gateway) issue the kestra-tls certificate: one decision for both modes.
func issuerAnnotations(v values.Values) map[string]string {
	switch kind, name := issuerRef(v); kind {
	case "":
		return map[string]string{}
	case "Issuer":
		return map[string]string{"cert-manager.io/issuer": name}
	default:
		return map[string]string{"cert-manager.io/cluster-issuer": name}
	}
}
