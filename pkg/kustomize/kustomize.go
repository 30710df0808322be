// Package kustomize runs kustomize in-process with the Kubernetes schema it merges with, pruned to what its
// merges read and compiled in.
//
// kustomize decodes its built-in schema (every kind of Kubernetes 1.21, 0.9 MB of JSON, two thirds of it
// descriptions) the first time a build merges a patch: 60-90 ms on the project's machines, more than the
// rest of `generate` or of `apply` before its first request. Here the same definitions, without
// descriptions and pruned to what kustomize's merges read, are Go code (kubernetes_schema.go, made by
// gen.go from the kustomize module in go.mod and checked by a test) that builds kube-openapi's values
// directly: no JSON is parsed at run time. They are built on the other core from the moment a command calls
// Prepare, and handed to kustomize before the first build that may merge; kustomize's table of built-in
// kinds' scopes answers the rest, as it does with its own schema. Builds of kustomizations we write
// ourselves, with resources only, merge nothing and need no schema (RunWithoutMerges).
package kustomize

import (
	"sync"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

//go:generate go run gen.go

// definitions builds the compiled-in definitions once; callers while it runs wait for it.
var definitions = sync.OnceValue(kubernetesDefinitions)

// Prepare starts building the definitions in the background; Run waits for them. Commands call it first,
// so that the building overlaps their other work.
func Prepare() { go definitions() }

// use hands kustomize the definitions, once, before the first build that may merge. A kustomization's own
// `openapi:` field still wins: kustomize reads it on each build.
var use = sync.OnceFunc(func() { installSchema(definitions()) })

// installSchema must come before any build that may merge, and not during one: kyaml's definitions are not
// guarded by its lock.
func installSchema(definitions spec.Definitions) {
	openapi.SuppressBuiltInSchemaUse()
	openapi.AddDefinitions(definitions)
}

// ref is a definition's $ref, as kube-openapi's decoder makes it.
func ref(uri string) spec.Ref { return spec.MustCreateRef(uri) }

// Options are the options `kubectl kustomize` builds with, so both give the same stream: namespaces and
// other dependencies first (legacy order), then the rest.
func Options() *krusty.Options {
	options := krusty.MakeDefaultOptions()
	options.Reorder = krusty.ReorderOptionLegacy
	return options
}

// Run builds the kustomization at path, as krusty does, with the schema.
func Run(fSys filesys.FileSystem, path string, options *krusty.Options) (resmap.ResMap, error) {
	use()
	return krusty.MakeKustomizer(options).Run(fSys, path)
}

// RunWithoutMerges builds a kustomization that lists resources and nothing else (one we write around a
// manifest file or our embedded base): kustomize merges nothing there, and needs no schema to do it. Were
// it to need one, it would read its own, slowly but the same.
func RunWithoutMerges(fSys filesys.FileSystem, path string, options *krusty.Options) (resmap.ResMap, error) {
	return krusty.MakeKustomizer(options).Run(fSys, path)
}
