// Package render executes the manifest templates: Go text/template with Sprig's functions and Helm's
// toYaml, from the embedded set or, one file at a time, from a user's --templates folder.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// Renderer finds each template in the override folder first, then in the embedded set.
type Renderer struct {
	embedded fs.FS
	override string
}

// New returns a renderer; override may be empty.
func New(embedded fs.FS, override string) (*Renderer, error) {
	if override != "" {
		info, err := os.Stat(override)
		if err != nil || !info.IsDir() {
			return nil, fmt.Errorf("--templates %s is not a folder: pass a folder holding the templates to replace (e.g. ingress.yaml.tpl)", override)
		}
	}
	return &Renderer{embedded: embedded, override: override}, nil
}

// Source returns the text of a template, from the override folder when it has one.
func (r *Renderer) Source(name string) (string, string, error) {
	if r.override != "" {
		path := filepath.Join(r.override, name)
		data, err := os.ReadFile(path)
		if err == nil {
			return string(data), path, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("--templates: %w", err)
		}
	}
	data, err := fs.ReadFile(r.embedded, name)
	if err != nil {
		return "", "", fmt.Errorf("no template %s: %w", name, err)
	}
	return string(data), "templates/" + name, nil
}

// Render executes the named template with data. Missing keys are errors, not "<no value>".
func (r *Renderer) Render(name string, data any) ([]byte, error) {
	text, source, err := r.Source(name)
	if err != nil {
		return nil, err
	}
	tpl, err := template.New(name).Funcs(funcs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	var out bytes.Buffer
	if err := tpl.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	return bytes.TrimLeft(out.Bytes(), "\n"), nil
}

func funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	f["toYaml"] = func(v any) (string, error) {
		data, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(data), "\n"), err
	}
	f["required"] = func(message string, v any) (any, error) {
		if v == nil || v == "" {
			return nil, errors.New(message)
		}
		return v, nil
	}
	return f
}
