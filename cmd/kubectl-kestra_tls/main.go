// Command kubectl-kestra_tls is the kubectl plugin `kubectl kestra-tls`. It runs certs and version itself,
// and prints the root's help, linking none of the cluster, manifest or Compose code, so they start at
// once; every other command is run by kestra-tls-engine, installed beside it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli/offline"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/interrupt"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/launch"
)

func main() {
	if !offline.Handles(os.Args[1:]) {
		handOver()
	}
	debug.SetGCPercent(400)
	ctx, stop := interrupt.Context(context.Background(), os.Stderr)
	defer stop()
	root := offline.NewCmdRoot(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := root.ExecuteContext(ctx)
	if errors.Is(err, offline.ErrNotOffline) {
		stop()
		handOver() // a flag only the full plugin knows (--kubeconfig, -v): it takes the command
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s\n", err)
		stop()
		code := 1
		if signalled, ok := interrupt.ExitCode(ctx); ok {
			code = signalled
		}
		os.Exit(code)
	}
}

// handOver runs the engine and ends with its exit code; the engine has printed its own error.
func handOver() {
	err := launch.Engine(os.Args[1:])
	if !launch.Ran(err) {
		fmt.Fprintf(os.Stderr, "error: %s\n", err)
	}
	os.Exit(launch.ExitCode(err))
}
