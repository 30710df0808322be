package overlays

import (
	"fmt"
	"net"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// appCertificateData is the cert-manager Certificate that writes Kestra's own stores (app mode with
// --app-issuer cert-manager); certificate.yaml.tpl renders it.
type appCertificateData struct {
	Name                   string
	DNSNames, IPAddresses  []string
	IssuerKind, IssuerName string
	// Hosts is the stores Secret's hosts annotation, for status.
	Hosts string
	// KeyAlgorithm and KeySize are certificates.keyAlgorithm in cert-manager's words.
	KeyAlgorithm string
	KeySize      int
}

// serviceDNSNames are the names in-cluster clients reach Kestra's Service by; they need the namespace.
func serviceDNSNames(service, namespace, flag string) ([]string, error) {
	if namespace == "" {
		return nil, fmt.Errorf("%s needs Kestra's namespace: pass -n NAMESPACE (Kestra's certificate names %s.NAMESPACE.svc)", flag, service)
	}
	return []string{service + "." + namespace + ".svc", service + "." + namespace + ".svc.cluster.local"}, nil
}

func appCertificate(v values.Values, serviceHosts []string) *appCertificateData {
	if !v.AppIssuedByCertManager() {
		return nil
	}
	c := &appCertificateData{Name: v.App.SSLSecretName}
	c.KeyAlgorithm, c.KeySize = privateKey(v)
	all := append(append([]string{}, v.Hosts...), serviceHosts...)
	for _, host := range all {
		if net.ParseIP(host) != nil {
			c.IPAddresses = append(c.IPAddresses, host)
		} else {
			c.DNSNames = append(c.DNSNames, host)
		}
	}
	c.Hosts = strings.Join(all, ",")
	c.IssuerKind, c.IssuerName = issuerRef(v)
	return c
}
