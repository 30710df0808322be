// Command dist builds the release archives, checksums and krew manifest: `make dist`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/release"
)

func main() {
	version := flag.String("version", "", "v-prefixed semver to stamp and publish")
	out := flag.String("out", "dist", "output folder")
	flag.Parse()
	root, err := os.Getwd()
	if err == nil {
		err = release.Dist(context.Background(), release.Options{Root: root, Out: *out, Version: *version})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}
