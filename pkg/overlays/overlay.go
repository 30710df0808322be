// Package overlays composes the kustomize overlay `generate` writes: the rendered manifests and patches
// over the user's Kestra base, the effective values, and the TLS material from pkg/generate.
package overlays

import (
	"crypto/x509"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/render"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// File names in the overlay.
const (
	ValuesFile        = "values.yaml"
	CertsDir          = "certs"
	OutboundTrustFile = "outbound-truststore.jks"
	embeddedBaseDir   = "base"
)

// optionalManifests are the files only some modes write.
var optionalManifests = []string{"ingress.yaml", "cluster-issuer.yaml", "service-patch.yaml", "namespace.yaml"}

// valuesHeader marks a folder as written by generate, so that stale files of ours may be removed from it.
const valuesHeader = "# Effective values of `kubectl kestra-tls generate`; a re-run in this folder starts from them.\n"

// Options is everything `generate` needs.
type Options struct {
	Dir string
	// Base is a kustomize folder with the user's Kestra; empty uses the embedded default base.
	Base         string
	Templates    fs.FS
	TemplatesDir string
	Values       *values.Resolved
	// StorePassword comes from the environment; the values' storePasswordFile wins over it.
	StorePassword string
	// Force mints a new CA and server certificate.
	Force bool
	// AbsoluteBase refers to the base by absolute path, for a build outside Dir (dry-run).
	AbsoluteBase bool
	Now          time.Time
}

// Overlay is the rendered overlay, not yet written.
type Overlay struct {
	// Files are the manifests, values.yaml and the embedded base; CertFiles go into certs/ (mode 0700).
	Files     []fileset.File
	CertFiles []fileset.File
	Bundle    *generate.Bundle
	Target    Target
	Warnings  []string
	// Stale are manifests an earlier run in another mode may have left, which this overlay no longer uses.
	Stale []string
}

// templateData is what templates see.
type templateData struct {
	Values        map[string]any
	Base          string
	Kestra        Target
	URL           string
	Configuration string
	JavaOpts      string
	Certs         *certsData
}

type certsData struct{ Dir string }

// Generate renders the overlay without writing anything.
func Generate(opts Options) (*Overlay, error) {
	v := opts.Values
	if err := v.Validate(); err != nil {
		return nil, err
	}
	renderer, err := render.New(opts.Templates, opts.TemplatesDir)
	if err != nil {
		return nil, err
	}
	out := &Overlay{}
	baseRef, err := out.loadBase(opts)
	if err != nil {
		return nil, err
	}
	data := templateData{Values: v.Map, Base: baseRef, Kestra: out.Target, URL: kestraURL(v.Values)}
	if v.Namespace != "" {
		data.Kestra.Namespace = v.Namespace
	}
	if err := out.makeCertificates(opts, &data); err != nil {
		return nil, err
	}
	if data.Configuration, err = mergeConfiguration(renderer, data, out.Target.Configuration); err != nil {
		return nil, err
	}
	if v.Mode == "app" && v.App.OutboundTrust {
		data.JavaOpts = strings.TrimSpace(out.Target.JavaOpts + " -Djavax.net.ssl.trustStore=" + path.Join(v.App.MountPath, OutboundTrustFile) + " -Djavax.net.ssl.trustStoreType=JKS")
	}

	manifests := []string{"kustomization.yaml", "deployment-patch.yaml"}
	if v.Mode == "ingress" {
		manifests = append(manifests, "ingress.yaml")
		if v.Issuer.CertManager && v.Issuer.Type != "ref" {
			manifests = append(manifests, "cluster-issuer.yaml")
		}
	} else {
		manifests = append(manifests, "service-patch.yaml")
	}
	if v.Namespace != "" {
		manifests = append(manifests, "namespace.yaml")
	}
	for _, name := range optionalManifests {
		if !slices.Contains(manifests, name) {
			out.Stale = append(out.Stale, name)
		}
	}
	for _, name := range manifests {
		rendered, err := renderer.Render(name+".tpl", data)
		if err != nil {
			return nil, err
		}
		out.Files = append(out.Files, fileset.File{Name: name, Data: rendered, Mode: fileset.Public})
	}
	effective, err := v.YAML()
	if err != nil {
		return nil, err
	}
	out.Files = append(out.Files, fileset.File{Name: ValuesFile, Data: append([]byte(valuesHeader), effective...), Mode: fileset.Public})
	return out, nil
}

// loadBase builds the base, finds what to patch in it, and returns how the kustomization refers to it.
func (o *Overlay) loadBase(opts Options) (string, error) {
	v := opts.Values
	sel := Selection{Deployment: v.Kestra.Deployment, Container: v.Kestra.Container, Service: v.Kestra.Service}
	if opts.Base == "" {
		files, err := embeddedBase(opts.Templates)
		if err != nil {
			return "", err
		}
		return embeddedBaseDir, o.useCopiedBase(files, sel, "(embedded default)")
	}
	info, err := os.Stat(opts.Base)
	if err != nil {
		return "", fmt.Errorf("--base %s: %v (pass a kustomize folder with your Kestra manifests, or a YAML file such as `helm template` output of the official chart)", opts.Base, fileset.Cause(err))
	}
	if !info.IsDir() {
		return embeddedBaseDir, o.loadBaseFile(opts.Base, sel)
	}
	absBase, err := filepath.Abs(opts.Base)
	if err != nil {
		return "", err
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), absBase)
	if err != nil {
		return "", fmt.Errorf("--base %s does not build with kustomize: %v", opts.Base, err)
	}
	if o.Target, err = FindTarget(built, sel, opts.Base); err != nil {
		return "", err
	}
	if opts.AbsoluteBase {
		return absBase, nil
	}
	absDir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absDir, absBase)
	if err != nil {
		return absBase, nil
	}
	return filepath.ToSlash(rel), nil
}

// loadBaseFile takes a single manifest file (typically `helm template` output) as the base: it is copied into
// the overlay's base/ beside a kustomization listing it, and copied again on every run.
func (o *Overlay) loadBaseFile(path string, sel Selection) error {
	data, err := generate.ReadInput("--base", path)
	if err != nil {
		return err
	}
	name := filepath.Base(path)
	kustomization := []byte("# Lists the --base file generate copied here; generate copies it again on every run.\nresources:\n  - " + name + "\n")
	return o.useCopiedBase([]fileset.File{
		{Name: embeddedBaseDir + "/" + name, Data: data, Mode: fileset.Public},
		{Name: embeddedBaseDir + "/kustomization.yaml", Data: kustomization, Mode: fileset.Public},
	}, sel, path)
}

// useCopiedBase builds a base that the overlay carries in its base/ folder, finds Kestra in it, and adds its
// files to the overlay.
func (o *Overlay) useCopiedBase(files []fileset.File, sel Selection, baseName string) error {
	memory := filesys.MakeFsInMemory()
	for _, file := range files {
		if err := memory.WriteFile("/"+file.Name, file.Data); err != nil {
			return err
		}
	}
	built, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(memory, "/"+embeddedBaseDir)
	if err != nil {
		return fmt.Errorf("--base %s is not a manifest file kustomize can read: %v", baseName, err)
	}
	if o.Target, err = FindTarget(built, sel, baseName); err != nil {
		return err
	}
	o.Files = append(o.Files, files...)
	return nil
}

// makeCertificates plans the TLS material the mode needs, reusing what certs/ already holds.
func (o *Overlay) makeCertificates(opts Options, data *templateData) error {
	v := opts.Values.Values
	selfSigned := v.Mode == "ingress" && v.Issuer.Type == "self-signed"
	if v.Mode != "app" && !selfSigned {
		return nil
	}
	c := v.Certificates
	supplied, password, err := generate.Sources{
		CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile, PKCS12File: c.PKCS12File,
		KeyPasswordFile: c.KeyPasswordFile, StorePasswordFile: c.StorePasswordFile,
		StorePassword: opts.StorePassword, Minting: c.CADir != "",
	}.Load()
	if err != nil {
		return err
	}
	hosts, err := pki.ParseHosts(v.Hosts)
	if err != nil {
		return err
	}
	algorithm, err := pki.ParseKeyAlgorithm(c.KeyAlgorithm)
	if err != nil {
		return err
	}
	req := generate.Request{
		Dir: filepath.Join(opts.Dir, CertsDir), CADir: c.CADir, Hosts: hosts, KeyAlgorithm: algorithm,
		Days: c.Days, CACommonName: c.CACommonName, Password: password, Supplied: supplied,
		CAOnly: selfSigned && v.Issuer.CertManager, Force: opts.Force, Now: opts.Now,
	}
	bundle, err := generate.Plan(req)
	if err != nil {
		return err
	}
	o.Bundle = bundle
	o.Warnings = append(o.Warnings, bundle.Warnings...)
	o.CertFiles = bundle.Files
	if len(bundle.CAFiles) > 0 {
		// Write puts it there; say so, since every overlay sharing --ca-dir will trust it from now on.
		o.Warnings = append(o.Warnings, "a new CA was minted in "+c.CADir)
	}
	if v.Mode == "app" && v.App.OutboundTrust {
		jks, err := outboundTruststore(v.App.CABundle, bundle.CA, bundle.Password)
		if err != nil {
			return err
		}
		o.CertFiles = append(o.CertFiles, fileset.File{Name: OutboundTrustFile, Data: jks, Mode: fileset.Private})
	}
	data.Certs = &certsData{Dir: CertsDir}
	return nil
}

// outboundTruststore holds the public CAs and ours: the guide's JAVA_OPTS trust store held only ours, so
// every call a task made to a public HTTPS site failed.
func outboundTruststore(bundlePath string, ca *x509.Certificate, password string) ([]byte, error) {
	data, err := generate.ReadInput("--ca-bundle", bundlePath)
	if err != nil {
		return nil, err
	}
	public, err := pki.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("--ca-bundle %s: %v (pass a PEM bundle of public CAs, e.g. /etc/ssl/certs/ca-certificates.crt)", bundlePath, err)
	}
	entries := []keystore.TrustedEntry{{Alias: generate.TruststoreCAAlias, Cert: ca}}
	for i, cert := range public {
		entries = append(entries, keystore.TrustedEntry{Alias: "public-" + strconv.Itoa(i+1), Cert: cert})
	}
	return keystore.JKS(entries, password)
}

// kestraURL is kestra.url: what users type in the browser.
func kestraURL(v values.Values) string {
	if v.Kestra.URL != "" {
		return v.Kestra.URL
	}
	host := v.Hosts[0]
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if v.Mode == "app" && v.App.Port != 443 {
		host += ":" + strconv.Itoa(v.App.Port)
	}
	return "https://" + host + "/"
}

// mergeConfiguration deep-merges our part of Kestra's configuration over the base's, keeping every key of
// the base (datasources, repository, ...) that we don't set.
func mergeConfiguration(renderer *render.Renderer, data templateData, base string) (string, error) {
	rendered, err := renderer.Render("kestra-configuration.yaml.tpl", data)
	if err != nil {
		return "", err
	}
	ours := map[string]any{}
	if err := yaml.Unmarshal(rendered, &ours); err != nil {
		return "", fmt.Errorf("kestra-configuration.yaml.tpl does not render to YAML: %v", err)
	}
	existing := map[string]any{}
	if err := yaml.Unmarshal([]byte(base), &existing); err != nil {
		return "", fmt.Errorf("the base's KESTRA_CONFIGURATION is not valid YAML: %v (fix it in the base)", err)
	}
	merged, err := yaml.Marshal(values.MergeMaps(existing, ours))
	return string(merged), err
}

// Write puts the overlay on disk: a newly minted shared CA into caDir (skipped when empty), then certs/
// (0700, keys and stores 0600), then the manifests, so the manifests never name material that isn't there.
func (o *Overlay) Write(dir string, caDir string) (fileset.Result, error) {
	var all fileset.Result
	if o.Bundle != nil && len(o.Bundle.CAFiles) > 0 && caDir != "" {
		if _, err := fileset.Write(caDir, 0o700, o.Bundle.CAFiles); err != nil {
			return all, err
		}
	}
	if len(o.CertFiles) > 0 {
		result, err := fileset.Write(filepath.Join(dir, CertsDir), 0o700, o.CertFiles)
		if err != nil {
			return all, err
		}
		all = merge(all, result, CertsDir+"/")
	}
	previous, _ := os.ReadFile(filepath.Join(dir, ValuesFile))
	result, err := fileset.Write(dir, 0o755, o.Files)
	if err != nil {
		return all, err
	}
	all = merge(all, result, "")
	if strings.HasPrefix(string(previous), valuesHeader) {
		for _, name := range o.Stale {
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				all.Removed = append(all.Removed, name)
			}
		}
	}
	return all, nil
}

// BuildScratch builds the overlay without touching its real folder, for dry runs: in a private temporary
// folder (the base must be referred to absolutely, Options.AbsoluteBase), removed afterwards. A newly minted
// shared CA is not written.
func (o *Overlay) BuildScratch() (resmap.ResMap, error) {
	scratch, err := os.MkdirTemp("", "kestra-tls-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	if _, err := o.Write(scratch, ""); err != nil {
		return nil, err
	}
	return Build(scratch)
}

func merge(into, result fileset.Result, prefix string) fileset.Result {
	for _, name := range result.Written {
		into.Written = append(into.Written, prefix+name)
	}
	for _, name := range result.Unchanged {
		into.Unchanged = append(into.Unchanged, prefix+name)
	}
	return into
}
