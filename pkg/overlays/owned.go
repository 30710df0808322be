package overlays

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// The files of the output folder that are generate's: listed with their digests in fileset.OwnedFile,
// replaced and removed only while unedited; anything else is the user's.

// allFiles are the files Write puts into the folder, named from it.
func (o *Overlay) allFiles() []fileset.File {
	var files []fileset.File
	var certs []fileset.File
	if o.Material != nil {
		certs = append(certs, o.Material.Files...)
	}
	for _, file := range append(certs, o.CertsFiles...) {
		files = append(files, fileset.File{Name: CertsDir + "/" + file.Name, Data: file.Data, Mode: file.Mode})
	}
	return append(files, o.Files...)
}

// checkOwnership reads the folder's list of files it wrote, and refuses to replace anything else.
func (o *Overlay) checkOwnership(dir string) (fileset.Owned, func(string) bool, error) {
	owned, found, err := fileset.ReadOwned(dir)
	if err != nil {
		return nil, nil, err
	}
	var legacy func(string) bool
	if !found {
		legacy = legacyOwned(dir)
	}
	if o.overwrite {
		return owned, legacy, nil
	}
	files := o.allFiles()
	foreign, edited := owned.Conflicts(dir, files, legacy)
	foreign = append(foreign, otherKustomizations(dir, files)...)
	if len(foreign) == 0 && len(edited) == 0 {
		return owned, legacy, nil
	}
	advice := "move {them} away, or pass --overwrite to replace {them}, or write into another folder with -o"
	for _, name := range edited {
		switch {
		case !strings.HasPrefix(name, embeddedBaseDir+"/"):
		case o.baseGiven:
			advice = "generate copies --base into base/ on every run: make your edits in the --base file (or in values and --set) instead, then pass --overwrite to take the new copy; or write into another folder with -o"
		default:
			advice = "base/ holds kestra-tls's minimal demo Kestra, written again on every run: give your own Kestra manifests with --base instead, or pass --overwrite to take the demo back; or write into another folder with -o"
		}
	}
	return nil, nil, &fileset.ConflictError{Dir: dir, Foreign: foreign, Edited: edited, Advice: advice}
}

// otherKustomizations are the user's kustomization files in the folders where files writes one under
// another spelling: kustomize refuses a folder with two.
func otherKustomizations(dir string, files []fileset.File) []string {
	var found []string
	for _, file := range files {
		folder, name := path.Split(file.Name)
		if !slices.Contains(konfig.RecognizedKustomizationFileNames(), name) {
			continue
		}
		for _, other := range konfig.RecognizedKustomizationFileNames() {
			if other == name {
				continue
			}
			// Lstat, not Stat: on a case-insensitive disk "Kustomization" may be our own kustomization.yaml.
			if info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(folder+other))); err == nil && !sameFileAs(info, filepath.Join(dir, filepath.FromSlash(file.Name))) {
				found = append(found, folder+other)
			}
		}
	}
	return found
}

func sameFileAs(info fs.FileInfo, path string) bool {
	other, err := os.Lstat(path)
	return err == nil && os.SameFile(info, other)
}

// legacyOwned tells the files an earlier version of generate wrote into a folder without a list: the
// names it wrote, in a folder whose values.yaml it marked.
func legacyOwned(dir string) func(string) bool {
	previous, _ := os.ReadFile(filepath.Join(dir, ValuesFile))
	if !IsEarlierRun(previous) {
		return nil
	}
	return func(name string) bool {
		if slices.Contains(ourFiles, name) || name == ValuesFile || name == "kustomization.yaml" ||
			strings.HasPrefix(name, CertsDir+"/") || strings.HasPrefix(name, embeddedBaseDir+"/") {
			return true
		}
		for _, pattern := range stalePatterns {
			if matched, _ := filepath.Match(pattern, name); matched {
				return true
			}
		}
		return false
	}
}

// stalePatterns are the names of files of ours that some runs write and others don't.
var stalePatterns = []string{"patch-*.yaml", "ingress-*-backend.yaml", "*" + sopsSuffix}

// removeStale removes the files an earlier run wrote that this one did not, as long as they are unedited;
// it reports the edited ones it kept.
func removeStale(dir string, owned fileset.Owned, legacy func(string) bool, written fileset.Owned) (removed, kept []string) {
	candidates := slices.Collect(maps.Keys(owned))
	if legacy != nil {
		candidates = append(candidates, ourFiles...)
		for _, pattern := range stalePatterns {
			matches, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, match := range matches {
				candidates = append(candidates, filepath.Base(match))
			}
		}
	}
	slices.Sort(candidates)
	for _, name := range slices.Compact(candidates) {
		if _, ok := written[name]; ok {
			continue
		}
		if strings.HasPrefix(name, CertsDir+"/") {
			continue // kept in the list by Write
		}
		switch owned.StateOf(dir, name, legacy) {
		case fileset.Ours:
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err == nil {
				removed = append(removed, name)
			}
		case fileset.Edited:
			kept = append(kept, name)
		}
	}
	return removed, kept
}

// RemoveLocal deletes the files kestra-tls wrote into dir and that are unedited since, then the folders
// that leaves empty (dir included): never a file of the user's, such as the docker-compose.yml beside a
// Compose override. It returns what it removed and the files it kept: edited ones, and ones it did not write.
func RemoveLocal(dir string) (removed, kept []string, err error) {
	owned, found, err := fileset.ReadOwned(dir)
	if err != nil {
		return nil, nil, err
	}
	var legacy func(string) bool
	if !found {
		legacy = legacyOwned(dir)
	}
	err = filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if name == fileset.OwnedFile {
			return nil
		}
		if owned.StateOf(dir, name, legacy) == fileset.Ours {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("cannot remove %s: %w", path, fileset.Cause(err))
			}
			removed = append(removed, name)
		} else {
			kept = append(kept, name)
		}
		return nil
	})
	if err != nil {
		return removed, kept, err
	}
	// What is left of ours (edited files) stays listed, as written.
	left := fileset.Owned{}
	for _, name := range kept {
		if sum, ok := owned[name]; ok {
			left[name] = sum
		}
	}
	if len(left) == 0 {
		os.Remove(filepath.Join(dir, fileset.OwnedFile))
	} else if _, err := fileset.Write(dir, 0o755, []fileset.File{left.File()}); err != nil {
		return removed, kept, err
	}
	removeEmptyFolders(dir)
	return removed, kept, nil
}

// removeEmptyFolders removes dir's folders that hold nothing, deepest first, then dir if empty.
func removeEmptyFolders(dir string) {
	var folders []string
	filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err == nil && entry.IsDir() {
			folders = append(folders, path)
		}
		return nil
	})
	for i := len(folders) - 1; i >= 0; i-- {
		os.Remove(folders[i]) // fails, as it should, unless empty
	}
}
