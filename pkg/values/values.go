// Package values resolves the inputs of `generate` the way Helm does: default values, then each values
// file in order, then --set expressions, then the dedicated flags. Every layer is checked against the
// schema on its own, so an unknown or mistyped key is reported with the file or --set that brought it.
package values

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// Values is the schema of values.yaml; templates/values.yaml documents every key.
type Values struct {
	Mode      string   `json:"mode"`
	Target    string   `json:"target"`
	Hosts     []string `json:"hosts"`
	Base      string   `json:"base"`
	Templates string   `json:"templates"`
	Namespace string   `json:"namespace"`
	CSRF      bool     `json:"csrf"`
	// GitOps makes an overlay to commit: no key, keystore or password read from certs/; cert-manager makes
	// our CA and Kestra's keystore inside the cluster.
	GitOps       bool         `json:"gitops"`
	Sealing      Sealing      `json:"sealing"`
	Kestra       Kestra       `json:"kestra"`
	Ingress      Ingress      `json:"ingress"`
	Issuer       Issuer       `json:"issuer"`
	CertManager  CertManager  `json:"certManager"`
	App          App          `json:"app"`
	Certificates Certificates `json:"certificates"`
	Helm         Helm         `json:"helm"`
	Compose      Compose      `json:"compose"`
	Gateway      Gateway      `json:"gateway"`
}

// Gateway is the Gateway API Gateway of mode gateway: a new one (Name, ClassName), or an existing one.
type Gateway struct {
	Name      string `json:"name"`
	ClassName string `json:"className"`
	// Existing is NAMESPACE/NAME[:LISTENER] of a Gateway someone else runs: only the HTTPRoute is written.
	Existing string `json:"existing"`
	// RequestTimeout is the HTTPRoute's timeouts.request; "0s" turns it off, for server-sent events.
	RequestTimeout string `json:"requestTimeout"`
	// BackendTLS: Kestra serves HTTPS itself too, and a BackendTLSPolicy makes the Gateway verify it.
	BackendTLS bool `json:"backendTLS"`
}

// TerminatesOutside tells whether TLS ends in front of Kestra (an Ingress or a Gateway), so that a
// certificate comes from an issuer rather than from Kestra's own keystore.
func (v Values) TerminatesOutside() bool { return v.Mode == "ingress" || v.Mode == "gateway" }

// ServesHTTPS tells whether Kestra serves HTTPS itself: app mode, or behind a Gateway with backend TLS.
func (v Values) ServesHTTPS() bool {
	return v.Mode == "app" || (v.Mode == "gateway" && v.Gateway.BackendTLS)
}

// IssuesCertificate tells whether our output makes cert-manager issue the certificate in front of Kestra:
// not when the route attaches to a Gateway someone else runs (its listener has its own).
func (v Values) IssuesCertificate() bool {
	return v.TerminatesOutside() && !(v.Mode == "gateway" && v.Gateway.Existing != "")
}

// AppIssuedByCertManager tells whether, in app mode, cert-manager issues Kestra's keystore (a Certificate
// with keystores) rather than generate.
func (v Values) AppIssuedByCertManager() bool {
	if v.Mode != "app" {
		return false
	}
	if v.App.Issuer == "" {
		// An overlay for git holds no keystore (unless sealed): cert-manager writes it in the cluster.
		return v.Issuer.Type == "ref" || (v.GitOps && !v.SuppliesCertificate())
	}
	return v.App.Issuer == "cert-manager"
}

// What rotate-ca rotates: RotatesOwnStores, our CA signing the stores generate writes for Kestra (app
// mode); RotatesIssuer, our CA behind the issuer cert-manager signs with (--self-signed).
const (
	RotatesOwnStores = "stores"
	RotatesIssuer    = "issuer"
)

// CARotation tells how rotate-ca moves this install to a new CA, or "" when the CA is not ours to rotate
// from this folder: another issuer or a supplied certificate, a CA shared through --ca-dir, a Compose
// project (no cluster), or the official chart's Ingress (--target helm).
func (v Values) CARotation() string {
	switch {
	case v.Target == "compose" || v.Certificates.CADir != "":
		return ""
	case v.Mode == "app" && v.MintsServerCertificate():
		return RotatesOwnStores
	case v.IssuedByOurCAIssuer() && v.Target != "helm":
		return RotatesIssuer
	}
	return ""
}

// HasTruststore tells whether Kestra's stores include truststore.jks: always when generate writes them;
// from cert-manager only when the issuer names a CA (our CA issuer), which an issuer of the user's may not.
func (v Values) HasTruststore() bool {
	return !(v.AppIssuedByCertManager() && v.Issuer.Type == "ref")
}

// PublicOutboundTrust tells whether the outbound trust travels apart from Kestra's stores, in a ConfigMap
// of public certificates: cert-manager writes the stores Secret, where generate cannot add to it.
func (v Values) PublicOutboundTrust() bool {
	return v.Mode == "app" && v.App.OutboundTrust && v.AppIssuedByCertManager()
}

// IngressController is whose settings the Ingress carries: ingress.controller, else the class's name
// (nginx, traefik, or a name that tells nothing).
func (v Values) IngressController() string {
	if v.Ingress.Controller != "" {
		return v.Ingress.Controller
	}
	return v.Ingress.ClassName
}

// PublicClientTrust tells whether the clients' CA (--client-ca) reaches Kestra apart from its stores, in a
// ConfigMap of its own: cert-manager writes the stores Secret, whose truststore holds its issuer's CA.
func (v Values) PublicClientTrust() bool {
	return v.Mode == "app" && v.App.ClientAuthentication != "" && v.App.ClientCAFile != "" && v.AppIssuedByCertManager()
}

// SuppliesCertificate tells whether the user brings Kestra's certificate (--cert, --pkcs12).
func (v Values) SuppliesCertificate() bool {
	return v.Certificates.CertFile != "" || v.Certificates.PKCS12File != ""
}

// IssuedByOurCAIssuer tells whether cert-manager issues the served certificate from our CA, through the
// name-constrained issuer generate signs and the overlay hands to a cert-manager CA issuer (self-signed
// with cert-manager; not with backend TLS, where generate also mints Kestra's own certificate).
func (v Values) IssuedByOurCAIssuer() bool {
	if v.Issuer.Type != "self-signed" || !v.Issuer.CertManager || (v.Mode == "gateway" && v.Gateway.BackendTLS) {
		return false
	}
	return (v.TerminatesOutside() && v.IssuesCertificate()) || v.AppIssuedByCertManager()
}

// MintsServerCertificate tells whether generate issues the served certificate from our CA in the overlay
// (or --ca-dir), rather than cert-manager or the user: then renewing it means minting it again.
func (v Values) MintsServerCertificate() bool {
	switch {
	case v.SuppliesCertificate(), v.AppIssuedByCertManager():
		return false
	case v.ServesHTTPS():
		return true
	}
	return v.Issuer.Type == "self-signed" && !v.Issuer.CertManager
}

// Sealing is how, with --gitops, the Secrets made from a certificate the user supplies go into git: sealed
// for the Sealed Secrets controller of the cluster, never in plain text.
type Sealing struct {
	// SealedSecretsCert is the controller's public certificate (kubeseal --fetch-cert), --seal-with.
	SealedSecretsCert string `json:"sealedSecretsCert"`
	// SOPSAge are the age public keys SOPS encrypts for (Flux decrypts with the matching identity), --sops-age.
	SOPSAge []string `json:"sopsAge"`
}

// Given tells whether a way of sealing was asked for.
func (s Sealing) Given() bool { return s.SealedSecretsCert != "" || len(s.SOPSAge) > 0 }

// Seals tells whether the overlay carries the supplied certificate's Secrets sealed.
func (v Values) Seals() bool { return v.GitOps && v.SuppliesCertificate() }

// Compose is the user's Docker Compose project, for target compose.
type Compose struct {
	Files []string `json:"files"`
	// EnvFiles are docker compose's --env-file files; empty: the project folder's .env.
	EnvFiles []string `json:"envFiles"`
}

type Helm struct {
	ChartValues []string `json:"chartValues"`
}

type Kestra struct {
	URL        string `json:"url"`
	Deployment string `json:"deployment"`
	Container  string `json:"container"`
	Service    string `json:"service"`
	// Version is the Kestra the overlay is for (1.3, v1.3.2, latest); empty: read from the base's image tag.
	Version string `json:"version"`
}

type Ingress struct {
	Name          string            `json:"name"`
	ClassName     string            `json:"className"`
	Controller    string            `json:"controller"`
	TLSSecretName string            `json:"tlsSecretName"`
	Path          string            `json:"path"`
	PathType      string            `json:"pathType"`
	Annotations   map[string]string `json:"annotations"`
}

type Issuer struct {
	Type         string `json:"type"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	ACMEServer   string `json:"acmeServer"`
	ACMEStaging  bool   `json:"acmeStaging"`
	ACMECABundle string `json:"acmeCABundle"`
	EAB          EAB    `json:"eab"`
	SolverFile   string `json:"solverFile"`
	RefName      string `json:"refName"`
	RefKind      string `json:"refKind"`
	CertManager  bool   `json:"certManager"`
}

// EAB is an ACME external account binding: the key ID the CA shows, and the file holding its HMAC key.
type EAB struct {
	KeyID       string `json:"keyID"`
	HMACKeyFile string `json:"hmacKeyFile"`
}

// Let's Encrypt's ACME directories.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
	productionIssuerName  = "letsencrypt-prod"
	stagingIssuerName     = "letsencrypt-staging"
)

// useStaging points issuer.acmeStaging at Let's Encrypt's staging directory, under its own issuer name
// unless one was chosen: one ClusterIssuer per directory, so trying staging never replaces the account
// (and the Secret of its key) that production uses.
func (v *Values) useStaging() error {
	i := &v.Issuer
	if !i.ACMEStaging || i.Type != "letsencrypt" {
		return nil
	}
	if i.ACMEServer != LetsEncryptProduction && i.ACMEServer != LetsEncryptStaging {
		return fmt.Errorf("--acme-staging picks Let's Encrypt's staging directory, so it cannot go with --acme-server %s (values keys issuer.acmeStaging and issuer.acmeServer): drop one of them", i.ACMEServer)
	}
	i.ACMEServer = LetsEncryptStaging
	if i.Name == productionIssuerName {
		i.Name = stagingIssuerName
	}
	return nil
}

type CertManager struct {
	Namespace     string   `json:"namespace"`
	CAIssuerName  string   `json:"caIssuerName"`
	ClusterIssuer bool     `json:"clusterIssuer"`
	Permitted     []string `json:"permitted"`
	// CAGeneration counts the roots cert-manager made with --gitops: rotate-ca --finish moves it on.
	CAGeneration int `json:"caGeneration"`
}

type App struct {
	Port                 int    `json:"port"`
	ClientAuthentication string `json:"clientAuthentication"`
	// TrustManager has trust-manager keep the outbound trust (a Bundle), when it travels apart from the
	// stores (PublicOutboundTrust): the public roots then follow trust-manager's package.
	TrustManager bool `json:"trustManager"`
	// ClientCAFile is the PEM of the CAs whose client certificates Kestra accepts (--client-ca); empty:
	// ours, the CA of certs/.
	ClientCAFile string `json:"clientCAFile"`
	// DualProtocol nil (null) means: on when the base's Service has a port to Kestra's 8080, so it keeps working.
	DualProtocol *bool `json:"dualProtocol"`
	// RedirectHTTP makes plain HTTP on 8080 answer with a redirect to HTTPS (Micronaut's
	// http-to-https-redirect); the management port (probes) stays as it is.
	RedirectHTTP       bool   `json:"redirectHTTP"`
	SSLSecretName      string `json:"sslSecretName"`
	PasswordSecretName string `json:"passwordSecretName"`
	PasswordEnv        string `json:"passwordEnv"`
	MountPath          string `json:"mountPath"`
	OutboundTrust      bool   `json:"outboundTrust"`
	CABundle           string `json:"caBundle"`
	// TrustCAs are PEM files of CAs we did not make that Kestra and its tasks must trust for outbound
	// calls (a proxy's, a registry's, a corporate one), added to the JVM's truststore and the PEM bundle.
	TrustCAs []string `json:"trustCAs"`
	// Proxy is the forward proxy Kestra and its tasks call out through (http://host:port), empty for none;
	// NoProxy are hosts reached directly, beside the cluster's own (localhost, .svc, .cluster.local).
	Proxy string `json:"proxy"`
	// Registries are the image registries (host[:port]) whose certificates the pod's Docker daemons check
	// against the outbound trust: each gets certs.d/<registry>/ca.crt.
	Registries []string `json:"registries"`
	NoProxy    []string `json:"noProxy"`
	// Issuer is who issues Kestra's own certificate: "local" (generate, from our CA) or "cert-manager" (a
	// Certificate writing the stores into sslSecretName); empty: cert-manager with --issuer-ref, else local.
	Issuer string `json:"issuer"`
	// RestartOnRenewal "reloader" annotates Kestra's workloads for Stakater Reloader, which rolls them when
	// cert-manager renews the stores Secret in place.
	RestartOnRenewal string `json:"restartOnRenewal"`
	// Renewal is how a renewed certificate reaches Kestra: "reload" (Micronaut re-reads the keystore every
	// ReloadInterval, Kestra 1.3 and later) or "restart"; empty: reload where the Kestra version allows it.
	Renewal        string `json:"renewal"`
	ReloadInterval string `json:"reloadInterval"`
	// HSTS is the max-age in seconds of the Strict-Transport-Security header Kestra 2.0 and later send on
	// the HTTPS they serve themselves (kestra.webserver.security-headers); empty: none.
	HSTS string `json:"hsts"`
}

type Certificates struct {
	KeyAlgorithm      string `json:"keyAlgorithm"`
	Days              int    `json:"days"`
	CACommonName      string `json:"caCommonName"`
	CADir             string `json:"caDir"`
	CertFile          string `json:"certFile"`
	KeyFile           string `json:"keyFile"`
	CAFile            string `json:"caFile"`
	PKCS12File        string `json:"pkcs12File"`
	KeyPasswordFile   string `json:"keyPasswordFile"`
	StorePasswordFile string `json:"storePasswordFile"`
	// Rotation is the step of a CA rotation under way, set by rotate-ca: "trust" or "issue"; empty: none.
	Rotation string `json:"rotation"`
}

// Layer is one values file, named for error messages.
type Layer struct {
	Source string
	Data   []byte
}

// Override is a value set by a dedicated flag, at a dotted path.
type Override struct {
	Flag  string
	Path  string
	Value any
}

// Resolved is the effective values, as the schema and as the map templates see (.Values).
type Resolved struct {
	Values
	Map map[string]any
}

// Resolve merges the layers in Helm's order and checks each against the schema.
// controlCharacter finds a control character other than tab, newline and carriage return in a key or
// string of v.
func controlCharacter(v any) (rune, bool) {
	check := func(text string) (rune, bool) {
		for _, r := range text {
			if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
				return r, true
			}
		}
		return 0, false
	}
	switch v := v.(type) {
	case string:
		return check(v)
	case map[string]any:
		for key, value := range v {
			if r, found := check(key); found {
				return r, true
			}
			if r, found := controlCharacter(value); found {
				return r, true
			}
		}
	case []any:
		for _, item := range v {
			if r, found := controlCharacter(item); found {
				return r, true
			}
		}
	}
	return 0, false
}

func Resolve(defaults Layer, files []Layer, sets []string, overrides []Override) (*Resolved, error) {
	merged := map[string]any{}
	apply := func(source string, layer map[string]any) error {
		if r, found := controlCharacter(layer); found {
			// YAML cannot carry them, so values.yaml could not be written; nothing legitimate needs one.
			return fmt.Errorf("%s: a value holds the control character %U: values are printable text", source, r)
		}
		merged = MergeMaps(merged, layer)
		if _, err := decode(merged); err != nil {
			return fmt.Errorf("%s: %v", source, err)
		}
		return nil
	}
	for _, layer := range append([]Layer{defaults}, files...) {
		parsed := map[string]any{}
		if err := yaml.Unmarshal(layer.Data, &parsed); err != nil {
			return nil, fmt.Errorf("%s is not valid YAML: %v (fix the file, or drop it from -f)", layer.Source, err)
		}
		if err := apply(layer.Source, parsed); err != nil {
			return nil, err
		}
	}
	for _, set := range sets {
		parsed := map[string]any{}
		if err := strvals.ParseInto(set, parsed); err != nil {
			return nil, fmt.Errorf("--set %s: %v (use key=value, e.g. --set ingress.className=traefik)", set, err)
		}
		if err := apply("--set "+set, parsed); err != nil {
			return nil, err
		}
	}
	for _, override := range overrides {
		layer := map[string]any{}
		node := layer
		parts := strings.Split(override.Path, ".")
		for _, part := range parts[:len(parts)-1] {
			child := map[string]any{}
			node[part] = child
			node = child
		}
		node[parts[len(parts)-1]] = override.Value
		if err := apply(override.Flag, layer); err != nil {
			return nil, err
		}
	}
	values, err := decode(merged)
	if err != nil {
		return nil, err
	}
	if err := values.useStaging(); err != nil {
		return nil, err
	}
	// The map templates see is the schema's own rendering, so every key exists with its type.
	data, _ := json.Marshal(values)
	normalized := map[string]any{}
	if err := json.Unmarshal(data, &normalized); err != nil {
		return nil, err
	}
	return &Resolved{Values: *values, Map: normalized}, nil
}

// decode checks the merged map against the schema: unknown keys and wrong types are errors.
func decode(merged map[string]any) (*Values, error) {
	data, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	var values Values
	if err := decoder.Decode(&values); err != nil {
		return nil, explain(err)
	}
	return &values, nil
}

func explain(err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Errorf("key %q must be a %s, not a %s (see templates/values.yaml)", typeErr.Field, kindOf(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown key %s (see `kubectl kestra-tls generate --show-values` for the keys there are)", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return err
}

func kindOf(kind string) string {
	switch kind {
	case "int", "int64":
		return "number"
	case "slice":
		return "list"
	case "map", "struct":
		return "map"
	}
	return kind
}

// MergeMaps deep-merges src over dst as Helm merges values: maps merge key by key, anything else replaces.
// Kestra's configuration is merged the same way.
func MergeMaps(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if srcMap, ok := v.(map[string]any); ok {
			if dstMap, ok := out[k].(map[string]any); ok {
				out[k] = MergeMaps(dstMap, srcMap)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// YAML renders the effective values for the overlay's values.yaml and --show-values.
func (r *Resolved) YAML() ([]byte, error) {
	return yaml.Marshal(r.Map)
}

// Differences lists the leaves where got differs from want, as key=value (key: the dotted path), sorted.
func Differences(want, got map[string]any) []string {
	var out []string
	var walk func(prefix string, want, got any)
	walk = func(prefix string, want, got any) {
		wantMap, wantIsMap := want.(map[string]any)
		gotMap, gotIsMap := got.(map[string]any)
		if wantIsMap && gotIsMap {
			keys := map[string]bool{}
			for k := range wantMap {
				keys[k] = true
			}
			for k := range gotMap {
				keys[k] = true
			}
			for k := range keys {
				path := k
				if prefix != "" {
					path = prefix + "." + k
				}
				walk(path, wantMap[k], gotMap[k])
			}
			return
		}
		if fmt.Sprint(want) != fmt.Sprint(got) {
			out = append(out, fmt.Sprintf("%s=%v", prefix, got))
		}
	}
	walk("", want, got)
	sort.Strings(out)
	return out
}

// PathKeys are the values that name a file or folder: written to an earlier run's values.yaml relative to
// the output folder, so that the folder works from wherever generate runs next.
var PathKeys = []string{
	"base", "templates", "compose.files", "compose.envFiles", "helm.chartValues", "app.caBundle", "app.trustCAs",
	"certificates.caDir", "certificates.certFile", "certificates.keyFile", "certificates.caFile",
	"certificates.pkcs12File", "certificates.keyPasswordFile", "certificates.storePasswordFile",
	"issuer.acmeCABundle", "issuer.solverFile", "issuer.eab.hmacKeyFile", "sealing.sealedSecretsCert", "app.clientCAFile",
}

// RebasePaths rewrites every relative path among PathKeys in m (a string, or a list of them) with to.
func RebasePaths(m map[string]any, to func(string) string) {
	for _, key := range PathKeys {
		parts := strings.Split(key, ".")
		node := m
		for _, part := range parts[:len(parts)-1] {
			next, _ := node[part].(map[string]any)
			if next == nil {
				node = nil
				break
			}
			node = next
		}
		if node == nil {
			continue
		}
		last := parts[len(parts)-1]
		rebase := func(value any) any {
			if path, ok := value.(string); ok && path != "" && !filepath.IsAbs(path) {
				return to(path)
			}
			return value
		}
		if list, ok := node[last].([]any); ok {
			for i := range list {
				list[i] = rebase(list[i])
			}
			continue
		}
		if value, ok := node[last]; ok {
			node[last] = rebase(value)
		}
	}
}
