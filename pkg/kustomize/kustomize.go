// Package kustomize runs kustomize in-process with the Kubernetes schema it merges with, less its
// descriptions, read while the command does other work.
//
// kustomize reads its built-in schema (every kind of Kubernetes 1.21, 0.9 MB of JSON, two thirds of it
// descriptions) the first time a build needs a merge key or a kind's scope: 60-90 ms on the project's
// machines, more than the rest of `generate`. The schema here is the same one with descriptions removed
// (made by gen.go from the kustomize module in go.mod, checked by a test), parsed in about a third of that,
// and started in the background by Prepare so that it is mostly done when the first build asks for it.
package kustomize

import (
	_ "embed"
	"fmt"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

//go:generate go run gen.go

//go:embed kubernetes-schema.json
var schema []byte

var prepare sync.Once

// Prepare makes kustomize use the schema without descriptions and starts reading it in the background. A
// kustomization's own `openapi:` field still wins: kustomize sets it on each build.
func Prepare() {
	prepare.Do(func() {
		if err := openapi.SetSchema(nil, schema, true); err != nil {
			panic(fmt.Sprintf("the embedded Kubernetes schema: %v", err)) // gen.go's output, checked by tests
		}
		// Any lookup parses the whole schema, under kyaml's lock; builds wait for it there.
		go openapi.IsCertainlyClusterScoped(yaml.TypeMeta{APIVersion: "v1", Kind: "Namespace"})
	})
}

// Options are the options `kubectl kustomize` builds with, so both give the same stream: namespaces and
// other dependencies first (legacy order), then the rest.
func Options() *krusty.Options {
	options := krusty.MakeDefaultOptions()
	options.Reorder = krusty.ReorderOptionLegacy
	return options
}

// Run builds the kustomization at path, as krusty does, with the prepared schema.
func Run(fSys filesys.FileSystem, path string, options *krusty.Options) (resmap.ResMap, error) {
	Prepare()
	return krusty.MakeKustomizer(options).Run(fSys, path)
}
