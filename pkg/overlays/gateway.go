package overlays

import (
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// gatewayData is what gateway.yaml.tpl and httproute.yaml.tpl see: the Gateway the route attaches to, and
// the cert-manager annotation that makes gateway-shim issue for a Gateway we make.
type gatewayData struct {
	Name string
	// Namespace and Listener are set for an existing Gateway: the route's parentRef names them.
	Namespace, Listener string
	Annotations         map[string]string
	// HTTPListener: a port-80 listener for ACME's HTTP-01 challenges (cert-manager's gatewayHTTPRoute solver).
	HTTPListener bool
}

// gatewayManifests are the files of mode gateway: the Gateway when we make it, and always the HTTPRoute.
func gatewayManifests(v values.Values) []string {
	if v.Gateway.Existing != "" {
		return []string{"httproute.yaml"}
	}
	return []string{"gateway.yaml", "httproute.yaml"}
}

func gateway(v values.Values) (*gatewayData, error) {
	if v.Mode != "gateway" {
		return nil, nil
	}
	if v.Gateway.Existing != "" {
		namespace, name, listener, err := values.ParseGatewayRef(v.Gateway.Existing)
		return &gatewayData{Name: name, Namespace: namespace, Listener: listener}, err
	}
	g := &gatewayData{Name: v.Gateway.Name, Annotations: map[string]string{}}
	switch {
	case !v.Issuer.CertManager:
		// --no-cert-manager: the Secret is ours, nobody issues.
	case v.Issuer.Type == "letsencrypt":
		g.Annotations["cert-manager.io/cluster-issuer"] = v.Issuer.Name
		g.HTTPListener = true
	case v.Issuer.Type == "ref" && v.Issuer.RefKind == "Issuer":
		g.Annotations["cert-manager.io/issuer"] = v.Issuer.RefName
	case v.Issuer.Type == "ref":
		g.Annotations["cert-manager.io/cluster-issuer"] = v.Issuer.RefName
	case v.CertManager.ClusterIssuer:
		g.Annotations["cert-manager.io/cluster-issuer"] = v.CertManager.CAIssuerName
	default:
		g.Annotations["cert-manager.io/issuer"] = v.CertManager.CAIssuerName
	}
	return g, nil
}
