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
func EngineName() string { return Executable("kestra-tls-engine") }

// ComposeReaderName is the file name of the binary that reads Compose projects (cmd/kestra-tls-compose),
// beside the engine: only `generate --target compose` runs it, so no other command initializes compose-go
// and its JSON Schema compiler.
func ComposeReaderName() string { return Executable("kestra-tls-compose") }

// Executable is name as the platform spells an executable.
func Executable(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// Path is the engine beside the running plugin, else on PATH.
func Path() (string, error) { return Beside(EngineName()) }

// Beside is the executable name in the running binary's folder (symbolic links resolved, as krew links the
// plugin into its bin folder), else on PATH.
func Beside(name string) (string, error) {
	self, err := os.Executable()
	if err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		beside := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	if found, err := exec.LookPath(name); err == nil {
		return found, nil
	}
	inClone := "make build, which puts them in bin/"
	if name == EngineName() {
		inClone += ", or go run ./cmd/kestra-tls-engine with the same arguments"
	}
	return "", fmt.Errorf("%s is missing beside %s: kubectl-kestra_tls installs as three files (kubectl-kestra_tls, %s, %s), all from the same archive (krew installs them: kubectl krew reinstall kestra-tls; in a clone: %s)", name, self, EngineName(), ComposeReaderName(), inClone)
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
