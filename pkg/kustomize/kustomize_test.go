package kustomize

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize/schemagen"
)

func TestTheCompiledSchemaIsKustomizes(t *testing.T) {
	fromModule, err := schemagen.FromModule()
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := os.ReadFile("kubernetes_schema.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromModule, compiled) {
		t.Fatal("kubernetes_schema.go is not what gen.go makes from the kustomize module in go.mod: run `go generate ./pkg/kustomize`")
	}
}

// What kustomize reads from a schema: each definition (merge keys and strategies, list types, the shape
// that leads to them) and each kind's scope. Both must be what the built-in schema gives, less what
// schemagen.Prune says kustomize never reads (its argument is there; that the golden overlays build the
// same in-process and with every real kubectl kustomize is the proof by use).
func TestKustomizeReadsTheSameSchemaAsItsBuiltIn(t *testing.T) {
	defer openapi.ResetOpenAPI()
	openapi.ResetOpenAPI()
	builtinDefinitions, builtinScopes := readSchema(t)
	if len(builtinDefinitions) < 500 {
		t.Fatalf("the built-in schema has %d definitions", len(builtinDefinitions))
	}
	openapi.ResetOpenAPI()
	installSchema(kubernetesDefinitions())
	oursDefinitions, oursScopes := readSchema(t)
	if diff := cmp.Diff(builtinDefinitions, oursDefinitions); diff != "" {
		t.Errorf("definitions (-built-in +ours):\n%s", diff)
	}
	if diff := cmp.Diff(builtinScopes, oursScopes); diff != "" {
		t.Errorf("scopes (-built-in +ours):\n%s", diff)
	}
	if scoped, known := openapi.IsNamespaceScoped(yaml.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}); scoped || !known {
		t.Errorf("ClusterRole: namespaced %v, known %v", scoped, known)
	}
}

// readSchema returns the definitions without descriptions, as JSON values, and the scope of every kind the
// definitions name ("namespaced", "cluster" or "unknown").
func readSchema(t *testing.T) (map[string]any, map[string]string) {
	t.Helper()
	data, err := json.Marshal(openapi.Schema().Definitions)
	if err != nil {
		t.Fatal(err)
	}
	var definitions map[string]any
	if err := json.Unmarshal(data, &definitions); err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, definition := range definitions {
		kinds, _ := definition.(map[string]any)["x-kubernetes-group-version-kind"].([]any)
		for _, kind := range kinds {
			k := kind.(map[string]any)
			apiVersion := k["version"].(string)
			if group := k["group"].(string); group != "" {
				apiVersion = group + "/" + apiVersion
			}
			scope := "unknown"
			if namespaced, known := openapi.IsNamespaceScoped(yaml.TypeMeta{APIVersion: apiVersion, Kind: k["kind"].(string)}); known {
				scope = map[bool]string{true: "namespaced", false: "cluster"}[namespaced]
			}
			scopes[apiVersion+" "+k["kind"].(string)] = scope
		}
	}
	schemagen.Prune(definitions)
	return definitions, scopes
}
