//go:build !windows

package launch

import (
	"os"
	"syscall"
)

// run replaces the plugin's process with the engine's: same PID, signals and terminal, so that kubectl
// and the shell see one program.
func run(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}
