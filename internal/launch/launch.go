// Package launch runs kestra-tls-engine, the binary beside the plugin's that holds every command, with the
// plugin's arguments, environment and standard streams.
package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// EngineName is the engine's file name, beside kubectl-kestra_tls.
func EngineName() string {
	if runtime.GOOS == "windows" {
		return "kestra-tls-engine.exe"
	}
	return "kestra-tls-engine"
}

// Path is the engine beside the running plugin (symbolic links resolved, as krew links the plugin into its
// bin folder), else on PATH.
func Path() (string, error) {
	self, err := os.Executable()
	if err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		beside := filepath.Join(filepath.Dir(self), EngineName())
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	if found, err := exec.LookPath(EngineName()); err == nil {
		return found, nil
	}
	return "", fmt.Errorf("%s is missing beside %s: kubectl-kestra_tls installs as two files, both from the same archive (krew installs both: kubectl krew reinstall kestra-tls; in a clone: make build, or go run ./cmd/kestra-tls-engine with the same arguments)", EngineName(), self)
}

// Engine runs the engine with args and does not return when it can replace the process; otherwise it
// returns the engine's outcome (an *exec.ExitError carries its exit code).
func Engine(args []string) error {
	path, err := Path()
	if err != nil {
		return err
	}
	return run(path, args)
}

// Ran tells an error the engine returned by exiting (it said why itself) from one that kept it from running.
func Ran(err error) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit)
}

// ExitCode is the engine's exit code, or 1.
func ExitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 1
}
