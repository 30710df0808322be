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
	// BackendHost is the name the Gateway verifies Kestra's certificate for, with backend TLS.
	BackendHost string
	BackendCA   string
}

// gatewayManifests are the files of mode gateway: the Gateway when we make it, always the HTTPRoute, and
// with backend TLS the Service's https port and the BackendTLSPolicy.
func gatewayManifests(v values.Values) []string {
	var files []string
	if v.Gateway.Existing == "" {
		files = append(files, "gateway.yaml")
	}
	files = append(files, "httproute.yaml")
	if v.Gateway.BackendTLS {
		files = append(files, "service-patch.yaml", "backendtlspolicy.yaml")
	}
	return files
}

// BackendCAConfigMap holds our CA for the BackendTLSPolicy: the Gateway verifies Kestra against it.
const BackendCAConfigMap = "kestra-tls-backend-ca"

// backendHosts are the names the Gateway reaches Kestra by, which Kestra's own certificate must carry:
// the BackendTLSPolicy's validation.hostname is the first.
func backendHosts(v values.Values, service, namespace string) ([]string, error) {
	if !v.Gateway.BackendTLS {
		return nil, nil
	}
	return serviceDNSNames(service, namespace, "--backend-tls")
}

func gateway(v values.Values) (*gatewayData, error) {
	if v.Mode != "gateway" {
		return nil, nil
	}
	if v.Gateway.Existing != "" {
		namespace, name, listener, err := values.ParseGatewayRef(v.Gateway.Existing)
		return &gatewayData{Name: name, Namespace: namespace, Listener: listener}, err
	}
	// Let's Encrypt's HTTP-01 challenges come in on a port-80 listener.
	return &gatewayData{Name: v.Gateway.Name, Annotations: issuerAnnotations(v), HTTPListener: v.Issuer.Type == "letsencrypt"}, nil
}
