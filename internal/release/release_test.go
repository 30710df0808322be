package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// distDir is what `make dist` wrote; `make test` runs it first.
func distDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs make dist (skipped by -short)")
	}
	dir := filepath.Join(testutil.RepoRoot(), "dist")
	built, err := os.Stat(filepath.Join(dir, "plugin.yaml"))
	if err != nil {
		t.Fatalf("no dist/plugin.yaml: run `make dist` (make test does) first: %v", err)
	}
	// The archives must hold the code under test, not whatever an earlier `make dist` built.
	if newer := newestSource(t); newer.time.After(built.ModTime()) {
		t.Fatalf("dist/ is older than %s: run `make dist` (make test does) first", newer.path)
	}
	return dir
}

type sourceFile struct {
	path string
	time time.Time
}

// newestSource is the most recently changed file the binaries are built from.
func newestSource(t *testing.T) sourceFile {
	t.Helper()
	root := testutil.RepoRoot()
	var newest sourceFile
	for _, top := range []string{"cmd", "internal", "pkg", "templates", "go.mod", "go.sum"} {
		filepath.WalkDir(filepath.Join(root, top), func(path string, entry os.DirEntry, err error) error {
			if err != nil || entry.IsDir() || strings.HasSuffix(path, "_test.go") || strings.Contains(path, string(filepath.Separator)+"testdata"+string(filepath.Separator)) {
				return nil
			}
			if info, err := entry.Info(); err == nil && info.ModTime().After(newest.time) {
				newest = sourceFile{path: path, time: info.ModTime()}
			}
			return nil
		})
	}
	return newest
}

func distVersion(t *testing.T, dir string) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))
	var manifest struct {
		Spec struct{ Version string } `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &manifest); err != nil || manifest.Spec.Version == "" {
		t.Fatalf("dist/plugin.yaml has no spec.version: %v", err)
	}
	return manifest.Spec.Version
}

func unpack(t *testing.T, archive string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	if strings.HasSuffix(archive, ".zip") {
		r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.File {
			rc, _ := f.Open()
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
		return files
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		header, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[header.Name], _ = io.ReadAll(tr)
	}
}

// TestEveryArchiveHoldsABinaryForItsPlatform reads each binary's header: ELF, Mach-O or PE, and the CPU.
func TestEveryArchiveHoldsABinaryForItsPlatform(t *testing.T) {
	dir := distDir(t)
	for _, p := range Platforms {
		t.Run(p.OS+"/"+p.Arch, func(t *testing.T) {
			files := unpack(t, filepath.Join(dir, p.ArchiveName()))
			var names []string
			for name := range files {
				names = append(names, name)
			}
			want := []string{CompletionScript, "LICENSE", "README.md", p.BinaryName()}
			if diff := cmp.Diff(slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(names))); diff != "" {
				t.Errorf("archive contents (-want +got):\n%s", diff)
			}
			if !bytes.Contains(files["LICENSE"], []byte("Apache License")) {
				t.Error("LICENSE is not the Apache-2.0 text")
			}
			if got := binaryPlatform(t, files[p.BinaryName()]); got != p {
				t.Errorf("%s is for %v, want %v", p.BinaryName(), got, p)
			}
		})
	}
}

func binaryPlatform(t *testing.T, data []byte) Platform {
	t.Helper()
	r := bytes.NewReader(data)
	if f, err := elf.NewFile(r); err == nil {
		return Platform{"linux", map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]}
	}
	if f, err := macho.NewFile(r); err == nil {
		return Platform{"darwin", map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]}
	}
	if f, err := pe.NewFile(r); err == nil {
		return Platform{"windows", map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]}
	}
	t.Fatal("not an ELF, Mach-O or PE binary")
	return Platform{}
}

// TestKrewTemplateRendersToPluginYAML renders .krew.yaml as krew-release-bot would, with the sums of the
// archive files themselves, and compares with what make dist wrote.
func TestKrewTemplateRendersToPluginYAML(t *testing.T) {
	dir := distDir(t)
	template, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := RenderKrewTemplate(template, distVersion(t, dir), func(uri string) (string, error) {
		data, err := os.ReadFile(filepath.Join(dir, path.Base(uri)))
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:]), err
	})
	if err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(filepath.Join(dir, "plugin.yaml"))
	if diff := cmp.Diff(string(written), string(rendered)); diff != "" {
		t.Errorf("dist/plugin.yaml differs from .krew.yaml rendered (-want +got):\n%s", diff)
	}
	committed, _ := os.ReadFile(filepath.Join(testutil.RepoRoot(), "plugin.yaml"))
	var a, b map[string]any
	yaml.Unmarshal(committed, &a)
	yaml.Unmarshal(written, &b)
	if a["metadata"] == nil || cmp.Diff(a["metadata"], b["metadata"]) != "" {
		t.Error("the committed plugin.yaml is not the manifest make dist renders: run make dist and commit plugin.yaml")
	}
}

func TestManifestRules(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join(distDir(t), "plugin.yaml"))
	var manifest struct {
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Version, ShortDescription, Description, Caveats string
			Platforms                                       []struct{ Sha256 string }
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" {
		t.Errorf("apiVersion %q", manifest.APIVersion)
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(manifest.Spec.Version) {
		t.Errorf("version %q is not v-prefixed semver", manifest.Spec.Version)
	}
	if n := len(manifest.Spec.ShortDescription); n == 0 || n > 50 {
		t.Errorf("shortDescription has %d characters, want 1 to 50", n)
	}
	for _, line := range strings.Split(manifest.Spec.Description+manifest.Spec.Caveats, "\n") {
		if len(line) > 80 {
			t.Errorf("description line over 80 columns: %q", line)
		}
	}
	if len(manifest.Spec.Platforms) != len(Platforms) {
		t.Errorf("%d platforms, want %d", len(manifest.Spec.Platforms), len(Platforms))
	}
}

// TestValidateKrewManifest runs krew's own validator: our manifest passes, a corrupted sha256 fails.
func TestValidateKrewManifest(t *testing.T) {
	validator := filepath.Join(testutil.BinDir(), "validate-krew-manifest")
	data, _ := os.ReadFile(filepath.Join(distDir(t), "plugin.yaml"))
	for name, tc := range map[string]struct {
		manifest []byte
		valid    bool
	}{
		"the rendered manifest":        {data, true},
		"an upper-case sha256":         {regexp.MustCompile(`sha256: ([0-9a-f]{8})`).ReplaceAllFunc(data, bytes.ToUpper), false},
		"a sha256 one character short": {regexp.MustCompile(`sha256: [0-9a-f]`).ReplaceAll(data, []byte("sha256: ")), false},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kestra-tls.yaml") // the validator wants <plugin name>.yaml
			os.WriteFile(path, tc.manifest, 0o644)
			out, err := exec.Command(validator, "-manifest", path, "-skip-install").CombinedOutput()
			if (err == nil) != tc.valid {
				t.Errorf("validate-krew-manifest: %v, want valid=%v\n%s", err, tc.valid, firstLines(out, 3))
			}
		})
	}
}

// TestKrewInstallsThePluginForKubectl installs the archive for this machine with the real krew into a
// scratch KREW_ROOT, then runs the plugin through real kubectl's plugin discovery.
func TestKrewInstallsThePluginForKubectl(t *testing.T) {
	dir := distDir(t)
	version := distVersion(t, dir)
	platform := Platform{runtime.GOOS, runtime.GOARCH}
	for _, kubectl := range testutil.Kubectls(t) {
		t.Run(kubectl, func(t *testing.T) {
			root := t.TempDir()
			krewRoot := filepath.Join(root, "krew")
			tools := filepath.Join(root, "tools")
			os.MkdirAll(tools, 0o755)
			// kubectl finds krew itself as a plugin: kubectl-krew on PATH.
			if err := os.Symlink(filepath.Join(testutil.BinDir(), "krew"), filepath.Join(tools, "kubectl-krew")); err != nil {
				t.Fatal(err)
			}
			os.Symlink(kubectl, filepath.Join(tools, "kubectl"))
			// krew list and uninstall read an index: an empty git repository with a plugins folder.
			index := filepath.Join(krewRoot, "index", "default")
			os.MkdirAll(filepath.Join(index, "plugins"), 0o755)
			if out, err := exec.Command("git", "-C", index, "init", "-q").CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			env := []string{
				"PATH=" + filepath.Join(krewRoot, "bin") + ":" + tools + ":/usr/bin:/bin",
				"HOME=" + root, "KREW_ROOT=" + krewRoot, "KREW_NO_UPGRADE_CHECK=1",
			}
			run := func(args ...string) (string, error) {
				cmd := exec.Command(filepath.Join(tools, "kubectl"), args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			if out, err := run("krew", "install", "--manifest="+filepath.Join(dir, "plugin.yaml"), "--archive="+filepath.Join(dir, platform.ArchiveName())); err != nil {
				t.Fatalf("krew install: %v\n%s", err, out)
			}
			if out, err := run("kestra-tls", "version"); err != nil || !strings.Contains(out, version) {
				t.Errorf("kubectl kestra-tls version = %q, %v; want %s", out, err, version)
			}
			if out, err := run("kestra-tls", "--help"); err != nil || !strings.Contains(out, "kubectl kestra-tls [command]") {
				t.Errorf("kubectl kestra-tls --help does not use the display name:\n%s", out)
			}
			// Completion through kubectl, with the helper linked as the caveats say.
			helpers, _ := filepath.Glob(filepath.Join(krewRoot, "store", "kestra-tls", "*", CompletionScript))
			if len(helpers) != 1 {
				t.Fatalf("krew did not install %s: %v", CompletionScript, helpers)
			}
			if err := os.Symlink(helpers[0], filepath.Join(krewRoot, "bin", CompletionScript)); err != nil {
				t.Fatal(err)
			}
			if out, err := run("__complete", "kestra-tls", "gen"); err != nil || !strings.Contains(out, "generate") {
				t.Errorf("kubectl __complete kestra-tls gen = %q, %v; want generate", out, err)
			}
			if out, _ := run("__complete", "kestra-tls", "generate", "--mode", ""); !strings.Contains(out, "ingress") || !strings.Contains(out, "app") {
				t.Errorf("kubectl __complete kestra-tls generate --mode = %q; want ingress and app", out)
			}
			if out, err := run("krew", "list"); err != nil || !strings.Contains(out, "kestra-tls") {
				t.Errorf("krew list: %v\n%s", err, out)
			}
			if out, err := run("krew", "uninstall", "kestra-tls"); err != nil {
				t.Errorf("krew uninstall: %v\n%s", err, out)
			}
			if _, err := os.Stat(filepath.Join(krewRoot, "bin", Binary)); !os.IsNotExist(err) {
				t.Errorf("the plugin is still linked after uninstall: %v", err)
			}

			// A manifest whose sum does not match the archive is refused by krew.
			wrong := regexp.MustCompile(`sha256: [0-9a-f]{64}`).ReplaceAll(mustRead(t, filepath.Join(dir, "plugin.yaml")), []byte("sha256: "+strings.Repeat("0", 64)))
			wrongPath := filepath.Join(root, "kestra-tls.yaml")
			os.WriteFile(wrongPath, wrong, 0o644)
			if out, err := run("krew", "install", "--manifest="+wrongPath, "--archive="+filepath.Join(dir, platform.ArchiveName())); err == nil {
				t.Errorf("krew installed an archive whose sha256 does not match:\n%s", out)
			}
		})
	}
}

func TestArchivesAreReproducibleAndReadable(t *testing.T) {
	files := []archiveFile{{Name: "a", Data: []byte("x"), Mode: 0o755}}
	for _, p := range []Platform{{"linux", "amd64"}, {"windows", "amd64"}} {
		first, err := pack(p, files)
		if err != nil {
			t.Fatal(err)
		}
		second, _ := pack(p, files)
		if !bytes.Equal(first, second) {
			t.Errorf("%v: the same files gave different archives", p)
		}
		path := filepath.Join(t.TempDir(), p.ArchiveName())
		os.WriteFile(path, first, 0o644)
		if got := unpack(t, path); string(got["a"]) != "x" {
			t.Errorf("%v: unpacked %q", p, got)
		}
	}
}

func TestRenderKrewTemplateLikeTheReleaseBot(t *testing.T) {
	template := []byte("version: {{ .TagName }}\n  - x\n    {{addURIAndSha \"https://e.com/{{ .TagName }}/a.tar.gz\" .TagName }}\n")
	got, err := RenderKrewTemplate(template, "v1.2.3", func(uri string) (string, error) { return "sum-of-" + path.Base(uri), nil })
	want := "version: v1.2.3\n  - x\n    uri: https://e.com/v1.2.3/a.tar.gz\n    sha256: sum-of-a.tar.gz\n"
	if err != nil || string(got) != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func firstLines(out []byte, n int) string {
	lines := strings.SplitN(string(out), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
