//go:build ignore

// gen.go writes kubernetes-schema.json: the definitions of kustomize's built-in Kubernetes schema (from the
// kyaml module that go.mod names) without descriptions.
// Run by `go generate ./pkg/kustomize` after kustomize is upgraded; TestTheEmbeddedSchemaIsKustomizes fails
// until then.
package main

import (
	"log"
	"os"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize/schemagen"
)

func main() {
	data, err := schemagen.FromModule()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("kubernetes-schema.json", data, 0o644); err != nil {
		log.Fatal(err)
	}
}
