package overlays

import (
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
)

// acmeData is what cluster-issuer.yaml.tpl and kustomization.yaml.tpl see of the ACME issuer: the trust
// for a private server, the account binding (its key stays in certs/ and reaches the cluster through a
// generated Secret only), and the user's own solvers.
type acmeData struct {
	CABundle string
	// EABKeyID is empty without external account binding.
	EABKeyID, EABSecretName, EABSecretKey, EABFile string
	// Solvers is YAML, empty for HTTP-01 through the Ingress class.
	Solvers string
}

// acme prepares the ACME issuer's template data and tells the overlay which files it must write into
// certs/ for it.
func acme(m *model.Model, out *Overlay) (*acmeData, error) {
	if m.ACME == nil {
		return nil, nil
	}
	solvers, err := m.ACME.SolversYAML()
	if err != nil {
		return nil, err
	}
	data := &acmeData{CABundle: m.ACME.CABundleBase64(), Solvers: solvers}
	if eab := m.ACME.EAB; eab != nil {
		data.EABKeyID, data.EABSecretName, data.EABSecretKey = eab.KeyID, eab.SecretName, model.EABSecretKey
		data.EABFile = CertsDir + "/" + model.EABKeyFile
	}
	out.CertsFiles = append(out.CertsFiles, m.ACME.Files...)
	return data, nil
}
