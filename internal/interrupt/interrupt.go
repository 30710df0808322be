// Package interrupt stops a command on SIGINT or SIGTERM within a second, whatever it is doing: the
// command's context is cancelled at once, and a command still running after Grace (inside a kustomize
// build, or blocked reading a FIFO, neither of which looks at a context) is ended with the exit code a
// shell reports for the signal, once fileset has finished any commit under way and dropped what was staged.
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// Grace is how long a command has to return by itself after the signal.
const Grace = 500 * time.Millisecond

// Signal is the cause of a context that a signal cancelled.
type Signal struct{ Signal syscall.Signal }

func (s *Signal) Error() string { return "interrupted by " + name(s.Signal) }

// ExitCode is what a shell reports for a process the signal ended: 130 for SIGINT, 143 for SIGTERM.
func (s *Signal) ExitCode() int { return 128 + int(s.Signal) }

func name(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// Context is parent, cancelled by the first SIGINT or SIGTERM with a *Signal as its cause. A command that
// has not returned Grace later, or a second signal, ends the process: errOut then gets one line. stop
// restores the default handling.
func Context(parent context.Context, errOut io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var sig syscall.Signal
		select {
		case received := <-signals:
			sig = received.(syscall.Signal)
		case <-done:
			return
		}
		cause := &Signal{Signal: sig}
		cancel(cause)
		select {
		case <-time.After(Grace):
		case <-signals:
		case <-done:
			return
		}
		fileset.Abandon()
		fmt.Fprintf(errOut, "error: %s\n", cause)
		os.Exit(cause.ExitCode())
	}()
	return ctx, func() {
		signal.Stop(signals)
		select {
		case <-done:
		default:
			close(done)
		}
		cancel(nil)
	}
}

// ExitCode is the signal's exit code when one stopped ctx, whatever error the command returned.
func ExitCode(ctx context.Context) (int, bool) {
	var sig *Signal
	if errors.As(context.Cause(ctx), &sig) {
		return sig.ExitCode(), true
	}
	return 0, false
}
