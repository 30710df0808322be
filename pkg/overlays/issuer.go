package overlays

import "github.com/kestra-tls/kubectl-kestra-tls/pkg/values"

// issuerAnnotations is the cert-manager annotation that makes ingress-shim (on the Ingress) or gateway-shim
// (on the Gateway) issue the kestra-tls certificate: one decision for both modes.
func issuerAnnotations(v values.Values) map[string]string {
	switch {
	case v.Issuer.Type == "letsencrypt":
		return map[string]string{"cert-manager.io/cluster-issuer": v.Issuer.Name}
	case v.Issuer.Type == "ref" && v.Issuer.RefKind == "Issuer":
		return map[string]string{"cert-manager.io/issuer": v.Issuer.RefName}
	case v.Issuer.Type == "ref":
		return map[string]string{"cert-manager.io/cluster-issuer": v.Issuer.RefName}
	case !v.Issuer.CertManager:
		return map[string]string{} // --no-cert-manager: the Secret is ours, nobody issues
	case v.CertManager.ClusterIssuer:
		return map[string]string{"cert-manager.io/cluster-issuer": v.CertManager.CAIssuerName}
	}
	return map[string]string{"cert-manager.io/issuer": v.CertManager.CAIssuerName}
}
