package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// WaitingFor tells the user why a run pauses: another one holds the output folder.
func WaitingFor(out io.Writer, dir string) func() {
	return func() { fmt.Fprintf(out, "waiting for another kestra-tls run that is writing %s\n", dir) }
}

// LockOutputs holds the output folder and, when it lies elsewhere, the shared CA folder (--ca-dir), so
// that two runs sharing a CA never mint two, and a CA write a killed run left midway is finished before
// the CA is read. Folders are always taken in that order, output first.
func LockOutputs(out io.Writer, dir string, mode os.FileMode, caDir string) (release func(), err error) {
	held, err := fileset.Lock(dir, mode, WaitingFor(out, dir))
	if err != nil {
		return nil, err
	}
	if caDir == "" || within(dir, caDir) {
		return held.Release, nil
	}
	heldCA, err := fileset.Lock(caDir, 0o700, WaitingFor(out, caDir))
	if err != nil {
		held.Release()
		return nil, err
	}
	return func() { heldCA.Release(); held.Release() }, nil
}

func within(dir, path string) bool {
	dirAbs, err1 := filepath.Abs(dir)
	pathAbs, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(dirAbs, pathAbs)
	return err == nil && filepath.IsLocal(rel)
}
