// Command kestra-tls-compose reads a Docker Compose project for kestra-tls-engine: a request (JSON) on
// standard input, Kestra's service or the reason there is none (JSON) on standard output. It is the only
// binary that links compose-go, whose JSON Schema compiler costs every process that links it 12-18 ms at
// start-up; the engine runs it for `generate --target compose` alone.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/compose/reader"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "kestra-tls-compose takes no arguments: kestra-tls-engine runs it for `kubectl kestra-tls generate --target compose`")
		os.Exit(2)
	}
	if err := reader.Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "kestra-tls-compose: %v\n", err)
		os.Exit(1)
	}
}
