package overlays

import (
	"bytes"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Build runs kustomize in-process on an overlay folder, with the defaults `kubectl kustomize` uses.
func Build(dir string) (resmap.ResMap, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	built, err := krusty.MakeKustomizer(kubectlOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v", dir, err)
	}
	return built, nil
}

// kubectlOptions are the options `kubectl kustomize` builds with, so both give the same stream: namespaces
// and other dependencies first (legacy order), then the rest.
func kubectlOptions() *krusty.Options {
	options := krusty.MakeDefaultOptions()
	options.Reorder = krusty.ReorderOptionLegacy
	return options
}

// MaskedYAML renders the objects as a YAML stream, each Secret's data replaced by its length unless
// showSecrets: dry-run output lands in terminals, CI logs and tickets.
func MaskedYAML(objects resmap.ResMap, showSecrets bool) ([]byte, error) {
	var out bytes.Buffer
	for i, res := range objects.Resources() {
		object, err := res.Map()
		if err != nil {
			return nil, err
		}
		if !showSecrets {
			MaskSecret(object)
		}
		data, err := yaml.Marshal(object)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(data)
	}
	return out.Bytes(), nil
}

// MaskSecret replaces the values of a Secret's data and stringData, in place, by a note of their size.
func MaskSecret(object map[string]any) {
	if object["kind"] != "Secret" {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		entries, ok := object[field].(map[string]any)
		if !ok {
			continue
		}
		for key, value := range entries {
			text, _ := value.(string)
			if field == "data" {
				entries[key] = fmt.Sprintf("<masked: %d base64 characters; --show-secrets prints them>", len(text))
			} else {
				entries[key] = fmt.Sprintf("<masked: %d characters; --show-secrets prints them>", len(text))
			}
		}
	}
}
