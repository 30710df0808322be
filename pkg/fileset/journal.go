package fileset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// JournalFile records, while a Write renames its staged files into place, which temporary file becomes
// which target. Renames of several files cannot be one atomic step, and a run killed between two of them
// would leave a set that does not belong together (a CA key without its certificate). The journal is
// written only once every temporary file is complete and synced, so whoever finds it can finish the
// renames: the set is then wholly new, never half old and half new.
const JournalFile = ".kestra-tls-journal"

type journalEntry struct {
	Temp   string `json:"temp"`
	Target string `json:"target"`
}

// Recover finishes the Write a killed run left midway in dir, and in each folder directly below it (where
// a run writes its certs). Call it holding the folder's Lock, before reading anything there.
func Recover(dir string) error {
	if err := recoverDir(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // nothing there yet: nothing to finish
	}
	for _, entry := range entries {
		if entry.IsDir() {
			if err := recoverDir(filepath.Join(dir, entry.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func recoverDir(dir string) error {
	if err := finishJournal(dir); err != nil {
		return err
	}
	removeStagedLeftovers(dir)
	return nil
}

// removeStagedLeftovers deletes the temporary files of runs killed before their commit point: with the
// journal finished, nothing live stages here (the caller holds the lock), so every one is stale.
func removeStagedLeftovers(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, path := range stale {
		suffix := path[strings.LastIndex(path, ".tmp-")+len(".tmp-"):]
		if suffix != "" && strings.Trim(suffix, "0123456789") == "" {
			os.Remove(path)
		}
	}
}

func finishJournal(dir string) error {
	path := filepath.Join(dir, JournalFile)
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, Cause(err))
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: remove it, then run again", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, Cause(err))
	}
	var entries []journalEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return fmt.Errorf("%s is damaged (%v): remove it, check the files beside it, then run again", path, err)
	}
	for _, entry := range entries {
		if !journaled(entry) {
			return fmt.Errorf("%s names %q and %q, which no run of kestra-tls writes: remove it, then run again", path, entry.Temp, entry.Target)
		}
		temp := filepath.Join(dir, filepath.FromSlash(entry.Temp))
		if info, err := os.Lstat(temp); err != nil || !info.Mode().IsRegular() {
			continue // renamed before the run died
		}
		if err := os.Rename(temp, filepath.Join(dir, filepath.FromSlash(entry.Target))); err != nil {
			return fmt.Errorf("cannot finish the interrupted write in %s: %w (check the folder's permissions)", dir, Cause(err))
		}
	}
	syncDir(dir)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("cannot remove %s: %w", path, Cause(err))
	}
	return nil
}

// journaled accepts only what writeTemp stages: a file inside dir renamed onto its own target beside it.
// A journal planted by someone else thus never moves a file outside the folder or onto an unrelated name.
func journaled(entry journalEntry) bool {
	for _, name := range []string{entry.Temp, entry.Target} {
		if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) {
			return false
		}
	}
	targetDir, targetBase := filepath.Split(filepath.FromSlash(entry.Target))
	tempDir, tempBase := filepath.Split(filepath.FromSlash(entry.Temp))
	return tempDir == targetDir && strings.HasPrefix(tempBase, "."+targetBase+".tmp-")
}

// writeJournal is the commit point of a Write: before it, a killed run leaves only temporary files that
// the next run removes; after it, the next run finishes the renames.
func writeJournal(dir string, entries []journalEntry) error {
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	temp, err := writeTemp(dir, JournalFile, File{Data: data, Mode: Private})
	if err != nil {
		return err
	}
	defer unstaged(temp)
	if err := os.Rename(temp, filepath.Join(dir, JournalFile)); err != nil {
		os.Remove(temp)
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes renames in dir durable, so that a power cut cannot reorder the journal and the renames.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}
