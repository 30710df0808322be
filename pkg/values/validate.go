package values

import (
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Validate checks what the schema can't: allowed words and combinations. Errors name the flag (and the
// values key behind it) and say what to do.
func (v Values) Validate() error {
	switch v.Mode {
	case "ingress", "app", "gateway":
	default:
		return fmt.Errorf("--mode %q is not a mode (values key mode): use ingress (TLS ends at the Ingress), gateway (TLS ends at a Gateway API Gateway) or app (Kestra serves HTTPS itself)", v.Mode)
	}
	if v.Mode == "gateway" {
		if err := v.validateGateway(); err != nil {
			return err
		}
	} else if v.Gateway.BackendTLS {
		return fmt.Errorf("--backend-tls goes with --mode gateway (Kestra serves HTTPS behind the Gateway); in --mode app Kestra serves HTTPS already")
	}
	switch v.Target {
	case "kustomize", "helm":
	case "compose":
		if v.Mode != "app" {
			return fmt.Errorf("--target compose serves HTTPS from Kestra itself (Compose has no Ingress): drop --mode %s, or use --mode app", v.Mode)
		}
		if len(v.Compose.Files) == 0 {
			return fmt.Errorf("--target compose needs --compose-file (values key compose.files): pass your docker-compose.yml")
		}
		if v.Base != "" || len(v.Helm.ChartValues) > 0 {
			return fmt.Errorf("--base and --chart-values do not go with --target compose: Kestra's service comes from --compose-file")
		}
	default:
		return fmt.Errorf("--target %q is not a target (values key target): use kustomize (an overlay over --base), helm (values for the official chart) or compose (an override for your docker-compose.yml)", v.Target)
	}
	if v.Target != "compose" && len(v.Compose.Files) > 0 {
		return fmt.Errorf("--compose-file needs --target compose (did you mean --target compose?)")
	}
	if v.Target != "compose" && len(v.Compose.EnvFiles) > 0 {
		return fmt.Errorf("--env-file needs --target compose (did you mean --target compose?)")
	}
	if v.Target == "helm" && v.Base != "" {
		return fmt.Errorf("--base %s does not go with --target helm: the chart renders Kestra; pass your chart values with --chart-values instead", v.Base)
	}
	if v.Target == "kustomize" && len(v.Helm.ChartValues) > 0 {
		return fmt.Errorf("--chart-values needs --target helm (did you mean --target helm, or --base with your `helm template` output?)")
	}
	if len(v.Hosts) == 0 {
		return fmt.Errorf("at least one --host is required (values key hosts), e.g. --host kestra.example.com")
	}
	if err := v.validateHosts(); err != nil {
		return err
	}
	if err := v.validateNames(); err != nil {
		return err
	}
	if v.TerminatesOutside() {
		for _, host := range v.Hosts {
			if net.ParseIP(host) != nil {
				return fmt.Errorf("--host %s: an %s routes by DNS name, not by IP address (use --mode app to serve HTTPS on an IP, or drop this --host)", host, map[string]string{"ingress": "Ingress", "gateway": "HTTPRoute"}[v.Mode])
			}
		}
		if v.IssuesCertificate() {
			if err := v.validateIssuer(); err != nil {
				return err
			}
		}
	}
	if v.App.Port < 1 || v.App.Port > 65535 {
		return fmt.Errorf("--port %d is not a port (values key app.port): use 1 to 65535, e.g. 8443", v.App.Port)
	}
	if v.Mode == "app" && v.App.Port == 8080 && (v.App.DualProtocol == nil || !*v.App.DualProtocol) {
		// Kestra's own HTTP port; Micronaut would bind both to it.
		return fmt.Errorf("--port 8080 is Kestra's HTTP port: choose another HTTPS port, e.g. 8443")
	}
	switch v.Certificates.Rotation {
	case "":
	case "trust", "issue":
		if v.CARotation() == "" {
			return fmt.Errorf("certificates.rotation %q: a CA rotation (rotate-ca) is for our CA kept in the overlay, signing Kestra's own stores (app mode) or through cert-manager (--self-signed); set it back to \"\" (--set certificates.rotation=)", v.Certificates.Rotation)
		}
	default:
		return fmt.Errorf("certificates.rotation %q: leave it to `kubectl kestra-tls rotate-ca`, which sets trust, then issue, then clears it", v.Certificates.Rotation)
	}
	if v.App.RedirectHTTP {
		switch {
		case v.Mode != "app":
			return fmt.Errorf("--redirect-http is about Kestra's own HTTP port in app mode; in %s mode the %s redirects (drop --redirect-http)", v.Mode, map[string]string{"ingress": "Ingress controller", "gateway": "Gateway"}[v.Mode])
		case v.App.DualProtocol != nil && !*v.App.DualProtocol:
			return fmt.Errorf("--redirect-http answers on 8080, which --dual-protocol=false closes: drop one of them")
		case v.Target == "helm":
			return fmt.Errorf("--redirect-http would fail the official chart's probes: Micronaut (4.10, Kestra's) redirects the management port 8081 to HTTPS too, where the health endpoints are not served; drop --redirect-http")
		}
	}
	if err := v.validateAppIssuer(); err != nil {
		return err
	}
	if v.App.TrustManager && !v.PublicOutboundTrust() {
		return fmt.Errorf("--trust-manager keeps the outbound trust where cert-manager writes Kestra's stores (--gitops or --app-issuer cert-manager, with --outbound-trust): add those, or drop --trust-manager")
	}
	if v.App.HSTS != "" {
		if seconds, err := strconv.ParseUint(v.App.HSTS, 10, 32); err != nil || seconds == 0 {
			return fmt.Errorf("--hsts %q is not a max-age in seconds: give one, e.g. --hsts 31536000 (a year), or --hsts alone", v.App.HSTS)
		}
		if !v.ServesHTTPS() {
			return fmt.Errorf("--hsts: Kestra sends Strict-Transport-Security only on the HTTPS it serves itself, and in %s mode the %s ends TLS (Kestra sees plain HTTP): set HSTS there (ingress-nginx sends it by default; Traefik with a headers Middleware, stsSeconds), or use --mode app", v.Mode, map[string]string{"ingress": "Ingress controller", "gateway": "Gateway"}[v.Mode])
		}
	}
	if err := v.validateGitOps(); err != nil {
		return err
	}
	if len(v.App.TrustCAs) > 0 && !(v.Mode == "app" && v.App.OutboundTrust) {
		return fmt.Errorf("--trust-ca adds to the outbound trust that --outbound-trust gives Kestra (app mode): add --outbound-trust, or drop --trust-ca")
	}
	for _, registry := range v.App.Registries {
		if !(v.Mode == "app" && v.App.OutboundTrust) {
			return fmt.Errorf("--registry %s gives the Docker daemon the outbound trust, which --outbound-trust makes (app mode): add --outbound-trust", registry)
		}
		if !registryName.MatchString(registry) {
			return fmt.Errorf("--registry %q: give the registry as Docker names it in an image, host or host:port (registry.corp.example:5000), without https:// or a path", registry)
		}
	}
	switch {
	case v.App.ClientAuthentication == "":
	case v.Mode == "app" && v.App.ClientCAFile == "" && !v.HasTruststore():
		// Micronaut without a truststore verifies clients against the JVM's public roots: any client
		// certificate a public CA signed would get in.
		return fmt.Errorf("--client-auth %s: Kestra's certificate comes from your issuer (--issuer-ref), whose CA kestra-tls does not hold, and without a truststore Kestra's JVM would accept client certificates of every public CA: give your clients' CA with --client-ca FILE", v.App.ClientAuthentication)
	case v.Mode == "app":
	case v.Mode == "gateway":
		return fmt.Errorf("--client-auth %s: in gateway mode the Gateway would check client certificates (Gateway API's frontend TLS validation, spec.tls.frontend), which Traefik, the implementation kestra-tls is tested with, does not implement up to 3.7 (traefik/traefik#11975), so kestra-tls does not write it: use --mode ingress with --ingress-class traefik or nginx, or --mode app (Kestra checks them itself)", v.App.ClientAuthentication)
	case v.IngressController() != "nginx" && v.IngressController() != "traefik":
		// Settings a controller ignores would leave Kestra open to clients without a certificate.
		return fmt.Errorf("--client-auth %s in ingress mode: the Ingress controller checks client certificates, with settings of its own, which kestra-tls writes for ingress-nginx and Traefik: add --ingress-class nginx or --ingress-class traefik, or for a class of another name say whose it is with --set ingress.controller=nginx (or traefik); apply checks that the class is that controller's. Or use --mode app (Kestra checks them itself)", v.App.ClientAuthentication)
	case v.Target != "kustomize":
		return fmt.Errorf("--client-auth %s in ingress mode writes the clients' CA Secret into the overlay: use --target kustomize (the default)", v.App.ClientAuthentication)
	case v.App.ClientCAFile == "" && v.Issuer.Type != "self-signed":
		return fmt.Errorf("--client-auth %s: which CA signs the clients? With --self-signed our CA does; with Let's Encrypt or --issuer-ref, give your clients' CA with --client-ca FILE", v.App.ClientAuthentication)
	case v.GitOps && v.App.ClientCAFile == "":
		return fmt.Errorf("--client-auth %s with --gitops: our CA is made in the cluster, where the Ingress controller cannot read it from its Secret; give your clients' CA with --client-ca FILE", v.App.ClientAuthentication)
	}
	if v.App.ClientCAFile != "" {
		switch {
		case v.App.ClientAuthentication == "":
			return fmt.Errorf("--client-ca names the CA of the client certificates Kestra accepts: add --client-auth need (or want)")
		}
	}
	switch v.App.ClientAuthentication {
	case "want", "need", "none", "":
	default:
		return fmt.Errorf("app.clientAuthentication %q: use want (ask every client for a certificate), need (require one) or leave it empty (ask none)", v.App.ClientAuthentication)
	}
	return nil
}

func (v Values) validateIssuer() error {
	i := v.Issuer
	switch i.Type {
	case "letsencrypt":
		// Optional: Let's Encrypt stopped its expiry emails in 2025, and cert-manager's ACME issuer needs none.
		if _, err := mail.ParseAddress(i.Email); i.Email != "" && (err != nil || strings.ContainsAny(i.Email, " <>")) {
			return fmt.Errorf("--email %q is not an email address", i.Email)
		}
		if !strings.HasPrefix(i.ACMEServer, "https://") {
			return fmt.Errorf("--acme-server %q must be an https:// ACME directory URL", i.ACMEServer)
		}
		if (i.ACMEServer == LetsEncryptProduction || i.ACMEServer == LetsEncryptStaging) && len(v.Hosts) > letsEncryptMaxNames {
			return fmt.Errorf("%d --host names: Let's Encrypt puts at most %d names on one certificate; split Kestra's hosts across installs, or use a wildcard (*.example.com, with --solver-file for DNS-01)", len(v.Hosts), letsEncryptMaxNames)
		}
		for _, host := range v.Hosts {
			if strings.HasPrefix(host, "*.") && i.SolverFile == "" {
				return fmt.Errorf("--host %s: ACME issues wildcards only through DNS-01, and this issuer solves HTTP-01 (pass --solver-file with your cert-manager dns01 solver, or --issuer-ref with a DNS-01 issuer, or name the hosts)", host)
			}
		}
		if (i.EAB.KeyID == "") != (i.EAB.HMACKeyFile == "") {
			return fmt.Errorf("--eab-kid and --eab-hmac-key-file go together (values keys issuer.eab.keyID and issuer.eab.hmacKeyFile): pass both, as your ACME CA shows them, or neither")
		}
	case "ref":
		if i.RefName == "" {
			return fmt.Errorf("--issuer-ref needs a name, e.g. --issuer-ref my-issuer or --issuer-ref my-issuer,kind=Issuer")
		}
		if i.RefKind != "ClusterIssuer" && i.RefKind != "Issuer" {
			return fmt.Errorf("--issuer-ref kind %q: use kind=Issuer or kind=ClusterIssuer", i.RefKind)
		}
	case "self-signed":
	default:
		return fmt.Errorf("--issuer %q (values key issuer.type): use letsencrypt, or --issuer-ref NAME, or --self-signed", i.Type)
	}
	if i.Type != "letsencrypt" {
		for _, acmeOnly := range []struct {
			flag string
			set  bool
		}{{"--acme-staging", i.ACMEStaging}, {"--acme-ca-bundle", i.ACMECABundle != ""}, {"--eab-kid", i.EAB.KeyID != ""}, {"--eab-hmac-key-file", i.EAB.HMACKeyFile != ""}, {"--solver-file", i.SolverFile != ""}} {
			if acmeOnly.set {
				return fmt.Errorf("%s configures the ACME issuer (--issuer letsencrypt), not %s: drop it, or issue through ACME", acmeOnly.flag, map[string]string{"ref": "--issuer-ref", "self-signed": "--self-signed"}[i.Type])
			}
		}
	}
	if !i.CertManager && i.Type != "self-signed" {
		return fmt.Errorf("--no-cert-manager needs --self-signed: without cert-manager nobody issues a certificate from %s", map[string]string{"letsencrypt": "Let's Encrypt", "ref": "--issuer-ref"}[i.Type])
	}
	return nil
}

// validateGateway checks what mode gateway needs: a class for a new Gateway, or a well-formed reference to
// an existing one.
func (v Values) validateGateway() error {
	g := v.Gateway
	if v.Target != "kustomize" {
		return fmt.Errorf("--mode gateway writes a Gateway and an HTTPRoute, which the official chart has no values for: use --target kustomize (the default)")
	}
	if g.Existing != "" {
		if _, _, _, err := ParseGatewayRef(g.Existing); err != nil {
			return err
		}
		if g.ClassName != "" {
			return fmt.Errorf("--gateway-class makes a new Gateway, --gateway %s uses an existing one: pass only one", g.Existing)
		}
		return nil
	}
	if g.BackendTLS && !v.Issuer.CertManager {
		return fmt.Errorf("--backend-tls needs cert-manager for the Gateway's certificate: drop --no-cert-manager (Kestra's own certificate behind the Gateway is made here either way)")
	}
	if g.ClassName == "" {
		return fmt.Errorf("--mode gateway needs --gateway-class NAME for a new Gateway (the GatewayClass of your controller: kubectl get gatewayclass), or --gateway NAMESPACE/NAME[:LISTENER] to attach to an existing one")
	}
	return nil
}

// ParseGatewayRef reads NAMESPACE/NAME[:LISTENER].
func ParseGatewayRef(ref string) (namespace, name, listener string, err error) {
	rest := ref
	if colon := strings.LastIndex(rest, ":"); colon >= 0 {
		rest, listener = rest[:colon], rest[colon+1:]
	}
	namespace, name, ok := strings.Cut(rest, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") || (listener == "" && strings.HasSuffix(ref, ":")) {
		return "", "", "", fmt.Errorf("--gateway %q: expected NAMESPACE/NAME or NAMESPACE/NAME:LISTENER, e.g. --gateway infra/public:https", ref)
	}
	return namespace, name, listener, nil
}

// registryName is a registry as an image names it: a DNS name or IP, and a port.
var registryName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

// reloadInterval is a positive whole number of seconds, minutes or hours, as Micronaut reads a Duration.
var reloadInterval = regexp.MustCompile(`^0*[1-9][0-9]*(s|m|h)$`)

// validateAppIssuer checks app mode's keystore from cert-manager (--app-issuer cert-manager, or
// --issuer-ref in app mode) and Reloader's annotations.
func (v Values) validateAppIssuer() error {
	switch v.App.Issuer {
	case "", "local", "cert-manager":
	default:
		return fmt.Errorf("--app-issuer %q (values key app.issuer): use local (generate mints Kestra's keystore from our CA) or cert-manager (a Certificate writes it)", v.App.Issuer)
	}
	switch v.App.RestartOnRenewal {
	case "":
	case "reloader":
		if !v.AppIssuedByCertManager() {
			return fmt.Errorf("--restart-on-renewal reloader is for a keystore cert-manager renews in place: add --app-issuer cert-manager (with --self-signed or --issuer-ref); a keystore from generate changes name and rolls Kestra by itself")
		}
	default:
		return fmt.Errorf("--restart-on-renewal %q (values key app.restartOnRenewal): use reloader (Stakater Reloader's annotations)", v.App.RestartOnRenewal)
	}
	switch v.App.Renewal {
	case "", "reload", "restart":
	default:
		return fmt.Errorf("--set app.renewal=%q: use reload (Kestra 1.3 and later re-read the keystore in place), restart, or leave it empty to decide from the Kestra version", v.App.Renewal)
	}
	if !reloadInterval.MatchString(v.App.ReloadInterval) {
		return fmt.Errorf("--set app.reloadInterval=%q: give a duration as Micronaut reads it, such as 30s, 1m or 1h (not zero)", v.App.ReloadInterval)
	}
	if v.App.Issuer == "cert-manager" && v.Mode != "app" {
		return fmt.Errorf("--app-issuer cert-manager is about Kestra's own keystore: it goes with --mode app")
	}
	if !v.AppIssuedByCertManager() {
		return nil
	}
	if v.GitOps {
		// The checks below name --app-issuer; with --gitops the user did not pass it.
		if err := v.validateGitOps(); err != nil {
			return err
		}
		if v.Issuer.Type != "ref" && v.Issuer.Type != "self-signed" {
			return fmt.Errorf("--gitops in app mode has cert-manager write Kestra's keystore in the cluster: it needs the issuer, --self-signed (our CA, made by cert-manager) or --issuer-ref NAME (yours); Let's Encrypt would need an Ingress to validate, use --mode ingress for that")
		}
	}
	switch {
	case v.Issuer.Type != "ref" && v.Issuer.Type != "self-signed":
		return fmt.Errorf("--app-issuer cert-manager needs the issuer of Kestra's certificate: --issuer-ref NAME (yours) or --self-signed (our CA as a cert-manager CA issuer); Let's Encrypt would need an Ingress to validate, use --mode ingress for that")
	case !v.Issuer.CertManager:
		return fmt.Errorf("--app-issuer cert-manager and --no-cert-manager contradict each other: drop one")
	case v.SuppliesCertificate():
		return fmt.Errorf("--cert/--pkcs12 supply Kestra's certificate, so cert-manager has nothing to issue: drop them or --app-issuer cert-manager")
	case v.Target != "kustomize":
		return fmt.Errorf("--app-issuer cert-manager writes a cert-manager Certificate into the overlay: use --target kustomize (the default)")
	}
	return v.validateIssuer()
}

// letsEncryptMaxNames is Let's Encrypt's limit of names on one certificate.
const letsEncryptMaxNames = 100

// validateHosts refuses hosts no certificate or browser can use: the first one becomes kestra.url, which a
// wildcard cannot be, and an unspecified address (0.0.0.0, ::) is where a server listens, not one a client
// reaches.
func (v Values) validateHosts() error {
	for _, host := range v.Hosts {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("--host %s is the unspecified address (listen on every interface), not one a browser reaches or a certificate can name: give Kestra's DNS name or reachable IP address", host)
		}
	}
	if first := v.Hosts[0]; strings.HasPrefix(first, "*.") && v.Kestra.URL == "" {
		return fmt.Errorf("--host %s comes first, and the first host becomes kestra.url, the address Kestra puts in its links, which cannot be a wildcard: name a concrete host first (e.g. --host kestra%s --host %s), or set kestra.url (--set kestra.url=https://kestra%s/)", first, first[1:], first, first[1:])
	}
	return nil
}

// validateNames checks what becomes a field of an object the API server would refuse: names as DNS
// subdomains or labels, the Ingress's pathType and path, the variable that carries the store password.
func (v Values) validateNames() error {
	for _, name := range []struct{ key, value string }{
		{"ingress.name", v.Ingress.Name}, {"ingress.tlsSecretName", v.Ingress.TLSSecretName}, {"issuer.name", v.Issuer.Name},
		{"certManager.caIssuerName", v.CertManager.CAIssuerName}, {"app.sslSecretName", v.App.SSLSecretName},
		{"app.passwordSecretName", v.App.PasswordSecretName}, {"gateway.name", v.Gateway.Name},
	} {
		if name.value == "" {
			continue
		}
		if problems := validation.IsDNS1123Subdomain(name.value); len(problems) > 0 {
			return fmt.Errorf("%s %q is not a valid object name: %s (--set %s=NAME)", name.key, name.value, strings.Join(problems, "; "), name.key)
		}
	}
	for _, ns := range []struct{ flag, value string }{{"--namespace (values key namespace)", v.Namespace}, {"certManager.namespace", v.CertManager.Namespace}} {
		if ns.value == "" {
			continue
		}
		if problems := validation.IsDNS1123Label(ns.value); len(problems) > 0 {
			return fmt.Errorf("%s %q is not a valid namespace name: %s", ns.flag, ns.value, strings.Join(problems, "; "))
		}
	}
	switch v.Ingress.PathType {
	case "Exact", "Prefix", "ImplementationSpecific":
	default:
		return fmt.Errorf("ingress.pathType %q is not one the API server accepts: use Prefix (the default), Exact or ImplementationSpecific", v.Ingress.PathType)
	}
	if !strings.HasPrefix(v.Ingress.Path, "/") {
		return fmt.Errorf("ingress.path %q must start with / (e.g. --set ingress.path=/)", v.Ingress.Path)
	}
	if v.App.PasswordEnv != "" && len(validation.IsEnvVarName(v.App.PasswordEnv)) > 0 {
		return fmt.Errorf("app.passwordEnv %q is not an environment variable name: use letters, digits and _, e.g. KESTRA_TLS_STORE_PASSWORD", v.App.PasswordEnv)
	}
	return nil
}

// validateGitOps refuses, with --gitops, what would need a key, a keystore or a password in the overlay.
func (v Values) validateGitOps() error {
	flag := "--seal-with"
	if len(v.Sealing.SOPSAge) > 0 {
		flag = "--sops-age"
	}
	if !v.GitOps {
		if v.Sealing.Given() {
			return fmt.Errorf("%s seals what --gitops would otherwise refuse to put in git: add --gitops, or drop %s", flag, flag)
		}
		return nil
	}
	switch {
	case v.Sealing.SealedSecretsCert != "" && len(v.Sealing.SOPSAge) > 0:
		return fmt.Errorf("--seal-with (Sealed Secrets) and --sops-age (SOPS) are two ways to the same end: keep the one your cluster decrypts with")
	case v.Sealing.Given() && !v.SuppliesCertificate():
		return fmt.Errorf("%s seals the Secrets of a certificate you supply (--cert and --key, or --pkcs12), and there is none: with --gitops cert-manager makes every key in the cluster; drop %s, or pass your certificate", flag, flag)
	}
	switch {
	case v.Target != "kustomize":
		return fmt.Errorf("--gitops writes a kustomize overlay for Argo CD or Flux: drop --target %s", v.Target)
	case v.SuppliesCertificate() && !v.Sealing.Given():
		return fmt.Errorf("--gitops with a certificate you supply (--cert, --key, --pkcs12) would put its key in git: seal it for the cluster's Sealed Secrets controller with --seal-with CERT.pem (kubeseal --fetch-cert > CERT.pem), encrypt it with SOPS for Flux with --sops-age AGE-PUBLIC-KEY, give your CA to cert-manager as an issuer and pass --issuer-ref instead, or drop --gitops")
	case v.Issuer.Type == "self-signed" && !v.Issuer.CertManager:
		return fmt.Errorf("--gitops with --no-cert-manager would put our CA's key in git: drop --no-cert-manager (cert-manager makes the CA in the cluster)")
	case v.Mode == "gateway" && v.Gateway.BackendTLS:
		return fmt.Errorf("--gitops with --backend-tls: Kestra's backend certificate would come from certs/ (not done yet); drop --backend-tls")
	case v.Issuer.Type == "self-signed" && v.CertManager.ClusterIssuer:
		return fmt.Errorf("--gitops with --cluster-issuer: the CA cert-manager makes lives beside Kestra, for a namespaced Issuer; drop --cluster-issuer")
	case v.Mode == "app" && v.App.Issuer == "local" && !v.SuppliesCertificate():
		return fmt.Errorf("--gitops with --app-issuer local would put Kestra's keystore in git: cert-manager writes it in the cluster with --gitops (drop --app-issuer local)")
	}
	return nil
}
