package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/helmvalues"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// chartCases are the official chart rendered by the real helm with the values sets users run.
var chartCases = []struct {
	name, release, namespace string
	helmArgs                 []string
	// secretsFile is a key that the distributed case's configurations.secrets file sets.
	secretsFile bool
}{
	{name: "default values (standalone with dind)", release: "kestra", namespace: "kestra"},
	{name: "StatefulSet", release: "kestra", namespace: "kestra", helmArgs: []string{"--set", "common.kind=StatefulSet", "--set", "dind.enabled=false"}},
	{name: "distributed with configurations.secrets", release: "kestra", namespace: "kestra", helmArgs: []string{"-f", "testdata/chart-distributed.yaml"}, secretsFile: true},
	{name: "fullnameOverride", release: "kestra", namespace: "kestra", helmArgs: []string{"--set", "fullnameOverride=orchestrator"}},
	{name: "a second release in another namespace", release: "tenant-b", namespace: "tenant-b"},
}

// TestChartBaseKeepsItsConfigurationAndServesTLS renders the real chart with the real helm, generates over
// it in both modes, builds the overlay, and starts each Kestra container the way Kestra does (the kubelet's
// environment and mounts, the launcher, Micronaut's files, environment over files, placeholders): the
// chart's own configuration still holds and ours takes effect. In app mode a real JVM serves TLS from
// exactly the stores and password that start gives it.
func TestChartBaseKeepsItsConfigurationAndServesTLS(t *testing.T) {
	testutil.Chart(t)
	for _, tc := range chartCases {
		rendered := testutil.RenderChart(t, tc.release, tc.namespace, tc.helmArgs...)
		base := filepath.Join(t.TempDir(), "kestra.yaml")
		if err := os.WriteFile(base, rendered, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"app", "ingress"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "overlay")
				args := []string{"generate", "-o", out, "--base", base, "--host", "kestra.example.com", "-n", tc.namespace, "--csrf"}
				if mode == "app" {
					args = append(args, "--mode", "app", "--host", "127.0.0.1", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem")
				} else {
					args = append(args, "--self-signed")
				}
				if _, stderr, err := runCmd(t, args...); err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				built, err := overlays.Build(out)
				if err != nil {
					t.Fatal(err)
				}
				stream, _ := built.AsYaml()
				objects := decodeObjects(t, stream)
				server := checkKestraStarts(t, objects, mode, tc.secretsFile)
				if mode == "app" {
					checkOutboundTrust(t, objects, checkServesTLS(t, server, out))
					checkServicePorts(t, objects, server)
				} else {
					checkIngressReaches8080(t, objects)
				}
				checkChartKept(t, decodeObjects(t, rendered), objects)
			})
		}
	}
}

// started is a Kestra container as it started.
type started struct {
	kind, name, container string
	process               *kestrapod.Process
}

// kestraWorkloads lists the chart's Kestra containers in the objects.
func kestraWorkloads(t *testing.T, objects []map[string]any) []started {
	t.Helper()
	var found []started
	for _, object := range objects {
		kind, _ := object["kind"].(string)
		if kind != "Deployment" && kind != "StatefulSet" {
			continue
		}
		name := dig(object, "metadata", "name").(string)
		for _, c := range dig(object, "spec", "template", "spec", "containers").([]any) {
			cname := c.(map[string]any)["name"].(string)
			if strings.HasPrefix(cname, "kestra-") && !strings.HasSuffix(cname, "-docker-dind") {
				found = append(found, started{kind: kind, name: name, container: cname})
			}
		}
	}
	if len(found) == 0 {
		t.Fatal("no Kestra workload in the objects")
	}
	return found
}

// checkKestraStarts starts the server (standalone or webserver) and checks its configuration.
func checkKestraStarts(t *testing.T, objects []map[string]any, mode string, secretsFile bool) started {
	t.Helper()
	var server *started
	for _, w := range kestraWorkloads(t, objects) {
		if w.container == "kestra-standalone" || w.container == "kestra-webserver" {
			server = &w
		}
	}
	if server == nil {
		t.Fatal("no standalone or webserver container")
	}
	p, err := kestrapod.Start(objects, server.kind, server.name, server.container)
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	server.process = p
	if _, set := p.Env["KESTRA_CONFIGURATION"]; set {
		t.Error("KESTRA_CONFIGURATION is set: Kestra's launcher would drop every file of MICRONAUT_CONFIG_FILES")
	}
	if !slices.Contains(p.ConfigFiles, "/app/confs/_default.yml") {
		t.Errorf("Micronaut no longer reads the chart's _default.yml: %v", p.ConfigFiles)
	}
	for key, want := range map[string]string{
		"datasources.postgres.url": "jdbc:postgresql://postgres:5432/kestra",
		"kestra.repository.type":   "postgres",
		"kestra.storage.type":      "local",
	} {
		if got := p.String(key); got != want {
			t.Errorf("the chart's %s = %q, want %q", key, got, want)
		}
	}
	if secretsFile {
		if got := p.String("kestra.server.basic-auth.username"); got != "admin@example.com" {
			t.Errorf("the configurations.secrets file was lost: basic-auth.username = %q", got)
		}
	}
	wantURL := "https://kestra.example.com/"
	if mode == "app" {
		wantURL = "https://kestra.example.com:8443/"
	}
	if got := p.String("kestra.url"); got != wantURL {
		t.Errorf("kestra.url = %q, want %q", got, wantURL)
	}
	if got := p.String("micronaut.security.csrf.enabled"); got != "true" {
		t.Errorf("micronaut.security.csrf.enabled = %q", got)
	}
	if mode == "app" {
		if got := p.String("micronaut.server.ssl.enabled"); got != "true" {
			t.Errorf("micronaut.server.ssl.enabled = %q", got)
		}
		// The chart's http Service port (and its Ingress, if any) must keep answering.
		if got := p.String("micronaut.server.dual-protocol"); got != "true" {
			t.Errorf("micronaut.server.dual-protocol = %q: the chart's http port would close", got)
		}
	}
	return *server
}

// checkServesTLS runs the JVM as the container's user with the keystore, truststore and password the
// started server reads, from the files its mounts lay out (owner and mode included), and reaches it by
// each host (kestra.example.com and 127.0.0.1 unless named), trusting only certs/ca.pem.
func checkServesTLS(t *testing.T, server started, out string, hosts ...string) int {
	t.Helper()
	p := server.process
	stored, _ := os.ReadFile(filepath.Join(out, "certs", "store-password"))
	if password := keystorePassword(p); password == "" || password != strings.TrimSpace(string(stored)) {
		t.Fatalf("the keystore password Kestra resolves is not the store password")
	}
	port := kestrapod.Serve(t, p)
	if len(hosts) == 0 {
		hosts = []string{"kestra.example.com", "127.0.0.1"}
	}
	for _, host := range hosts {
		if body, err := javatls.Curl(t, filepath.Join(out, "certs", "ca.pem"), host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("curl https://%s: %v\n%s", host, err, body)
		}
	}
	return port
}

// checkOutboundTrust starts every Kestra component: each JVM gets the outbound store, after the chart's
// own options, the store is mounted, and a JVM with those options, run as the component's user, reaches
// Kestra's server (on serverPort) trusting it through that store, as a task calling out does.
func checkOutboundTrust(t *testing.T, objects []map[string]any, serverPort int) {
	t.Helper()
	for _, w := range kestraWorkloads(t, objects) {
		p, err := kestrapod.Start(objects, w.kind, w.name, w.container)
		if err != nil {
			t.Fatalf("%s %s would not start: %v", w.kind, w.name, err)
		}
		const flag = "-Djavax.net.ssl.trustStore=/app/ssl/outbound-truststore.jks"
		if !strings.Contains(p.JVMOptions, flag) {
			t.Errorf("%s %s: the JVM options %q lack the outbound store", w.kind, w.name, p.JVMOptions)
		}
		if _, ok := p.Files["/app/ssl/outbound-truststore.jks"]; !ok {
			t.Errorf("%s %s: the outbound store is not mounted", w.kind, w.name)
		}
		if chart := p.Env["_JAVA_OPTIONS"]; strings.Contains(chart, "-Xmx") && !strings.HasPrefix(chart, "-Xmx") {
			t.Errorf("%s %s: the chart's JVM options were not kept first: %q", w.kind, w.name, chart)
		}
		if body, err := kestrapod.CallOut(t, p, "kestra.example.com", serverPort); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("%s %s: a task's call out as %s with the outbound store: %v\n%s", w.kind, w.name, p.User, err, body)
		}
	}
}

// checkServicePorts: the chart's http and management ports stay, https is added and reaches 8443.
func checkServicePorts(t *testing.T, objects []map[string]any, server started) {
	t.Helper()
	ports := map[string]string{}
	for _, object := range objects {
		if object["kind"] != "Service" {
			continue
		}
		for _, p := range dig(object, "spec", "ports").([]any) {
			port := p.(map[string]any)
			ports[fmt.Sprint(port["name"])] = fmt.Sprint(port["targetPort"])
		}
	}
	for name, target := range map[string]string{"http": "http", "management": "management", "https": "https"} {
		if ports[name] != target {
			t.Errorf("Service port %s targets %q, want %q (ports: %v)", name, ports[name], target, ports)
		}
	}
	container := containerOf(t, objects, server)
	var https, probe bool
	for _, p := range container["ports"].([]any) {
		port := p.(map[string]any)
		https = https || (port["name"] == "https" && fmt.Sprint(port["containerPort"]) == "8443")
	}
	probe = dig(container, "livenessProbe", "httpGet", "port") == "management" && dig(container, "readinessProbe", "httpGet", "port") == "management"
	if !https || !probe {
		t.Errorf("container %s: https port 8443 %v, probes still on management %v", server.container, https, probe)
	}
}

// checkIngressReaches8080 follows the Ingress backend to the container port.
func checkIngressReaches8080(t *testing.T, objects []map[string]any) {
	t.Helper()
	for _, object := range objects {
		if object["kind"] != "Ingress" {
			continue
		}
		backend := dig(object, "spec", "rules").([]any)[0].(map[string]any)
		service := dig(backend, "http", "paths").([]any)[0].(map[string]any)["backend"].(map[string]any)["service"].(map[string]any)
		if got := followToContainerPort(t, objects, service["name"].(string), service["port"].(map[string]any)); got != "8080" {
			t.Errorf("the Ingress reaches container port %s, want 8080", got)
		}
		return
	}
	t.Fatal("no Ingress")
}

// followToContainerPort resolves a Service port (by name or number) to the container port it reaches.
func followToContainerPort(t *testing.T, objects []map[string]any, serviceName string, port map[string]any) string {
	t.Helper()
	for _, object := range objects {
		if object["kind"] != "Service" || dig(object, "metadata", "name") != serviceName {
			continue
		}
		for _, p := range dig(object, "spec", "ports").([]any) {
			sp := p.(map[string]any)
			if sp["name"] != port["name"] && fmt.Sprint(sp["port"]) != fmt.Sprint(port["number"]) {
				continue
			}
			target := fmt.Sprint(sp["targetPort"])
			for _, w := range kestraWorkloads(t, objects) {
				if w.container != "kestra-standalone" && w.container != "kestra-webserver" {
					continue
				}
				for _, cp := range containerOf(t, objects, w)["ports"].([]any) {
					c := cp.(map[string]any)
					if c["name"] == target || fmt.Sprint(c["containerPort"]) == target {
						return fmt.Sprint(c["containerPort"])
					}
				}
			}
		}
	}
	t.Fatalf("Service %s port %v reaches no container port", serviceName, port)
	return ""
}

// checkChartKept: every container but Kestra's (dind) is untouched.
func checkChartKept(t *testing.T, chart, built []map[string]any) {
	t.Helper()
	for _, object := range chart {
		kind := object["kind"]
		if kind != "Deployment" && kind != "StatefulSet" {
			continue
		}
		name := dig(object, "metadata", "name")
		for _, c := range dig(object, "spec", "template", "spec", "containers").([]any) {
			before := c.(map[string]any)
			if !strings.HasSuffix(before["name"].(string), "-docker-dind") {
				continue
			}
			after := containerOf(t, built, started{kind: kind.(string), name: name.(string), container: before["name"].(string)})
			a, _ := yaml.Marshal(before)
			b, _ := yaml.Marshal(after)
			if !bytes.Equal(a, b) {
				t.Errorf("the sidecar %s changed:\n%s\n---\n%s", before["name"], a, b)
			}
		}
	}
}

func containerOf(t *testing.T, objects []map[string]any, w started) map[string]any {
	t.Helper()
	for _, object := range objects {
		if object["kind"] != w.kind || dig(object, "metadata", "name") != w.name {
			continue
		}
		for _, c := range dig(object, "spec", "template", "spec", "containers").([]any) {
			if c := c.(map[string]any); c["name"] == w.container {
				return c
			}
		}
	}
	t.Fatalf("no container %s in %s %s", w.container, w.kind, w.name)
	return nil
}

// builtObjects builds the overlay folder as kustomize does and returns its objects.
func builtObjects(t testing.TB, dir string) []map[string]any {
	t.Helper()
	built, err := overlays.Build(dir)
	if err != nil {
		t.Fatalf("the overlay does not build: %v", err)
	}
	stream, err := built.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, stream)
}

// decodeObjects reads a YAML stream into objects, skipping empty documents.
func decodeObjects(t testing.TB, stream []byte) []map[string]any {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objects []map[string]any
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects
		}
		if err != nil {
			t.Fatal(err)
		}
		object := map[string]any{}
		if err := yaml.Unmarshal(doc, &object); err != nil {
			t.Fatal(err)
		}
		if len(object) > 0 {
			objects = append(objects, object)
		}
	}
}

func dig(node any, keys ...string) any {
	for _, key := range keys {
		fields, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = fields[key]
	}
	return node
}

// TestHelmValuesGiveTheChartTLS renders the real chart with the user's values plus ours (--target helm),
// adds the Secrets our folder builds, and starts Kestra from that: the same promises as the overlay, made
// through the chart's own knobs, and the user's list entries kept although helm replaces lists.
func TestHelmValuesGiveTheChartTLS(t *testing.T) {
	testutil.Chart(t)
	for _, tc := range []struct {
		name        string
		chartValues string
		secretsFile bool
	}{
		{"standalone with the user's lists", "testdata/chart-values.yaml", false},
		{"distributed with configurations.secrets", "testdata/chart-distributed.yaml", true},
	} {
		t.Run(tc.name+"/app", func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "helm")
			if _, stderr, err := runCmd(t, "generate", "--target", "helm", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--host", "127.0.0.1",
				"--chart-values", tc.chartValues, "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--csrf", "-n", "kestra"); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			rendered := testutil.RenderChart(t, "kestra", "kestra", "-f", tc.chartValues, "-f", filepath.Join(out, overlays.HelmValuesFile))
			built, err := overlays.Build(out)
			if err != nil {
				t.Fatal(err)
			}
			secrets, _ := built.AsYaml()
			objects := append(decodeObjects(t, rendered), decodeObjects(t, secrets)...)
			server := checkKestraStarts(t, objects, "app", tc.secretsFile)
			checkOutboundTrust(t, objects, checkServesTLS(t, server, out))
			checkServicePorts(t, objects, server)
			if got := server.process.Env["TZ"]; got != "Europe/Paris" {
				t.Errorf("the user's common.extraEnv entry TZ was lost: %q", got)
			}
			if _, ok := server.process.Env["_JAVA_OPTIONS"]; !ok || !strings.HasPrefix(server.process.Env["_JAVA_OPTIONS"], "-Xmx") {
				t.Errorf("the user's jvm.extraOpts were not kept first: %q", server.process.Env["_JAVA_OPTIONS"])
			}
			annotations, _ := dig(workloadObject(t, objects, server), "spec", "template", "metadata", "annotations").(map[string]any)
			if sum, _ := annotations[helmvalues.ChecksumAnnotation].(string); len(sum) != 64 {
				t.Errorf("the pods carry no checksum of the stores: %v", annotations)
			}
		})
	}
	t.Run("ingress", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "helm")
		if _, stderr, err := runCmd(t, "generate", "--target", "helm", "-o", out, "--host", "kestra.example.com", "--email", "ops@example.com", "--chart-values", "testdata/chart-values.yaml", "--csrf"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		objects := decodeObjects(t, testutil.RenderChart(t, "kestra", "kestra", "-f", "testdata/chart-values.yaml", "-f", filepath.Join(out, overlays.HelmValuesFile)))
		checkKestraStarts(t, objects, "ingress", false)
		checkIngressReaches8080(t, objects)
		var ingress map[string]any
		for _, object := range objects {
			if object["kind"] == "Ingress" {
				ingress = object
			}
		}
		if got := dig(ingress, "metadata", "annotations", "cert-manager.io/cluster-issuer"); got != "letsencrypt-prod" {
			t.Errorf("the Ingress is not annotated for cert-manager: %v", got)
		}
		tls, _ := yaml.Marshal(dig(ingress, "spec", "tls"))
		if !strings.Contains(string(tls), "secretName: kestra-tls") || !strings.Contains(string(tls), "kestra.example.com") {
			t.Errorf("the Ingress TLS is %s", tls)
		}
		rules, _ := yaml.Marshal(dig(ingress, "spec", "rules"))
		for _, host := range []string{"kestra.example.com", "kestra-internal.example.com"} {
			if !strings.Contains(string(rules), "host: "+host) {
				t.Errorf("the Ingress lost host %s:\n%s", host, rules)
			}
		}
	})
}

func workloadObject(t *testing.T, objects []map[string]any, w started) map[string]any {
	t.Helper()
	for _, object := range objects {
		if object["kind"] == w.kind && dig(object, "metadata", "name") == w.name {
			return object
		}
	}
	t.Fatalf("no %s %s", w.kind, w.name)
	return nil
}
