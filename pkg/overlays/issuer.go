package overlays

import (
	"strconv"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

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

// issuerAnnotations are the cert-manager annotations that make ingress-shim (on the Ingress) or gateway-shim
// (on the Gateway) issue the kestra-tls certificate, with the key type of certificates.keyAlgorithm: one
// decision for both modes.
func issuerAnnotations(v values.Values) map[string]string {
	kind, name := issuerRef(v)
	if kind == "" {
		return map[string]string{}
	}
	algorithm, size := privateKey(v)
	annotations := map[string]string{
		"cert-manager.io/private-key-algorithm": algorithm,
		"cert-manager.io/private-key-size":      strconv.Itoa(size),
	}
	if kind == "Issuer" {
		annotations["cert-manager.io/issuer"] = name
	} else {
		annotations["cert-manager.io/cluster-issuer"] = name
	}
	return annotations
}

// privateKey is certificates.keyAlgorithm (validated with the values) in cert-manager's words, so that the
// certificates cert-manager issues have the key type of those generate makes, ECDSA P-256 by default, rather
// than cert-manager's own default of RSA-2048.
func privateKey(v values.Values) (algorithm string, size int) {
	keyAlgorithm, _ := pki.ParseKeyAlgorithm(v.Certificates.KeyAlgorithm)
	return keyAlgorithm.CertManager()
}
