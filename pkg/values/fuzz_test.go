package values

import (
	"os"
	"strings"
	"testing"
)

// FuzzResolve feeds values files and --set expressions through every layer: any input gives values or an
// error that names its source, never a panic.
func FuzzResolve(f *testing.F) {
	defaults, err := os.ReadFile("../../templates/values.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("mode: app\nhosts: [kestra.example.com]\n"), "app.port=9443")
	f.Add([]byte("ingress:\n  annotations:\n    a: b\n"), "hosts={a.example.com,b.example.com}")
	f.Add([]byte("a: &a [x, *a]\n"), "app.dualProtocol=null")
	f.Add([]byte("certificates: {days: -1}\n"), "ingress.className")
	f.Fuzz(func(t *testing.T, file []byte, set string) {
		resolved, err := Resolve(Layer{Source: "defaults", Data: defaults}, []Layer{{Source: "-f fuzz.yaml", Data: file}}, []string{set}, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") && !strings.Contains(err.Error(), "--set") {
				t.Fatalf("an error that names neither the file nor --set: %v", err)
			}
			return
		}
		_ = resolved.Validate()
		if _, err := resolved.YAML(); err != nil {
			t.Fatalf("resolved values do not render: %v", err)
		}
	})
}
