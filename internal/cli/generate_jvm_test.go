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
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/kestrapod"
)

// TestAppModeOverlayServesTLSFromJava takes everything from the built overlay, as the cluster would give it
// to the pod: the stores laid out by the kubelet from the Secret (owner root, the volume's modes), the
// password from its Secret, the micronaut.server.ssl settings from KESTRA_CONFIGURATION, the outbound trust
// from JAVA_OPTS. A real JVM, run as the image's non-root user as Kestra's is, serves with exactly those,
// curl connects by every --host, and a Java client trusting through JAVA_OPTS's store connects too.
func TestAppModeOverlayServesTLSFromJava(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--host", "127.0.0.1",
		"--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	objects := builtObjects(t, out)
	p, err := kestrapod.Start(objects, "Deployment", "kestra", "kestra")
	if err != nil {
		t.Fatalf("Kestra would not start: %v", err)
	}
	if p.User.UID == 0 {
		t.Fatalf("the embedded base's Kestra runs as %s: Kestra's image runs as a non-root user", p.User)
	}

	// The password: a ${VAR} placeholder in the configuration, VAR from its secretKeyRef.
	config := map[string]any{}
	if err := yaml.Unmarshal([]byte(p.Env["KESTRA_CONFIGURATION"]), &config); err != nil {
		t.Fatal(err)
	}
	ssl := lookup(t, config, "micronaut", "server", "ssl").(map[string]any)
	provider := lookup(t, config, "micronaut", "certificate", "file", ssl["key-name"].(string)).(map[string]any)
	for _, field := range []any{provider["password"], lookup(t, ssl, "key", "password")} {
		if regexp.MustCompile(`^\$\{(\w+)\}$`).FindStringSubmatch(field.(string)) == nil {
			t.Fatalf("the keystore password is not a ${VAR} placeholder: the password would be in plain text")
		}
	}
	password := keystorePassword(p)
	if stored, _ := os.ReadFile(filepath.Join(out, "certs", "store-password")); password != strings.TrimSpace(string(stored)) {
		t.Fatal("the keystore password Kestra resolves is not the store password")
	}
	if _, asked := ssl["clientAuthentication"]; lookup(t, ssl, "enabled") != true || asked {
		t.Errorf("micronaut.server.ssl = %v", ssl)
	}
	for name, f := range p.Files {
		if strings.HasPrefix(name, "/app/ssl/") && (f.UID != 0 || f.Mode.Perm() != 0o444) {
			t.Errorf("%s is laid out %s, want root-owned 0444 (readable by the container's user, writable by none)", name, f)
		}
	}
	port := kestrapod.Serve(t, p)
	ca := filepath.Join(out, "certs", "ca.pem")
	for _, host := range []string{"kestra.example.com", "127.0.0.1"} {
		if body, err := javatls.Curl(t, ca, host, port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
			t.Errorf("curl https://%s: %v\n%s", host, err, body)
		}
	}

	// Outbound: JAVA_OPTS names a store with our CA and the public ones, readable without a password.
	if strings.Contains(p.JVMOptions, "trustStorePassword") {
		t.Fatalf("JAVA_OPTS = %q: want no password on the command line", p.JVMOptions)
	}
	if body, err := kestrapod.CallOut(t, p, "kestra.example.com", port); err != nil || !strings.Contains(body, "kestra-tls-ok") {
		t.Errorf("Java client as %s with JAVA_OPTS's trust store: %v\n%s", p.User, err, body)
	}
	outbound := filepath.Join(p.LayOut(t), "app", "ssl", "outbound-truststore.jks")
	listing, err := exec.Command(testutil.Program(t, "keytool", "apt-get install openjdk-17-jdk-headless"), "-list", "-keystore", outbound, "-storepass", password).CombinedOutput()
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
