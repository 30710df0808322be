// Package helmvalues renders Kestra's TLS as values for the official Kestra chart, through the chart's own
// knobs (ingress.*, configurations.*, common.extra*, service.ports), so that people who install with helm
// keep installing with helm. It is pure: the caller reads files and writes the result.
//
// Helm deep-merges maps across -f files but replaces lists, so every list written here starts from the
// user's own entries (their chart values) and adds ours: passing ours after theirs loses nothing.
package helmvalues

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// ChecksumAnnotation carries a digest of the stores and configuration in the pod template: the Secrets keep
// fixed names for the chart to refer to, so this is what makes `helm upgrade` roll the pods when they change.
const ChecksumAnnotation = "kestra-tls.kestra.io/checksum"

// Ingress is how our Ingress template would route: its class and annotations.
type Ingress struct {
	ClassName   string
	Annotations map[string]string
}

// Input is what the values are made from.
type Input struct {
	Model *model.Model
	// Chart is the user's chart values, their files merged in helm's order; nil when they gave none.
	Chart map[string]any
	// Ingress is the class and annotations for ingress mode.
	Ingress Ingress
	// Checksum digests the stores and configuration (app mode).
	Checksum string
}

// ReadChartValues merges the user's chart values files in helm's order (maps merge, lists and scalars of a
// later file replace).
func ReadChartValues(files map[string][]byte, order []string) (map[string]any, error) {
	merged := map[string]any{}
	for _, name := range order {
		layer := map[string]any{}
		if err := yaml.Unmarshal(files[name], &layer); err != nil {
			return nil, fmt.Errorf("--chart-values %s is not valid YAML: %v", name, err)
		}
		merged = values.MergeMaps(merged, layer)
	}
	return merged, nil
}

// ServesHTTP tells whether the chart's Service keeps its http port (to Kestra's 8080): it does unless the
// user's values remove it.
func ServesHTTP(chart map[string]any) bool {
	ports, ok := dig(chart, "service", "ports").(map[string]any)
	if !ok {
		return true
	}
	http, present := ports["http"]
	return !present || http != nil
}

// Values returns the chart values for the model, and warnings about the user's values.
func Values(in Input) (map[string]any, []string) {
	m := in.Model
	v := m.Values.Values
	out := map[string]any{}
	var warnings []string
	for _, where := range []string{"common", "deployments.standalone", "deployments.webserver"} {
		if hasEnv(dig(in.Chart, splitPath(where)...), "KESTRA_CONFIGURATION") {
			warnings = append(warnings, fmt.Sprintf("your chart values set KESTRA_CONFIGURATION in %s.extraEnv: Kestra's launcher then replaces MICRONAUT_CONFIG_FILES with that one variable's content, so the chart's configuration files (configurations.application, configmaps, secrets), ours included, are not read; move it into configurations.application", where))
		}
	}
	if v.Mode == "ingress" {
		set(out, ingressValues(in), "ingress")
		set(out, m.Fragment, "configurations", "application")
		return out, warnings
	}

	set(out, appendByKey(list(in.Chart, "configurations", "secrets"), "name",
		map[string]any{"name": model.ConfigName, "key": model.ConfigFile}), "configurations", "secrets")
	set(out, appendByKey(list(in.Chart, "common", "extraVolumes"), "name", map[string]any{
		"name":   model.StoresVolume,
		"secret": map[string]any{"secretName": v.App.SSLSecretName, "defaultMode": model.StoresFileMode, "items": storeItems(v)},
	}), "common", "extraVolumes")
	set(out, appendByKey(list(in.Chart, "common", "extraVolumeMounts"), "name", map[string]any{
		"name": model.StoresVolume, "mountPath": v.App.MountPath, "readOnly": true,
	}), "common", "extraVolumeMounts")
	extraEnv := appendByKey(list(in.Chart, "common", "extraEnv"), "name", map[string]any{
		"name":      v.App.PasswordEnv,
		"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": v.App.PasswordSecretName, "key": "password"}},
	})
	var kept []string
	for _, variable := range m.OutboundEnv {
		if hasEnv(dig(in.Chart, "common"), variable.Name) {
			kept = append(kept, variable.Name)
			continue
		}
		extraEnv = append(extraEnv, map[string]any{"name": variable.Name, "value": variable.Value})
	}
	if len(kept) > 0 {
		warnings = append(warnings, fmt.Sprintf("your common.extraEnv sets %s: kept as it is, so what reads it misses our outbound bundle or proxy; give its CAs to --trust-ca (its proxy to --proxy) and remove it for one setting everywhere", strings.Join(kept, ", ")))
	}
	set(out, extraEnv, "common", "extraEnv")
	set(out, map[string]any{ChecksumAnnotation: in.Checksum}, "common", "podAnnotations")
	set(out, map[string]any{"port": v.App.Port, "containerPort": v.App.Port, "targetPort": "https", "protocol": "TCP"}, "service", "ports", "https")
	if len(v.App.Registries) > 0 && m.OutboundTrust() {
		if enabled, given := dig(in.Chart, "dind", "enabled").(bool); given && !enabled {
			warnings = append(warnings, "--registry: your values turn the chart's Docker-in-Docker sidecar off (dind.enabled: false), so no Docker daemon gets the registries' CA")
		} else {
			var items []any
			for _, registry := range v.App.Registries {
				items = append(items, map[string]any{"key": model.OutboundBundleFile, "path": registry + "/ca.crt"})
			}
			set(out, appendByKey(list(out, "common", "extraVolumes"), "name", map[string]any{
				"name":   model.RegistriesVolume,
				"secret": map[string]any{"secretName": v.App.SSLSecretName, "defaultMode": model.StoresFileMode, "items": items},
			}), "common", "extraVolumes")
			// The chart's rootless daemon (its default mode) reads certs.d under its home, as root under /etc.
			certsDir := "/home/rootless/.config/docker/certs.d"
			if mode, _ := dig(in.Chart, "dind", "mode").(string); mode == "insecure" {
				certsDir = "/etc/docker/certs.d"
			}
			set(out, appendByKey(list(in.Chart, "dind", "extraVolumeMounts"), "name", map[string]any{
				"name": model.RegistriesVolume, "mountPath": certsDir, "readOnly": true,
			}), "dind", "extraVolumeMounts")
		}
	}
	if m.JavaOpts != "" {
		// The chart puts jvm.extraOpts in _JAVA_OPTIONS; a component's own extraOpts replaces the common one.
		common, _ := dig(in.Chart, "common", "jvm", "extraOpts").(string)
		set(out, m.AppendJavaOpts(common), "common", "jvm", "extraOpts")
		deployments, _ := dig(in.Chart, "deployments").(map[string]any)
		for _, name := range sortedKeys(deployments) {
			if own, _ := dig(deployments, name, "jvm", "extraOpts").(string); own != "" {
				set(out, m.AppendJavaOpts(own), "deployments", name, "jvm", "extraOpts")
			}
		}
	}
	return out, warnings
}

func storeItems(v values.Values) []any {
	var items []any
	for _, key := range model.StoreKeys(v) {
		items = append(items, map[string]any{"key": key, "path": key})
	}
	return items
}

// ingressValues routes every host to the chart's Service http port (which reaches 8080), with TLS from
// the kestra-tls Secret that cert-manager fills, keeping the user's other hosts and TLS entries.
func ingressValues(in Input) map[string]any {
	v := in.Model.Values.Values
	var hosts []any
	for _, host := range v.Hosts {
		hosts = append(hosts, map[string]any{"host": host, "paths": []any{map[string]any{"path": v.Ingress.Path, "pathType": v.Ingress.PathType}}})
	}
	hostList := list(in.Chart, "ingress", "hosts")
	for _, host := range hosts {
		hostList = appendByKey(hostList, "host", host.(map[string]any))
	}
	var tlsHosts []any
	for _, host := range v.Hosts {
		tlsHosts = append(tlsHosts, host)
	}
	annotations := map[string]any{}
	for key, value := range in.Ingress.Annotations {
		annotations[key] = value
	}
	values := map[string]any{
		"enabled":     true,
		"annotations": annotations,
		"hosts":       hostList,
		"tls": appendByKey(list(in.Chart, "ingress", "tls"), "secretName",
			map[string]any{"secretName": v.Ingress.TLSSecretName, "hosts": tlsHosts}),
	}
	if in.Ingress.ClassName != "" {
		// An empty one would replace the user's class: helm merges values key by key.
		values["className"] = in.Ingress.ClassName
	}
	return values
}

// appendByKey returns the user's entries without the one whose key equals ours, then ours: re-running
// with values that already hold our entry replaces it instead of doubling it.
func appendByKey(entries []any, key string, ours map[string]any) []any {
	out := make([]any, 0, len(entries)+1)
	for _, entry := range entries {
		if fields, ok := entry.(map[string]any); ok && fields[key] == ours[key] {
			continue
		}
		out = append(out, entry)
	}
	return append(out, ours)
}

func hasEnv(node any, name string) bool {
	entries, _ := dig(node, "extraEnv").([]any)
	return slices.ContainsFunc(entries, func(entry any) bool {
		fields, _ := entry.(map[string]any)
		return fields["name"] == name
	})
}

// Dig is the value at path in nested maps, nil where there is none.
func Dig(node any, path ...string) any { return dig(node, path...) }

func list(node map[string]any, path ...string) []any {
	entries, _ := dig(node, path...).([]any)
	return append([]any{}, entries...)
}

func dig(node any, path ...string) any {
	for _, key := range path {
		fields, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = fields[key]
	}
	return node
}

func set(into map[string]any, value any, path ...string) {
	for _, key := range path[:len(path)-1] {
		next, ok := into[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			into[key] = next
		}
		into = next
	}
	into[path[len(path)-1]] = value
}

func splitPath(dotted string) []string { return strings.Split(dotted, ".") }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// Image is Kestra's image as the chart values name it (image.repository:image.tag), empty when they set no
// tag: the chart then runs its appVersion, the Kestra it was released with.
func Image(chart map[string]any) string {
	tag, _ := dig(chart, "image", "tag").(string)
	if tag == "" {
		return ""
	}
	repository, _ := dig(chart, "image", "repository").(string)
	if repository == "" {
		repository = "kestra/kestra"
	}
	return repository + ":" + tag
}
