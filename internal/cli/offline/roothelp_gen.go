//go:build ignore

// roothelp_gen.go writes roothelp.txt: the engine's `--help` at the root, with --cache-dir's default held
// as a placeholder. Run by `go generate ./internal/cli/offline` after a command or global flag changes;
// TestTheLightPluginPrintsTheEnginesRootHelp fails until then.
package main

import (
	"bytes"
	"log"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli/offline"
)

func main() {
	os.Setenv("KUBECACHEDIR", offline.CacheDirPlaceholder)
	var out bytes.Buffer
	root := cli.NewCmdKestraTLS(genericiooptions.IOStreams{In: os.Stdin, Out: &out, ErrOut: os.Stderr})
	root.SetOut(&out)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("roothelp.txt", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
