// Package kustomize runs kustomize in-process, with the options `kubectl kustomize` builds with, so that
// what apply sends is what `kubectl apply -k` would.
package kustomize

import (
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Options are the options `kubectl kustomize` builds with, so both give the same stream: namespaces and
// other dependencies first (legacy order), then the rest.
func Options() *krusty.Options {
	options := krusty.MakeDefaultOptions()
	options.Reorder = krusty.ReorderOptionLegacy
	return options
}

// Run builds the kustomization at path, as krusty does.
func Run(fSys filesys.FileSystem, path string, options *krusty.Options) (resmap.ResMap, error) {
	return krusty.MakeKustomizer(options).Run(fSys, path)
}
