// Package model is what Kestra needs for TLS, decided once from the effective values: its URL, the
// configuration fragment Micronaut must read, the certificates and stores, the JVM flags for outbound
// trust. Each target (the kustomize overlay, helm values) renders it in its own way.
package model

import (
	"crypto/x509"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// Names shared by every target.
const (
	// CertsDir is the overlay's folder for keys and stores.
	CertsDir = "certs"
	// OutboundTrustFile is the JKS of public CAs plus ours that JVM flags name for tasks' outbound HTTPS.
	OutboundTrustFile = "outbound-truststore.jks"
	// OutboundBundleFile is the same trust as PEM, for the processes tasks start.
	OutboundBundleFile = "outbound-ca-bundle.pem"
	// ConfigFile holds our configuration fragment when it reaches Micronaut as a file.
	ConfigFile = "kestra-tls.yml"
	// ConfigName names the ConfigMap (kustomize) or Secret (helm) that carries ConfigFile.
	ConfigName = "kestra-tls-config"
	// StoresVolume is the pod volume with the stores.
	StoresVolume = "kestra-ssl"
	// RegistriesVolume lays the outbound bundle out as each --registry's ca.crt for Docker daemons.
	RegistriesVolume = "kestra-tls-registries"
)

// Options are the inputs the model needs besides the values.
type Options struct {
	Dir           string // the output folder; its certs/ holds the material
	Values        *values.Resolved
	Renderer      *render.Renderer
	StorePassword string // from the environment; values' storePasswordFile wins
	Force         bool
	// RenewServer re-mints the server certificate from the kept CA (renew).
	RenewServer bool
	Now         time.Time
	// ServesHTTP tells that something reaches Kestra's plain HTTP port (a Service port to 8080), which
	// decides dual-protocol when values leave it open (null).
	ServesHTTP bool
	// BackendHosts are the names Kestra's own certificate carries behind a Gateway (backend TLS): its
	// Service's DNS names, which the Gateway verifies; the public hosts are the Gateway's.
	BackendHosts []string
	// ServiceHosts are the cluster DNS names of Kestra's Service, which a keystore from cert-manager also
	// carries so that in-cluster clients verify Kestra by them.
	ServiceHosts []string
	// KestraImage is the image of Kestra's server container, whose tag tells the Kestra version; empty
	// where the base names none (the chart's image is its appVersion).
	KestraImage string
}

// TrustVariables are what the processes tasks start read their CAs from: OpenSSL and Python's ssl module
// (SSL_CERT_FILE), requests (REQUESTS_CA_BUNDLE), curl (CURL_CA_BUNDLE), Node (NODE_EXTRA_CA_CERTS, added
// to its own roots), pip (PIP_CERT) and git (GIT_SSL_CAINFO).
var TrustVariables = []string{"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "PIP_CERT", "GIT_SSL_CAINFO"}

// EnvVar is an environment variable a Kestra container gets.
type EnvVar struct{ Name, Value string }

// Model is Kestra's TLS, ready to render.
type Model struct {
	Values *values.Resolved
	// URL is kestra.url.
	URL string
	// DualProtocol keeps plain HTTP on 8080 beside HTTPS (app mode).
	DualProtocol bool
	// Fragment is our part of Kestra's configuration, to be merged over (or read after) the base's.
	Fragment map[string]any
	// Material is the certificates and stores, nil when the mode needs none (ACME or an existing issuer).
	Material *Material
	// ACME is the ACME ClusterIssuer's trust, account binding and solvers, nil without one.
	ACME *ACME
	// JavaOpts are the JVM flags for outbound trust and the proxy, empty without either.
	JavaOpts string
	// OutboundEnv are the variables the processes tasks start read: the outbound PEM bundle's, then the
	// proxy's; empty without --outbound-trust and --proxy.
	OutboundEnv []EnvVar
	// Renewal is how a renewed certificate reaches Kestra serving HTTPS itself (app mode).
	Renewal  Renewal
	Warnings []string
	// PublicFiles are the public outbound stores, committed in the overlay's OutboundDir (the values'
	// PublicOutboundTrust); TrustedExtra the --trust-ca certificates in the outbound stores.
	PublicFiles  []fileset.File
	TrustedExtra []*x509.Certificate
	// publicNotes say what the public outbound stores hold, when there is no other material.
	publicNotes []string
}

// Build decides everything once.
func Build(opts Options) (*Model, error) {
	v := opts.Values
	m := &Model{Values: v, URL: kestraURL(v.Values)}
	if v.ServesHTTPS() {
		m.DualProtocol = opts.ServesHTTP || v.App.RedirectHTTP // the redirect answers on 8080
		if v.App.DualProtocol != nil {
			m.DualProtocol = *v.App.DualProtocol
		}
	}
	if v.ServesHTTPS() {
		renewal, err := decideRenewal(v.Values, opts.KestraImage)
		if err != nil {
			return nil, err
		}
		m.Renewal = renewal
		if version, known := knownKestraVersion(v.Values, opts.KestraImage); v.App.HSTS != "" && known && !version.atLeast(firstSecurityHeaders) {
			m.Warnings = append(m.Warnings, fmt.Sprintf("--hsts: Kestra %d.%d ignores it (kestra.webserver.security-headers came with Kestra 2.0): no Strict-Transport-Security until you upgrade", version.major, version.minor))
		}
		if renewal.Reloads && v.App.RestartOnRenewal != "" {
			m.Warnings = append(m.Warnings, "app.restartOnRenewal (--restart-on-renewal) is left out: Kestra reloads a renewed keystore in place, and Reloader would restart it for nothing")
		}
	}
	material, err := planMaterial(opts)
	if err != nil {
		return nil, err
	}
	if material != nil {
		m.PublicFiles, m.TrustedExtra, m.publicNotes = material.PublicFiles, material.TrustedExtra, material.Notes
		if material.Bundle != nil {
			m.Material = material
			m.publicNotes = nil
		}
		m.Warnings = append(m.Warnings, material.Warnings...)
	}
	if v.Mode == "ingress" && v.App.ClientAuthentication != "" {
		caPEM, err := ingressClientCA(v.Values, m.Material)
		if err != nil {
			return nil, err
		}
		m.PublicFiles = append(m.PublicFiles, fileset.File{Name: ClientCAFile, Data: caPEM, Mode: fileset.Public})
	}
	if v.PublicClientTrust() {
		files, err := publicClientTrust(v.Values)
		if err != nil {
			return nil, err
		}
		m.PublicFiles = append(m.PublicFiles, files...)
	}
	if m.ACME, err = planACME(v.Values); err != nil {
		return nil, err
	}
	if v.Mode == "app" && v.App.OutboundTrust {
		m.JavaOpts = "-Djavax.net.ssl.trustStore=" + path.Join(v.App.MountPath, OutboundTrustFile) + " -Djavax.net.ssl.trustStoreType=JKS"
		for _, name := range TrustVariables {
			m.OutboundEnv = append(m.OutboundEnv, EnvVar{Name: name, Value: path.Join(v.App.MountPath, OutboundBundleFile)})
		}
	}
	proxyFlags, proxyEnv, err := proxySettings(v.Values)
	if err != nil {
		return nil, err
	}
	m.JavaOpts = strings.TrimSpace(m.JavaOpts + " " + proxyFlags)
	m.OutboundEnv = append(m.OutboundEnv, proxyEnv...)
	truststoreFile, truststorePassword := "truststore.jks", "${"+v.App.PasswordEnv+"}"
	if v.PublicClientTrust() {
		truststoreFile, truststorePassword = ClientTruststoreFile, PublicStorePassword
	}
	rendered, err := opts.Renderer.Render("kestra-configuration.yaml.tpl", map[string]any{
		"Values": v.Map, "URL": m.URL, "DualProtocol": m.DualProtocol, "ServesHTTPS": v.ServesHTTPS(),
		"Truststore": v.HasTruststore() || v.PublicClientTrust(), "Reloads": m.Renewal.Reloads, "Provider": CertificateProvider,
		"TruststoreFile": truststoreFile, "TruststorePassword": truststorePassword,
		"ForwardedHosts": forwardedHosts(v.Values),
	})
	if err != nil {
		return nil, err
	}
	m.Fragment = map[string]any{}
	if err := yaml.Unmarshal(rendered, &m.Fragment); err != nil {
		return nil, fmt.Errorf("kestra-configuration.yaml.tpl does not render to YAML: %v", err)
	}
	return m, nil
}

// OutboundTrust tells whether every Kestra component mounts the outbound stores.
func (m *Model) OutboundTrust() bool { return m.Values.Mode == "app" && m.Values.App.OutboundTrust }

// MountsStores tells whether Kestra's containers need the stores volume: Kestra serves HTTPS itself, or
// its tasks trust through the outbound store.
func (m *Model) MountsStores() bool { return m.Values.ServesHTTPS() }

// FragmentYAML is the fragment as a file.
func (m *Model) FragmentYAML() ([]byte, error) {
	data, err := yaml.Marshal(m.Fragment)
	if err != nil {
		return nil, err
	}
	return append([]byte("# Kestra's TLS settings, written by `kubectl kestra-tls generate`; Micronaut reads this file after the others.\n"), data...), nil
}

// MergeInto deep-merges the fragment over a configuration in YAML, keeping every key of it we don't set.
func (m *Model) MergeInto(configuration, source string) (string, error) {
	return mergeYAML(configuration, m.Fragment, source)
}

// AppendJavaOpts adds the outbound-trust flags to what a JVM options variable already holds.
func (m *Model) AppendJavaOpts(existing string) string {
	if m.JavaOpts == "" || strings.Contains(existing, m.JavaOpts) {
		return existing
	}
	return strings.TrimSpace(existing + " " + m.JavaOpts)
}

// Notes say what went into the material, for the user to check.
func (m *Model) Notes() []string {
	var notes []string
	if m.Values.ServesHTTPS() && m.Renewal.Why != "" {
		notes = append(notes, "renewal: "+m.Renewal.Why)
	}
	if m.Material == nil {
		return append(notes, m.publicNotes...)
	}
	return append(notes, m.Material.Notes...)
}

// CertFiles are the files of certs/, nil without material.
func (m *Model) CertFiles() []fileset.File {
	if m.Material == nil {
		return nil
	}
	return m.Material.Files
}

// kestraURL is kestra.url: what users type in the browser.
func kestraURL(v values.Values) string {
	if v.Kestra.URL != "" {
		return v.Kestra.URL
	}
	host := v.Hosts[0]
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if v.Mode == "app" && v.App.Port != 443 {
		host += ":" + strconv.Itoa(v.App.Port)
	}
	return "https://" + host + "/"
}

// sslPrefix is the configuration subtree of Micronaut's HTTPS server, as normalize writes it.
const sslPrefix = "micronaut.server.ssl"

// WithoutSSL removes micronaut.server.ssl (nested, dotted, camelCase or kebab-case) from a Kestra
// configuration: a setup made by hand along the guide holds its own keystore and a plain-text password
// there, and Micronaut reads keyStore and key-store as one property, so a merge beside ours would leave two
// keystores and the winner to chance. The text is returned as it was when there is none.
func WithoutSSL(configuration string) (string, bool, error) {
	tree := map[string]any{}
	if err := yaml.Unmarshal([]byte(configuration), &tree); err != nil {
		return "", false, err
	}
	if !dropSSL(tree, "") {
		return configuration, false, nil
	}
	out, err := yaml.Marshal(tree)
	return string(out), true, err
}

func dropSSL(tree map[string]any, prefix string) bool {
	removed := false
	for key, value := range tree {
		full := strings.TrimPrefix(prefix+"."+strings.ToLower(strings.ReplaceAll(key, "-", "")), ".")
		switch {
		case full == sslPrefix || strings.HasPrefix(full, sslPrefix+"."):
			delete(tree, key)
			removed = true
		case strings.HasPrefix(sslPrefix, full+"."):
			if child, ok := value.(map[string]any); ok && dropSSL(child, full) {
				removed = true
				if len(child) == 0 {
					delete(tree, key)
				}
			}
		}
	}
	return removed
}

// forwardedHosts are the resolved base URLs Micronaut may build behind the Ingress or Gateway, as patterns
// of its host-resolution.allowed-hosts: https and each --host (a wildcard host stands for one label), and
// loopback with its port, for `kubectl port-forward`.
func forwardedHosts(v values.Values) []string {
	if !v.TerminatesOutside() {
		return nil
	}
	patterns := []string{`https?://(localhost|127\.0\.0\.1)(:[0-9]+)?`}
	for _, host := range v.Hosts {
		if rest, wildcard := strings.CutPrefix(host, "*."); wildcard {
			patterns = append(patterns, `https://[^.:/]+\.`+regexp.QuoteMeta(rest))
			continue
		}
		patterns = append(patterns, "https://"+regexp.QuoteMeta(host))
	}
	return patterns
}

// ClientCAFile, in the overlay, is the CA whose client certificates the Ingress controller accepts
// (--client-auth in ingress mode): public, so committed with the overlay.
const ClientCAFile = "client-ca.pem"

// ClientTruststoreFile, in the overlay and in Kestra's stores folder, holds the clients' CA (--client-ca)
// where cert-manager writes Kestra's stores (values' PublicClientTrust); ClientTrustConfigMap carries it
// there with ClientCAFile, which status reads. Public certificates only, so the truststore's password is
// PublicStorePassword.
const (
	ClientTruststoreFile = "client-truststore.jks"
	ClientTrustConfigMap = "kestra-tls-client-trust"
	// RoleClientTrust marks that ConfigMap.
	RoleClientTrust = "client-trust"
)

// publicClientTrust are the overlay's files of the clients' CA: a truststore holding it alone, and its PEM.
func publicClientTrust(v values.Values) ([]fileset.File, error) {
	cas, err := clientCAs(v.App.ClientCAFile)
	if err != nil {
		return nil, err
	}
	var entries []keystore.TrustedEntry
	for i, ca := range cas {
		entries = append(entries, keystore.TrustedEntry{Alias: "client-ca-" + strconv.Itoa(i+1), Cert: ca})
	}
	jks, err := keystore.JKS(entries, PublicStorePassword)
	if err != nil {
		return nil, err
	}
	return []fileset.File{
		{Name: ClientTruststoreFile, Data: jks, Mode: fileset.Public},
		{Name: ClientCAFile, Data: pki.EncodeCertificates(cas...), Mode: fileset.Public},
	}, nil
}

// ingressClientCA is the CA the Ingress controller verifies clients against: --client-ca's, else our CA
// (the root of certs/, which `certs --client` signs with).
func ingressClientCA(v values.Values, material *Material) ([]byte, error) {
	if v.App.ClientCAFile != "" {
		certs, err := clientCAs(v.App.ClientCAFile)
		if err != nil {
			return nil, err
		}
		return pki.EncodeCertificates(certs...), nil
	}
	if material == nil || material.Bundle == nil || material.Bundle.CA == nil {
		return nil, fmt.Errorf("--client-auth %s: no CA of ours in certs/ to verify clients against: pass --self-signed, or your clients' CA with --client-ca FILE", v.App.ClientAuthentication)
	}
	return pki.EncodeCertificates(material.Bundle.CA), nil
}
