// Package fileset writes a set of files into a directory so that a failure leaves no file half-written:
// every changed file is first written to a temporary file beside its target, then all are renamed, under a
// journal that lets the next run finish the renames of a run killed midway (see JournalFile).
package fileset

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// File is one file to write, Name relative to the directory (it may hold subdirectories).
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
}

// Private marks keys and passwords: readable by the owner alone.
const Private fs.FileMode = 0o600

// Store marks Java keystores and truststores: encrypted with the store password, and readable by every
// user, because Docker bind-mounts them into Kestra's container with the host's owner and mode, and the
// container runs as a non-root user of its image. They stay out of reach on the host through certs/ (0700).
const Store fs.FileMode = 0o644

// Public is for certificates and manifests.
const Public fs.FileMode = 0o644

// Result tells which files were written, which already held the same bytes, and which were removed.
type Result struct {
	Written   []string
	Unchanged []string
	Removed   []string
	// Kept are files of an earlier run that this one would have removed, had they not been edited since.
	Kept []string
}

// Write puts files into dir, creating it (and subdirectories) with dirMode. Files that already hold the
// same bytes and mode are not touched, so a re-run changes nothing on disk.
func Write(dir string, dirMode fs.FileMode, files []File) (Result, error) {
	var result Result
	if dirMode&0o077 == 0 {
		// A private folder (keys) must be the folder itself, not a link to one we did not choose.
		if info, err := os.Lstat(dir); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			return result, fmt.Errorf("%s is a symbolic link: kestra-tls writes keys only into a real folder (remove the link, or choose another output directory with -o)", dir)
		}
	}
	// Finishes a killed run's write, and removes what runs killed before their commit staged in dir.
	if err := recoverDir(dir); err != nil {
		return result, err
	}
	type staged struct {
		temp, target string
		file         File
	}
	var pending []staged
	cleanup := func() {
		for _, s := range pending {
			if s.temp != "" {
				os.Remove(s.temp)
				unstaged(s.temp)
			}
		}
	}
	for _, file := range files {
		target := filepath.Join(dir, filepath.FromSlash(file.Name))
		if parent := filepath.Dir(target); parent != dir {
			removeStagedLeftovers(parent) // a subfolder's, which recoverDir does not look into
		}
		if same(target, file) {
			result.Unchanged = append(result.Unchanged, file.Name)
			continue
		}
		parent := filepath.Dir(target)
		if err := os.MkdirAll(parent, dirMode); err != nil {
			return Result{}, fmt.Errorf("cannot create directory %s: %w (choose another output directory with -o)", parent, Cause(err))
		}
		pending = append(pending, staged{target: target, file: file})
	}
	// Stage every file at once: each fsync waits on the disk, and waiting together is faster.
	errs := make([]error, len(pending))
	var wg sync.WaitGroup
	for i := range pending {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			pending[i].temp, errs[i] = writeTemp(filepath.Dir(pending[i].target), filepath.Base(pending[i].target), pending[i].file)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			cleanup()
			return Result{}, fmt.Errorf("cannot write into %s: %w (choose another output directory with -o, or fix its permissions)", filepath.Dir(pending[i].target), Cause(err))
		}
	}
	// From the journal on, a signal waits for the renames: the files change together or not at all.
	end, err := Section()
	if err != nil {
		cleanup()
		return Result{}, err
	}
	defer end()
	journaled := len(pending) > 1
	if journaled {
		entries := make([]journalEntry, len(pending))
		for i, s := range pending {
			temp, _ := filepath.Rel(dir, s.temp)
			entries[i] = journalEntry{Temp: filepath.ToSlash(temp), Target: s.file.Name}
		}
		if err := writeJournal(dir, entries); err != nil {
			cleanup()
			return Result{}, fmt.Errorf("cannot write into %s: %w (choose another output directory with -o, or fix its permissions)", dir, Cause(err))
		}
	}
	for i, s := range pending {
		if err := os.Rename(s.temp, s.target); err != nil {
			cleanup()
			if journaled {
				os.Remove(filepath.Join(dir, JournalFile))
			}
			return Result{}, fmt.Errorf("cannot replace %s: %w (%d of %d files already replaced)", s.target, Cause(err), i, len(pending))
		}
		unstaged(s.temp)
		result.Written = append(result.Written, s.file.Name)
	}
	if journaled {
		syncDir(dir)
		if err := os.Remove(filepath.Join(dir, JournalFile)); err != nil {
			return Result{}, fmt.Errorf("cannot remove %s: %w", filepath.Join(dir, JournalFile), Cause(err))
		}
	}
	sort.Strings(result.Written)
	sort.Strings(result.Unchanged)
	return result, nil
}

func writeTemp(dir, base string, file File) (string, error) {
	f, err := createStaged(dir, base)
	if err != nil {
		return "", err
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		unstaged(name)
		return "", err
	}
	// Chmod before any byte lands, so a key is never readable by others, not even for a moment.
	if err := f.Chmod(file.Mode); err != nil {
		return fail(err)
	}
	if _, err := f.Write(file.Data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		unstaged(name)
		return "", err
	}
	return name, nil
}

// same is false for anything but a regular file, a symbolic link above all: the rename then replaces the
// link itself, so that a link planted beside our files never makes us write (or keep) a key elsewhere.
func same(target string, file File) bool {
	info, err := os.Lstat(target)
	if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != file.Mode.Perm() || info.Size() != int64(len(file.Data)) {
		return false
	}
	existing, err := os.ReadFile(target)
	return err == nil && bytes.Equal(existing, file.Data)
}

// Cause is the reason inside a *fs.PathError ("no such file or directory"), for messages that name the path
// themselves.
func Cause(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}
