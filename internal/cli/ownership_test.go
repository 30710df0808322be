package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

const usersKustomization = "# mine\nresources:\n  - mine.yaml\n"

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q, %v; want %q (the user's file, untouched)", path, got, err, want)
	}
}

// TestGenerateNeverReplacesTheUsersFiles puts files of the user's where generate writes, in every name
// kustomize reads a kustomization under: each run is refused, naming the file, and the file stays; with
// --overwrite the run goes ahead.
func TestGenerateNeverReplacesTheUsersFiles(t *testing.T) {
	cases := []struct {
		name string
		// files are the user's, in the output folder; the first is the one named in the refusal.
		files map[string]string
		named string
		args  []string
	}{
		{"a kustomization.yaml of the user's in -o", map[string]string{"kustomization.yaml": usersKustomization}, "kustomization.yaml", nil},
		{"a kustomization.yml of the user's in -o", map[string]string{"kustomization.yml": usersKustomization}, "kustomization.yml", nil},
		{"a Kustomization of the user's in -o", map[string]string{"Kustomization": usersKustomization}, "Kustomization", nil},
		{"a values.yaml of the user's in -o", map[string]string{"values.yaml": "replicas: 3\n"}, "values.yaml", nil},
		{"a patch file of the user's under generate's name", map[string]string{"service-patch.yaml": "# mine\n"}, "service-patch.yaml", nil},
		{"a certificate of the user's in certs/", map[string]string{"certs/server.pem": "# mine\n"}, filepath.Join("certs", "server.pem"), nil},
		{"--base DIR/base/kestra.yaml -o DIR beside the user's base/kustomization.yaml",
			map[string]string{"base/kustomization.yaml": "resources:\n  - kestra.yaml\n  - postgres.yaml\n"}, filepath.Join("base", "kustomization.yaml"), []string{"--base", "{dir}/base/kestra.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, c.files)
			writeFiles(t, dir, map[string]string{"base/kestra.yaml": chartLikeBase})
			args := []string{"generate", "--mode", "app", "--host", "kestra.example.com", "-o", dir}
			for _, arg := range c.args {
				args = append(args, strings.ReplaceAll(arg, "{dir}", dir))
			}
			_, _, err := runCmd(t, args...)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, c.named)+", which kestra-tls did not write") || !strings.Contains(err.Error(), "--overwrite") {
				t.Fatalf("generate: %v; want a refusal naming %s and --overwrite", err, c.named)
			}
			for name, content := range c.files {
				wantContent(t, filepath.Join(dir, name), content)
			}
			if _, err := os.Stat(filepath.Join(dir, fileset.OwnedFile)); err == nil {
				t.Error("a refused run wrote its list of files")
			}
			if _, stderr, err := runCmd(t, append(args, "--overwrite")...); err != nil {
				t.Fatalf("with --overwrite: %v\n%s", err, stderr)
			}
		})
	}
}

// chartLikeBase is a Kestra of the user's, as a manifest file.
const chartLikeBase = `apiVersion: apps/v1
kind: Deployment
metadata: {name: kestra}
spec:
  selector: {matchLabels: {app: kestra}}
  template:
    metadata: {labels: {app: kestra}}
    spec:
      containers:
      - {name: kestra, image: kestra/kestra:latest, ports: [{name: http, containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: kestra}
spec:
  selector: {app: kestra}
  ports: [{name: http, port: 8080, targetPort: http}]
`

// TestGenerateTellsOfEditsToItsFiles edits files generate wrote: the copied base is refused on the next
// run with advice to edit the --base file; a file a new mode no longer writes is kept (with a warning)
// when edited and removed when not.
func TestGenerateTellsOfEditsToItsFiles(t *testing.T) {
	dir := t.TempDir()
	baseFile := filepath.Join(t.TempDir(), "kestra.yaml")
	writeFiles(t, filepath.Dir(baseFile), map[string]string{"kestra.yaml": chartLikeBase})
	app := []string{"generate", "--mode", "app", "--host", "kestra.example.com", "--base", baseFile, "-o", dir}
	if _, stderr, err := runCmd(t, app...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	copied := filepath.Join(dir, "base", "kestra.yaml")
	edited := chartLikeBase + "# my edit\n"
	writeFiles(t, dir, map[string]string{"base/kestra.yaml": edited})
	_, _, err := runCmd(t, app...)
	if err == nil || !strings.Contains(err.Error(), copied+", edited since kestra-tls wrote it") || !strings.Contains(err.Error(), "edits in the --base file") {
		t.Fatalf("re-run over an edited copy of --base: %v; want a refusal naming it", err)
	}
	wantContent(t, copied, edited)
	writeFiles(t, dir, map[string]string{"base/kestra.yaml": chartLikeBase})

	// service-patch.yaml is app mode's; ingress mode writes none. One edited, one not.
	writeFiles(t, dir, map[string]string{"service-patch.yaml": "# my edit\n"})
	stdout, stderr, err := runCmd(t, "generate", "--mode", "ingress", "--self-signed", "--host", "kestra.example.com", "--base", baseFile, "-o", dir)
	if err != nil {
		// The edited file is in the way only if ingress mode writes it; it does not, so it is kept.
		t.Fatalf("%v\n%s", err, stderr)
	}
	wantContent(t, filepath.Join(dir, "service-patch.yaml"), "# my edit\n")
	if !strings.Contains(stderr, "kept "+filepath.Join(dir, "service-patch.yaml")) {
		t.Errorf("no word of the kept edited file:\n%s", stderr)
	}
	if strings.Contains(stdout, "removed "+filepath.Join(dir, "service-patch.yaml")) {
		t.Errorf("said it removed the edited file:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "certs", "ca.key")); err != nil {
		t.Errorf("the CA key went with a mode that needs no certs/ of its own: %v", err)
	}
}

// TestUninstallDeleteLocalRemovesOnlyWhatGenerateWrote is the Compose project of the issue: the override
// written into the project folder itself, then uninstall --delete-local. The user's docker-compose.yml and
// other files stay, and the restart command names a file that is still there.
func TestUninstallDeleteLocalRemovesOnlyWhatGenerateWrote(t *testing.T) {
	project := t.TempDir()
	if err := os.CopyFS(project, os.DirFS("testdata/compose/guide")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, project, map[string]string{"notes.txt": "mine\n", "certs/my-own.pem": "mine\n"})
	compose := filepath.Join(project, "docker-compose.yml")
	original, _ := os.ReadFile(compose)
	if _, stderr, err := runCmd(t, "generate", "--target", "compose", "--compose-file", compose, "--host", "kestra.example.com", "-o", project); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stdout, stderr, err := runCmd(t, "uninstall", project, "--delete-local", "--yes")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	wantContent(t, compose, string(original))
	wantContent(t, filepath.Join(project, "notes.txt"), "mine\n")
	wantContent(t, filepath.Join(project, "certs", "my-own.pem"), "mine\n")
	for _, gone := range []string{"values.yaml", "certs/ca.key", "certs/keystore.p12", fileset.OwnedFile} {
		if _, err := os.Stat(filepath.Join(project, gone)); err == nil {
			t.Errorf("%s is still there", gone)
		}
	}
	if !strings.Contains(stdout, "-f "+compose+" up -d") || !strings.Contains(stdout, "kept "+project) {
		t.Errorf("uninstall's output:\n%s", stdout)
	}
}

// TestAFolderOfAnEarlierVersionIsStillOurs re-runs generate in a folder an earlier version wrote (no list
// of files, values.yaml marked): its files are replaced as before, and the list is written.
func TestAFolderOfAnEarlierVersionIsStillOurs(t *testing.T) {
	dir := t.TempDir()
	args := []string{"generate", "--mode", "app", "--host", "kestra.example.com", "-o", dir}
	if _, stderr, err := runCmd(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	os.Remove(filepath.Join(dir, fileset.OwnedFile))
	if _, stderr, err := runCmd(t, append(args, "--csrf")...); err != nil {
		t.Fatalf("re-run in an earlier version's folder: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, fileset.OwnedFile)); err != nil {
		t.Errorf("no list of files after the re-run: %v", err)
	}
}

// TestHelmTargetKeepsTheUsersIngressClass: chart values with ingress.className nginx keep it (an empty
// className of ours would replace it, helm merging key by key), and the ACME solver answers through it.
func TestHelmTargetKeepsTheUsersIngressClass(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"mine.yaml": "ingress:\n  className: nginx\n"})
	out := filepath.Join(dir, "out")
	if _, stderr, err := runCmd(t, "generate", "--target", "helm", "--host", "kestra.example.com", "--email", "ops@example.com", "--chart-values", filepath.Join(dir, "mine.yaml"), "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	values, _ := os.ReadFile(filepath.Join(out, "helm-values.yaml"))
	if strings.Contains(string(values), `className: ""`) {
		t.Errorf("helm-values.yaml empties the user's ingress.className:\n%s", values)
	}
	issuer, _ := os.ReadFile(filepath.Join(out, "cluster-issuer.yaml"))
	if !strings.Contains(string(issuer), "ingressClassName: nginx") {
		t.Errorf("the HTTP-01 solver does not answer through the user's class:\n%s", issuer)
	}
}
