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
