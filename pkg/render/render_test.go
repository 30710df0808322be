package render

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestOverrideFolderReplacesSingleTemplates(t *testing.T) {
	embedded := fstest.MapFS{
		"a.tpl": {Data: []byte("embedded {{ .Name }}")},
		"b.tpl": {Data: []byte("{{ .Name | upper }} {{ toYaml .List }}")},
	}
	r, err := New(embedded, "testdata/override")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"Name": "kestra", "List": []string{"x"}}
	for name, want := range map[string]string{"a.tpl": "overridden kestra\n", "b.tpl": "KESTRA - x"} {
		got, err := r.Render(name, data)
		if err != nil || string(got) != want {
			t.Errorf("Render(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestMissingKeysAndBadOverridesAreErrors(t *testing.T) {
	r, _ := New(fstest.MapFS{"a.tpl": {Data: []byte("{{ .Nope }}")}}, "")
	if _, err := r.Render("a.tpl", map[string]any{}); err == nil || !strings.Contains(err.Error(), "templates/a.tpl") {
		t.Errorf("error = %v, want one naming the template", err)
	}
	if _, err := New(fstest.MapFS{}, "testdata/none"); err == nil || !strings.Contains(err.Error(), "--templates") {
		t.Errorf("error = %v, want one naming --templates", err)
	}
}
