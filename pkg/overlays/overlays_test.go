package overlays

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
	"github.com/kestra-tls/kubectl-kestra-tls/templates"
)

func TestMaskSecretHidesEveryValueButKeepsKeys(t *testing.T) {
	secret := map[string]any{"kind": "Secret", "data": map[string]any{"keystore.p12": "MIIK", "password": "c2VjcmV0"}, "stringData": map[string]any{"x": "plain"}}
	MaskSecret(secret)
	want := map[string]any{
		"kind":       "Secret",
		"data":       map[string]any{"keystore.p12": "<masked: 4 base64 characters; --show-secrets prints them>", "password": "<masked: 8 base64 characters; --show-secrets prints them>"},
		"stringData": map[string]any{"x": "<masked: 5 characters; --show-secrets prints them>"},
	}
	if diff := cmp.Diff(want, secret); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	configMap := map[string]any{"kind": "ConfigMap", "data": map[string]any{"a": "b"}}
	MaskSecret(configMap)
	if configMap["data"].(map[string]any)["a"] != "b" {
		t.Error("a ConfigMap was masked")
	}
}

func resolved(b testing.TB, sets ...string) *values.Resolved {
	defaults, err := os.ReadFile("../../templates/values.yaml")
	if err != nil {
		b.Fatal(err)
	}
	r, err := values.Resolve(values.Layer{Source: "defaults", Data: defaults}, nil, sets, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func TestGenerateWithoutBaseFindsTheEmbeddedKestra(t *testing.T) {
	overlay, err := Generate(Options{Dir: t.TempDir(), Templates: templates.FS, Values: resolved(t, "mode=app", "hosts={kestra.example.com}"), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	got := overlay.Install
	if got.Server.Kind != "Deployment" || got.Server.Name != "kestra" || got.Server.Container != "kestra" || got.Service != "kestra" || got.ServicePort != (kestra.ServicePort{Name: "http", Number: 8080}) {
		t.Errorf("found %+v", got)
	}
	if !strings.Contains(got.Server.Env.KestraConfiguration, "h2") {
		t.Error("the embedded base's configuration was not read")
	}
}

// BenchmarkGenerateRerun measures the common case: re-rendering an app-mode overlay over existing material.
func BenchmarkGenerateRerun(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "overlay")
	opts := Options{Dir: dir, Templates: templates.FS, Values: resolved(b, "mode=app", "hosts={kestra.example.com}"), Now: time.Now()}
	first, err := Generate(opts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := first.Write(dir, false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Generate(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild measures the in-process kustomize build that apply runs.
func BenchmarkBuild(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "overlay")
	overlay, err := Generate(Options{Dir: dir, Templates: templates.FS, Values: resolved(b, "mode=app", "hosts={kestra.example.com}"), Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := overlay.Write(dir, false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Build(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// apply reads the overlay's layout (a build of its base) while it builds the overlay: two kustomize runs at
// once. Both must give what they give one after the other (run with -race, this also checks that they
// share nothing unguarded).
func TestBuildAndInspectAtOnceGiveWhatTheyGiveInTurn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "overlay")
	overlay, err := Generate(Options{Dir: dir, Templates: templates.FS, Values: resolved(t, "mode=app", "hosts={kestra.example.com}"), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := overlay.Write(dir, true); err != nil {
		t.Fatal(err)
	}
	wantBuilt, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantLayout, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := wantBuilt.AsYaml()
	for range 4 {
		var layout *Layout
		var layoutErr error
		done := make(chan struct{})
		go func() { defer close(done); layout, layoutErr = Inspect(dir) }()
		built, err := Build(dir)
		<-done
		if err != nil || layoutErr != nil {
			t.Fatal(err, layoutErr)
		}
		got, _ := built.AsYaml()
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("built (-in turn +at once):\n%s", diff)
		}
		if diff := cmp.Diff(wantLayout, layout); diff != "" {
			t.Errorf("layout (-in turn +at once):\n%s", diff)
		}
	}
}
