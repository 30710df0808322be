package cli

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/javatls"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// TestAppModeOverlayServesTLSFromJava takes everything from the built overlay, as the cluster would give it
// to the pod: the stores and the password from the Secrets, the micronaut.server.ssl settings from
// KESTRA_CONFIGURATION, the outbound trust from JAVA_OPTS. A real JVM serves with exactly those, curl
// connects by every --host, and a Java client trusting through JAVA_OPTS's store connects too.
func TestAppModeOverlayServesTLSFromJava(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--host", "127.0.0.1",
		"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	container := kestraContainer(t, built)
	mount := filepath.Join(t.TempDir(), "app-ssl")
	os.Mkdir(mount, 0o700)

	// The volume: every key of the mounted Secret becomes a file under the mount path.
	volumeSecret := lookup(t, kestraPodSpec(t, built), "volumes", "0", "secret", "secretName").(string)
	mountPath := lookup(t, container, "volumeMounts", "0", "mountPath").(string)
	for key, data := range secretData(t, built, volumeSecret) {
		os.WriteFile(filepath.Join(mount, key), data, 0o600)
	}
	inPod := func(path string) string {
		return filepath.Join(mount, strings.TrimPrefix(strings.TrimPrefix(path, "file:"), mountPath))
	}

	// The password: the ${VAR} placeholder in the configuration, VAR from its secretKeyRef.
	env := map[string]map[string]any{}
	for _, e := range container["env"].([]any) {
		entry := e.(map[string]any)
		env[entry["name"].(string)] = entry
	}
	config := map[string]any{}
	if err := yaml.Unmarshal([]byte(env["KESTRA_CONFIGURATION"]["value"].(string)), &config); err != nil {
		t.Fatal(err)
	}
	ssl := lookup(t, config, "micronaut", "server", "ssl").(map[string]any)
	placeholder := regexp.MustCompile(`^\$\{(\w+)\}$`).FindStringSubmatch(lookup(t, ssl, "keyStore", "password").(string))
	if placeholder == nil {
		t.Fatalf("keyStore.password is not a ${VAR} placeholder: the password would be in plain text")
	}
	ref := lookup(t, env[placeholder[1]], "valueFrom", "secretKeyRef").(map[string]any)
	password := secretData(t, built, ref["name"].(string))[ref["key"].(string)]
	passwordFile := filepath.Join(t.TempDir(), "password")
	os.WriteFile(passwordFile, password, 0o600)

	if lookup(t, ssl, "enabled") != true || lookup(t, ssl, "clientAuthentication") != "want" {
		t.Errorf("micronaut.server.ssl = %v", ssl)
	}
	port := javatls.StartServer(t, javatls.Stores{
		KeyStore: inPod(lookup(t, ssl, "keyStore", "path").(string)), KeyStoreType: lookup(t, ssl, "keyStore", "type").(string),
		TrustStore: inPod(lookup(t, ssl, "trustStore", "path").(string)), TrustStoreType: lookup(t, ssl, "trustStore", "type").(string),
		PasswordFile: passwordFile,
	})
	ca := filepath.Join(out, "certs", "ca.pem")
	for _, host := range []string{"kestra.example.com", "127.0.0.1"} {
		if body, err := javatls.Curl(t, ca, host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("curl https://%s: %v\n%s", host, err, body)
		}
	}

	// Outbound: JAVA_OPTS names a store with our CA and the public ones, readable without a password.
	javaOpts := env["JAVA_OPTS"]["value"].(string)
	store := regexp.MustCompile(`-Djavax\.net\.ssl\.trustStore=(\S+)`).FindStringSubmatch(javaOpts)
	if store == nil || strings.Contains(javaOpts, "trustStorePassword") {
		t.Fatalf("JAVA_OPTS = %q: want a trustStore and no password on the command line", javaOpts)
	}
	if body, err := javatls.JavaClient(t, inPod(store[1]), "JKS", "", "kestra.example.com", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("Java client with JAVA_OPTS's trust store: %v\n%s", err, body)
	}
	listing, err := exec.Command(testutil.Program(t, "keytool", "apt-get install openjdk-17-jdk-headless"), "-list", "-keystore", inPod(store[1]), "-storepass", string(password)).CombinedOutput()
	if err != nil {
		t.Fatalf("keytool -list: %v\n%s", err, listing)
	}
	if !strings.Contains(string(listing), "contains 3 entries") {
		t.Errorf("the outbound store should hold our CA and the bundle's 2 public CAs:\n%s", listing)
	}
}

// kestraPodSpec returns the pod spec of the built Deployment.
func kestraPodSpec(t *testing.T, built resmap.ResMap) map[string]any {
	t.Helper()
	for _, res := range built.Resources() {
		if res.GetKind() == "Deployment" {
			object, _ := res.Map()
			return lookup(t, object, "spec", "template", "spec").(map[string]any)
		}
	}
	t.Fatal("no Deployment in the build")
	return nil
}

func kestraContainer(t *testing.T, built resmap.ResMap) map[string]any {
	t.Helper()
	return lookup(t, kestraPodSpec(t, built), "containers", "0").(map[string]any)
}

func containerEnv(t *testing.T, built resmap.ResMap, name string) string {
	t.Helper()
	for _, e := range kestraContainer(t, built)["env"].([]any) {
		if entry := e.(map[string]any); entry["name"] == name {
			return entry["value"].(string)
		}
	}
	t.Fatalf("no env %s", name)
	return ""
}

func secretData(t *testing.T, built resmap.ResMap, name string) map[string][]byte {
	t.Helper()
	for _, res := range built.Resources() {
		if res.GetKind() == "Secret" && res.GetName() == name {
			object, _ := res.Map()
			out := map[string][]byte{}
			for key, value := range object["data"].(map[string]any) {
				decoded, err := base64.StdEncoding.DecodeString(value.(string))
				if err != nil {
					t.Fatal(err)
				}
				out[key] = decoded
			}
			return out
		}
	}
	t.Fatalf("no Secret %s in the build", name)
	return nil
}

// lookup walks maps by key and lists by index ("0").
func lookup(t *testing.T, node any, path ...string) any {
	t.Helper()
	for i, key := range path {
		switch n := node.(type) {
		case map[string]any:
			node = n[key]
		case []any:
			index := int(key[0] - '0')
			if index >= len(n) {
				t.Fatalf("%v: index %s out of range", path[:i+1], key)
			}
			node = n[index]
		default:
			t.Fatalf("%v: not a map or list", path[:i+1])
		}
	}
	return node
}

// TestOutboundTrustDefaultsToTheBuiltInRootStore needs no file of the machine that runs generate (macOS and
// Windows have no /etc/ssl/certs/ca-certificates.crt): the public roots come from the binary, the same
// everywhere, generate says how many, and values.yaml names no machine path. keytool reads the store.
func TestOutboundTrustDefaultsToTheBuiltInRootStore(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	_, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--outbound-trust")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "public roots from Mozilla's root store built into kestra-tls") {
		t.Errorf("generate does not say which roots went in:\n%s", stderr)
	}
	values, _ := os.ReadFile(filepath.Join(out, "values.yaml"))
	if strings.Contains(string(values), "/etc/ssl") {
		t.Errorf("values.yaml names a path of this machine:\n%s", values)
	}
	password, _ := os.ReadFile(filepath.Join(out, "certs", "store-password"))
	listing, err := exec.Command(testutil.Program(t, "keytool", "apt-get install openjdk-17-jdk-headless"), "-list", "-keystore", filepath.Join(out, "certs", "outbound-truststore.jks"), "-storepass", string(password)).CombinedOutput()
	if err != nil {
		t.Fatalf("keytool -list: %v\n%s", err, listing)
	}
	var entries int
	if _, err := fmt.Sscanf(string(listing[strings.Index(string(listing), "contains "):]), "contains %d entries", &entries); err != nil || entries < 100 {
		t.Errorf("the outbound store holds %d entries, want our CA and Mozilla's roots (over 100):\n%.300s", entries, listing)
	}
}
