//go:build windows

package launch

import (
	"os"
	"os/exec"
)

// run starts the engine as a child with the plugin's streams (Windows cannot replace a process), and
// exits with its code.
func run(path string, args []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if err == nil {
		os.Exit(0)
	}
	return err
}
