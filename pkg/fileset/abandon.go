package fileset

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
)

// ErrAbandoned is what a Write returns once the process is being stopped (Abandon).
var ErrAbandoned = errors.New("interrupted: nothing more is written")

// A command that a signal stops may be deep in work that does not look at its context (a kustomize build,
// a read from a FIFO). The process then ends without waiting for it, but never in the middle of a commit:
// sections (a Write's renames, or several Writes that belong together) finish first, and what was staged
// outside one is removed, so that the folders are as the last finished section left them.
var state = struct {
	sync.Mutex
	changed   *sync.Cond
	active    int
	abandoned bool
	staged    map[string]bool
	held      map[*Held]bool
}{staged: map[string]bool{}, held: map[*Held]bool{}}

func init() { state.changed = sync.NewCond(&state.Mutex) }

// Section marks work that must finish once begun, such as writing a CA and the certificate it signed. It
// fails once Abandon has run; otherwise call the returned end when done. Sections nest.
func Section() (end func(), err error) {
	state.Lock()
	defer state.Unlock()
	if state.abandoned {
		return nil, ErrAbandoned
	}
	state.active++
	var once sync.Once
	return func() {
		once.Do(func() {
			state.Lock()
			state.active--
			state.changed.Broadcast()
			state.Unlock()
		})
	}, nil
}

// Abandon prepares the process to exit at once: it waits for the sections under way, refuses new ones,
// removes the temporary files of Writes that had not reached their commit, and releases the folders this
// process locked (removing those it created and left empty). Call it last, right before os.Exit.
func Abandon() {
	state.Lock()
	defer state.Unlock()
	state.abandoned = true
	for state.active > 0 {
		state.changed.Wait()
	}
	for path := range state.staged {
		os.Remove(path)
	}
	for held := range state.held {
		held.release()
	}
}

// createStaged creates a temporary file for base in dir, known to Abandon from the moment it exists.
func createStaged(dir, base string) (*os.File, error) {
	state.Lock()
	defer state.Unlock()
	if state.abandoned {
		return nil, ErrAbandoned
	}
	for {
		path := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d", base, rand.Uint32()))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err == nil {
			state.staged[path] = true
		}
		return f, err
	}
}

// unstaged forgets a temporary file that was renamed into place or removed.
func unstaged(path string) {
	state.Lock()
	delete(state.staged, path)
	state.Unlock()
}

func track(h *Held, on bool) {
	state.Lock()
	if on {
		state.held[h] = true
	} else {
		delete(state.held, h)
	}
	state.Unlock()
}
