// Package kustomize runs kustomize in-process with the Kubernetes schema it merges with, pruned to what its
// merges read and decoded on the other core.
//
// kustomize decodes its built-in schema (every kind of Kubernetes 1.21, 0.9 MB of JSON, two thirds of it
// descriptions) the first time a build merges a patch: 60-90 ms on the project's machines, more than the
// rest of `generate` or of `apply` before its first request, and most of it in kube-openapi's decoder, which
// reads each schema object several times over. The schema here is the same one without descriptions (made
// by gen.go from the kustomize module in go.mod, checked by a test) and pruned to what kustomize's merges
// read, decoded with encoding/json on the other core from the moment a command calls Prepare, and handed
// to kustomize as definitions before the first build that may merge; kustomize's table of built-in kinds'
// scopes answers the rest, as it does with its own schema. Builds of kustomizations we write ourselves,
// with resources only, merge nothing and need no schema (RunWithoutMerges).
package kustomize

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

//go:generate go run gen.go

//go:embed kubernetes-schema.json
var schema []byte

// decoded decodes the embedded schema once; callers while it runs wait for it.
var decoded = sync.OnceValues(func() (spec.Definitions, error) { return decodeSchema(schema) })

// Prepare starts decoding the schema in the background; Run waits for it. Commands call it first, so that
// the decoding overlaps their other work.
func Prepare() { go decoded() }

// use hands kustomize the decoded schema, once, before the first build that may merge. A kustomization's
// own `openapi:` field still wins: kustomize reads it on each build.
var use = sync.OnceFunc(func() {
	definitions, err := decoded()
	if err != nil {
		panic(fmt.Sprintf("the embedded Kubernetes schema: %v", err)) // gen.go's output, checked by tests
	}
	installSchema(definitions)
})

// decodeSchema turns the embedded document into kube-openapi's definitions.
func decodeSchema(data []byte) (spec.Definitions, error) {
	var document struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	if err := decoder.Decode(&document); err != nil {
		return nil, err
	}
	definitions := make(spec.Definitions, len(document.Definitions))
	for name, definition := range document.Definitions {
		converted, err := toSchema(definition)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		definitions[name] = converted
	}
	return definitions, nil
}

// installSchema must come before any build that may merge, and not during one: kyaml's definitions are not
// guarded by its lock.
func installSchema(definitions spec.Definitions) {
	openapi.SuppressBuiltInSchemaUse()
	openapi.AddDefinitions(definitions)
}

// toSchema builds what kube-openapi's decoder would, for the keys Kubernetes' schema uses; another key is
// an error, so that a kustomize upgrade that brings one fails the tests instead of merging differently.
func toSchema(object map[string]any) (spec.Schema, error) {
	var s spec.Schema
	for key, value := range object {
		var err error
		switch key {
		case "type":
			s.Type, err = stringOrArray(value)
		case "format":
			s.Format, err = text(value)
		case "$ref":
			var ref string
			if ref, err = text(value); err == nil {
				s.Ref, err = spec.NewRef(ref)
			}
		case "required":
			s.Required, err = texts(value)
		case "properties":
			properties, ok := value.(map[string]any)
			if !ok {
				return s, fmt.Errorf("properties is %T", value)
			}
			s.Properties = make(map[string]spec.Schema, len(properties))
			for name, property := range properties {
				if s.Properties[name], err = subSchema(property); err != nil {
					return s, fmt.Errorf("%s: %v", name, err)
				}
			}
		case "items":
			var item spec.Schema
			if item, err = subSchema(value); err == nil {
				s.Items = &spec.SchemaOrArray{Schema: &item}
			}
		case "additionalProperties":
			var additional spec.Schema
			if additional, err = subSchema(value); err == nil {
				s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &additional}
			}
		default:
			if !strings.HasPrefix(key, "x-") {
				return s, fmt.Errorf("a key kustomize's schema did not have: %q", key)
			}
			s.AddExtension(key, value)
		}
		if err != nil {
			return s, fmt.Errorf("%s: %v", key, err)
		}
	}
	return s, nil
}

func subSchema(value any) (spec.Schema, error) {
	object, ok := value.(map[string]any)
	if !ok {
		return spec.Schema{}, fmt.Errorf("a schema that is a %T", value)
	}
	return toSchema(object)
}

func text(value any) (string, error) {
	s, ok := value.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", value)
	}
	return s, nil
}

func texts(value any) ([]string, error) {
	list, ok := value.([]any)
	if !ok {
		return nil, fmt.Errorf("%v is not a list", value)
	}
	out := make([]string, len(list))
	for i, item := range list {
		var err error
		if out[i], err = text(item); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func stringOrArray(value any) (spec.StringOrArray, error) {
	if s, ok := value.(string); ok {
		return spec.StringOrArray{s}, nil
	}
	return texts(value)
}

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
