// Package schemagen turns kustomize's built-in schema bundle into the swagger document pkg/kustomize
// embeds. Only gen.go and the test that keeps the two equal import it.
package schemagen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FromModule reads the bundle from the kyaml module go.mod requires (through `go list -m`).
func FromModule() ([]byte, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kustomize/kyaml").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m sigs.k8s.io/kustomize/kyaml: %v", err)
	}
	bundles, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "openapi", "kubernetesapi", "data", "*.json.gz"))
	if err != nil || len(bundles) != 1 {
		return nil, fmt.Errorf("kyaml's built-in schema bundle: want one, found %v", bundles)
	}
	compressed, err := os.ReadFile(bundles[0])
	if err != nil {
		return nil, err
	}
	return Convert(compressed)
}

// Convert keeps every definition with only what kustomize reads (Prune). Scopes are not needed: kustomize
// answers those for built-in kinds from a table of its own.
func Convert(compressed []byte) ([]byte, error) {
	reader, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(reader)
	if err != nil {
		return nil, err
	}
	var b struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	if len(b.Definitions) == 0 {
		return nil, fmt.Errorf("the bundle has no definitions: its format changed")
	}
	Prune(b.Definitions)
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(false)
	err = encoder.Encode(map[string]any{"definitions": b.Definitions})
	return out.Bytes(), err
}

// Prune removes from decoded definitions what kustomize never reads when it merges (kyaml's walk and merge2):
// descriptions, "required" lists, and the schemas of scalar fields (a property or map value of type string,
// integer, number or boolean with nothing else that could matter: no $ref, properties, items or x-kubernetes
// extension). kyaml merges a scalar by taking the patch's value whatever its schema says, and a field
// without a schema has no children to look up; what decides a merge (list strategies and merge keys, and
// the objects and lists that lead to them) is all kept, with each schema's type, which tells lists apart.
func Prune(definitions map[string]any) {
	WithoutDescriptions(definitions)
	for _, definition := range definitions {
		pruneSchema(definition)
	}
}

func pruneSchema(node any) {
	schema, ok := node.(map[string]any)
	if !ok {
		return
	}
	delete(schema, "required")
	if properties, ok := schema["properties"].(map[string]any); ok {
		for name, property := range properties {
			if isScalarLeaf(property) {
				delete(properties, name)
			} else {
				pruneSchema(property)
			}
		}
		if len(properties) == 0 {
			delete(schema, "properties")
		}
	}
	if isScalarLeaf(schema["additionalProperties"]) {
		delete(schema, "additionalProperties")
	} else {
		pruneSchema(schema["additionalProperties"])
	}
	pruneSchema(schema["items"])
}

func isScalarLeaf(node any) bool {
	schema, ok := node.(map[string]any)
	if !ok {
		return false
	}
	switch schema["type"] {
	case "string", "integer", "number", "boolean":
	default:
		return false
	}
	for key := range schema {
		if key != "type" && key != "format" {
			return false
		}
	}
	return true
}

// WithoutDescriptions removes every description text from a decoded JSON document.
func WithoutDescriptions(node any) {
	switch n := node.(type) {
	case map[string]any:
		if _, isText := n["description"].(string); isText {
			delete(n, "description")
		}
		for _, child := range n {
			WithoutDescriptions(child)
		}
	case []any:
		for _, child := range n {
			WithoutDescriptions(child)
		}
	}
}
