package overlays

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/yamlguard"
)

// base is the user's Kestra as the overlay refers to it.
type base struct {
	// Ref is the kustomization's resource entry for it.
	Ref string
	// Files are carried in the overlay's base/ (the embedded default, or a copied manifest file).
	Files   []fileset.File
	Install *kestra.Install
	// Objects are the base's objects as built, for the overlay to take over the ones it would double.
	Objects []map[string]any
}

// loadBase builds the base, finds Kestra in it, and says how the kustomization refers to it.
func loadBase(opts Options, sel kestra.Selection) (*base, error) {
	if opts.Base == "" {
		files, err := embeddedBase(opts.Templates)
		if err != nil {
			return nil, err
		}
		return useCopiedBase(files, sel, "(embedded default)")
	}
	info, err := os.Stat(opts.Base)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %v (pass a kustomize folder with your Kestra manifests, or a YAML file such as `helm template` output of the official chart)", opts.Base, fileset.Cause(err))
	}
	if !info.IsDir() {
		return loadBaseFile(opts.Base, sel)
	}
	absBase, err := filepath.Abs(opts.Base)
	if err != nil {
		return nil, err
	}
	if err := yamlguard.CheckTree("--base "+opts.Base, os.DirFS(absBase)); err != nil {
		return nil, err
	}
	built, err := kustomize.Run(filesys.MakeFsOnDisk(), absBase, krusty.MakeDefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("--base %s does not build with kustomize: %v", opts.Base, err)
	}
	install, err := findKestra(built, sel, opts.Base)
	if err != nil {
		return nil, err
	}
	b := &base{Ref: absBase, Install: install, Objects: objectsOf(built)}
	absDir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(absDir, absBase); err == nil {
		b.Ref = filepath.ToSlash(rel)
	}
	return b, nil
}

// loadBaseFile takes a single manifest file (typically `helm template` output) as the base: it is copied into
// the overlay's base/ beside a kustomization listing it, and copied again on every run.
func loadBaseFile(path string, sel kestra.Selection) (*base, error) {
	data, err := generate.ReadInput("--base", path)
	if err != nil {
		return nil, err
	}
	if err := yamlguard.Check("--base "+path, data); err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	kustomization := []byte("# Lists the --base file generate copied here; generate copies it again on every run.\nresources:\n  - " + name + "\n")
	return useCopiedBase([]fileset.File{
		{Name: embeddedBaseDir + "/" + name, Data: data, Mode: fileset.Public},
		{Name: embeddedBaseDir + "/kustomization.yaml", Data: kustomization, Mode: fileset.Public},
	}, sel, path)
}

// useCopiedBase builds a base that the overlay carries in its base/ folder and finds Kestra in it. Its
// kustomization lists resources only (ours, around a manifest file or the embedded base): it merges nothing.
func useCopiedBase(files []fileset.File, sel kestra.Selection, baseName string) (*base, error) {
	memory := filesys.MakeFsInMemory()
	for _, file := range files {
		if err := memory.WriteFile("/"+file.Name, file.Data); err != nil {
			return nil, err
		}
	}
	built, err := kustomize.Run(memory, "/"+embeddedBaseDir, krusty.MakeDefaultOptions())
	if err != nil {
		return nil, explainAccumulation("--base "+baseName, err)
	}
	install, err := findKestra(built, sel, baseName)
	if err != nil {
		return nil, err
	}
	return &base{Ref: embeddedBaseDir, Files: files, Install: install, Objects: objectsOf(built)}, nil
}

var (
	duplicateObject = regexp.MustCompile(`already registered id: (\w+)\.[^/]*/([^.\s']+)`)
	namelessObject  = regexp.MustCompile(`missing metadata\.name in object \{\{[^ ]* (\w+)\}`)
)

// explainAccumulation names the object kustomize could not take from a manifest file, instead of its
// "accumulating resources ... must build at directory: ... file is not directory".
func explainAccumulation(flag string, err error) error {
	if match := duplicateObject.FindStringSubmatch(err.Error()); match != nil {
		return fmt.Errorf("%s holds %s %s twice: the API server keeps one object of a name, so remove the other copy", flag, match[1], match[2])
	}
	if match := namelessObject.FindStringSubmatch(err.Error()); match != nil {
		return fmt.Errorf("%s holds a %s with no metadata.name: name it, or remove it", flag, match[1])
	}
	return fmt.Errorf("%s is not a manifest file kustomize can read: %v", flag, err)
}

func objectsOf(built resmap.ResMap) []map[string]any {
	var objects []map[string]any
	for _, res := range built.Resources() {
		if object, err := res.Map(); err == nil {
			objects = append(objects, object)
		}
	}
	return objects
}

func findKestra(built resmap.ResMap, sel kestra.Selection, baseName string) (*kestra.Install, error) {
	var objects []kestra.Object
	for _, res := range built.Resources() {
		switch res.GetKind() {
		case "Deployment", "StatefulSet", "Service":
		default:
			continue
		}
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		objects = append(objects, kestra.Object{Kind: res.GetKind(), Name: res.GetName(), JSON: data})
	}
	return kestra.Find(objects, sel, baseName)
}

// embeddedBase returns the default base's files from the embedded templates.
func embeddedBase(templates fs.FS) ([]fileset.File, error) {
	var files []fileset.File
	err := fs.WalkDir(templates, embeddedBaseDir, func(p string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates, p)
		files = append(files, fileset.File{Name: p, Data: data, Mode: fileset.Public})
		return err
	})
	return files, err
}
