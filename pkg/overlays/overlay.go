// Package overlays composes the folder `generate` writes for each target: for kustomize, the rendered
// manifests and patches over the user's Kestra base; for helm, values for the official chart beside the
// Secrets they refer to. Both carry the effective values and the TLS material of pkg/model.
package overlays

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// IsEarlierRun tells the values.yaml of an earlier run from a values file of the user's of that name.
func IsEarlierRun(valuesFile []byte) bool { return strings.HasPrefix(string(valuesFile), valuesHeader) }

// File names in the overlay.
const (
	ValuesFile = "values.yaml"
	// GitOpsStorePassword encrypts the stores cert-manager writes for Kestra with --gitops. It is in git and
	// the same for everyone, and it may be: it guards nothing, since cert-manager writes Kestra's key
	// unencrypted (tls.key) into the same Secret. What guards the key is who may read that Secret.
	GitOpsStorePassword = "kestra-tls-gitops"
	// CABootstrapFile has cert-manager make our CA in the cluster (--gitops).
	CABootstrapFile = "ca-bootstrap.yaml"
	// ClientAuthFile is Traefik's TLSOption for --client-auth in ingress mode (ingress-nginx needs only
	// annotations).
	ClientAuthFile = "client-auth.yaml"
	// TrustBundleFile is trust-manager's Bundle of the outbound trust (--trust-manager).
	TrustBundleFile = "trust-bundle.yaml"
	CertsDir        = model.CertsDir
	embeddedBaseDir = "base"
)

// ourFiles are the files some runs write and others don't: a re-run removes the ones it no longer writes
// (patch-*.yaml too), in a folder that generate wrote.
var ourFiles = []string{"ingress.yaml", "cluster-issuer.yaml", CABootstrapFile, SealedFile, ClientAuthFile, model.ClientCAFile, model.ClientTruststoreFile, TrustBundleFile, "certificate.yaml", "service-patch.yaml", "namespace.yaml", model.ConfigFile, HelmValuesFile, "deployment-patch.yaml"}

// valuesHeader marks a folder as written by generate, so that stale files of ours may be removed from it,
// and its values.yaml as an earlier run's, not a values file of the user's.
const valuesHeader = "# Effective values of `kubectl kestra-tls generate`; a re-run in this folder starts from them.\n"

// pathsHeader marks the values.yaml whose paths are relative to its folder.
const pathsHeader = "# Paths in it are relative to this folder.\n"

// Options is everything `generate` needs.
type Options struct {
	Dir string
	// Base is a kustomize folder or a manifest file with the user's Kestra; empty uses the embedded base.
	Base         string
	Templates    fs.FS
	TemplatesDir string
	Values       *values.Resolved
	// StorePassword comes from the environment; the values' storePasswordFile wins over it.
	StorePassword string
	// Force mints a new CA and server certificate.
	Force bool
	// RenewServer mints a new server certificate from the kept CA.
	RenewServer bool
	// Overwrite lets Write replace files in the folder that generate did not write, or that were edited.
	Overwrite bool
	Now       time.Time
}

// Overlay is the rendered output folder, not yet written: a kustomization (over the base, or with only the
// Secrets helm values refer to), the effective values, and the material for certs/.
type Overlay struct {
	Files    []fileset.File
	Material *model.Material
	// CertsFiles go into certs/ (0700) beside the material: the ACME account binding's key.
	CertsFiles []fileset.File
	// MountedDirs are folders of certs/ (0700) that a container bind-mounts: 0755 themselves, so that the
	// container's user reads them while the host's other users stay out, stopped at certs/.
	MountedDirs []string
	// Install is Kestra as found in the base; nil for the helm target.
	Install  *kestra.Install
	Warnings []string
	// Notes tell the user what to run next, beyond applying the folder.
	Notes []string
	// Next is the command that puts the output to use, when it is not kestra-tls apply (target compose).
	Next string
	// Adopted says what the overlay took over from its base, one line each.
	Adopted []string
	// URL is where users reach Kestra once it is applied (kestra.url).
	URL string
	// Renewal is how a renewed certificate reaches Kestra serving HTTPS itself.
	Renewal model.Renewal

	overwrite bool
	// baseGiven: base/ holds a copy of the user's --base file, not the embedded demo.
	baseGiven bool
}

// templateData is what the manifest templates see.
type templateData struct {
	Values map[string]any
	Base   string
	Kestra kestraData
	// Workloads are the patches of Kestra's workloads; Workload is the one a workload-patch renders.
	Workloads []workloadPatch
	Workload  workloadPatch
	// ConfigFile is true when our configuration travels as kestra-tls.yml.
	ConfigFile bool
	Certs      *certsData
	ACME       *acmeData
	Gateway    *gatewayData
	// IssuerAnnotations make cert-manager issue for the Ingress (or the Gateway's own, in gatewayData).
	IssuerAnnotations map[string]string
	// IngressControllerAnnotations are what Kestra needs from the Ingress's controller, when it is known.
	IngressControllerAnnotations map[string]string
	// ServesHTTPS: Kestra serves HTTPS itself (app mode, or backend TLS behind a Gateway).
	ServesHTTPS bool
	// Adopted is what the overlay takes over from its base instead of doubling it.
	Adopted adoption
	// AppCertificate is cert-manager's Certificate for Kestra's own stores (--app-issuer cert-manager).
	AppCertificate *appCertificateData
	// Renewal is how a renewed keystore reaches Kestra: in place (a stores Secret of a fixed name) or by a
	// restart.
	Renewal model.Renewal
	// CABootstrap is our CA made by cert-manager in the cluster (--gitops), nil otherwise.
	CABootstrap *caBootstrapData
	// RegistriesVolume names the Docker daemons' volume of registry CAs.
	RegistriesVolume string
	// GitOps: the overlay reads nothing from certs/; GitOpsPassword is then the store password, in git.
	GitOps         bool
	GitOpsPassword string
	// PublicOutbound is the ConfigMap of public outbound stores, generated from the overlay's files, when
	// cert-manager writes Kestra's stores; nil otherwise.
	PublicOutbound *publicOutboundData
	// ClientTrust is the ConfigMap of the clients' CA (--client-ca) where cert-manager writes Kestra's
	// stores, projected beside them; nil otherwise.
	ClientTrust *clientTrustData
	// ClientAuth is how the Ingress controller asks clients for certificates (--client-auth in ingress
	// mode), nil otherwise.
	ClientAuth *clientAuthData
	// SealedFiles hold Kestra's stores and password sealed or encrypted, in place of their generators
	// (--gitops with a supplied certificate); SealedDigest changes with what they hold.
	SealedFiles                []string
	SealedDigest, SealedHeader string
}

type clientAuthData struct {
	// Controller is the Ingress controller that asks clients for certificates: nginx or traefik.
	Controller, Mode                     string
	TLSOption, Secret, Namespace, CAFile string
	// Type is Traefik's clientAuthType for need or want.
	Type string
}

// clientAuth is the Ingress controller's client authentication for our Ingress, nil without --client-auth
// in ingress mode.
func clientAuth(v values.Values, namespace string) (*clientAuthData, error) {
	if v.Mode != "ingress" || v.App.ClientAuthentication == "" {
		return nil, nil
	}
	if namespace == "" {
		// Both controllers name the CA's Secret (ingress-nginx) or the TLS options (Traefik) with its namespace.
		return nil, fmt.Errorf("--client-auth %s: the Ingress names the Secret of the clients' CA with its namespace: pass -n NAMESPACE", v.App.ClientAuthentication)
	}
	kind := map[string]string{"need": "RequireAndVerifyClientCert", "want": "VerifyClientCertIfGiven"}[v.App.ClientAuthentication]
	return &clientAuthData{Controller: v.IngressController(), Mode: v.App.ClientAuthentication, TLSOption: model.TLSOptionName, Secret: model.ClientCASecret, Namespace: namespace, CAFile: model.ClientCAFile, Type: kind}, nil
}

type clientTrustData struct {
	ConfigMap, Truststore, CAFile string
}

// clientTrust is the ConfigMap of the clients' CA, nil without values' PublicClientTrust.
func clientTrust(v values.Values) *clientTrustData {
	if !v.PublicClientTrust() {
		return nil
	}
	return &clientTrustData{ConfigMap: model.ClientTrustConfigMap, Truststore: model.ClientTruststoreFile, CAFile: model.ClientCAFile}
}

type publicOutboundData struct {
	ConfigMap, Dir string
	Keys           []string
	// TrustManager: a Bundle, of the namespace's own name, makes the ConfigMap; InLine are the --trust-ca
	// certificates it adds to trust-manager's default package.
	TrustManager      bool
	Namespace, InLine string
	// TrustCAs are the SHA-256 fingerprints of the --trust-ca certificates, comma-separated.
	TrustCAs string
}

// publicOutbound is the ConfigMap of the public outbound stores, nil without them.
func publicOutbound(m *model.Model, namespace string) *publicOutboundData {
	if !m.Values.PublicOutboundTrust() {
		return nil
	}
	o := &publicOutboundData{ConfigMap: model.OutboundConfigMap, Dir: model.OutboundDir, Keys: model.OutboundKeys(m.Values.Values), TrustCAs: trustFingerprints(m.TrustedExtra)}
	if m.Values.App.TrustManager {
		o.TrustManager, o.Namespace = true, namespace
		o.ConfigMap = model.OutboundConfigMap + "-" + namespace
		if len(m.TrustedExtra) > 0 {
			o.InLine = string(pki.EncodeCertificates(m.TrustedExtra...))
		}
	}
	return o
}

// trustFingerprints are the SHA-256 fingerprints of certificates, comma-separated.
func trustFingerprints(certificates []*x509.Certificate) string {
	var fingerprints []string
	for _, cert := range certificates {
		sum := sha256.Sum256(cert.Raw)
		fingerprints = append(fingerprints, hex.EncodeToString(sum[:]))
	}
	return strings.Join(fingerprints, ",")
}

type kestraData struct {
	Namespace   string
	Service     string
	ServicePort kestra.ServicePort
}

type certsData struct {
	Dir string
	// Issuer is true when certs/ holds the name-constrained issuer for cert-manager.
	Issuer bool
	// Hosts are the names Kestra's own certificate covers, for the stores Secret's hosts annotation.
	Hosts string
	// TrustCAs are the SHA-256 fingerprints of the --trust-ca certificates, comma-separated.
	TrustCAs string
}

func certs(m *model.Model) *certsData {
	if m.Material == nil {
		return nil
	}
	return &certsData{Dir: CertsDir, Issuer: m.Material.Bundle.Issuer != nil, Hosts: strings.Join(m.Material.Bundle.Hosts.All(), ","), TrustCAs: trustFingerprints(m.Material.TrustedExtra)}
}

// Generate renders the output folder of the values' target without writing anything.
func Generate(opts Options) (*Overlay, error) {
	overlay, err := generateTarget(opts)
	if err != nil {
		return nil, err
	}
	overlay.overwrite, overlay.baseGiven = opts.Overwrite, opts.Base != ""
	return overlay, nil
}

func generateTarget(opts Options) (*Overlay, error) {
	v := opts.Values
	if err := v.Validate(); err != nil {
		return nil, err
	}
	renderer, err := render.New(opts.Templates, opts.TemplatesDir)
	if err != nil {
		return nil, err
	}
	switch v.Target {
	case "helm":
		return generateHelm(opts, renderer)
	case "compose":
		return generateCompose(opts, renderer)
	}
	b, err := loadBase(opts, kestra.Selection{Workload: v.Kestra.Deployment, Container: v.Kestra.Container, Service: v.Kestra.Service})
	if err != nil {
		return nil, err
	}
	if v.Mode == "app" {
		if err := checkHTTPSPortName(b.Install, v.App.Port, baseName(opts.Base)); err != nil {
			return nil, err
		}
		if v.App.RedirectHTTP {
			if probes := plainHTTPProbes(b.Objects, b.Install.Server); len(probes) > 0 {
				return nil, fmt.Errorf("--redirect-http would fail %s %s's %s: Micronaut (4.10, Kestra's) redirects every plain-HTTP listener to HTTPS, the management port 8081 too, and the health endpoints are not served on 8443, so the kubelet would restart Kestra; drop --redirect-http (HTTP on 8080 then stays open beside HTTPS, or closes with --dual-protocol=false)", b.Install.Server.Kind, b.Install.Server.Name, strings.Join(probes, ", "))
			}
		}
	}
	namespace := b.Install.Server.Namespace
	if v.Namespace != "" {
		if namespace != "" && namespace != v.Namespace {
			// The namespace transformer sets only unset namespaces: ours would go to -n, Kestra stay.
			return nil, fmt.Errorf("--namespace %s contradicts --base %s, whose %s %s is in namespace %s: the install would be split (our Secrets in %s, Kestra in %s, naming Secrets it cannot read); pass -n %s, or remove the namespace from the base's objects", v.Namespace, baseName(opts.Base), b.Install.Server.Kind, b.Install.Server.Name, namespace, v.Namespace, namespace, namespace)
		}
		namespace = v.Namespace
	}
	modelOpts := modelOptions(opts, renderer, b.Install.ServesHTTP)
	modelOpts.KestraImage = b.Install.Server.Image
	if modelOpts.BackendHosts, err = backendHosts(v.Values, b.Install.Service, namespace); err != nil {
		return nil, err
	}
	if v.AppIssuedByCertManager() {
		if modelOpts.ServiceHosts, err = serviceDNSNames(b.Install.Service, namespace, "--app-issuer cert-manager"); err != nil {
			return nil, err
		}
	}
	m, err := model.Build(modelOpts)
	if err != nil {
		return nil, err
	}
	patches, warnings, err := planWorkloads(b.Install, m)
	if err != nil {
		return nil, err
	}
	out := &Overlay{Files: b.Files, Material: m.Material, Install: b.Install, Warnings: append(append(b.Install.Warnings, m.Warnings...), warnings...), Notes: m.Notes(), URL: m.URL, Renewal: m.Renewal}
	for _, p := range patches {
		out.Adopted = append(out.Adopted, p.Adopted...)
	}
	baseClass := ingressClassOf(b.Objects, v.Hosts)
	data := templateData{
		Values: withIngressClass(v.Map, baseClass), Base: b.Ref, Workloads: patches,
		Kestra: kestraData{Namespace: b.Install.Server.Namespace, Service: b.Install.Service, ServicePort: b.Install.ServicePort},
	}
	if v.Namespace != "" {
		data.Kestra.Namespace = v.Namespace
	}
	data.Certs = certs(m)
	data.PublicOutbound = publicOutbound(m, data.Kestra.Namespace)
	data.ClientTrust = clientTrust(v.Values)
	out.Files = append(out.Files, m.PublicFiles...)
	data.Renewal = m.Renewal
	data.GitOps = v.GitOps
	data.RegistriesVolume = RegistriesVolume
	if v.GitOps {
		data.GitOpsPassword = GitOpsStorePassword
	}
	data.AppCertificate = appCertificate(v.Values, modelOpts.ServiceHosts)
	data.IssuerAnnotations = issuerAnnotations(v.Values)
	withClass := v.Values
	if withClass.Ingress.ClassName == "" {
		withClass.Ingress.ClassName = baseClass
	}
	data.IngressControllerAnnotations = ingressControllerAnnotations(withClass)
	if data.ClientAuth, err = clientAuth(v.Values, data.Kestra.Namespace); err != nil {
		return nil, err
	}
	if data.ClientAuth != nil {
		annotations := maps.Clone(data.IngressControllerAnnotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		maps.Copy(annotations, model.ClientAuthSettings(data.ClientAuth.Controller, data.ClientAuth.Mode, data.ClientAuth.Namespace))
		// For status, and for apply, which refuses a class whose controller would ignore those settings.
		annotations[model.ClientAuthAnnotation] = data.ClientAuth.Mode
		data.IngressControllerAnnotations = annotations
	}
	if data.ACME, err = acme(m, out); err != nil {
		return nil, err
	}
	if data.Gateway, err = gateway(v.Values); err != nil {
		return nil, err
	}
	if data.Gateway != nil && len(modelOpts.BackendHosts) > 0 {
		data.Gateway.BackendHost, data.Gateway.BackendCA = modelOpts.BackendHosts[0], BackendCAConfigMap
	}
	data.ServesHTTPS = v.ServesHTTPS()
	for _, p := range patches {
		data.ConfigFile = data.ConfigFile || p.MountsConfig
	}
	if data.ConfigFile {
		out.Adopted = append(out.Adopted, fileDatasources(b.Install, b.Objects, m)...)
		fragment, err := m.FragmentYAML()
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fileset.File{Name: model.ConfigFile, Data: fragment, Mode: fileset.Public})
	}

	manifests := []string{"kustomization.yaml"}
	switch v.Mode {
	case "ingress":
		manifests = append(manifests, "ingress.yaml")
		if v.Ingress.ClassName == "" && baseClass != "" {
			out.Notes = append(out.Notes, fmt.Sprintf("the base's Ingress for %s names IngressClass %s: ours and the ACME solver use it (--ingress-class NAME chooses another)", strings.Join(v.Hosts, ", "), baseClass))
		} else if v.Ingress.ClassName == "" {
			out.Notes = append(out.Notes, "the Ingress names no IngressClass: the cluster's default one serves it (kestra-tls apply says which, and adds its controller's settings); --ingress-class NAME chooses one")
		}
	case "gateway":
		manifests = append(manifests, gatewayManifests(v.Values)...)
	default:
		manifests = append(manifests, "service-patch.yaml")
	}
	if data.AppCertificate != nil {
		manifests = append(manifests, "certificate.yaml")
	}
	if (v.IssuesCertificate() && v.Issuer.CertManager && v.Issuer.Type != "ref") || (data.AppCertificate != nil && v.Issuer.Type == "self-signed") {
		manifests = append(manifests, "cluster-issuer.yaml")
	}
	if data.CABootstrap, err = caBootstrap(v.Values, modelOpts.ServiceHosts); err != nil {
		return nil, err
	}
	if data.CABootstrap != nil {
		manifests = append(manifests, CABootstrapFile)
	}
	if data.ClientAuth != nil && data.ClientAuth.Controller == "traefik" {
		manifests = append(manifests, ClientAuthFile)
	}
	if data.PublicOutbound != nil && data.PublicOutbound.TrustManager {
		if data.Kestra.Namespace == "" {
			return nil, fmt.Errorf("--trust-manager: the Bundle sends the outbound trust to Kestra's namespace by name: pass -n NAMESPACE")
		}
		manifests = append(manifests, TrustBundleFile)
	}
	if v.Namespace != "" {
		manifests = append(manifests, "namespace.yaml")
	}
	if err := out.render(renderer, manifests[1:], data); err != nil {
		return nil, err
	}
	servicePort := func(https bool) map[string]any {
		if https {
			return map[string]any{"name": "https"}
		}
		if p := b.Install.ServicePort; p.Name != "" {
			return map[string]any{"name": p.Name}
		}
		return map[string]any{"number": b.Install.ServicePort.Number}
	}
	adopted, err := adopt(out, b, v.Values, servicePort)
	if err != nil {
		return nil, err
	}
	data.Adopted = *adopted
	if err := out.renderKustomization(renderer, b, v.Values, &data); err != nil {
		return nil, err
	}
	for _, p := range patches {
		data.Workload = p
		rendered, err := renderer.Render("workload-patch.yaml.tpl", data)
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fileset.File{Name: p.File, Data: rendered, Mode: fileset.Public})
	}
	if v.Seals() {
		if err := out.seal(opts, v.Values, renderer, &data, patches); err != nil {
			return nil, err
		}
	}
	return out, out.addValues(v, opts.Dir)
}

// ingressClassOf is the class an Ingress of the base for one of the hosts names (spec.ingressClassName, or
// the older kubernetes.io/ingress.class annotation): the one the overlay takes over.
func ingressClassOf(objects []map[string]any, hosts []string) string {
	for _, object := range objects {
		if object["kind"] != "Ingress" {
			continue
		}
		spec, _ := object["spec"].(map[string]any)
		rules, _ := spec["rules"].([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			host, _ := rule["host"].(string)
			if !slices.Contains(hosts, host) {
				continue
			}
			if class, _ := spec["ingressClassName"].(string); class != "" {
				return class
			}
			metadata, _ := object["metadata"].(map[string]any)
			annotations, _ := metadata["annotations"].(map[string]any)
			class, _ := annotations["kubernetes.io/ingress.class"].(string)
			return class
		}
	}
	return ""
}

// withIngressClass gives the templates class where the values name none: an Ingress taken over keeps its
// class, and the ACME solver answers through it. The values written stay as given.
func withIngressClass(values map[string]any, class string) map[string]any {
	ingress, _ := values["ingress"].(map[string]any)
	if class == "" || ingress == nil || ingress["className"] != "" {
		return values
	}
	copied := maps.Clone(values)
	copied["ingress"] = maps.Clone(ingress)
	copied["ingress"].(map[string]any)["className"] = class
	return copied
}

// plainHTTPProbes names the server container's probes that ask over plain HTTP.
func plainHTTPProbes(objects []map[string]any, server kestra.Workload) []string {
	var probes []string
	for _, object := range objects {
		metadata, _ := object["metadata"].(map[string]any)
		if object["kind"] != server.Kind || metadata["name"] != server.Name {
			continue
		}
		spec, _ := object["spec"].(map[string]any)
		template, _ := spec["template"].(map[string]any)
		podSpec, _ := template["spec"].(map[string]any)
		containers, _ := podSpec["containers"].([]any)
		for _, c := range containers {
			container, _ := c.(map[string]any)
			if container["name"] != server.Container {
				continue
			}
			for _, kind := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
				probe, _ := container[kind].(map[string]any)
				get, ok := probe["httpGet"].(map[string]any)
				if ok && (get["scheme"] == nil || get["scheme"] == "HTTP") {
					probes = append(probes, fmt.Sprintf("%s (GET %v on port %v)", kind, get["path"], get["port"]))
				}
			}
		}
	}
	return probes
}

// checkHTTPSPortName refuses a Service that already has a port named https on another number: the patch
// merges ports by number, so it would add a second port of that name, which the API server refuses.
func checkHTTPSPortName(install *kestra.Install, port int, base string) error {
	for _, p := range install.ServicePorts {
		if p.Name == "https" && int(p.Number) != port {
			return fmt.Errorf("--base %s: Service %s already has a port named https (%d), and app mode adds one on %d: two ports of one name are refused by the API server; rename yours, or serve Kestra's HTTPS on it with --port %d", base, install.Service, p.Number, port, p.Number)
		}
	}
	return nil
}

func baseName(base string) string {
	if base == "" {
		return "(the embedded demo)"
	}
	return base
}

func modelOptions(opts Options, renderer *render.Renderer, servesHTTP bool) model.Options {
	return model.Options{
		Dir: opts.Dir, Values: opts.Values, Renderer: renderer, StorePassword: opts.StorePassword,
		Force: opts.Force, RenewServer: opts.RenewServer, Now: opts.Now, ServesHTTP: servesHTTP,
	}
}

// renderKustomization renders kustomization.yaml, then again if the base holds Secrets that its
// generators make (or that cert-manager writes), which the second rendering replaces (or leaves out).
func (o *Overlay) renderKustomization(renderer *render.Renderer, b *base, v values.Values, data *templateData) error {
	rendered, err := renderer.Render("kustomization.yaml.tpl", data)
	if err != nil {
		return err
	}
	var kustomization struct {
		SecretGenerator []struct {
			Name string `json:"name"`
		} `json:"secretGenerator"`
	}
	if err := yaml.Unmarshal(rendered, &kustomization); err != nil {
		return fmt.Errorf("kustomization.yaml.tpl does not render to YAML: %v", err)
	}
	var generated []string
	for _, g := range kustomization.SecretGenerator {
		generated = append(generated, g.Name)
	}
	a := &data.Adopted
	before := len(a.Lines)
	a.adoptSecrets(b.Objects, generated, issuedSecrets(v), data.Kestra.Namespace)
	if len(a.Lines) != before {
		if rendered, err = renderer.Render("kustomization.yaml.tpl", data); err != nil {
			return err
		}
	}
	o.Files = append([]fileset.File{{Name: "kustomization.yaml", Data: rendered, Mode: fileset.Public}}, o.Files...)
	o.Adopted = append(o.Adopted, a.Lines...)
	o.Warnings = append(o.Warnings, a.Warnings...)
	return nil
}

// issuedSecrets are the Secrets cert-manager writes for the install.
func issuedSecrets(v values.Values) []string {
	var names []string
	if v.Mode != "app" && v.Issuer.CertManager && v.IssuesCertificate() {
		names = append(names, v.Ingress.TLSSecretName)
	}
	if v.AppIssuedByCertManager() {
		names = append(names, v.App.SSLSecretName)
	}
	return names
}

func (o *Overlay) render(renderer *render.Renderer, manifests []string, data any) error {
	for _, name := range manifests {
		rendered, err := renderer.Render(name+".tpl", data)
		if err != nil {
			return err
		}
		o.Files = append(o.Files, fileset.File{Name: name, Data: rendered, Mode: fileset.Public})
	}
	return nil
}

// addValues writes the effective values, their paths relative to dir (pathsHeader says so).
func (o *Overlay) addValues(v *values.Resolved, dir string) error {
	effective, err := v.YAML()
	if err != nil {
		return err
	}
	copied := map[string]any{}
	if err := yaml.Unmarshal(effective, &copied); err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	values.RebasePaths(copied, func(path string) string {
		abs, err := filepath.Abs(path)
		if err != nil {
			return path
		}
		if rel, err := filepath.Rel(absDir, abs); err == nil {
			return filepath.ToSlash(rel)
		}
		return abs
	})
	if effective, err = yaml.Marshal(copied); err != nil {
		return err
	}
	o.Files = append(o.Files, fileset.File{Name: ValuesFile, Data: append([]byte(valuesHeader+pathsHeader), effective...), Mode: fileset.Public})
	return nil
}

// EarlierRunValues is the values.yaml an earlier run left in dir, its paths made usable from here (they
// are written relative to dir; an earlier version wrote them relative to where it ran, and they stay).
func EarlierRunValues(dir string, data []byte) ([]byte, error) {
	if !strings.HasPrefix(string(data), valuesHeader+pathsHeader) {
		return data, nil
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return data, nil // the values layer names the file and the error
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	values.RebasePaths(m, func(path string) string {
		joined := filepath.Join(dir, filepath.FromSlash(path))
		// From here as a relative path again, so that writing it back gives the same bytes.
		if abs, err := filepath.Abs(joined); err == nil {
			if rel, err := filepath.Rel(cwd, abs); err == nil {
				return rel
			}
		}
		return joined
	})
	return yaml.Marshal(m)
}

// Write puts the folder on disk: a newly minted shared CA into its folder (unless writeSharedCA is false),
// then certs/ (0700; keys 0600, stores 0644), then the rest, so that no manifest names material that isn't
// there; then it removes the files of ours an earlier run wrote that this one doesn't. It replaces and
// removes only files it wrote and that are unedited since (fileset.OwnedFile lists them): anything else in
// the way fails the write before a byte is written, unless the Overlay was generated with Overwrite.
func (o *Overlay) Write(dir string, writeSharedCA bool) (fileset.Result, error) {
	var all fileset.Result
	owned, legacy, err := o.checkOwnership(dir)
	if err != nil {
		return all, err
	}
	// A signal lets the folder be written whole: certs/ alone would not match the manifests beside it.
	end, err := fileset.Section()
	if err != nil {
		return all, err
	}
	defer end()
	result, err := o.Material.Write(dir, writeSharedCA)
	if err != nil {
		return all, err
	}
	all = merge(all, result, CertsDir+"/")
	for _, mounted := range o.MountedDirs {
		folder := filepath.Join(dir, CertsDir, mounted)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return all, fmt.Errorf("cannot create directory %s: %w (choose another output directory with -o)", folder, err)
		}
		if err := os.Chmod(folder, 0o755); err != nil {
			return all, fmt.Errorf("cannot set the mode of %s: %w", folder, err)
		}
	}
	if len(o.CertsFiles) > 0 {
		result, err := fileset.Write(filepath.Join(dir, CertsDir), 0o700, o.CertsFiles)
		if err != nil {
			return all, err
		}
		all = merge(all, result, CertsDir+"/")
	}
	written := fileset.Owned{}
	for _, file := range o.allFiles() {
		written[file.Name] = fileset.Sum(file.Data)
	}
	for name, sum := range owned {
		// certs/ holds the CA key: a run that needs no material (an ACME issuer) keeps it for the next.
		if _, ok := written[name]; !ok && strings.HasPrefix(name, CertsDir+"/") && owned.StateOf(dir, name, nil) == fileset.Ours {
			written[name] = sum
		}
	}
	result, err = fileset.Write(dir, 0o755, append(append([]fileset.File{}, o.Files...), written.File()))
	if err != nil {
		return all, err
	}
	all = merge(all, result, "")
	all.Unchanged = slices.DeleteFunc(all.Unchanged, func(name string) bool { return name == fileset.OwnedFile })
	all.Written = slices.DeleteFunc(all.Written, func(name string) bool { return name == fileset.OwnedFile })
	all.Removed, all.Kept = removeStale(dir, owned, legacy, written)
	return all, nil
}

func merge(into, result fileset.Result, prefix string) fileset.Result {
	for _, name := range result.Written {
		into.Written = append(into.Written, prefix+name)
	}
	for _, name := range result.Unchanged {
		into.Unchanged = append(into.Unchanged, prefix+name)
	}
	return into
}

// ingressControllerAnnotations are the settings of the controller values name, or that the class's name
// tells (nginx, traefik); for the cluster's default class, or another name, apply adds them from the
// IngressClass's spec.controller.
func ingressControllerAnnotations(v values.Values) map[string]string {
	return model.IngressControllerSettings(v.IngressController())
}
