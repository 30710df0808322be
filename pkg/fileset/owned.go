package fileset

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// OwnedFile lists, in a folder a command writes, every file it wrote and the SHA-256 of what it wrote, in
// sha256sum's format (`sha256sum -c` checks it). A re-run replaces or removes only files listed there and
// still as written; anything else in the way is the user's, and is never replaced without being asked.
const OwnedFile = ".kestra-tls-files"

// Owned is a folder's list of written files: name (slash-separated, relative to the folder) to SHA-256.
type Owned map[string]string

// Sum is the hex SHA-256 of data, as Owned records it.
func Sum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ReadOwned reads dir's list; found is false where there is none (a new folder, or one an earlier
// version wrote).
func ReadOwned(dir string) (owned Owned, found bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, OwnedFile))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return Owned{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot read %s: %w", filepath.Join(dir, OwnedFile), Cause(err))
	}
	owned = Owned{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, false, fmt.Errorf("%s: line %q is not `SHA256  NAME`: remove the file to start the folder over, or restore it from git", filepath.Join(dir, OwnedFile), line)
		}
		owned[name] = sum
	}
	return owned, true, nil
}

// File is the list as a file to write with the others.
func (o Owned) File() File {
	names := make([]string, 0, len(o))
	for name := range o {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Files kubectl kestra-tls wrote here, with their SHA-256: it replaces or removes only these, and only\n# while unedited (uninstall --delete-local too). Check them with: sha256sum -c " + OwnedFile + "\n")
	for _, name := range names {
		b.WriteString(o[name] + "  " + name + "\n")
	}
	return File{Name: OwnedFile, Data: []byte(b.String()), Mode: Public}
}

// State is what a file on disk is to the command that would write it.
type State int

const (
	// Absent: nothing there.
	Absent State = iota
	// Ours: written by us and unedited since, or already holding the bytes to write.
	Ours
	// Edited: written by us, changed since.
	Edited
	// Foreign: there before us, or written by something else.
	Foreign
)

// StateOf tells what name (relative to dir) is: legacy says which names an earlier version that kept no
// list may have written, for a folder without one.
func (o Owned) StateOf(dir, name string, legacy func(string) bool) State {
	path := filepath.Join(dir, filepath.FromSlash(name))
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Absent
	}
	if err != nil || !info.Mode().IsRegular() {
		return Foreign
	}
	want, listed := o[name]
	if !listed {
		if legacy != nil && legacy(name) {
			return Ours
		}
		return Foreign
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Foreign
	}
	if Sum(data) != want {
		return Edited
	}
	return Ours
}

// ConflictError names the files a write would replace that are not its own to replace.
type ConflictError struct {
	Dir     string
	Foreign []string
	Edited  []string
	// Advice says how to go ahead, for the command that met the conflict; {them} stands for "it" or "them".
	Advice string
}

func (e *ConflictError) Error() string {
	var parts []string
	if len(e.Foreign) > 0 {
		parts = append(parts, fmt.Sprintf("%s would replace %s, which kestra-tls did not write", e.Dir, quoteAll(e.Dir, e.Foreign)))
	}
	if len(e.Edited) > 0 {
		parts = append(parts, fmt.Sprintf("%s would replace %s, edited since kestra-tls wrote %s", e.Dir, quoteAll(e.Dir, e.Edited), them(e.Edited)))
	}
	return strings.Join(parts, "; ") + ": " + strings.ReplaceAll(e.Advice, "{them}", them(append(e.Foreign, e.Edited...)))
}

func them(names []string) string {
	if len(names) == 1 {
		return "it"
	}
	return "them"
}

func quoteAll(dir string, names []string) string {
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = filepath.Join(dir, filepath.FromSlash(name))
	}
	return strings.Join(quoted, ", ")
}

// Conflicts are the files among names (relative to dir) that differ from data and are not ours to replace.
func (o Owned) Conflicts(dir string, files []File, legacy func(string) bool) (foreign, edited []string) {
	for _, file := range files {
		// Re-running with the same input is always safe (a mode that differs is ours to mend).
		if existing, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file.Name))); err == nil && bytes.Equal(existing, file.Data) {
			continue
		}
		switch o.StateOf(dir, file.Name, legacy) {
		case Foreign:
			foreign = append(foreign, file.Name)
		case Edited:
			edited = append(edited, file.Name)
		}
	}
	return foreign, edited
}
