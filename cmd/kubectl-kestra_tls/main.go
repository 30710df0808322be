// Command kubectl-kestra_tls is the kubectl plugin `kubectl kestra-tls`: kubectl runs it for
// `kubectl kestra-tls ...`, and it runs just as well on its own.
package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/interrupt"
)

func main() {
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
