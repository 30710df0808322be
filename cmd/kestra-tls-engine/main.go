// Command kestra-tls-engine runs every command of `kubectl kestra-tls`; the plugin's own binary,
// kubectl-kestra_tls, runs the light ones itself (certs, version) and hands every other to this one, so
// that they start without initializing Kubernetes clients, kustomize or Compose's schema.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/interrupt"
)

func main() {
	// A short-lived CLI: collecting garbage 4x less often saves a few ms of start-up and costs little memory.
	debug.SetGCPercent(400)
	ctx, stop := interrupt.Context(context.Background(), os.Stderr)
	defer stop()
	root := cli.NewCmdKestraTLS(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := root.ExecuteContext(ctx); err != nil {
		if message := err.Error(); message != "" { // diff's "there are differences" says nothing more
			fmt.Fprintf(os.Stderr, "error: %s\n", message)
		}
		stop()
		code := cli.ExitCode(err)
		if signalled, ok := interrupt.ExitCode(ctx); ok {
			code = signalled
		}
		os.Exit(code)
	}
}
