package overlays

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// adoption is what the overlay takes over from its base instead of adding a second one beside it: users
// who followed the guide by hand, or the chart's own Ingress, already hold part of the setup.
type adoption struct {
	// Patches are our manifests whose object the base already has: listed as patches of that object.
	Patches map[string]bool
	// Replaced are the Secrets our generators make that the base already has (behavior: replace).
	Replaced map[string]bool
	// Dropped are base objects left out of the build: cert-manager writes them.
	Dropped []objectRef
	// Lines say what was taken over, one line each in generate's output.
	Lines    []string
	Warnings []string
}

type objectRef struct{ APIVersion, Kind, Name, Namespace, Why string }

// adoptableManifests are our manifests of one object each that the base may already hold.
var adoptableManifests = []string{"ingress.yaml", "gateway.yaml", "httproute.yaml", "cluster-issuer.yaml", "certificate.yaml", "backendtlspolicy.yaml"}

// issuerAnnotationKeys are cert-manager's ingress-shim and gateway-shim annotations naming an issuer.
var issuerAnnotationKeys = []string{"cert-manager.io/cluster-issuer", "cert-manager.io/issuer", "cert-manager.io/issuer-kind", "cert-manager.io/issuer-group"}

// adopt rewrites our manifests that double an object of the base into patches of that object, so that
// the build holds one of each; it reads the overlay's files and the base's objects, and changes the files.
func adopt(out *Overlay, b *base, v values.Values, servicePort func(https bool) map[string]any) (*adoption, error) {
	a := &adoption{Patches: map[string]bool{}, Replaced: map[string]bool{}}
	for i, file := range out.Files {
		if !slices.Contains(adoptableManifests, file.Name) {
			continue
		}
		ours := map[string]any{}
		if err := yaml.Unmarshal(file.Data, &ours); err != nil {
			return nil, fmt.Errorf("%s: %v", file.Name, err)
		}
		var theirs map[string]any
		switch ours["kind"] {
		case "Ingress":
			theirs = a.ingressToTakeOver(b.Objects, ours, v, b.Install.Service)
		case "HTTPRoute":
			theirs = routeToTakeOver(b.Objects, ours, v, b.Install.Service)
		default:
			theirs = findObject(b.Objects, str(ours["kind"]), name(ours), namespace(ours))
		}
		if theirs == nil {
			continue
		}
		var patch map[string]any
		if ours["kind"] == "Ingress" {
			patch = a.takeOverIngress(theirs, ours, v, servicePort(false))
		} else {
			patch = replacing(theirs, ours)
			a.Lines = append(a.Lines, fmt.Sprintf("%s %s of the base is replaced by ours (%s)", theirs["kind"], name(theirs), file.Name))
		}
		data, err := yaml.Marshal(patch)
		if err != nil {
			return nil, err
		}
		header := fmt.Sprintf("# Takes over %s %s of the base (a patch of it, not a second one).\n", theirs["kind"], name(theirs))
		out.Files[i] = fileset.File{Name: file.Name, Data: append([]byte(header), data...), Mode: file.Mode}
		a.Patches[file.Name] = true
	}
	if v.Mode == "app" {
		if err := a.retargetIngresses(out, b, v, servicePort); err != nil {
			return nil, err
		}
	}
	if v.Mode == "gateway" && v.Gateway.Existing == "" {
		a.warnAboutOtherGateways(b.Objects, v)
	}
	return a, nil
}

// warnAboutOtherGateways names the base's Gateways (other than the one we write) that already listen for
// one of the hosts: a second Gateway for a host is a second address for it, which we do not take over since
// its listeners may serve other routes; --gateway attaches our route to it instead.
func (a *adoption) warnAboutOtherGateways(objects []map[string]any, v values.Values) {
	for _, object := range objects {
		if object["kind"] != "Gateway" || name(object) == v.Gateway.Name {
			continue
		}
		for _, l := range list(dig(object, "spec")["listeners"]) {
			listener, _ := l.(map[string]any)
			if hostname, _ := listener["hostname"].(string); slices.Contains(v.Hosts, hostname) {
				a.Warnings = append(a.Warnings, fmt.Sprintf("Gateway %s of the base already has listener %v for %s, and the overlay adds Gateway %s for it too: to use the existing one, generate with --gateway %s/%s:%v instead of --gateway-class", name(object), listener["name"], hostname, v.Gateway.Name, orDefault(namespace(object), "NAMESPACE"), name(object), listener["name"]))
			}
		}
	}
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

// ingressToTakeOver is the base's Ingress that serves our hosts or Kestra's Service: ours by name if the
// base has it, else the first that routes one of our hosts, else the first that routes to Kestra. The others
// that route one of our hosts are left as they are, with a warning.
func (a *adoption) ingressToTakeOver(objects []map[string]any, ours map[string]any, v values.Values, service string) map[string]any {
	var byName, byHost, byService map[string]any
	var others []string
	for _, object := range objects {
		if object["kind"] != "Ingress" {
			continue
		}
		hosts, services := ingressRoutes(object)
		servesHost := slices.ContainsFunc(v.Hosts, func(h string) bool { return slices.Contains(hosts, h) })
		switch {
		case name(object) == name(ours) && sameNamespace(namespace(object), namespace(ours)):
			byName = object
		case servesHost && byHost == nil:
			byHost = object
		case slices.Contains(services, service) && byService == nil:
			byService = object
		case servesHost:
			others = append(others, name(object))
		}
	}
	chosen := byName
	for _, candidate := range []map[string]any{byHost, byService} {
		if candidate == nil {
			continue
		}
		if chosen == nil {
			chosen = candidate
			continue
		}
		if hosts, _ := ingressRoutes(candidate); slices.ContainsFunc(v.Hosts, func(h string) bool { return slices.Contains(hosts, h) }) {
			others = append(others, name(candidate))
		}
	}
	for _, other := range others {
		a.Warnings = append(a.Warnings, fmt.Sprintf("Ingress %s of the base also routes one of the hosts and is left as it is: two Ingresses for one host make the controller pick one, and two ingress-shim Certificates may fight over a Secret; remove it from the base", other))
	}
	return chosen
}

// routeToTakeOver is the base's HTTPRoute for our hosts or Kestra's Service: ours by name, else the first
// that names one of our hosts, else the first whose backend is Kestra's Service.
func routeToTakeOver(objects []map[string]any, ours map[string]any, v values.Values, service string) map[string]any {
	var byHost, byService map[string]any
	for _, object := range objects {
		if object["kind"] != "HTTPRoute" {
			continue
		}
		if name(object) == name(ours) && sameNamespace(namespace(object), namespace(ours)) {
			return object
		}
		hostnames := list(dig(object, "spec")["hostnames"])
		if byHost == nil && slices.ContainsFunc(hostnames, func(h any) bool { return slices.Contains(v.Hosts, fmt.Sprint(h)) }) {
			byHost = object
		}
		for _, rule := range list(dig(object, "spec")["rules"]) {
			for _, ref := range list(dig(rule.(map[string]any))["backendRefs"]) {
				if byService == nil && dig(ref.(map[string]any))["name"] == service {
					byService = object
				}
			}
		}
	}
	if byHost != nil {
		return byHost
	}
	return byService
}

// takeOverIngress is the patch that turns the base's Ingress into ours: our hosts routed to the Service
// port that reaches Kestra with our TLS Secret, our issuer annotation instead of another, our controller
// settings; its other hosts, TLS entries and annotations stay.
func (a *adoption) takeOverIngress(theirs, ours map[string]any, v values.Values, backend map[string]any) map[string]any {
	kind := "Ingress " + name(theirs)
	patch := map[string]any{
		"apiVersion": theirs["apiVersion"], "kind": "Ingress",
		"metadata": map[string]any{"name": name(theirs)},
	}
	if ns := namespace(theirs); ns != "" {
		dig(patch, "metadata")["namespace"] = ns
	}
	annotations := map[string]any{}
	for key, value := range dig(ours, "metadata", "annotations") {
		annotations[key] = value
	}
	for key, value := range dig(theirs, "metadata", "annotations") {
		if _, ours := annotations[key]; ours {
			if fmt.Sprint(value) != fmt.Sprint(annotations[key]) {
				a.Lines = append(a.Lines, fmt.Sprintf("%s: annotation %s %q replaced by %q", kind, key, value, annotations[key]))
			}
			continue
		}
		switch {
		case slices.Contains(issuerAnnotationKeys, key):
			annotations[key] = nil
			a.Lines = append(a.Lines, fmt.Sprintf("%s: annotation %s: %v removed (the overlay names its own issuer)", kind, key, value))
		case key == "nginx.ingress.kubernetes.io/backend-protocol" && strings.EqualFold(fmt.Sprint(value), "HTTPS"):
			annotations[key] = nil
			a.Lines = append(a.Lines, fmt.Sprintf("%s: annotation %s: HTTPS removed (TLS ends at the Ingress; Kestra's Service port %s is plain HTTP)", kind, key, portText(backend)))
		}
	}
	dig(patch, "metadata")["annotations"] = annotations
	if labels := dig(ours, "metadata", "labels"); len(labels) > 0 {
		dig(patch, "metadata")["labels"] = labels
	}
	spec := map[string]any{}
	if class, ok := dig(ours, "spec")["ingressClassName"]; ok {
		if previous, _ := dig(theirs, "spec")["ingressClassName"].(string); previous != "" && previous != class {
			a.Lines = append(a.Lines, fmt.Sprintf("%s: ingressClassName %s replaced by %v", kind, previous, class))
		}
		spec["ingressClassName"] = class
	}
	// Ingress lists have no merge key: a patch replaces them whole, so they carry the user's other entries.
	isOurs := func(host string) bool { return slices.Contains(v.Hosts, host) }
	var rules []any
	for _, rule := range list(dig(theirs, "spec")["rules"]) {
		if host, _ := rule.(map[string]any)["host"].(string); !isOurs(host) {
			rules = append(rules, rule)
		}
	}
	spec["rules"] = append(rules, list(dig(ours, "spec")["rules"])...)
	var tls []any
	for _, entry := range list(dig(theirs, "spec")["tls"]) {
		fields, _ := entry.(map[string]any)
		if !slices.ContainsFunc(list(fields["hosts"]), func(h any) bool { return isOurs(fmt.Sprint(h)) }) {
			tls = append(tls, entry)
		}
	}
	spec["tls"] = append(tls, list(dig(ours, "spec")["tls"])...)
	patch["spec"] = spec
	a.Lines = append(a.Lines, fmt.Sprintf("%s of the base takes our TLS (Secret %s) and routes %s to Service %s port %s", kind, v.Ingress.TLSSecretName, strings.Join(v.Hosts, ", "), ingressServiceOf(ours), portText(backend)))
	return patch
}

// retargetIngresses handles, in app mode (no Ingress of ours), the base's Ingresses that ask for HTTPS
// upstream (backend-protocol HTTPS) from Kestra's Service: their backends to Kestra go to its https port,
// which our Service patch adds. Those that speak plain HTTP to a port reaching 8080 keep working (it stays
// open beside HTTPS); the rest get a warning.
func (a *adoption) retargetIngresses(out *Overlay, b *base, v values.Values, servicePort func(https bool) map[string]any) error {
	for _, object := range b.Objects {
		if object["kind"] != "Ingress" {
			continue
		}
		_, services := ingressRoutes(object)
		if !slices.Contains(services, b.Install.Service) {
			continue
		}
		https := strings.EqualFold(fmt.Sprint(dig(object, "metadata", "annotations")["nginx.ingress.kubernetes.io/backend-protocol"]), "HTTPS")
		if !https {
			if !b.Install.ServesHTTP {
				a.Warnings = append(a.Warnings, fmt.Sprintf("Ingress %s of the base sends plain HTTP to Service %s, whose ports do not reach Kestra's 8080: point it at port %s with nginx.ingress.kubernetes.io/backend-protocol: HTTPS", name(object), b.Install.Service, portText(servicePort(true))))
			}
			continue
		}
		patch := map[string]any{"apiVersion": object["apiVersion"], "kind": "Ingress", "metadata": map[string]any{"name": name(object)}}
		if ns := namespace(object); ns != "" {
			dig(patch, "metadata")["namespace"] = ns
		}
		var rules []any
		for _, rule := range list(dig(object, "spec")["rules"]) {
			rule := deepCopy(rule).(map[string]any)
			for _, p := range list(dig(rule, "http")["paths"]) {
				service := dig(p.(map[string]any), "backend", "service")
				if service["name"] == b.Install.Service {
					service["port"] = servicePort(true)
				}
			}
			rules = append(rules, rule)
		}
		patch["spec"] = map[string]any{"rules": rules}
		data, err := yaml.Marshal(patch)
		if err != nil {
			return err
		}
		file := "ingress-" + name(object) + "-backend.yaml"
		out.Files = append(out.Files, fileset.File{Name: file, Data: append([]byte(fmt.Sprintf("# Ingress %s of the base asks for HTTPS upstream: its backends to Kestra use the https port.\n", name(object))), data...), Mode: fileset.Public})
		a.Patches[file] = true
		a.Lines = append(a.Lines, fmt.Sprintf("Ingress %s of the base asks for HTTPS upstream: its backends to Service %s now use port %s (Kestra's HTTPS)", name(object), b.Install.Service, portText(servicePort(true))))
	}
	return nil
}

// adoptSecrets decides, for the Secrets our generators make (names) and those cert-manager writes
// (issued), what to do with a Secret of the same name in the base: ours replaces it, or it is left out of
// the build so that cert-manager's is the only one.
//
// A generator replaces a Secret of the same namespace (behavior: replace); one the namespace transformer
// would move onto ours later is left out of the build instead, which comes to the same.
func (a *adoption) adoptSecrets(objects []map[string]any, generated, issued []string, generatorNamespace string) {
	for _, object := range objects {
		if object["kind"] != "Secret" {
			continue
		}
		n := name(object)
		ref := objectRef{APIVersion: str(object["apiVersion"]), Kind: "Secret", Name: n, Namespace: namespace(object)}
		switch {
		case slices.Contains(generated, n) && ref.Namespace == generatorNamespace:
			a.Replaced[n] = true
			a.Lines = append(a.Lines, fmt.Sprintf("Secret %s of the base is replaced by ours", n))
		case slices.Contains(generated, n):
			ref.Why = "the overlay generates its own"
			a.Dropped = append(a.Dropped, ref)
			a.Lines = append(a.Lines, fmt.Sprintf("Secret %s of the base is replaced by ours", n))
		case slices.Contains(issued, n):
			ref.Why = "cert-manager writes it"
			a.Dropped = append(a.Dropped, ref)
			a.Lines = append(a.Lines, fmt.Sprintf("Secret %s of the base is left out: cert-manager writes it", n))
		}
	}
}

// replacing is a patch that makes the base's object ours: our fields, and null for every field only the
// base has (outside metadata), since a merge would keep them.
func replacing(theirs, ours map[string]any) map[string]any {
	patch := deepCopy(ours).(map[string]any)
	meta := map[string]any{"name": name(theirs)}
	if ns := namespace(theirs); ns != "" {
		meta["namespace"] = ns
	}
	for _, key := range []string{"labels", "annotations"} {
		if value, ok := dig(ours, "metadata")[key]; ok {
			meta[key] = value
		}
	}
	patch["metadata"] = meta
	for key, value := range theirs {
		if key == "metadata" || key == "apiVersion" || key == "kind" || key == "status" {
			continue
		}
		patch[key] = nullsFor(value, patch[key])
	}
	return patch
}

// nullsFor adds, to ours, null for each key that theirs has and ours lacks, map by map.
func nullsFor(theirs, ours any) any {
	theirMap, ok1 := theirs.(map[string]any)
	ourMap, ok2 := ours.(map[string]any)
	if ours == nil {
		return nil
	}
	if !ok1 || !ok2 {
		return ours
	}
	for key, value := range theirMap {
		if _, present := ourMap[key]; !present {
			ourMap[key] = nil
			continue
		}
		ourMap[key] = nullsFor(value, ourMap[key])
	}
	return ourMap
}

// ingressRoutes lists the hosts an Ingress routes and the Services its backends name.
func ingressRoutes(object map[string]any) (hosts, services []string) {
	for _, rule := range list(dig(object, "spec")["rules"]) {
		rule, _ := rule.(map[string]any)
		if host, _ := rule["host"].(string); host != "" {
			hosts = append(hosts, host)
		}
		for _, p := range list(dig(rule, "http")["paths"]) {
			if service, _ := dig(p.(map[string]any), "backend", "service")["name"].(string); service != "" {
				services = append(services, service)
			}
		}
	}
	if service, _ := dig(object, "spec", "defaultBackend", "service")["name"].(string); service != "" {
		services = append(services, service)
	}
	return hosts, services
}

func ingressServiceOf(ingress map[string]any) string {
	_, services := ingressRoutes(ingress)
	if len(services) == 0 {
		return ""
	}
	return services[0]
}

func portText(port map[string]any) string {
	if n, ok := port["name"]; ok {
		return fmt.Sprint(n)
	}
	return fmt.Sprint(port["number"])
}

func findObject(objects []map[string]any, kind, objectName, ns string) map[string]any {
	for _, object := range objects {
		if object["kind"] == kind && name(object) == objectName && sameNamespace(namespace(object), ns) {
			return object
		}
	}
	return nil
}

func sameNamespace(a, b string) bool { return a == "" || b == "" || a == b }

func name(object map[string]any) string      { return str(dig(object, "metadata")["name"]) }
func namespace(object map[string]any) string { return str(dig(object, "metadata")["namespace"]) }

func str(value any) string {
	text, _ := value.(string)
	return text
}

// dig returns the map at the path, or an empty one.
func dig(node map[string]any, path ...string) map[string]any {
	for _, key := range path {
		next, _ := node[key].(map[string]any)
		if next == nil {
			return map[string]any{}
		}
		node = next
	}
	return node
}

func list(node any) []any {
	items, _ := node.([]any)
	return items
}

func deepCopy(node any) any {
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for key, value := range n {
			out[key] = deepCopy(value)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, value := range n {
			out[i] = deepCopy(value)
		}
		return out
	}
	return node
}
