package overlays

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kustomize"
)

// Build runs kustomize in-process on an overlay folder, with the defaults `kubectl kustomize` uses.
func Build(dir string) (resmap.ResMap, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	built, err := kustomize.Run(filesys.MakeFsOnDisk(), abs, kustomize.Options())
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v", dir, err)
	}
	return built, nil
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

// Layout is what an overlay folder does to its base: which built objects the base brings, and what the
// overlay patches in them. apply reads it to touch objects another tool installed no more than that.
type Layout struct {
	// FromBase holds "Kind/name" of every object of the base.
	FromBase map[string]bool
	// Patches maps "Kind/name" to the patch the overlay applies to it.
	Patches map[string]map[string]any
	// Base holds the base's own objects by "Kind/name", as the base alone builds them.
	Base map[string]map[string]any
}

// Key names an object in a Layout.
func Key(kind, name string) string { return kind + "/" + name }

// Inspect reads an overlay folder's kustomization: it builds the base (the first resource) alone and reads
// the patch files.
func Inspect(dir string) (*Layout, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", dir, fileset.Cause(err))
	}
	var kustomization struct {
		Resources []string `json:"resources"`
		Patches   []struct {
			Path   string `json:"path"`
			Target struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"target"`
		} `json:"patches"`
	}
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %v", dir, err)
	}
	layout := &Layout{FromBase: map[string]bool{}, Patches: map[string]map[string]any{}, Base: map[string]map[string]any{}}
	if len(kustomization.Resources) > 0 {
		basePath := kustomization.Resources[0]
		if !filepath.IsAbs(basePath) {
			basePath = filepath.Join(dir, basePath)
		}
		if info, err := os.Stat(basePath); err == nil && info.IsDir() {
			built, err := Build(basePath)
			if err != nil {
				return nil, err
			}
			for _, res := range built.Resources() {
				layout.FromBase[Key(res.GetKind(), res.GetName())] = true
				if object, err := res.Map(); err == nil {
					layout.Base[Key(res.GetKind(), res.GetName())] = object
				}
			}
		}
	}
	for _, patch := range kustomization.Patches {
		if patch.Path == "" {
			continue // an inline $patch: delete of a base object (the overlay leaves it out)
		}
		data, err := os.ReadFile(filepath.Join(dir, patch.Path))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", patch.Path, fileset.Cause(err))
		}
		body := map[string]any{}
		if err := yaml.Unmarshal(data, &body); err != nil {
			return nil, fmt.Errorf("%s: %v", patch.Path, err)
		}
		kind, name := patch.Target.Kind, patch.Target.Name
		if kind == "" {
			// A patch that names its object itself: one that takes over the base's own (adopt.go).
			kind, _ = body["kind"].(string)
			name, _ = dig(body, "metadata")["name"].(string)
		}
		layout.Patches[Key(kind, name)] = body
	}
	return layout, nil
}
