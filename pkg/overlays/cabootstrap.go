package overlays

import (
	"fmt"
	"net"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// caBootstrapData is our CA made by cert-manager inside the cluster (--gitops): a selfSigned issuer signs
// the root, whose key never leaves the cluster; the root signs the name-constrained issuer that
// certManager.caIssuerName names, as generate's own CA and issuer do outside it. ca-bootstrap.yaml.tpl
// renders it.
type caBootstrapData struct {
	SelfSigned, Issuer string
	// Roots are the root CAs: one, or two while rotate-ca moves to the next (certificates.rotation);
	// SigningRoot is the one that signs the issuer.
	Roots        []caRoot
	SigningRoot  string
	CommonName   string
	KeyAlgorithm string
	KeySize      int
	// DNSDomains and IPRanges are the names the issuer may sign (X.509 name constraints).
	DNSDomains, IPRanges []string
}

// caRoot is one root CA cert-manager makes (a Certificate, its Secret and the CA Issuer on it, one name).
type caRoot struct {
	Name       string
	Generation int
}

// RootCAName names generation's root CA of the issuer: <issuer>-root for the first, as overlays before
// rotations named it, <issuer>-root-N after.
func RootCAName(issuer string, generation int) string {
	if generation <= 1 {
		return issuer + "-root"
	}
	return fmt.Sprintf("%s-root-%d", issuer, generation)
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
		SelfSigned: v.CertManager.CAIssuerName + "-selfsigned", Issuer: v.CertManager.CAIssuerName,
		CommonName: v.Certificates.CACommonName, DNSDomains: pki.PermittedDomains(permitted),
	}
	generation := max(v.CertManager.CAGeneration, 1)
	current := caRoot{Name: RootCAName(v.CertManager.CAIssuerName, generation), Generation: generation}
	c.Roots, c.SigningRoot = []caRoot{current}, current.Name
	switch v.Certificates.Rotation {
	case generate.RotationTrust, generate.RotationIssue:
		// rotate-ca: the next root beside the current one, which clients learn to trust (kubectl kestra-tls
		// ca prints both); from step 2 it signs the issuer.
		next := caRoot{Name: RootCAName(v.CertManager.CAIssuerName, generation+1), Generation: generation + 1}
		c.Roots = append(c.Roots, next)
		if v.Certificates.Rotation == generate.RotationIssue {
			c.SigningRoot = next.Name
		}
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
