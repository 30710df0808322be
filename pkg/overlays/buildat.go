package overlays

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize"
)

// BuildAt builds the overlay as it will be once written into dir, without writing anything: its files are
// read from memory, everything else (the base, what the base refers to) from disk. generate calls it before
// it writes, so that an overlay that does not build is never reported as done, nor left on disk.
func (o *Overlay) BuildAt(dir string) (resmap.ResMap, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	memory := map[string][]byte{}
	put := func(prefix string, files []fileset.File) {
		for _, file := range files {
			memory[filepath.Join(root, prefix, filepath.FromSlash(file.Name))] = file.Data
		}
	}
	if o.Material != nil {
		put(CertsDir, o.Material.Files)
	}
	put(CertsDir, o.CertsFiles)
	put("", o.Files)
	fSys := overlayFS{FileSystem: filesys.MakeFsOnDisk(), files: memory, root: root}
	return kustomize.Run(fSys, root, kustomize.Options())
}

// overlayFS reads the overlay folder from memory and the rest of the machine from disk. Its own map rather
// than kustomize's in-memory file system, which refuses folder names with spaces or commas.
type overlayFS struct {
	filesys.FileSystem // the disk
	files              map[string][]byte
	root               string
}

func (f overlayFS) inOverlay(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path, false
	}
	return abs, abs == f.root || strings.HasPrefix(abs, f.root+string(filepath.Separator))
}

func (f overlayFS) isDir(abs string) bool {
	if abs == f.root {
		return true
	}
	for name := range f.files {
		if strings.HasPrefix(name, abs+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (f overlayFS) IsDir(path string) bool {
	if abs, ok := f.inOverlay(path); ok {
		return f.isDir(abs)
	}
	return f.FileSystem.IsDir(path)
}

func (f overlayFS) Exists(path string) bool {
	if abs, ok := f.inOverlay(path); ok {
		_, isFile := f.files[abs]
		return isFile || f.isDir(abs)
	}
	return f.FileSystem.Exists(path)
}

func (f overlayFS) ReadFile(path string) ([]byte, error) {
	if abs, ok := f.inOverlay(path); ok {
		if data, ok := f.files[abs]; ok {
			return data, nil
		}
		return nil, &os.PathError{Op: "read", Path: path, Err: os.ErrNotExist}
	}
	return f.FileSystem.ReadFile(path)
}

func (f overlayFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	abs, ok := f.inOverlay(path)
	if !ok {
		return f.FileSystem.CleanedAbs(path)
	}
	if f.isDir(abs) {
		return filesys.ConfirmedDir(abs), "", nil
	}
	if _, isFile := f.files[abs]; isFile {
		return filesys.ConfirmedDir(filepath.Dir(abs)), filepath.Base(abs), nil
	}
	return "", "", &os.PathError{Op: "stat", Path: path, Err: os.ErrNotExist}
}

func (f overlayFS) ReadDir(path string) ([]string, error) {
	abs, ok := f.inOverlay(path)
	if !ok {
		return f.FileSystem.ReadDir(path)
	}
	seen := map[string]bool{}
	for name := range f.files {
		if rel, err := filepath.Rel(abs, name); err == nil && filepath.IsLocal(rel) {
			seen[strings.Split(rel, string(filepath.Separator))[0]] = true
		}
	}
	var names []string
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (f overlayFS) Glob(pattern string) ([]string, error) {
	if _, ok := f.inOverlay(pattern); !ok {
		return f.FileSystem.Glob(pattern)
	}
	var matches []string
	for name := range f.files {
		if ok, _ := filepath.Match(pattern, name); ok {
			matches = append(matches, name)
		}
	}
	sort.Strings(matches)
	return matches, nil
}

// Open, Walk and writes are not what a build of an overlay does; refuse them in the overlay rather than
// touch the disk.
func (f overlayFS) Open(path string) (filesys.File, error) {
	if _, ok := f.inOverlay(path); ok {
		return nil, notInBuild(path)
	}
	return f.FileSystem.Open(path)
}
func (f overlayFS) Walk(path string, walkFn filepath.WalkFunc) error {
	if _, ok := f.inOverlay(path); ok {
		return notInBuild(path)
	}
	return f.FileSystem.Walk(path, walkFn)
}
func (f overlayFS) Create(path string) (filesys.File, error) { return nil, notInBuild(path) }
func (f overlayFS) Mkdir(path string) error                  { return notInBuild(path) }
func (f overlayFS) MkdirAll(path string) error               { return notInBuild(path) }
func (f overlayFS) RemoveAll(path string) error              { return notInBuild(path) }
func (f overlayFS) WriteFile(path string, _ []byte) error    { return notInBuild(path) }

func notInBuild(path string) error {
	return fmt.Errorf("%s: the build check only reads", path)
}
