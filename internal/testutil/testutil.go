// Package testutil finds the real programs the tests run: kubectl on the machine and the one built into
// bin/ by the tools module.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir is where `make tools` builds kube-apiserver, etcd and kubectl.
func BinDir() string { return filepath.Join(RepoRoot(), "bin") }

// Kubectls returns every real kubectl available: the machine's and bin/kubectl (v1.37 from the tools
// module). It fails the test when there is none: the tests that call it prove compatibility with kubectl.
func Kubectls(t testing.TB) []string {
	t.Helper()
	var found []string
	if path, err := exec.LookPath("kubectl"); err == nil {
		found = append(found, path)
	}
	if built := filepath.Join(BinDir(), "kubectl"); fileExists(built) {
		found = append(found, built)
	}
	if len(found) == 0 {
		t.Fatal("no kubectl: run `make tools` (builds bin/kubectl) or install kubectl")
	}
	return found
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
