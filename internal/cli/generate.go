package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
	"github.com/kestra-tls/kubectl-kestra-tls/templates"
)

const generateExample = `  # TLS at the Ingress, certificate from Let's Encrypt through cert-manager
  kubectl kestra-tls generate --host kestra.example.com

  # ... through a commercial ACME CA that requires external account binding, or a private ACME server
  kubectl kestra-tls generate --host kestra.example.com --email ops@example.com \
    --acme-server https://acme.zerossl.com/v2/DV90 --eab-kid KID --eab-hmac-key-file hmac.txt
  kubectl kestra-tls generate --host kestra.example.com --email ops@example.com \
    --acme-server https://ca.corp.example/acme/directory --acme-ca-bundle corp-root.pem

  # TLS at the Ingress from our own CA: a namespaced cert-manager Issuer holding a name-constrained issuer
  # under it (--cluster-issuer for a ClusterIssuer; a plain Secret with --no-cert-manager)
  kubectl kestra-tls generate --host kestra.example.com --self-signed

  # TLS at a Gateway API Gateway, and from the Gateway to Kestra (verified against our CA)
  kubectl kestra-tls generate --mode gateway --gateway-class eg --host kestra.example.com --self-signed --backend-tls -n kestra

  # Docker Compose: an override beside your docker-compose.yml
  kubectl kestra-tls generate --target compose --compose-file docker-compose.yml --host kestra.example.com

  # Kestra serves HTTPS itself on 8443 with our keystore, and trusts our CA plus the public ones in tasks
  kubectl kestra-tls generate --mode app --host kestra.example.com --outbound-trust --csrf

  # ... or with the keystore from cert-manager (your issuer), renewed by it, restarted by Stakater Reloader
  kubectl kestra-tls generate --mode app --host kestra.example.com --issuer-ref corp-ca --restart-on-renewal reloader -n kestra

  # Over your own Kestra manifests or the chart's "helm template" output, with Helm-style values
  kubectl kestra-tls generate --base ./kestra-base -f tls-values.yaml --set ingress.className=traefik

  # Installed with the official chart: values for helm that keep yours
  kubectl kestra-tls generate --target helm --mode app --host kestra.example.com --chart-values my-values.yaml -n kestra

  # Look before writing
  kubectl kestra-tls generate --mode app --host kestra.example.com --dry-run`

// GenerateOptions renders the overlay.
type GenerateOptions struct {
	configFlags *genericclioptions.ConfigFlags
	TLS         *TLSFlags

	OutputDir    string
	Base         string
	TemplatesDir string
	ValuesFiles  []string
	Sets         []string
	ResetValues  bool
	ShowValues   bool
	DryRun       bool
	ShowSecrets  bool
	Overwrite    bool

	// Dedicated flags; only the ones given override the values.
	Mode, Target, IngressClass, Issuer, IssuerRef, Email, ACMEServer, CABundle string
	ACMEStaging                                                                bool
	ACMECABundle, EABKeyID, EABHMACKeyFile, SolverFile                         string
	ComposeFiles, ComposeEnvFiles, TrustCAs, NoProxy, Registries               []string
	GatewayClass, Gateway                                                      string
	BackendTLS                                                                 bool
	DualProtocol, RedirectHTTP                                                 bool
	AppIssuer, RestartOnRenewal, KestraVersion, Proxy, HSTS                    string
	ClientAuth, ClientCA                                                       string
	Deployment, Container, Service                                             string
	ChartValues                                                                []string
	SelfSigned, NoCertManager, OutboundTrust, CSRF, ClusterIssuer, GitOps      bool
	TrustManager                                                               bool
	SealWith                                                                   string
	SOPSAge                                                                    []string
	CAPermit                                                                   []string
	Port                                                                       int

	changed  func(string) bool
	resolved *values.Resolved
	// reused are the settings an earlier run's values.yaml decides, beyond this command line.
	reused []string
	// renewServer re-mints the server certificate from the kept CA (renew).
	renewServer bool
	// rendered is what Run rendered, for renew to tell how the renewal reaches Kestra.
	rendered *overlays.Overlay
	genericiooptions.IOStreams
}

// NewGenerateOptions returns the defaults.
func NewGenerateOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *GenerateOptions {
	return &GenerateOptions{configFlags: configFlags, TLS: NewTLSFlags(), OutputDir: "kestra-tls", IOStreams: streams}
}

// NewCmdGenerate renders Kestra's TLS setup as a kustomize overlay.
func NewCmdGenerate(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewGenerateOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "generate --host NAME [--mode ingress|app] [-o DIR]",
		Short: "Render Kestra's TLS setup as a kustomize overlay",
		Long: `Render Kestra's HTTPS setup into a kustomize overlay folder you can read, commit, and apply with
"kubectl kestra-tls apply DIR" or "kubectl apply -k DIR".

--mode ingress (default): an Ingress with TLS for every --host, the certificate from Let's Encrypt
(--acme-staging to try first) or any ACME CA (--acme-server, with --acme-ca-bundle for a private
one, --eab-kid and --eab-hmac-key-file for external account binding, --solver-file for DNS-01 and
wildcards), an issuer you have (--issuer-ref) or our own CA (--self-signed: cert-manager gets only an
intermediate whose X.509 name constraints permit the hosts; the root's key stays in certs/), and kestra.url.
--mode gateway: a Gateway API Gateway (--gateway-class) whose certificate cert-manager's gateway-shim issues
from the same issuers, or an existing Gateway (--gateway NAMESPACE/NAME[:LISTENER]), and an HTTPRoute to
Kestra; --backend-tls makes Kestra serve HTTPS behind it too, verified by the Gateway (BackendTLSPolicy).
--mode app: Kestra's Micronaut server serves HTTPS on --port with our keystore.p12 and truststore.jks,
the store password in its own Secret; with --issuer-ref (or --self-signed --app-issuer cert-manager)
cert-manager issues and renews that keystore instead (--restart-on-renewal reloader for Stakater Reloader). --target compose does the same for Docker Compose.

Kestra is found in --base whatever its shape: the official chart's ` + "`helm template`" + ` output (Deployment or
StatefulSet, standalone or distributed, with its dind sidecar) or your own manifests. Where the base gives
Kestra its configuration as files (MICRONAUT_CONFIG_FILES, as the chart does), ours is one more file, listed
last; KESTRA_CONFIGURATION is never added there, since Kestra's launcher would then drop every listed file.
A literal KESTRA_CONFIGURATION is deep-merged instead. --outbound-trust reaches every Kestra component.

--target helm writes helm-values.yaml for people who install with the official chart (helm upgrade
--install ... -f YOUR-VALUES.yaml -f DIR/helm-values.yaml), through the chart's own knobs, and a
kustomization with only the Secrets (and issuer) it refers to, for "kubectl kestra-tls apply DIR". Helm
replaces lists across -f files instead of merging them: give your values with --chart-values so that the
lists we write (configurations.secrets, common.extraVolumes, ...) keep your entries.

Values come as in Helm: templates/values.yaml, then the values.yaml of an earlier run in -o DIR (unless
--reset-values; generate lists what it decides beyond the flags given), then each -f file, then --set, then
the flags. Without --base, a minimal demo Kestra (kestra/kestra:latest, in-memory H2) serves as the base, and
generate says so. Re-running with the same input changes no file.`,
		Example: generateExample,
		Args: func(cmd *cobra.Command, args []string) error {
			// --hsts takes an optional value, which pflag reads only after "=": "--hsts 600" leaves 600 here.
			if len(args) > 0 && cmd.Flags().Changed("hsts") && strings.Trim(args[0], "0123456789") == "" {
				return fmt.Errorf("--hsts takes its max-age after an equals sign: --hsts=%s (--hsts alone is a year)", args[0])
			}
			return cobra.NoArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd)
	cmd.Flags().StringVarP(&o.OutputDir, "output-dir", "o", o.OutputDir, "overlay folder to write")
	cmd.Flags().Var(&dryRunValue{target: &o.DryRun, does: []string{"client"}, refusal: "generate talks to no cluster: --dry-run=client prints the overlay; for the API server's check, run `kubectl kestra-tls apply --dry-run=server`"},
		"dry-run", `"client" (or bare): print the built overlay instead of writing it; "none": write it`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client"))
	cmd.Flags().BoolVar(&o.ShowValues, "show-values", false, "print the effective values and exit")
	_ = cmd.MarkFlagDirname("output-dir")
	return cmd
}

// AddFlags registers the flags shared by generate and apply.
func (o *GenerateOptions) AddFlags(cmd *cobra.Command) {
	o.TLS.AddFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&o.Mode, "mode", "", "where TLS ends: ingress (default), gateway (a Gateway API Gateway) or app")
	fs.StringVar(&o.Target, "target", "", "what to write: kustomize (default: an overlay over --base), helm (values for the official chart, and the Secrets they refer to) or compose (an override for your docker-compose.yml; app mode)")
	fs.StringArrayVar(&o.ComposeFiles, "compose-file", nil, "with --target compose: your Compose file (repeatable, as docker compose -f; default: what docker compose reads here, compose.yaml or docker-compose.yml and its override file); Kestra's service is found by image, or named with --service")
	fs.StringArrayVar(&o.ComposeEnvFiles, "env-file", nil, "with --target compose: a file of ${VAR} values, as docker compose --env-file (repeatable; default: the project's .env)")
	fs.BoolVar(&o.DualProtocol, "dual-protocol", false, "app mode: keep plain HTTP on 8080 open beside HTTPS (default: open when the base's Service reaches 8080; with --target compose, closed)")
	fs.BoolVar(&o.RedirectHTTP, "redirect-http", false, "app mode: answer plain HTTP on 8080 with a redirect to HTTPS (Micronaut's http-to-https-redirect; keeps 8080 open for it); the management port, where probes ask, stays plain HTTP")
	fs.StringVar(&o.AppIssuer, "app-issuer", "", "app mode: who issues Kestra's keystore: local (generate, from our CA; the default) or cert-manager (a Certificate with keystores, from --issuer-ref or our CA issuer with --self-signed; the default with --issuer-ref)")
	fs.BoolVar(&o.TrustManager, "trust-manager", false, "with --outbound-trust where cert-manager writes Kestra's stores (--gitops, --app-issuer cert-manager): trust-manager keeps the outbound trust (a Bundle: its default CA package and the --trust-ca files) instead of a ConfigMap generate writes")
	fs.StringVar(&o.ClientAuth, "client-auth", "", "mutual TLS: need (refuse clients without a certificate of the trusted CA) or want (ask, let clients without one through); Kestra checks them in app mode (its management port stays without it, for probes), the Ingress controller in ingress mode (--ingress-class nginx or traefik)")
	fs.StringVar(&o.ClientCA, "client-ca", "", "with --client-auth: PEM file of the CA whose client certificates Kestra accepts (default: our CA; `kubectl kestra-tls certs --client NAME -o DIR/certs` signs with it)")
	fs.StringVar(&o.HSTS, "hsts", "", "app mode (or --backend-tls): --hsts=SECONDS, the max-age of the Strict-Transport-Security header Kestra 2.0 and later send on their HTTPS (--hsts alone: a year)")
	fs.Lookup("hsts").NoOptDefVal = "31536000"
	fs.StringVar(&o.KestraVersion, "kestra-version", "", "app mode: the Kestra you run (1.3, v1.3.2, latest), when the base's image tag does not say it: Kestra 1.3 and later reload a renewed keystore in place, older ones restart")
	fs.StringVar(&o.RestartOnRenewal, "restart-on-renewal", "", "app mode with --app-issuer cert-manager: reloader annotates Kestra's workloads so that Stakater Reloader restarts them when cert-manager renews the keystore")
	fs.StringArrayVar(&o.ChartValues, "chart-values", nil, "with --target helm: your own values file for the chart (repeatable, in helm's order); the lists we write keep its entries, because helm replaces lists across -f files")
	fs.StringVar(&o.Base, "base", "", "kustomize folder with your Kestra manifests (default: a minimal embedded Kestra)")
	fs.StringVar(&o.TemplatesDir, "templates", "", "folder with templates that replace the embedded ones of the same name")
	fs.StringArrayVarP(&o.ValuesFiles, "values", "f", nil, "values file (repeatable; later ones win)")
	fs.StringArrayVar(&o.Sets, "set", nil, "set values as in Helm: key=value, a.b=c, list={a,b} (repeatable)")
	fs.BoolVar(&o.ResetValues, "reset-values", false, "ignore the values.yaml of an earlier run in the output folder")
	fs.StringVar(&o.IngressClass, "ingress-class", "", "IngressClass of the Ingress (default: none, so the cluster's default class serves it; apply says which): nginx, traefik, or another name")
	fs.StringVar(&o.GatewayClass, "gateway-class", "", "--mode gateway: the GatewayClass of a new Gateway (kubectl get gatewayclass)")
	fs.BoolVar(&o.BackendTLS, "backend-tls", false, "--mode gateway: TLS from the Gateway to Kestra too (Kestra serves HTTPS with a certificate for its Service name; a BackendTLSPolicy makes the Gateway verify it)")
	fs.StringVar(&o.Gateway, "gateway", "", "--mode gateway: attach to an existing Gateway, NAMESPACE/NAME[:LISTENER]; only the HTTPRoute is written")
	fs.StringVar(&o.Issuer, "issuer", "", "certificate source in ingress mode: letsencrypt (default)")
	fs.StringVar(&o.IssuerRef, "issuer-ref", "", "use an existing cert-manager issuer: NAME or NAME,kind=Issuer")
	fs.BoolVar(&o.SelfSigned, "self-signed", false, "issue from our own CA (a cert-manager Issuer with a name-constrained intermediate)")
	fs.BoolVar(&o.ClusterIssuer, "cluster-issuer", false, "with --self-signed: our CA as a cert-manager ClusterIssuer usable from every namespace (default: a namespaced Issuer beside Kestra)")
	fs.StringArrayVar(&o.CAPermit, "ca-permit", nil, "with --self-signed: a DNS domain (with its subdomains) or IP address cert-manager's issuer may sign, repeatable (default: the --host names)")
	fs.BoolVar(&o.NoCertManager, "no-cert-manager", false, "with --self-signed: write the kestra-tls Secret from our certificate, no cert-manager")
	fs.StringVar(&o.Email, "email", "", "ACME account email (optional: Let's Encrypt sends no expiry email since 2025; some CAs want a contact)")
	fs.StringVar(&o.ACMEServer, "acme-server", "", "ACME directory URL: a private ACME server (step-ca, Vault, a corporate CA) or a commercial ACME CA (default Let's Encrypt production)")
	fs.BoolVar(&o.ACMEStaging, "acme-staging", false, "use Let's Encrypt's staging directory (untrusted certificates, no production rate limits), as the ClusterIssuer letsencrypt-staging")
	fs.StringVar(&o.ACMECABundle, "acme-ca-bundle", "", "PEM file of the CA that signs your ACME server's HTTPS certificate (a private ACME server)")
	fs.StringVar(&o.EABKeyID, "eab-kid", "", "external account binding key ID, as your ACME CA shows it (ZeroSSL, Google Trust Services, Sectigo, ...)")
	fs.StringVar(&o.EABHMACKeyFile, "eab-hmac-key-file", "", "file holding the external account binding's base64url HMAC key (it goes into a Secret, never into a manifest or onto stdout)")
	fs.StringVar(&o.SolverFile, "solver-file", "", "YAML file with your cert-manager ACME solvers (a list, or one solver), replacing HTTP-01 through the Ingress: dns01 for wildcard hosts")
	fs.IntVar(&o.Port, "port", 0, "HTTPS port of Kestra in app mode (default 8443)")
	fs.BoolVar(&o.OutboundTrust, "outbound-trust", false, "app mode: JAVA_OPTS trust for tasks' outbound HTTPS (public CAs plus ours)")
	fs.StringVar(&o.Proxy, "proxy", "", "app mode: the forward proxy Kestra and its tasks call out through, http://host:port (the JVM's proxy properties, HTTPS_PROXY and HTTP_PROXY); an intercepting one's CA goes to --trust-ca")
	fs.StringSliceVar(&o.NoProxy, "no-proxy", nil, "with --proxy: hosts or domains reached directly (comma-separated or repeated), beside localhost and the cluster's own names (.svc, .cluster.local)")
	fs.StringArrayVar(&o.Registries, "registry", nil, "with --outbound-trust: an image registry (host[:port], repeatable) whose certificate the Docker-in-Docker sidecar checks against the outbound trust (certs.d/<registry>/ca.crt)")
	fs.StringArrayVar(&o.TrustCAs, "trust-ca", nil, "with --outbound-trust: a PEM file of CAs we did not make that Kestra and its tasks must trust (a proxy's, a registry's, a corporate CA; repeatable)")
	fs.StringVar(&o.CABundle, "ca-bundle", "", "PEM bundle of public CAs for --outbound-trust (default: Mozilla's root store, built in)")
	fs.BoolVar(&o.CSRF, "csrf", false, "turn on Micronaut's CSRF protection")
	fs.BoolVar(&o.GitOps, "gitops", false, "an overlay to commit for Argo CD or Flux: no key, keystore or password from certs/; cert-manager makes our CA (--self-signed) and, in app mode, Kestra's keystore in the cluster (kubectl kestra-tls ca prints the CA)")
	fs.StringVar(&o.SealWith, "seal-with", "", "with --gitops and your own certificate (--cert/--key, --pkcs12): the Sealed Secrets controller's certificate (kubeseal --fetch-cert) to seal Kestra's stores and password with, offline, so that they go into git encrypted")
	fs.StringArrayVar(&o.SOPSAge, "sops-age", nil, "with --gitops and your own certificate: an age public key (age1..., repeatable) that SOPS encrypts Kestra's stores and password for, as <name>.sops.yaml files Flux decrypts (spec.decryption.provider: sops)")
	fs.StringVar(&o.Deployment, "deployment", "", "the Deployment or StatefulSet that serves Kestra's UI in the base (default: found by the chart's labels or Kestra's image)")
	fs.StringVar(&o.Container, "container", "", "Kestra's container in that workload (default: the one running Kestra, never a sidecar)")
	fs.StringVar(&o.Service, "service", "", "Kestra's Service in the base (with --target compose: Kestra's service in the Compose file)")
	fs.BoolVar(&o.ShowSecrets, "show-secrets", false, "print Secret data in dry-run output instead of masking it")
	fs.BoolVar(&o.Overwrite, "overwrite", false, "replace files in the output folder that kestra-tls did not write, or that were edited since (default: refuse, naming them)")
	_ = cmd.MarkFlagDirname("base")
	_ = cmd.MarkFlagDirname("templates")
	_ = cmd.MarkFlagFilename("values", "yaml", "yml")
	_ = cmd.MarkFlagFilename("solver-file", "yaml", "yml")
	_ = cmd.MarkFlagFilename("compose-file", "yaml", "yml")
	_ = cmd.MarkFlagFilename("acme-ca-bundle")
	_ = cmd.MarkFlagFilename("eab-hmac-key-file")
	_ = cmd.MarkFlagFilename("ca-bundle")
	_ = cmd.MarkFlagFilename("chart-values", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletions("ingress", "gateway", "app"))
	_ = cmd.RegisterFlagCompletionFunc("target", fixedCompletions("kustomize", "helm"))
	_ = cmd.RegisterFlagCompletionFunc("ingress-class", fixedCompletions("nginx", "traefik"))
	_ = cmd.RegisterFlagCompletionFunc("issuer", fixedCompletions("letsencrypt"))
}

func fixedCompletions(words ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// Complete resolves the values from every layer.
func (o *GenerateOptions) Complete(cmd *cobra.Command) error {
	o.changed = cmd.Flags().Changed
	defaults, err := fs.ReadFile(templates.FS, "values.yaml")
	if err != nil {
		return err
	}
	if o.Target == "compose" && len(o.ComposeFiles) > 0 && !o.changed("output-dir") {
		// Beside the Compose file, so that the override names our files by paths relative to the project.
		o.OutputDir = filepath.Join(filepath.Dir(o.ComposeFiles[0]), o.OutputDir)
	}
	var layers []values.Layer
	if !o.ResetValues {
		previous, err := os.ReadFile(filepath.Join(o.OutputDir, overlays.ValuesFile))
		switch {
		case err == nil && !overlays.IsEarlierRun(previous):
			// A values file of the user's that happens to sit there: writing names it, and refuses.
		case err == nil:
			if previous, err = overlays.EarlierRunValues(o.OutputDir, previous); err != nil {
				return err
			}
			layers = append(layers, values.Layer{Source: filepath.Join(o.OutputDir, overlays.ValuesFile) + " (from an earlier run; --reset-values ignores it)", Data: previous})
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			// A path below a regular file is no earlier run; writing reports it with advice.
			return fmt.Errorf("-o %s: %v", o.OutputDir, err)
		}
	}
	for _, file := range o.ValuesFiles {
		data, err := generate.ReadInput("-f", file)
		if err != nil {
			return err
		}
		layers = append(layers, values.Layer{Source: "-f " + file, Data: data})
	}
	overrides, err := o.overrides()
	if err != nil {
		return err
	}
	if o.resolved, err = values.Resolve(values.Layer{Source: "templates/values.yaml", Data: defaults}, layers, o.Sets, overrides); err != nil {
		return err
	}
	if len(layers) > len(o.ValuesFiles) {
		// An earlier run's values.yaml is the first layer: say what it decides that this command line does not.
		if fresh, err := values.Resolve(values.Layer{Source: "templates/values.yaml", Data: defaults}, layers[1:], o.Sets, overrides); err == nil {
			o.reused = values.Differences(fresh.Map, o.resolved.Map)
		}
	}
	if err := o.defaultComposeFiles(); err != nil {
		return err
	}
	return o.normalizeHosts()
}

// composeFileNames are the files docker compose reads without -f, in its order of preference.
var composeFileNames = []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"}

// defaultComposeFiles finds the project as docker compose does without -f: the first of its file names in
// the current folder, and the override file beside it (compose.override.yaml, ...), which it reads too.
func (o *GenerateOptions) defaultComposeFiles() error {
	if o.resolved.Target != "compose" || len(o.resolved.Compose.Files) > 0 {
		return nil
	}
	var files []string
	for _, name := range composeFileNames {
		if _, err := os.Stat(name); err == nil {
			files = append(files, name)
			override := strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".yml") + ".override" + filepath.Ext(name)
			if _, err := os.Stat(override); err == nil {
				files = append(files, override)
			}
			break
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("--target compose: no Compose file here (docker compose looks for %s): run generate in your project's folder, or pass --compose-file", strings.Join(composeFileNames, ", "))
	}
	o.resolved.Compose.Files = files
	compose, _ := o.resolved.Map["compose"].(map[string]any)
	if compose == nil {
		compose = map[string]any{}
		o.resolved.Map["compose"] = compose
	}
	listed := make([]any, len(files))
	for i, file := range files {
		listed[i] = file
	}
	compose["files"] = listed
	return nil
}

// normalizeHosts writes every host as the Ingress, the certificate and the browser name it (punycode for an
// internationalised name), in the order given.
func (o *GenerateOptions) normalizeHosts() error {
	for i, host := range o.resolved.Hosts {
		if strings.TrimSpace(host) == "" && !o.changed("host") {
			return fmt.Errorf("hosts[%d] is empty (values key hosts, from a values file or --set: --set hosts[N]=NAME leaves every entry before N empty): give the whole list, e.g. --host kestra.example.com, or --set hosts={kestra.example.com,kestra.internal}", i)
		}
	}
	normalized, err := pki.NormalizeHosts(o.resolved.Hosts)
	if err != nil {
		return err
	}
	hosts := make([]any, len(normalized))
	for i, host := range normalized {
		o.resolved.Hosts[i], hosts[i] = host, host
	}
	if len(hosts) > 0 {
		o.resolved.Map["hosts"] = hosts
	}
	return nil
}

func (o *GenerateOptions) overrides() ([]values.Override, error) {
	var out []values.Override
	add := func(flag, path string, value any) {
		if o.changed(flag) {
			out = append(out, values.Override{Flag: "--" + flag, Path: path, Value: value})
		}
	}
	add("mode", "mode", o.Mode)
	add("target", "target", o.Target)
	if o.Target == "compose" && !o.changed("mode") {
		// Compose has no Ingress: Kestra serves HTTPS itself.
		out = append(out, values.Override{Flag: "--target compose", Path: "mode", Value: "app"})
	}
	add("compose-file", "compose.files", o.ComposeFiles)
	add("env-file", "compose.envFiles", o.ComposeEnvFiles)
	add("dual-protocol", "app.dualProtocol", o.DualProtocol)
	add("redirect-http", "app.redirectHTTP", o.RedirectHTTP)
	add("app-issuer", "app.issuer", o.AppIssuer)
	add("restart-on-renewal", "app.restartOnRenewal", o.RestartOnRenewal)
	add("kestra-version", "kestra.version", o.KestraVersion)
	add("hsts", "app.hsts", o.HSTS)
	add("client-auth", "app.clientAuthentication", o.ClientAuth)
	add("trust-manager", "app.trustManager", o.TrustManager)
	add("client-ca", "app.clientCAFile", o.ClientCA)
	add("chart-values", "helm.chartValues", o.ChartValues)
	add("base", "base", o.Base)
	add("templates", "templates", o.TemplatesDir)
	add("host", "hosts", o.TLS.Hosts)
	add("ingress-class", "ingress.className", o.IngressClass)
	add("gateway-class", "gateway.className", o.GatewayClass)
	add("gateway", "gateway.existing", o.Gateway)
	add("backend-tls", "gateway.backendTLS", o.BackendTLS)
	add("issuer", "issuer.type", o.Issuer)
	add("email", "issuer.email", o.Email)
	add("acme-server", "issuer.acmeServer", o.ACMEServer)
	add("acme-staging", "issuer.acmeStaging", o.ACMEStaging)
	add("acme-ca-bundle", "issuer.acmeCABundle", o.ACMECABundle)
	add("eab-kid", "issuer.eab.keyID", o.EABKeyID)
	add("eab-hmac-key-file", "issuer.eab.hmacKeyFile", o.EABHMACKeyFile)
	add("solver-file", "issuer.solverFile", o.SolverFile)
	add("port", "app.port", o.Port)
	add("outbound-trust", "app.outboundTrust", o.OutboundTrust)
	add("ca-bundle", "app.caBundle", o.CABundle)
	add("csrf", "csrf", o.CSRF)
	add("trust-ca", "app.trustCAs", o.TrustCAs)
	add("proxy", "app.proxy", o.Proxy)
	add("registry", "app.registries", o.Registries)
	add("no-proxy", "app.noProxy", o.NoProxy)
	add("gitops", "gitops", o.GitOps)
	add("seal-with", "sealing.sealedSecretsCert", o.SealWith)
	add("sops-age", "sealing.sopsAge", o.SOPSAge)
	add("cluster-issuer", "certManager.clusterIssuer", o.ClusterIssuer)
	add("ca-permit", "certManager.permitted", o.CAPermit)
	add("deployment", "kestra.deployment", o.Deployment)
	add("container", "kestra.container", o.Container)
	add("service", "kestra.service", o.Service)
	add("key-algorithm", "certificates.keyAlgorithm", o.TLS.KeyAlgorithm)
	add("days", "certificates.days", o.TLS.Days)
	add("ca-common-name", "certificates.caCommonName", o.TLS.CACommonName)
	add("ca-dir", "certificates.caDir", o.TLS.CADir)
	add("cert", "certificates.certFile", o.TLS.CertFile)
	add("key", "certificates.keyFile", o.TLS.KeyFile)
	add("ca", "certificates.caFile", o.TLS.CAFile)
	add("pkcs12", "certificates.pkcs12File", o.TLS.PKCS12File)
	add("key-password-file", "certificates.keyPasswordFile", o.TLS.KeyPasswordFile)
	add("store-password-file", "certificates.storePasswordFile", o.TLS.StorePasswordFile)
	if o.changed("namespace") && o.configFlags.Namespace != nil {
		out = append(out, values.Override{Flag: "--namespace", Path: "namespace", Value: *o.configFlags.Namespace})
	}
	if o.SelfSigned {
		add("self-signed", "issuer.type", "self-signed")
	}
	if o.NoCertManager {
		add("no-cert-manager", "issuer.certManager", false)
	}
	if o.changed("issuer-ref") {
		name, kind, err := parseIssuerRef(o.IssuerRef)
		if err != nil {
			return nil, err
		}
		add("issuer-ref", "issuer.type", "ref")
		add("issuer-ref", "issuer.refName", name)
		add("issuer-ref", "issuer.refKind", kind)
	}
	return out, nil
}

func parseIssuerRef(value string) (name, kind string, err error) {
	parts := strings.Split(value, ",")
	name, kind = strings.TrimSpace(parts[0]), "ClusterIssuer"
	for _, part := range parts[1:] {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || key != "kind" {
			return "", "", fmt.Errorf("--issuer-ref %q: expected NAME or NAME,kind=Issuer", value)
		}
		kind = val
	}
	if name == "" {
		return "", "", fmt.Errorf("--issuer-ref needs a name, e.g. --issuer-ref my-issuer")
	}
	return name, kind, nil
}

// Validate checks flag combinations the values can't express.
func (o *GenerateOptions) Validate() error {
	if o.ShowSecrets && !o.DryRun && !o.ShowValues {
		return errors.New("--show-secrets only applies to --dry-run output")
	}
	if o.ShowValues {
		return nil
	}
	return o.validateInputs()
}

func (o *GenerateOptions) checkCertificateSource() error {
	exclusive := 0
	for _, flag := range []string{"issuer", "issuer-ref", "self-signed"} {
		if o.changed(flag) {
			exclusive++
		}
	}
	if exclusive > 1 {
		return errors.New("--issuer, --issuer-ref and --self-signed each choose the certificate source: pass only one")
	}
	if o.changed("issuer") && o.Issuer != "letsencrypt" {
		return fmt.Errorf("--issuer %q: the only built-in issuer is letsencrypt (did you mean --issuer-ref %s?)", o.Issuer, o.Issuer)
	}
	return nil
}

// validateInputs checks what generate and apply share: the certificate source and the values.
func (o *GenerateOptions) validateInputs() error {
	if err := o.checkCertificateSource(); err != nil {
		return err
	}
	return o.resolved.Validate()
}

// Run renders the overlay and writes it, or prints it.
func (o *GenerateOptions) Run(ctx context.Context) error {
	if o.ShowValues {
		data, err := o.resolved.YAML()
		if err != nil {
			return err
		}
		_, err = o.Out.Write(data)
		return err
	}
	if !o.DryRun {
		release, err := LockOutputs(o.ErrOut, o.OutputDir, 0o755, o.resolved.Certificates.CADir)
		if err != nil {
			return err
		}
		defer release()
	}
	overlay, err := o.render()
	o.rendered = overlay
	if err != nil {
		return err
	}
	for _, warning := range overlay.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", warning)
	}
	for _, note := range overlay.Notes {
		fmt.Fprintf(o.ErrOut, "%s\n", note)
	}
	if len(o.reused) > 0 {
		fmt.Fprintf(o.ErrOut, "reused from %s (an earlier run; flags win, --reset-values starts over): %s\n", filepath.Join(o.OutputDir, overlays.ValuesFile), strings.Join(o.reused, ", "))
	}
	if o.resolved.Target == "kustomize" && o.resolved.Base == "" {
		fmt.Fprintf(o.ErrOut, "base: kestra-tls's minimal demo Kestra (kestra/kestra:latest, in-memory H2), not yours: give your Kestra with --base (your manifests, or `helm template` output of your chart)\n")
	}
	if o.DryRun {
		return o.printDryRun(overlay)
	}
	if o.resolved.Target != "compose" {
		// Never say "apply it with" for a folder kustomize refuses, nor leave one on disk.
		if _, err := overlay.BuildAt(o.OutputDir); err != nil {
			return overlays.ExplainBuildError(o.resolved.Base, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: nothing written", context.Cause(ctx))
	}
	result, err := overlay.Write(o.OutputDir, true)
	if err != nil {
		return err
	}
	for _, line := range overlay.Adopted {
		fmt.Fprintf(o.Out, "taken over: %s\n", line)
	}
	for _, name := range result.Written {
		fmt.Fprintf(o.Out, "wrote %s\n", filepath.Join(o.OutputDir, name))
	}
	for _, name := range result.Removed {
		fmt.Fprintf(o.Out, "removed %s (not used in this mode)\n", filepath.Join(o.OutputDir, name))
	}
	for _, name := range result.Kept {
		fmt.Fprintf(o.ErrOut, "Warning: kept %s: not used in this mode, but edited since kestra-tls wrote it (delete it yourself if it is no longer needed)\n", filepath.Join(o.OutputDir, name))
	}
	if len(result.Written) == 0 && len(result.Removed) == 0 {
		fmt.Fprintf(o.Out, "%s is up to date (%d files unchanged)\n", o.OutputDir, len(result.Unchanged))
	}
	o.printNext(overlay)
	return nil
}

// printNext says what to run now.
func (o *GenerateOptions) printNext(overlay *overlays.Overlay) {
	defer o.printReach(overlay)
	if overlay.Next != "" {
		fmt.Fprintf(o.Out, "start it with: %s\n", overlay.Next)
		return
	}
	namespace := ""
	if o.resolved.Namespace != "" {
		namespace = " -n " + o.resolved.Namespace
	} else if ns, err := namespaceOf(o.configFlags); err == nil && ns != "" && o.changed("namespace") {
		namespace = " -n " + ns
	}
	if o.resolved.GitOps {
		fmt.Fprintf(o.Out, "commit it (it holds no key): git add %s, and point Argo CD or Flux at it (or: kubectl kestra-tls apply %s%s)\n", o.OutputDir, o.OutputDir, namespace)
		if o.resolved.IssuedByOurCAIssuer() {
			fmt.Fprintf(o.Out, "once applied, the CA clients must trust, which cert-manager makes in the cluster: kubectl kestra-tls ca%s > ca.pem\n", namespace)
		}
		return
	}
	if o.resolved.Target != "helm" {
		fmt.Fprintf(o.Out, "apply it with: kubectl kestra-tls apply %s%s   (or: kubectl apply -k %s)\n", o.OutputDir, namespace, o.OutputDir)
		return
	}
	// helm upgrade with -f and without the user's values resets the release to the chart's defaults.
	mine := " --reuse-values"
	if len(o.resolved.Helm.ChartValues) > 0 {
		mine = ""
		for _, file := range o.resolved.Helm.ChartValues {
			mine += " -f " + file
		}
	}
	fmt.Fprintf(o.Out, "then, in this order:\n")
	fmt.Fprintf(o.Out, "  kubectl kestra-tls apply %s%s   # the Secrets (and issuer) the values refer to\n", o.OutputDir, namespace)
	fmt.Fprintf(o.Out, "  helm upgrade --install kestra kestra/kestra%s%s -f %s\n", namespace, mine, filepath.Join(o.OutputDir, overlays.HelmValuesFile))
	if o.resolved.Mode == "ingress" && o.resolved.Issuer.CertManager {
		fmt.Fprintf(o.Out, "  kubectl kestra-tls wait%s %s   # until cert-manager's certificate is Ready\n", namespace, o.resolved.Ingress.TLSSecretName)
	}
}

// printReach says where Kestra answers once the output is in use, and what clients must trust.
func (o *GenerateOptions) printReach(overlay *overlays.Overlay) {
	if overlay.URL == "" {
		return
	}
	fmt.Fprintf(o.Out, "then Kestra answers at %s", overlay.URL)
	if overlay.Material != nil && len(overlay.Material.Bundle.TrustedCerts()) > 0 && o.resolved.Issuer.Type != "ref" {
		fmt.Fprintf(o.Out, " (browsers and clients must trust our CA, %s)", filepath.Join(o.OutputDir, overlays.CertsDir, "ca.pem"))
	}
	fmt.Fprintln(o.Out)
}

func (o *GenerateOptions) render() (*overlays.Overlay, error) {
	return overlays.Generate(overlays.Options{
		Dir: o.OutputDir, Base: o.resolved.Base, Templates: templates.FS, TemplatesDir: o.resolved.Templates,
		Values: o.resolved, StorePassword: os.Getenv(StorePasswordEnv), Force: o.TLS.Force,
		RenewServer: o.renewServer, Now: time.Now(), Overwrite: o.Overwrite,
	})
}

// printDryRun prints the built objects, Secrets masked, writing nothing of the overlay.
func (o *GenerateOptions) printDryRun(overlay *overlays.Overlay) error {
	if o.resolved.Target == "compose" {
		// What docker compose will read; the password stays in certs/, so nothing here needs masking.
		for _, file := range overlay.Files {
			if file.Name == overlays.ComposeOverrideFile || file.Name == model.ConfigFile {
				if _, err := fmt.Fprintf(o.Out, "# %s\n%s", file.Name, file.Data); err != nil {
					return err
				}
			}
		}
		return nil
	}
	built, err := overlay.BuildAt(o.OutputDir)
	if err != nil {
		return overlays.ExplainBuildError(o.resolved.Base, err)
	}
	data, err := overlays.MaskedYAML(built, o.ShowSecrets)
	if err != nil {
		return err
	}
	_, err = o.Out.Write(data)
	return err
}
