package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/helmvalues"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

var ownedSumPattern = regexp.MustCompile(`(?m)^[0-9a-f]{64}  `)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/generate")

// goldenCases are keyed by what they show; each name is also its folder under testdata/generate.
var goldenCases = []struct {
	name string
	args []string
}{
	{"ingress-letsencrypt", []string{"--host", "kestra.example.com", "--host", "www.kestra.example.com", "--email", "ops@example.com"}},
	{"ingress-acme-private-eab-dns01", []string{"--host", "kestra.example.com", "--host", "*.kestra.example.com", "--email", "ops@example.com", "--acme-server", "https://acme.corp.example/acme/directory", "--acme-ca-bundle", "testdata/ca-bundle.pem", "--eab-kid", "corp-kid", "--eab-hmac-key-file", "testdata/eab-hmac-key", "--solver-file", "testdata/solver-dns01.yaml"}},
	{"ingress-acme-staging", []string{"--host", "kestra.example.com", "--email", "ops@example.com", "--acme-staging"}},
	{"gateway-self-signed", []string{"--mode", "gateway", "--gateway-class", "eg", "--host", "kestra.example.com", "--host", "www.kestra.example.com", "--self-signed"}},
	{"gateway-letsencrypt", []string{"--mode", "gateway", "--gateway-class", "istio", "--host", "kestra.example.com", "--email", "ops@example.com", "-n", "kestra"}},
	{"gateway-backend-tls", []string{"--mode", "gateway", "--gateway-class", "eg", "--host", "kestra.example.com", "--self-signed", "--backend-tls", "-n", "kestra"}},
	{"gateway-existing", []string{"--mode", "gateway", "--gateway", "infra/public:https", "--host", "kestra.example.com", "--base", "testdata/bases/chart"}},
	{"ingress-issuer-ref-traefik", []string{"--host", "kestra.example.com", "--issuer-ref", "corp-ca,kind=Issuer", "-f", "testdata/values-traefik.yaml"}},
	{"ingress-self-signed", []string{"--host", "kestra.example.com", "--self-signed"}},
	{"ingress-self-signed-no-cert-manager", []string{"--host", "kestra.example.com", "--self-signed", "--no-cert-manager"}},
	{"ingress-chart-base-namespace", []string{"--host", "kestra.example.com", "--self-signed", "--base", "testdata/bases/chart", "--set", "ingress.annotations.example\\.com/owner=data", "--acme-server", "https://acme-staging-v02.api.letsencrypt.org/directory"}},
	{"app", []string{"--mode", "app", "--host", "kestra.example.com", "--host", "10.0.0.5", "--csrf"}},
	{"app-outbound-trust-port", []string{"--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--port", "9443"}},
	{"app-chart-base", []string{"--mode", "app", "--host", "kestra.example.com", "--base", "testdata/bases/chart", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"}},
	{"app-namespace", []string{"--mode", "app", "--host", "kestra.example.com", "-n", "kestra-prod"}},
	{"app-keystore-from-cert-manager-ca", []string{"--mode", "app", "--host", "kestra.example.com", "--self-signed", "--app-issuer", "cert-manager", "--restart-on-renewal", "reloader", "--kestra-version", "v1.2.5", "-n", "kestra"}},
	{"app-keystore-from-cert-manager-client-ca", []string{"--mode", "app", "--host", "kestra.example.com", "--self-signed", "--app-issuer", "cert-manager", "--client-auth", "need", "--client-ca", "testdata/ca-bundle.pem", "-n", "kestra"}},
	{"gitops-app", []string{"--gitops", "--mode", "app", "--host", "kestra.example.com", "--host", "10.0.0.5", "--self-signed", "-n", "kestra"}},
	{"gitops-ingress", []string{"--gitops", "--host", "kestra.example.com", "--host", "www.kestra.example.com", "--self-signed", "-n", "kestra"}},
	{"app-kestra2-distributed", []string{"--mode", "app", "--host", "kestra.example.com", "--base", "testdata/bases/kestra2-distributed", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"}},
	{"ingress-kestra2-distributed", []string{"--host", "kestra.example.com", "--base", "testdata/bases/kestra2-distributed", "--self-signed"}},
	{"gitops-app-trust-manager", []string{"--gitops", "--mode", "app", "--host", "kestra.example.com", "--self-signed", "-n", "kestra", "--outbound-trust", "--trust-manager", "--trust-ca", "testdata/ca-bundle.pem"}},
	{"ingress-nginx-client-auth", []string{"--host", "kestra.example.com", "--self-signed", "--ingress-class", "nginx", "--client-auth", "need", "--client-ca", "testdata/ca-bundle.pem", "-n", "kestra"}},
	{"ingress-traefik-client-auth", []string{"--host", "kestra.example.com", "--self-signed", "--ingress-class", "traefik", "--client-auth", "want", "--client-ca", "testdata/ca-bundle.pem", "-n", "kestra"}},
	{"gitops-app-outbound-trust", []string{"--gitops", "--mode", "app", "--host", "kestra.example.com", "--self-signed", "-n", "kestra", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", "testdata/ca-bundle.pem", "--hsts"}},
	{"app-outbound-trust-proxy", []string{"--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "--trust-ca", "testdata/ca-bundle.pem", "--proxy", "http://proxy.corp.example:3128", "--no-proxy", "build.corp.example,.intranet.example"}},
	{"app-kestra-before-1.3", []string{"--mode", "app", "--host", "kestra.example.com", "--kestra-version", "1.2"}},
	{"app-keystore-from-issuer-ref", []string{"--mode", "app", "--host", "kestra.example.com", "--host", "10.0.0.5", "--issuer-ref", "corp-ca", "--base", "testdata/bases/chart", "-n", "kestra"}},
	{"app-helm-template-file", []string{"--mode", "app", "--host", "kestra.example.com", "--base", "testdata/bases/chart/kestra.yaml"}},
	{"helm-app-chart-values", []string{"--target", "helm", "--mode", "app", "--host", "kestra.example.com", "--chart-values", "testdata/chart-values.yaml", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem", "-n", "kestra"}},
	{"helm-ingress-letsencrypt", []string{"--target", "helm", "--host", "kestra.example.com", "--email", "ops@example.com", "--chart-values", "testdata/chart-values.yaml"}},
	{"helm-ingress-acme-eab", []string{"--target", "helm", "--host", "kestra.example.com", "--email", "ops@example.com", "--eab-kid", "corp-kid", "--eab-hmac-key-file", "testdata/eab-hmac-key", "-n", "kestra"}},
	{"helm-ingress-self-signed", []string{"--target", "helm", "--host", "kestra.example.com", "--self-signed"}},
}

// TestGenerateGolden renders every case, compares the manifests with testdata/generate/<case>/ (the
// certificates are random and checked elsewhere), and builds the overlay in-process and with every real
// kubectl on the machine: the builds must be identical.
func TestGenerateGolden(t *testing.T) {
	kubectls := testutil.Kubectls(t)
	goldenRoot, err := filepath.Abs(filepath.Join("testdata", "generate"))
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths (the base, values files) end up in the overlay; run from a scratch copy of testdata
	// so they are the same on every machine.
	scratch := t.TempDir()
	if err := os.CopyFS(filepath.Join(scratch, "testdata"), os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(scratch)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join("out", tc.name)
			if _, stderr, err := runCmd(t, append([]string{"generate", "-o", out}, tc.args...)...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			got := readTree(t, out, overlays.CertsDir)
			golden := filepath.Join(goldenRoot, tc.name)
			if *update {
				os.RemoveAll(golden)
				for name, content := range got {
					path := filepath.Join(golden, name)
					os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if diff := cmp.Diff(readTree(t, golden, ""), got); diff != "" {
				t.Errorf("overlay differs from %s (-want +got):\n%s", golden, diff)
			}

			built, err := overlays.Build(out)
			if err != nil {
				t.Fatal(err)
			}
			inProcess, err := built.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			for _, kubectl := range kubectls {
				cmd := exec.Command(kubectl, "kustomize", out)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				external, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s kustomize: %v\n%s", kubectl, err, stderr.String())
				}
				if diff := cmp.Diff(string(inProcess), string(external)); diff != "" {
					t.Errorf("in-process build differs from %s kustomize (-want +got):\n%s", kubectl, diff)
				}
			}
		})
	}
}

var checksumPattern = regexp.MustCompile(`(` + regexp.QuoteMeta(helmvalues.ChecksumAnnotation) + `: )[0-9a-f]{64}`)

// readTree maps every file below dir, except those under skip, to its content.
func readTree(t *testing.T, dir, skip string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, entry os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if entry.IsDir() {
			if skip != "" && rel == skip {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		// The checksum digests random keys; the golden file shows where it goes.
		content := checksumPattern.ReplaceAllString(string(data), "${1}<sha256 of the stores>")
		if ext := filepath.Ext(entry.Name()); ext == ".p12" || ext == ".jks" {
			content = "<a Java store: random keys; the golden shows where it goes>\n" // Compose's kestra-ssl/
		}
		if entry.Name() == fileset.OwnedFile {
			content = ownedSumPattern.ReplaceAllString(content, "<sha256>  ") // the golden lists the names
		}
		files[filepath.ToSlash(rel)] = content
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGenerateTwiceChangesNoByteAndKeepsTheCA(t *testing.T) {
	for _, args := range [][]string{
		{"--mode", "app", "--host", "kestra.example.com", "--outbound-trust", "--ca-bundle", "testdata/ca-bundle.pem"},
		{"--host", "kestra.example.com", "--self-signed"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			if _, _, err := runCmd(t, append([]string{"generate", "-o", out}, args...)...); err != nil {
				t.Fatal(err)
			}
			first := readTree(t, out, "")
			// The same input again, and a run with no flags at all, which starts from the overlay's values.yaml.
			for _, rerun := range [][]string{append([]string{"generate", "-o", out}, args...), {"generate", "-o", out}} {
				stdout, _, err := runCmd(t, rerun...)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(first, readTree(t, out, "")); diff != "" {
					t.Errorf("%v changed the overlay (-want +got):\n%s", rerun, diff)
				}
				if !strings.Contains(stdout, "up to date") {
					t.Errorf("%v did not say the overlay is up to date:\n%s", rerun, stdout)
				}
			}
		})
	}
}

func TestGenerateDryRunWritesNothingAndMasksSecrets(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	stdout, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote %s", out)
	}
	for _, want := range []string{"kind: Deployment", "kind: Secret", "<masked:", "micronaut:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry-run output lacks %q", want)
		}
	}
	shown, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--dry-run", "--show-secrets")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(shown, "<masked:") || !strings.Contains(shown, "keystore.p12: ") {
		t.Error("--show-secrets still masks the Secret data")
	}
}

func TestShowValuesPrintsTheEffectiveValues(t *testing.T) {
	stdout, _, err := runCmd(t, "generate", "--show-values", "-f", "testdata/values-traefik.yaml", "--set", "app.port=9443", "--host", "a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"className: traefik", "port: 9443", "- a.example.com", "csrf: true"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--show-values lacks %q:\n%s", want, stdout)
		}
	}
}

func TestGenerateMergesTheBasesConfiguration(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com", "--base", "testdata/bases/chart", "--csrf"); err != nil {
		t.Fatal(err)
	}
	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	config := containerEnv(t, built, "KESTRA_CONFIGURATION")
	for _, kept := range []string{"url: jdbc:postgresql://postgres:5432/kestra", "password: k3str4", "type: postgres", "base-path: /app/storage", "x509:", "basic-auth:"} {
		if !strings.Contains(config, kept) {
			t.Errorf("the merge lost %q from the base:\n%s", kept, config)
		}
	}
	for _, added := range []string{"csrf:", "ssl:", "url: https://kestra.example.com:8443/"} {
		if !strings.Contains(config, added) {
			t.Errorf("the merge lacks %q:\n%s", added, config)
		}
	}
}

func TestGenerateBadInputNamesTheCauseAndWritesNothing(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(malformed, []byte("ingress: [unclosed\n"), 0o644)
	tests := map[string]struct {
		args    []string
		wantErr []string
	}{
		"an unknown mode":                     {[]string{"--mode", "sidecar", "--host", "a.example.com"}, []string{`--mode "sidecar"`, "ingress", "app"}},
		"--set on an unknown key":             {[]string{"--set", "ingress.clasName=nginx", "--host", "a.example.com", "--self-signed"}, []string{"--set ingress.clasName=nginx", "unknown key", "clasName"}},
		"--set with a mistyped value":         {[]string{"--set", "app.port=https", "--mode", "app", "--host", "a.example.com"}, []string{"--set app.port=https", "app.port", "number"}},
		"an --email that is no address":       {[]string{"--host", "a.example.com", "--email", "ops at example"}, []string{`--email "ops at example" is not an email address`}},
		"a base with no Kestra Deployment":    {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/bases/no-kestra"}, []string{"--base testdata/bases/no-kestra", "no Kestra Deployment", "web", "--deployment"}},
		"two candidate Deployments":           {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/bases/two-kestras"}, []string{"2 candidate Kestra Deployments", "kestra-standalone", "kestra-webserver", "--deployment"}},
		"a malformed values file":             {[]string{"--host", "a.example.com", "-f", malformed}, []string{"-f " + malformed, "not valid YAML"}},
		"an invalid host":                     {[]string{"--mode", "app", "--host", "kestra_ui.example.com"}, []string{`--host "kestra_ui.example.com"`}},
		"an IP host in ingress mode":          {[]string{"--host", "10.0.0.5", "--self-signed"}, []string{"--host 10.0.0.5", "--mode app"}},
		"a base that does not exist":          {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/nope"}, []string{"--base testdata/nope", "no such file", "helm template"}},
		"a base file that is no manifest":     {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/values-traefik.yaml"}, []string{"--base testdata/values-traefik.yaml", "not a manifest file"}},
		"a missing values file":               {[]string{"--host", "a.example.com", "-f", "nope.yaml"}, []string{"-f nope.yaml"}},
		"two certificate sources":             {[]string{"--host", "a.example.com", "--self-signed", "--issuer-ref", "x"}, []string{"--issuer-ref", "--self-signed", "only one"}},
		"a named Deployment that is absent":   {[]string{"--host", "a.example.com", "--self-signed", "--deployment", "kestra-web"}, []string{"--deployment kestra-web", "no such Deployment"}},
		"--force with a supplied certificate": {[]string{"--mode", "app", "--host", "a.example.com", "--cert", "testdata/ca-bundle.pem", "--key", "testdata/ca-bundle.pem", "--force"}, []string{"--force", "--cert"}},
		"a Service without ports":             {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/bases/externalname/kestra.yaml"}, []string{"Service kestra has no ports", "--service"}},
		"a base holding one object twice":     {[]string{"--host", "a.example.com", "--self-signed", "--base", "{dup}"}, []string{"holds Deployment kestra twice", "remove the other copy"}},
		"a base holding a nameless object":    {[]string{"--host", "a.example.com", "--self-signed", "--base", "{noname}"}, []string{"holds a ConfigMap with no metadata.name"}},
		"two unlabelled Kestra Deployments":   {[]string{"--host", "a.example.com", "--self-signed", "--base", "{two}"}, []string{"2 candidate Kestra Deployments (kestra, kestra2)", "--deployment"}},
		"--set hosts[3]=x alone":              {[]string{"--mode", "app", "--set", "hosts[3]=x.example.com"}, []string{"hosts[0] is empty", "--set hosts[N]=NAME", "--host"}},
		"a YAML alias bomb as --base":         {[]string{"--host", "a.example.com", "--self-signed", "--base", "testdata/bases/alias-bomb.yaml"}, []string{"--base testdata/bases/alias-bomb.yaml", "excessive aliasing"}},
	}
	bases := t.TempDir()
	writeFiles(t, bases, map[string]string{
		"dup.yaml":    chartLikeBase + "---\n" + strings.Split(chartLikeBase, "---")[0],
		"noname.yaml": chartLikeBase + "---\napiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n",
		"two.yaml":    chartLikeBase + "---\n" + strings.Replace(strings.Split(chartLikeBase, "---")[0], "name: kestra}", "name: kestra2}", 1),
	})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "overlay")
			for i, arg := range tc.args {
				for _, base := range []string{"dup", "noname", "two"} {
					if arg == "{"+base+"}" {
						tc.args[i] = filepath.Join(bases, base+".yaml")
					}
				}
			}
			_, _, err := runCmd(t, append([]string{"generate", "-o", out}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Errorf("wrote %s despite the error", out)
			}
		})
	}
}

func TestSwitchingModesRemovesTheOtherModesManifests(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	if _, _, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCmd(t, "generate", "-o", out, "--mode", "app")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ingress.yaml", "cluster-issuer.yaml"} {
		if _, err := os.Stat(filepath.Join(out, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there after switching to app mode", name)
		}
		if !strings.Contains(stdout, "removed "+filepath.Join(out, name)) {
			t.Errorf("the output does not say %s was removed:\n%s", name, stdout)
		}
	}
	// A folder generate did not write keeps its files.
	foreign := t.TempDir()
	os.WriteFile(filepath.Join(foreign, "ingress.yaml"), []byte("mine"), 0o644)
	if _, _, err := runCmd(t, "generate", "-o", foreign, "--mode", "app", "--host", "kestra.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "ingress.yaml")); err != nil {
		t.Errorf("removed a file generate did not write: %v", err)
	}
}

// TestGenerateAppModeWithSuppliedMaterial packs the user's own certificate (encrypted key) into the built
// kestra-ssl Secret, and mints no CA of its own.
func TestGenerateAppModeWithSuppliedMaterial(t *testing.T) {
	f := newFixtures(t)
	password := filepath.Join(f.dir, "key-password")
	os.WriteFile(password, []byte("changeit\n"), 0o600)
	out := filepath.Join(t.TempDir(), "overlay")
	if _, stderr, err := runCmd(t, "generate", "-o", out, "--mode", "app", "--host", "kestra.example.com",
		"--cert", f.certPEM, "--key", f.encryptedKeyPEM, "--key-password-file", password, "--ca", f.caPEM); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "certs", "ca.key")); !os.IsNotExist(err) {
		t.Errorf("a CA key was written although the user supplied the certificate: %v", err)
	}
	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	var sslSecret string
	for _, res := range built.Resources() {
		if res.GetKind() == "Secret" && (res.GetName() == "kestra-ssl" || strings.HasPrefix(res.GetName(), "kestra-ssl-")) && !strings.HasPrefix(res.GetName(), "kestra-ssl-password") {
			sslSecret = res.GetName()
		}
	}
	data := secretData(t, built, sslSecret)
	supplied, _ := os.ReadFile(f.certPEM)
	leaf, err := pki.ParseCertificates(supplied)
	if err != nil {
		t.Fatal(err)
	}
	passwordBytes, _ := os.ReadFile(filepath.Join(out, "certs", "store-password"))
	_, cert, _, err := pkcs12.DecodeChain(data["keystore.p12"], string(passwordBytes))
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(leaf[0]) {
		t.Error("the keystore in the Secret does not hold the supplied certificate")
	}
}

// TestBaseWithBothConfigurationsWarnsAndMerges: Kestra's launcher drops MICRONAUT_CONFIG_FILES when
// KESTRA_CONFIGURATION is set, so that is where our settings go, with a warning that says why.
func TestBaseWithBothConfigurationsWarnsAndMerges(t *testing.T) {
	out := filepath.Join(t.TempDir(), "overlay")
	_, stderr, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed", "--base", "testdata/bases/both/kestra.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Warning:", "sets both KESTRA_CONFIGURATION and MICRONAUT_CONFIG_FILES", "replaces MICRONAUT_CONFIG_FILES with that one file"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	built, err := overlays.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	config := containerEnv(t, built, "KESTRA_CONFIGURATION")
	if !strings.Contains(config, "type: postgres") || !strings.Contains(config, "url: https://kestra.example.com/") {
		t.Errorf("KESTRA_CONFIGURATION was not merged:\n%s", config)
	}
}

// TestACAFromBeforeConstraintsKeepsWorkingWithAWarning: a CA minted with path length 0 cannot sign a
// constrained issuer; generate keeps using it for cert-manager and says what that means.
func TestACAFromBeforeConstraintsKeepsWorkingWithAWarning(t *testing.T) {
	caDir := t.TempDir()
	key, _ := pki.ECDSAP256.GenerateKey()
	template := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Old Kestra TLS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := pki.EncodePrivateKey(key)
	os.WriteFile(filepath.Join(caDir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(caDir, "ca.key"), keyPEM, 0o600)
	out := filepath.Join(t.TempDir(), "overlay")
	_, stderr, err := runCmd(t, "generate", "-o", out, "--host", "kestra.example.com", "--self-signed", "--ca-dir", caDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "has no name constraints") || !strings.Contains(stderr, "--force") {
		t.Errorf("no warning about the unconstrained CA:\n%s", stderr)
	}
	kustomization, _ := os.ReadFile(filepath.Join(out, "kustomization.yaml"))
	if !strings.Contains(string(kustomization), "tls.key=certs/ca.key") {
		t.Errorf("cert-manager does not get the old CA:\n%s", kustomization)
	}
	if _, err := overlays.Build(out); err != nil {
		t.Error(err)
	}
}
