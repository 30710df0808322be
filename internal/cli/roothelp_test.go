package cli

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli/offline"
)

// The plugin's own binary answers the root's help from a copy of the engine's (offline/roothelp.txt),
// so that `kubectl kestra-tls` alone does not start the engine. The copy must be what the engine prints,
// for the user's --cache-dir default too.
func TestTheLightPluginPrintsTheEnginesRootHelp(t *testing.T) {
	t.Setenv("KUBECACHEDIR", "/home/someone/.kube/cache")
	var engine bytes.Buffer
	root := NewCmdKestraTLS(genericiooptions.IOStreams{Out: &engine, ErrOut: &engine})
	root.SetOut(&engine)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--help"}, {"-h"}, {"help"}} {
		if !offline.Handles(args) {
			t.Errorf("%q: the light plugin hands it to the engine", args)
		}
		var light bytes.Buffer
		root := offline.NewCmdRoot(genericiooptions.IOStreams{Out: &light, ErrOut: &light})
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if diff := cmp.Diff(engine.String(), light.String()); diff != "" {
			t.Fatalf("%q: the light plugin's root help is not the engine's: run `go generate ./internal/cli/offline` (-engine +light):\n%s", args, diff)
		}
	}
	for _, args := range [][]string{{"help", "generate"}, {"--help", "--kubeconfig", "x"}, {"generate", "--help"}} {
		if offline.Handles(args) {
			t.Errorf("%q: the light plugin answers it, but only the engine knows it", args)
		}
	}
}
