package status

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/conditions"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// Options say where to look and what counts as a warning.
type Options struct {
	// Namespace to look in; empty looks in all namespaces.
	Namespace string
	// WarnWithin is how close to expiry a certificate turns the install to Warning.
	WarnWithin time.Duration
	// URL, when set, is dialled and the chain it serves compared with the Secret's; ConnectTo replaces the
	// address dialled (host:port), keeping the URL's host for SNI.
	URL, ConnectTo string
	Now            time.Time
}

// Check finds every install in scope and checks it.
func Check(ctx context.Context, client dynamic.Interface, opts Options) (*Report, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	s, err := read(ctx, client, opts.Namespace)
	if err != nil {
		return nil, err
	}
	report := &Report{Requests: s.requests, Health: Healthy}
	for i := range s.ingresses {
		report.Installs = append(report.Installs, checkIngress(s, &s.ingresses[i], opts))
	}
	for i := range s.routes {
		report.Installs = append(report.Installs, checkRoute(s, &s.routes[i], opts))
	}
	report.Installs = append(report.Installs, checkApps(s, opts)...)
	report.Installs = append(report.Installs, checkSealed(s)...)
	if opts.URL != "" {
		if err := checkServed(ctx, report, opts); err != nil {
			return nil, err
		}
	}
	for i := range report.Installs {
		if report.Installs[i].Health == "" {
			report.Installs[i].Health = Healthy
		}
		report.Health = worse(report.Health, report.Installs[i].Health)
	}
	return report, nil
}

func checkIngress(s *snapshot, ingress *unstructured.Unstructured, opts Options) Install {
	install := Install{Namespace: ingress.GetNamespace(), Kind: "Ingress", Name: ingress.GetName(), Mode: "ingress"}
	tls, _, _ := unstructured.NestedSlice(ingress.Object, "spec", "tls")
	var secretName string
	for _, entry := range tls {
		fields, _ := entry.(map[string]any)
		hosts, _, _ := unstructured.NestedStringSlice(fields, "hosts")
		install.Hosts = appendNew(install.Hosts, hosts...)
		if name, _ := fields["secretName"].(string); name != "" && secretName == "" {
			secretName = name
		}
	}
	if secretName == "" {
		install.add(Broken, "the Ingress has no spec.tls secretName: re-run generate and apply")
		return install
	}
	checkServingSecret(s, &install, secretName, opts)
	checkIngressClientAuth(s, &install, ingress, opts)
	checkBackends(s, &install, ingressBackends(ingress))
	return install
}

// checkIngressClientAuth checks the CA the Ingress controller verifies client certificates against
// (--client-auth in ingress mode).
func checkIngressClientAuth(s *snapshot, install *Install, ingress *unstructured.Unstructured, opts Options) {
	mode := ingress.GetAnnotations()[model.ClientAuthAnnotation]
	if mode == "" {
		return
	}
	class, _, _ := unstructured.NestedString(ingress.Object, "spec", "ingressClassName")
	where := "Secret " + model.ClientCASecret
	install.ClientAuth = &ClientAuth{Mode: mode, CheckedBy: "IngressClass " + class, Source: where}
	secret := s.secret(install.Namespace, model.ClientCASecret)
	if secret == nil {
		install.add(Broken, fmt.Sprintf("%s, the CA the Ingress controller verifies client certificates against, does not exist: it refuses every client; re-run generate with --client-auth and apply", where))
		return
	}
	cas, err := pki.ParseCertificates(resources.SecretData(secret)["ca.crt"])
	if err != nil || len(cas) == 0 {
		install.add(Broken, fmt.Sprintf("%s has no CA certificate in ca.crt (%v): the Ingress controller cannot verify client certificates; re-run generate with --client-auth and apply", where, err))
		return
	}
	checkClientCAs(install, where, cas, opts)
}

func checkRoute(s *snapshot, route *unstructured.Unstructured, opts Options) Install {
	install := Install{Namespace: route.GetNamespace(), Kind: "HTTPRoute", Name: route.GetName(), Mode: "gateway"}
	install.Hosts, _, _ = unstructured.NestedStringSlice(route.Object, "spec", "hostnames")
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	for _, p := range parents {
		parent, _ := p.(map[string]any)
		name, _ := parent["name"].(string)
		namespace, _ := parent["namespace"].(string)
		if namespace == "" {
			namespace = route.GetNamespace()
		}
		gateway := s.find(s.gateways, namespace, name)
		if gateway == nil {
			// Somebody else's Gateway (--gateway): its owner keeps its certificate; nothing of ours to check.
			continue
		}
		if secretName := gatewaySecret(gateway); secretName != "" {
			checkServingSecret(s, &install, secretName, opts)
		}
	}
	checkBackends(s, &install, routeBackends(route))
	return install
}

// gatewaySecret is the first certificateRefs Secret of the Gateway's HTTPS listeners.
func gatewaySecret(gateway *unstructured.Unstructured) string {
	listeners, _, _ := unstructured.NestedSlice(gateway.Object, "spec", "listeners")
	for _, l := range listeners {
		listener, _ := l.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(listener, "tls", "certificateRefs")
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			if name, _ := ref["name"].(string); name != "" {
				return name
			}
		}
	}
	return ""
}

// checkServingSecret checks the TLS Secret an Ingress or Gateway serves, and the Certificate behind it.
func checkServingSecret(s *snapshot, install *Install, secretName string, opts Options) {
	if certificate := s.certificateFor(install.Namespace, secretName); certificate != nil {
		install.Certificate = checkCertificate(s, install, certificate)
	}
	secret := s.secret(install.Namespace, secretName)
	if secret == nil {
		if install.Certificate != nil && !install.Certificate.Ready {
			return // checkCertificate said why
		}
		install.add(Broken, fmt.Sprintf("Secret %s does not exist: the Ingress or Gateway has no certificate to serve (kubectl kestra-tls wait -n %s says why)", secretName, install.Namespace))
		return
	}
	data := resources.SecretData(secret)
	chain, err := pki.ParseCertificates(data["tls.crt"])
	if err != nil || len(chain) == 0 {
		install.add(Broken, fmt.Sprintf("Secret %s has no certificate in tls.crt: %v", secretName, err))
		return
	}
	var roots []*x509.Certificate
	source := "system roots"
	if ca, err := pki.ParseCertificates(data["ca.crt"]); err == nil && len(ca) > 0 {
		roots, source = ca, "ca.crt"
	}
	install.TLSSecret = checkLeaf(install, secret, chain, roots, source, opts)
}

// checkLeaf checks a served chain: hosts covered, chain verifying, days left.
func checkLeaf(install *Install, secret *unstructured.Unstructured, chain, roots []*x509.Certificate, source string, opts Options) *Leaf {
	leaf := chain[0]
	l := &Leaf{
		Secret: secret.GetName(), Subject: leaf.Subject.CommonName, Issuer: leaf.Issuer.CommonName,
		Names: pki.SANs(leaf), NotAfter: leaf.NotAfter.UTC(), DaysLeft: int(leaf.NotAfter.Sub(opts.Now).Hours() / 24),
		Fingerprint: fingerprint(leaf), Changed: lastChanged(secret),
	}
	for _, host := range install.Hosts {
		if leaf.VerifyHostname(host) != nil {
			l.MissingHosts = append(l.MissingHosts, host)
		}
	}
	if len(l.MissingHosts) > 0 {
		install.add(Broken, fmt.Sprintf("the certificate in Secret %s does not cover %s (it names %s): re-run generate with every --host, apply, and renew", l.Secret, strings.Join(l.MissingHosts, ", "), strings.Join(l.Names, ", ")))
	}
	switch left := leaf.NotAfter.Sub(opts.Now); {
	case left <= 0:
		install.add(Broken, fmt.Sprintf("the certificate in Secret %s expired on %s: kubectl kestra-tls renew", l.Secret, leaf.NotAfter.UTC().Format(time.RFC3339)))
	case left < opts.WarnWithin:
		install.add(Warning, fmt.Sprintf("the certificate in Secret %s expires in %s, on %s (within --warn-within %s)", l.Secret, humanDuration(left), leaf.NotAfter.UTC().Format(time.RFC3339), humanDuration(opts.WarnWithin)))
	}
	verifyOptions := x509.VerifyOptions{Intermediates: x509.NewCertPool(), CurrentTime: opts.Now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, cert := range chain[1:] {
		verifyOptions.Intermediates.AddCert(cert)
	}
	if len(roots) > 0 {
		verifyOptions.Roots = x509.NewCertPool()
		for _, root := range roots {
			verifyOptions.Roots.AddCert(root)
		}
	}
	if leaf.NotAfter.After(opts.Now) {
		if _, err := leaf.Verify(verifyOptions); err != nil {
			severity := Broken
			if len(roots) == 0 {
				// No CA of ours to check against: a private ACME CA is not in the system roots, and that is
				// no fault of the install.
				severity = Warning
			}
			install.add(severity, fmt.Sprintf("the certificate in Secret %s does not verify against %s: %v", l.Secret, source, err))
		} else {
			l.VerifiedBy = source
		}
	}
	return l
}

// fingerprint is how status names a certificate: the SHA-256 of its DER, in hex, as openssl x509 -fingerprint.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// checkCertificate reads cert-manager's view: Ready, expiry, renewal, and the issuer.
func checkCertificate(s *snapshot, install *Install, object *unstructured.Unstructured) *Certificate {
	c := &Certificate{Name: object.GetName()}
	if condition := conditions.Find(object, "Ready"); condition != nil {
		c.Ready = condition["status"] == "True"
		c.Reason, _ = condition["reason"].(string)
		c.Message, _ = condition["message"].(string)
	}
	c.NotAfter = timeField(object, "status", "notAfter")
	c.RenewalTime = timeField(object, "status", "renewalTime")
	c.Revision, _, _ = unstructured.NestedInt64(object.Object, "status", "revision")
	c.Issuer.Kind, _, _ = unstructured.NestedString(object.Object, "spec", "issuerRef", "kind")
	c.Issuer.Name, _, _ = unstructured.NestedString(object.Object, "spec", "issuerRef", "name")
	if c.Issuer.Kind == "" {
		c.Issuer.Kind = "Issuer"
	}
	if issuer := s.issuer(object.GetNamespace(), c.Issuer.Kind, c.Issuer.Name); issuer != nil {
		c.Issuer.Found = true
		c.Issuer.CARotation = issuerRotationStep(issuer.GetAnnotations()[model.CARotationAnnotation])
		if condition := conditions.Find(issuer, "Ready"); condition != nil {
			c.Issuer.Ready = condition["status"] == "True"
			c.Issuer.Message, _ = condition["message"].(string)
		}
	}
	if !c.Ready {
		install.add(Broken, fmt.Sprintf("Certificate %s is not Ready (%s: %s): kubectl kestra-tls wait -n %s %s explains", c.Name, c.Reason, c.Message, install.Namespace, c.Name))
	}
	switch {
	case c.Issuer.Kind == "ClusterIssuer" && s.clusterIssuersHidden:
		c.Issuer.Message = "not checked: you may not list ClusterIssuers"
	case !c.Issuer.Found:
		install.add(Warning, fmt.Sprintf("%s %s does not exist: cert-manager cannot renew Certificate %s", c.Issuer.Kind, c.Issuer.Name, c.Name))
	case !c.Issuer.Ready:
		install.add(Warning, fmt.Sprintf("%s %s is not Ready (%s): cert-manager cannot renew Certificate %s", c.Issuer.Kind, c.Issuer.Name, c.Issuer.Message, c.Name))
	}
	return c
}

// issuerRotationStep says where rotate-ca stands on an issuer of ours, in the words of rotationStep.
func issuerRotationStep(step string) string {
	switch step {
	case "trust":
		return "1/3 the new CA handed to clients (ca-next.pem); run rotate-ca again to issue from it"
	case "issue":
		return "2/3 cert-manager issues from the new CA; run rotate-ca --finish once every client trusts it"
	}
	return ""
}

func timeField(object *unstructured.Unstructured, path ...string) *time.Time {
	text, _, _ := unstructured.NestedString(object.Object, path...)
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		return nil
	}
	return &t
}

// lastChanged is when the Secret was last written: the newest time among its managed fields (every
// create, apply or update records one), or its creation.
func lastChanged(object *unstructured.Unstructured) time.Time {
	changed := object.GetCreationTimestamp().Time
	for _, entry := range object.GetManagedFields() {
		if entry.Time != nil && entry.Time.After(changed) {
			changed = entry.Time.Time
		}
	}
	return changed.UTC()
}

func appendNew(list []string, items ...string) []string {
	for _, item := range items {
		if !slices.Contains(list, item) {
			list = append(list, item)
		}
	}
	return list
}

// humanDuration prints days for long spans, as people plan renewals.
func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}
