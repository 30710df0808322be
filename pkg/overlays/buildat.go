package overlays

import (
	"fmt"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// BuildAt builds the overlay as it will be once written into dir, without writing anything: its files are
// read from memory, everything else (the base, what the base refers to) from disk. generate calls it before
// it writes, so that an overlay that does not build is never reported as done, nor left on disk.
func (o *Overlay) BuildAt(dir string) (resmap.ResMap, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	memory := filesys.MakeFsInMemory()
	put := func(prefix string, files []fileset.File) error {
		for _, file := range files {
			if err := memory.WriteFile(filepath.Join(root, prefix, filepath.FromSlash(file.Name)), file.Data); err != nil {
				return err
			}
		}
		return nil
	}
	if o.Material != nil {
		if err := put(CertsDir, o.Material.Files); err != nil {
			return nil, err
		}
	}
	if err := put(CertsDir, o.CertsFiles); err != nil {
		return nil, err
	}
	if err := put("", o.Files); err != nil {
		return nil, err
	}
	return krusty.MakeKustomizer(kubectlOptions()).Run(overlayFS{FileSystem: filesys.MakeFsOnDisk(), memory: memory, root: root}, root)
}

// overlayFS reads the overlay folder from memory and the rest of the machine from disk.
type overlayFS struct {
	filesys.FileSystem // the disk
	memory             filesys.FileSystem
	root               string
}

func (f overlayFS) pick(path string) filesys.FileSystem {
	abs := path
	if !filepath.IsAbs(abs) {
		if a, err := filepath.Abs(path); err == nil {
			abs = a
		}
	}
	if abs == f.root || strings.HasPrefix(abs, f.root+string(filepath.Separator)) {
		return f.memory
	}
	return f.FileSystem
}

func (f overlayFS) Open(path string) (filesys.File, error) { return f.pick(path).Open(path) }
func (f overlayFS) IsDir(path string) bool                 { return f.pick(path).IsDir(path) }
func (f overlayFS) ReadDir(path string) ([]string, error)  { return f.pick(path).ReadDir(path) }
func (f overlayFS) Exists(path string) bool                { return f.pick(path).Exists(path) }
func (f overlayFS) ReadFile(path string) ([]byte, error)   { return f.pick(path).ReadFile(path) }
func (f overlayFS) Glob(pattern string) ([]string, error)  { return f.pick(pattern).Glob(pattern) }
func (f overlayFS) Walk(path string, walkFn filepath.WalkFunc) error {
	return f.pick(path).Walk(path, walkFn)
}
func (f overlayFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	return f.pick(path).CleanedAbs(path)
}

// Writes never happen in a build; refuse them rather than touch the disk.
func (f overlayFS) Create(path string) (filesys.File, error) { return nil, readOnly(path) }
func (f overlayFS) Mkdir(path string) error                  { return readOnly(path) }
func (f overlayFS) MkdirAll(path string) error               { return readOnly(path) }
func (f overlayFS) RemoveAll(path string) error              { return readOnly(path) }
func (f overlayFS) WriteFile(path string, _ []byte) error    { return readOnly(path) }

func readOnly(path string) error {
	return fmt.Errorf("%s: the build check reads only", path)
}
