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

type bundle struct {
	Definitions map[string]any `json:"definitions"`
	Resources   []struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Scope      string `json:"scope"`
	} `json:"resources"`
}

// Convert keeps every definition without its descriptions, and gives each resource whose scope the bundle
// knows a GET path, which is where kustomize reads a kind's scope from in a swagger document.
func Convert(compressed []byte) ([]byte, error) {
	reader, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(reader)
	if err != nil {
		return nil, err
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	if len(b.Definitions) == 0 || len(b.Resources) == 0 {
		return nil, fmt.Errorf("the bundle has %d definitions and %d resources: its format changed", len(b.Definitions), len(b.Resources))
	}
	WithoutDescriptions(b.Definitions)
	paths := map[string]any{}
	for _, r := range b.Resources {
		group, version, found := strings.Cut(r.APIVersion, "/")
		if !found {
			group, version = "", r.APIVersion
		}
		var path string
		switch r.Scope {
		case "Namespaced":
			path = "/" + r.APIVersion + "/namespaces/{namespace}/" + r.Kind
		case "Cluster":
			path = "/" + r.APIVersion + "/" + r.Kind
		case "":
			continue // kustomize leaves these unknown too
		default:
			return nil, fmt.Errorf("%s %s: unknown scope %q", r.APIVersion, r.Kind, r.Scope)
		}
		paths[path] = map[string]any{"get": map[string]any{"x-kubernetes-group-version-kind": map[string]any{"group": group, "version": version, "kind": r.Kind}}}
	}
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(false)
	err = encoder.Encode(map[string]any{
		"swagger":     "2.0",
		"info":        map[string]any{"title": "Kubernetes, as kustomize's built-in schema, without descriptions", "version": "unversioned"},
		"definitions": b.Definitions,
		"paths":       paths,
	})
	return out.Bytes(), err
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
