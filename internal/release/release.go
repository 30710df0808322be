// Package release builds the distribution: the plugin cross-compiled for six platforms, packed with its
// LICENSE, README and completion script into archives, their sha256 checksums, and the krew manifest
// rendered from .krew.yaml the way krew-release-bot renders it.
package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"
)

// Platform is one os/arch we ship.
type Platform struct{ OS, Arch string }

// Platforms are krew's usual six.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

const (
	// Binary is the name kubectl's plugin discovery looks for.
	Binary = "kubectl-kestra_tls"
	// CompletionScript makes kubectl (1.26+) complete `kubectl kestra-tls <TAB>`.
	CompletionScript = "kubectl_complete-kestra_tls"
	versionVariable  = "github.com/kestra-tls/kubectl-kestra-tls/internal/cli.Version"
)

// BinaryName is the binary's file name on the platform.
func (p Platform) BinaryName() string { return p.executable(Binary) }

func (p Platform) executable(name string) string {
	if p.OS == "windows" {
		return name + ".exe"
	}
	return name
}

// ArchiveName is kestra-tls_<os>_<arch>.tar.gz, or .zip for Windows.
func (p Platform) ArchiveName() string {
	if p.OS == "windows" {
		return fmt.Sprintf("kestra-tls_%s_%s.zip", p.OS, p.Arch)
	}
	return fmt.Sprintf("kestra-tls_%s_%s.tar.gz", p.OS, p.Arch)
}

// Options says what to build from where.
type Options struct {
	Root    string // the repository
	Out     string // where archives, checksums and plugin.yaml go
	Version string // v-prefixed semver
}

var semver = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

// Dist builds every archive, the checksums and plugin.yaml into opts.Out.
func Dist(ctx context.Context, opts Options) error {
	if !semver.MatchString(opts.Version) {
		return fmt.Errorf("version %q is not v-prefixed semver (krew needs e.g. v1.2.3): tag the commit or fix VERSION", opts.Version)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	shared := map[string][]byte{}
	for _, name := range []string{"LICENSE", "README.md"} {
		data, err := os.ReadFile(filepath.Join(opts.Root, name))
		if err != nil {
			return err
		}
		shared[name] = data
	}
	shared[CompletionScript] = []byte(completionScript)
	sums := map[string]string{}
	for _, platform := range Platforms {
		binary, err := build(ctx, opts, platform, "./cmd/kubectl-kestra_tls", platform.BinaryName())
		if err != nil {
			return err
		}
		files := []archiveFile{{Name: platform.BinaryName(), Data: binary, Mode: 0o755}}
		for _, name := range []string{"LICENSE", "README.md", CompletionScript} {
			mode := int64(0o644)
			if name == CompletionScript {
				mode = 0o755
			}
			files = append(files, archiveFile{Name: name, Data: shared[name], Mode: mode})
		}
		archive, err := pack(platform, files)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(opts.Out, platform.ArchiveName()), archive, 0o644); err != nil {
			return err
		}
		sum := sha256.Sum256(archive)
		sums[platform.ArchiveName()] = hex.EncodeToString(sum[:])
	}
	var checksums strings.Builder
	names := make([]string, 0, len(sums))
	for name := range sums {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&checksums, "%s  %s\n", sums[name], name)
	}
	if err := os.WriteFile(filepath.Join(opts.Out, "checksums.txt"), []byte(checksums.String()), 0o644); err != nil {
		return err
	}
	krewTemplate, err := os.ReadFile(filepath.Join(opts.Root, ".krew.yaml"))
	if err != nil {
		return err
	}
	manifest, err := RenderKrewTemplate(krewTemplate, opts.Version, func(uri string) (string, error) {
		sum, ok := sums[path.Base(uri)]
		if !ok {
			return "", fmt.Errorf(".krew.yaml names %s, which make dist does not build", path.Base(uri))
		}
		return sum, nil
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(opts.Out, "plugin.yaml"), manifest, 0o644)
}

const completionScript = `#!/usr/bin/env sh
# kubectl (1.26 or newer) runs kubectl_complete-<plugin> to complete "kubectl kestra-tls <TAB>".
# Put this file on your PATH, next to kubectl-kestra_tls (krew: ln -s it into ~/.krew/bin).
kubectl kestra-tls __complete "$@"
`

// build cross-compiles a static binary, stamped with the version, reproducibly (-trimpath, no VCS stamp).
func build(ctx context.Context, opts Options, p Platform, pkg, name string) ([]byte, error) {
	out := filepath.Join(opts.Out, "build", p.OS+"_"+p.Arch, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X "+versionVariable+"="+opts.Version,
		"-o", out, pkg)
	cmd.Dir = opts.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build for %s/%s: %v\n%s", p.OS, p.Arch, err, output)
	}
	return os.ReadFile(out)
}

type archiveFile struct {
	Name string
	Data []byte
	Mode int64
}

// archiveTime is fixed so that the same binaries always give the same archive bytes and checksums.
var archiveTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pack(p Platform, files []archiveFile) ([]byte, error) {
	var out bytes.Buffer
	if p.OS == "windows" {
		w := zip.NewWriter(&out)
		for _, f := range files {
			header := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: archiveTime}
			header.SetMode(fs.FileMode(f.Mode))
			entry, err := w.CreateHeader(header)
			if err != nil {
				return nil, err
			}
			if _, err := entry.Write(f.Data); err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil { // writes the central directory: only then are the bytes a zip
			return nil, err
		}
		return out.Bytes(), nil
	}
	gz, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		header := &tar.Header{Name: f.Name, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(header); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// RenderKrewTemplate renders a krew-release-bot .krew.yaml: {{ .TagName }}, {{ .Version }}, and
// {{ addURIAndSha "URL" .TagName }}, which becomes "uri: URL" and, on the next line, "sha256: SUM".
func RenderKrewTemplate(text []byte, tag string, sha func(uri string) (string, error)) ([]byte, error) {
	values := struct{ TagName, Version string }{tag, strings.TrimPrefix(tag, "v")}
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			inner, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			var uri bytes.Buffer
			if err := inner.Execute(&uri, values); err != nil {
				return "", err
			}
			sum, err := sha(uri.String())
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri.String(), sum), nil
		},
	}
	tpl, err := template.New(".krew.yaml").Funcs(funcs).Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf(".krew.yaml: %v", err)
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, values); err != nil {
		return nil, fmt.Errorf(".krew.yaml: %v", err)
	}
	return out.Bytes(), nil
}
