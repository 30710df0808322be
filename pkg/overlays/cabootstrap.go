package overlays

import (
	"net"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// caBootstrapData is our CA made by cert-manager inside the cluster (--gitops): a selfSigned issuer signs
// the root, whose key never leaves the cluster; the root signs the name-constrained issuer that
// certManager.caIssuerName names, as generate's own CA and issuer do outside it. ca-bootstrap.yaml.tpl
// renders it.
type caBootstrapData struct {
	SelfSigned, Root, Issuer string
	CommonName               string
	KeyAlgorithm             string
	KeySize                  int
	// DNSDomains and IPRanges are the names the issuer may sign (X.509 name constraints).
	DNSDomains, IPRanges []string
}

// caBootstrap is nil unless the overlay is for git and issues from our CA.
func caBootstrap(v values.Values, serviceHosts []string) (*caBootstrapData, error) {
	if !v.GitOps || !v.IssuedByOurCAIssuer() {
		return nil, nil
	}
	names := v.CertManager.Permitted
	if len(names) == 0 {
		names = append(append([]string{}, v.Hosts...), serviceHosts...)
	}
	permitted, err := pki.ParseHosts(names)
	if err != nil {
		return nil, err
	}
	c := &caBootstrapData{
		SelfSigned: v.CertManager.CAIssuerName + "-selfsigned", Root: v.CertManager.CAIssuerName + "-root", Issuer: v.CertManager.CAIssuerName,
		CommonName: v.Certificates.CACommonName, DNSDomains: pki.PermittedDomains(permitted),
	}
	c.KeyAlgorithm, c.KeySize = privateKey(v)
	for _, ip := range permitted.IPs {
		bits := 8 * net.IPv6len
		if ip.To4() != nil {
			bits = 8 * net.IPv4len
		}
		c.IPRanges = append(c.IPRanges, (&net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}).String())
	}
	return c, nil
}
