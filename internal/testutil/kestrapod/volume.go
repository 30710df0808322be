package kestrapod

import (
	"bytes"

	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The kubelet's atomic writer (kubernetes pkg/volume/util/atomic_writer.go) lays a ConfigMap or Secret
// volume out as a folder of symbolic links: each file is NAME -> ..data/NAME, ..data -> ..TIMESTAMP, and
// ..TIMESTAMP holds the files. An update writes a new ..TIMESTAMP folder, points ..data_tmp at it and renames
// ..data_tmp over ..data, the one atomic step: a reader sees every file old or every file new, and a watcher
// of NAME itself sees no event, since NAME never changes.
const (
	dataDir    = "..data"
	dataDirTmp = "..data_tmp"
)

// layOutVolume writes files (names relative to the mount) into dir as the kubelet's atomic writer does.
func layOutVolume(t testing.TB, dir string, files map[string]File) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stamp := writeTimestamped(t, dir, files)
	if err := os.Symlink(stamp, filepath.Join(dir, dataDir)); err != nil {
		t.Fatal(err)
	}
	linkUserFiles(t, dir, files)
}

// writeTimestamped writes the payload into a new ..TIMESTAMP folder of dir and returns its name.
func writeTimestamped(t testing.TB, dir string, files map[string]File) string {
	t.Helper()
	stamp, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stamp, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		writeFile(t, filepath.Join(stamp, filepath.FromSlash(name)), f)
	}
	return filepath.Base(stamp)
}

// linkUserFiles makes NAME -> ..data/NAME for each top-level name of the payload.
func linkUserFiles(t testing.TB, dir string, files map[string]File) {
	t.Helper()
	for _, top := range topNames(files) {
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDir, top), link); err != nil {
			t.Fatal(err)
		}
	}
}

func topNames(files map[string]File) []string {
	seen := map[string]bool{}
	var names []string
	for name := range files {
		top, _, _ := strings.Cut(name, "/")
		if !seen[top] {
			seen[top] = true
			names = append(names, top)
		}
	}
	sort.Strings(names)
	return names
}

func writeFile(t testing.TB, local string, f File) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(local, f.Data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(local, f.UID, f.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(local, f.Mode); err != nil {
		t.Fatal(err)
	}
}

// filesUnder are the files of p below the mount path dir, by name relative to it.
func (p *Process) filesUnder(dir string) map[string]File {
	files := map[string]File{}
	for name, f := range p.Files {
		if rel, ok := strings.CutPrefix(name, dir+"/"); ok {
			files[rel] = f
		}
	}
	return files
}

// Update brings the running container's volumes to what next (the same container, started from the objects
// as they are now) shows, as the kubelet does when a ConfigMap or Secret changes: whole-volume mounts get a
// new ..TIMESTAMP folder and the ..data swap; subPath mounts and the environment keep what they had at start,
// as in a real pod. It returns the mount paths it updated.
func (p *Process) Update(t testing.TB, next *Process) []string {
	t.Helper()
	root := p.LayOut(t)
	var updated []string
	for dir := range p.volumeDirs {
		old, now := p.filesUnder(dir), next.filesUnder(dir)
		if sameFiles(old, now) {
			continue
		}
		local := filepath.Join(root, filepath.FromSlash(dir))
		previous, err := os.Readlink(filepath.Join(local, dataDir))
		if err != nil {
			t.Fatal(err)
		}
		stamp := writeTimestamped(t, local, now)
		if err := os.Symlink(stamp, filepath.Join(local, dataDirTmp)); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(local, dataDirTmp), filepath.Join(local, dataDir)); err != nil {
			t.Fatal(err)
		}
		linkUserFiles(t, local, now)
		for _, top := range topNames(old) {
			if _, still := now[top]; !still && !hasPrefixName(now, top+"/") {
				os.Remove(filepath.Join(local, top))
			}
		}
		if err := os.RemoveAll(filepath.Join(local, previous)); err != nil {
			t.Fatal(err)
		}
		for name := range old {
			delete(p.Files, path.Join(dir, name))
		}
		for name, f := range now {
			p.Files[path.Join(dir, name)] = f
		}
		updated = append(updated, dir)
	}
	sort.Strings(updated)
	return updated
}

func sameFiles(a, b map[string]File) bool {
	if len(a) != len(b) {
		return false
	}
	for name, f := range a {
		g, ok := b[name]
		if !ok || !bytes.Equal(f.Data, g.Data) || f.Mode != g.Mode || f.UID != g.UID || f.GID != g.GID {
			return false
		}
	}
	return true
}

func hasPrefixName(files map[string]File, prefix string) bool {
	for name := range files {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

func (p *Process) volumeDirOf(name string) (string, bool) {
	for dir := range p.volumeDirs {
		if strings.HasPrefix(name, dir+"/") {
			return dir, true
		}
	}
	return "", false
}
