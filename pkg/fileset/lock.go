package fileset

import (
	"errors"
	"fmt"
	"os"
)

// Lock holds a folder for one writer, so that two runs into the same output never mix their files (a CA
// from one, a keystore from the other). The folder is created if missing; Release removes it again when it
// was created here and is still empty (a run that failed wrote nothing), with mode. waiting is called once when another
// run holds the folder, before blocking until it is done.
func Lock(dir string, mode os.FileMode, waiting func()) (*Held, error) {
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, mode); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w (choose another output directory with -o)", dir, Cause(err))
	}
	held := &Held{dir: dir, created: created}
	track(held, true)
	if err := held.lock(waiting); err != nil {
		held.Release()
		return nil, fmt.Errorf("cannot lock %s for writing: %w", dir, Cause(err))
	}
	// Holding the folder, finish what a killed run left midway before anyone reads the files.
	if err := Recover(dir); err != nil {
		held.Release()
		return nil, err
	}
	return held, nil
}

// Held is a locked folder.
type Held struct {
	dir     string
	created bool
	file    *os.File
}

// Release unlocks the folder, and removes it when this run created it and left it empty.
func (h *Held) Release() {
	if h == nil {
		return
	}
	track(h, false)
	h.release()
}

func (h *Held) release() {
	h.unlock()
	if h.created {
		os.Remove(h.dir) // fails, as it should, unless empty
	}
}
