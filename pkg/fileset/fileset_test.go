package fileset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteSkipsUnchangedFilesAndRewritesChangedOnes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	files := []File{{Name: "a.pem", Data: []byte("a"), Mode: Public}, {Name: "sub/b.key", Data: []byte("b"), Mode: Private}}
	first, err := Write(dir, 0o700, files)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Written: []string{"a.pem", "sub/b.key"}}, first); diff != "" {
		t.Errorf("first write (-want +got):\n%s", diff)
	}
	files[1].Data = []byte("b2")
	second, err := Write(dir, 0o700, files)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Written: []string{"sub/b.key"}, Unchanged: []string{"a.pem"}}, second); diff != "" {
		t.Errorf("second write (-want +got):\n%s", diff)
	}
	info, _ := os.Stat(filepath.Join(dir, "sub", "b.key"))
	if info.Mode().Perm() != Private {
		t.Errorf("mode = %v", info.Mode().Perm())
	}
}

func TestWriteFailureLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	// "blocker" is a file, so "blocker/x" can't be created: the second file fails after the first is staged.
	os.WriteFile(filepath.Join(dir, "blocker"), nil, 0o600)
	_, err := Write(dir, 0o700, []File{{Name: "first", Data: []byte("1"), Mode: Public}, {Name: "blocker/x", Data: []byte("2"), Mode: Public}})
	if err == nil {
		t.Fatal("no error")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	if diff := cmp.Diff([]string{"blocker"}, names); diff != "" {
		t.Errorf("files left behind (-want +got):\n%s", diff)
	}
}

// TestPlantedLinksAreNeverFollowedForWriting: a link planted where a key goes is replaced, not written
// through; a private folder that is itself a link is refused.
func TestPlantedLinksAreNeverFollowedForWriting(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(t.TempDir(), "elsewhere.key")
	os.WriteFile(elsewhere, []byte("secret"), 0o600)
	os.Symlink(elsewhere, filepath.Join(dir, "server.key"))
	if _, err := Write(dir, 0o700, []File{{Name: "server.key", Data: []byte("secret"), Mode: Private}}); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Lstat(filepath.Join(dir, "server.key")); info.Mode()&os.ModeSymlink != 0 {
		t.Error("the planted link is still there: same bytes through a link counted as unchanged")
	}
	linked := filepath.Join(t.TempDir(), "certs")
	os.Symlink(t.TempDir(), linked)
	if _, err := Write(linked, 0o700, []File{{Name: "server.key", Data: []byte("x"), Mode: Private}}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("writing keys into a linked folder = %v, want a refusal", err)
	}
}

// killedMidRename leaves dir the way a Write killed after its commit point leaves it: every file staged,
// the journal written, the first rename done, the others not.
func killedMidRename(t *testing.T, dir string, files []File) {
	t.Helper()
	var entries []journalEntry
	for _, file := range files {
		temp, err := writeTemp(dir, file.Name, file)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, journalEntry{Temp: filepath.Base(temp), Target: file.Name})
	}
	if err := writeJournal(dir, entries); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, entries[0].Temp), filepath.Join(dir, entries[0].Target)); err != nil {
		t.Fatal(err)
	}
}

func TestAWriteKilledMidRenameIsFinishedByRecover(t *testing.T) {
	for name, finish := range map[string]func(dir string) error{
		"Recover on the parent folder, as Lock does": func(dir string) error { return Recover(filepath.Dir(dir)) },
		"the next Write into the same folder": func(dir string) error {
			_, err := Write(dir, 0o700, []File{{Name: "other", Data: []byte("x"), Mode: Public}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			old := []File{{Name: "ca.pem", Data: []byte("old cert"), Mode: Public}, {Name: "ca.key", Data: []byte("old key"), Mode: Private}}
			if _, err := Write(dir, 0o700, old); err != nil {
				t.Fatal(err)
			}
			killedMidRename(t, dir, []File{{Name: "ca.pem", Data: []byte("new cert"), Mode: Public}, {Name: "ca.key", Data: []byte("new key"), Mode: Private}})
			if err := finish(dir); err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{"ca.pem": "new cert", "ca.key": "new key"} {
				if got, _ := os.ReadFile(filepath.Join(dir, file)); string(got) != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			if info, _ := os.Stat(filepath.Join(dir, "ca.key")); info.Mode().Perm() != Private {
				t.Errorf("ca.key mode = %v", info.Mode().Perm())
			}
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if len(leftovers) > 0 {
				t.Errorf("left behind: %v", leftovers)
			}
		})
	}
}

func TestStagedFilesWithoutAJournalAreDiscarded(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, 0o700, []File{{Name: "ca.key", Data: []byte("old key"), Mode: Private}}); err != nil {
		t.Fatal(err)
	}
	// Killed before the commit point: the new key was staged, never committed.
	if _, err := writeTemp(dir, "ca.key", File{Data: []byte("new key"), Mode: Private}); err != nil {
		t.Fatal(err)
	}
	if err := Recover(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, 0o700, []File{{Name: "ca.key", Data: []byte("old key"), Mode: Private}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "ca.key")); string(got) != "old key" {
		t.Errorf("ca.key = %q", got)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) > 0 {
		t.Errorf("left behind: %v", leftovers)
	}
}

func TestAPlantedJournalNeverMovesFilesOutsideTheFolder(t *testing.T) {
	for name, journal := range map[string]string{
		"a target above the folder":          `[{"temp":".x.tmp-1","target":"../x"}]`,
		"a temporary file that is not ours":  `[{"temp":"notes.txt","target":"ca.key"}]`,
		"a temporary file of another target": `[{"temp":".ca.pem.tmp-1","target":"ca.key"}]`,
		"an absolute target":                 `[{"temp":".x.tmp-1","target":"/etc/x"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
			os.WriteFile(filepath.Join(dir, ".x.tmp-1"), []byte("x"), 0o600)
			os.WriteFile(filepath.Join(dir, ".ca.pem.tmp-1"), []byte("x"), 0o600)
			os.WriteFile(filepath.Join(dir, JournalFile), []byte(journal), 0o600)
			err := Recover(dir)
			if err == nil || !strings.Contains(err.Error(), "remove it") {
				t.Fatalf("err = %v, want a refusal that says to remove the journal", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "ca.key")); err == nil {
				t.Error("a file was moved onto ca.key")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); err == nil {
				t.Error("a file was moved outside the folder")
			}
		})
	}
}
