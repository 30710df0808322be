package values

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func defaults(t *testing.T) Layer {
	t.Helper()
	data, err := os.ReadFile("../../templates/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return Layer{Source: "templates/values.yaml", Data: data}
}

func TestLayersApplyInHelmsOrder(t *testing.T) {
	files := []Layer{
		{Source: "-f one.yaml", Data: []byte("ingress: {className: traefik, name: first}\nhosts: [a.example.com]\n")},
		{Source: "-f two.yaml", Data: []byte("ingress: {name: second}\n")},
	}
	sets := []string{"ingress.name=third,app.port=9443", "hosts={b.example.com,c.example.com}"}
	overrides := []Override{{Flag: "--port", Path: "app.port", Value: 10443}}
	got, err := Resolve(defaults(t), files, sets, overrides)
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		Class, Name string
		Port        int
		Hosts       []string
		Mode        string
	}{"traefik", "third", 10443, []string{"b.example.com", "c.example.com"}, "ingress"}
	gotSummary := want
	gotSummary.Class, gotSummary.Name, gotSummary.Port, gotSummary.Hosts, gotSummary.Mode = got.Ingress.ClassName, got.Ingress.Name, got.App.Port, got.Hosts, got.Mode
	if diff := cmp.Diff(want, gotSummary); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.Map["ingress"].(map[string]any)["className"] != "traefik" {
		t.Error("the template map does not match the values")
	}
}

func TestResolveNamesTheLayerOfABadKey(t *testing.T) {
	tests := map[string]struct {
		files   []Layer
		sets    []string
		wantErr []string
	}{
		"an unknown key in a file":   {files: []Layer{{Source: "-f x.yaml", Data: []byte("ingres:\n  className: nginx\n")}}, wantErr: []string{"-f x.yaml", `unknown key "ingres"`}},
		"a list where a map belongs": {files: []Layer{{Source: "-f x.yaml", Data: []byte("app: [1]\n")}}, wantErr: []string{"-f x.yaml", `"app"`, "map"}},
		"text where a number goes":   {sets: []string{"app.port=https"}, wantErr: []string{"--set app.port=https", `"app.port"`, "number"}},
		"a --set without a value":    {sets: []string{"app.port"}, wantErr: []string{"--set app.port", "key=value"}},
		"invalid YAML":               {files: []Layer{{Source: "-f x.yaml", Data: []byte("a: [\n")}}, wantErr: []string{"-f x.yaml", "not valid YAML"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Resolve(defaults(t), tc.files, tc.sets, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestMergeMapsKeepsSiblings(t *testing.T) {
	base := map[string]any{"kestra": map[string]any{"repository": map[string]any{"type": "postgres"}}, "datasources": "x"}
	ours := map[string]any{"kestra": map[string]any{"url": "https://k/"}}
	want := map[string]any{"kestra": map[string]any{"repository": map[string]any{"type": "postgres"}, "url": "https://k/"}, "datasources": "x"}
	if diff := cmp.Diff(want, MergeMaps(base, ours)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
