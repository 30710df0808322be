//go:build !unix

package fileset

// On Windows a folder cannot be flocked: concurrent runs into one -o are not serialised there.
func (h *Held) lock(waiting func()) error { return nil }

func (h *Held) unlock() {}
