//go:build ignore

// gen.go writes kubernetes_schema.go: the definitions of kustomize's built-in Kubernetes schema (from the
// kyaml module that go.mod names) less what kustomize's merges never read, as Go code that builds them.
// Run by `go generate ./pkg/kustomize` after kustomize is upgraded; TestTheCompiledSchemaIsKustomizes
// fails until then.
package main

import (
	"log"
	"os"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize/schemagen"
)

func main() {
	source, err := schemagen.FromModule()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("kubernetes_schema.go", source, 0o644); err != nil {
		log.Fatal(err)
	}
}
