//go:build unix

package fileset

import (
	"errors"
	"os"
	"syscall"
)

// lock takes an exclusive flock on the folder itself: no lock file to leave behind, and the kernel drops
// the lock when a run dies, even by SIGKILL.
func (h *Held) lock(waiting func()) error {
	file, err := os.Open(h.dir)
	if err != nil {
		return err
	}
	h.file = file
	err = syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if waiting != nil {
			waiting()
		}
		err = syscall.Flock(int(file.Fd()), syscall.LOCK_EX)
	}
	return err
}

func (h *Held) unlock() {
	if h.file != nil {
		_ = syscall.Flock(int(h.file.Fd()), syscall.LOCK_UN)
		h.file.Close()
		h.file = nil
	}
}
