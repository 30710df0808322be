package model

import (
	"encoding/base64"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/yamlguard"
)

// EABKeyFile is the file in certs/ holding the external account binding's HMAC key, which the EAB Secret
// is generated from; EABSecretKey is its key in that Secret.
const (
	EABKeyFile   = "eab-hmac-key"
	EABSecretKey = "secret"
)

// ACME is what the ACME ClusterIssuer needs beyond plain values: the files the user pointed at, read and
// checked, so that a wrong one fails here, naming its flag, and not later in cert-manager's logs.
type ACME struct {
	// CABundle is the PEM of the CAs that sign a private ACME server's HTTPS certificate.
	CABundle []byte
	// EAB is the external account binding, nil without one.
	EAB *EAB
	// Solvers replace HTTP-01 through the Ingress class when the user brings their own.
	Solvers []map[string]any
	// Files go into certs/ (0700): the HMAC key.
	Files []fileset.File
}

// EAB binds the ACME account to an account at the CA.
type EAB struct {
	KeyID string
	// SecretName is the Secret, in cert-manager's namespace, with the HMAC key under EABSecretKey.
	SecretName string
}

func planACME(v values.Values) (*ACME, error) {
	if !v.IssuesCertificate() || v.Issuer.Type != "letsencrypt" || !v.Issuer.CertManager {
		return nil, nil
	}
	i := v.Issuer
	a := &ACME{}
	if i.ACMECABundle != "" {
		data, err := generate.ReadInput("--acme-ca-bundle", i.ACMECABundle)
		if err != nil {
			return nil, err
		}
		certs, err := pki.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-bundle %s: %v (pass the PEM file of the CA that signs your ACME server's HTTPS certificate)", i.ACMECABundle, err)
		}
		a.CABundle = pki.EncodeCertificates(certs...)
	}
	if i.EAB.KeyID != "" {
		key, err := readHMACKey(i.EAB.HMACKeyFile)
		if err != nil {
			return nil, err
		}
		a.EAB = &EAB{KeyID: i.EAB.KeyID, SecretName: i.Name + "-eab"}
		a.Files = append(a.Files, fileset.File{Name: EABKeyFile, Data: key, Mode: fileset.Private}, gitignore)
	}
	if i.SolverFile != "" {
		solvers, err := readSolvers(i.SolverFile)
		if err != nil {
			return nil, err
		}
		a.Solvers = solvers
	}
	if err := a.checkWildcards(v.Hosts, i.SolverFile); err != nil {
		return nil, err
	}
	return a, nil
}

// readHMACKey returns the key as the CA shows it (base64url), which is what cert-manager reads from the
// Secret. The key never appears in a message.
func readHMACKey(path string) ([]byte, error) {
	data, err := generate.ReadInput("--eab-hmac-key-file", path)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(string(data))
	decoded, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
	switch {
	case key == "":
		return nil, fmt.Errorf("--eab-hmac-key-file %s is empty: put the HMAC key your ACME CA shows into it", path)
	case err != nil || strings.ContainsAny(key, " \n\t"):
		return nil, fmt.Errorf("--eab-hmac-key-file %s does not hold one base64url HMAC key (the file should hold only the key, as your ACME CA shows it)", path)
	case len(decoded) < 16:
		return nil, fmt.Errorf("--eab-hmac-key-file %s holds a %d-byte key, too short for an HMAC key: copy the whole key your ACME CA shows", path, len(decoded))
	}
	return []byte(key), nil
}

// readSolvers accepts what users have at hand: a list of solvers, one solver, or an issuer's acme block
// with its solvers.
func readSolvers(path string) ([]map[string]any, error) {
	data, err := generate.ReadInput("--solver-file", path)
	if err != nil {
		return nil, err
	}
	if err := yamlguard.Check("--solver-file "+path, data); err != nil {
		return nil, err
	}
	var parsed any
	if err := yaml.Unmarshal(data, &parsed); err != nil {
		return nil, fmt.Errorf("--solver-file %s is not valid YAML: %v", path, err)
	}
	var list []any
	switch doc := parsed.(type) {
	case []any:
		list = doc
	case map[string]any:
		if inner, ok := doc["solvers"].([]any); ok {
			list = inner
		} else {
			list = []any{doc}
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("--solver-file %s holds no solver: write a cert-manager ACME solver, e.g. `- dns01: {cloudflare: {...}}`", path)
	}
	solvers := make([]map[string]any, 0, len(list))
	for n, item := range list {
		solver, ok := item.(map[string]any)
		_, http := solver["http01"]
		_, dns := solver["dns01"]
		if !ok || http == dns {
			return nil, fmt.Errorf("--solver-file %s: solver %d must have exactly one of http01 and dns01 (see cert-manager's ACME solver reference)", path, n+1)
		}
		solvers = append(solvers, solver)
	}
	return solvers, nil
}

// checkWildcards refuses wildcard hosts no solver can issue: ACME validates wildcards only through DNS-01.
func (a *ACME) checkWildcards(hosts []string, solverFile string) error {
	for _, host := range hosts {
		if !strings.HasPrefix(host, "*.") {
			continue
		}
		for _, solver := range a.Solvers {
			if _, ok := solver["dns01"]; ok {
				return nil
			}
		}
		return fmt.Errorf("--host %s: ACME issues wildcards only through DNS-01, and --solver-file %s has no dns01 solver (add one, or name the hosts)", host, solverFile)
	}
	return nil
}

// SolversYAML is the solvers as the template indents them, empty for HTTP-01 through the Ingress class.
func (a *ACME) SolversYAML() (string, error) {
	if a == nil || len(a.Solvers) == 0 {
		return "", nil
	}
	data, err := yaml.Marshal(a.Solvers)
	return string(data), err
}

// CABundleBase64 is caBundle as the ClusterIssuer carries it.
func (a *ACME) CABundleBase64() string {
	if a == nil || len(a.CABundle) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(a.CABundle)
}
