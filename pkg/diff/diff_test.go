package diff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func secret(data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "kestra-tls", "namespace": "kestra", "resourceVersion": "7", "managedFields": []any{"x"}},
		"data":     data,
	}}
}

// TestWriteMasksSecretsAndSummarizes: Secret values are "***" where both sides agree and "*** (before)",
// "*** (after)" where they differ; server-kept fields never count as a change; the summary names what a
// pod-template change restarts.
func TestWriteMasksSecretsAndSummarizes(t *testing.T) {
	deployment := func(image string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "kestra", "namespace": "kestra", "generation": int64(3)},
			"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "kestra", "image": image}}}}},
			"status":   map[string]any{"replicas": int64(1)},
		}}
	}
	sameSecret := secret(map[string]any{"tls.crt": "b2xk"})
	for name, tc := range map[string]struct {
		pairs              []Pair
		showSecrets        bool
		want               Summary
		live, merged, file string
	}{
		"a Secret whose value changes": {
			pairs: []Pair{{Live: secret(map[string]any{"tls.crt": "b2xk", "ca.crt": "Y2E="}), Merged: secret(map[string]any{"tls.crt": "bmV3", "ca.crt": "Y2E="})}},
			want:  Summary{Changed: []string{"secret/kestra/kestra-tls"}},
			file:  "v1.Secret.kestra.kestra-tls", live: "ca.crt: '***'\n  tls.crt: '*** (before)'", merged: "ca.crt: '***'\n  tls.crt: '*** (after)'",
		},
		"a Secret shown with --show-secrets": {
			pairs: []Pair{{Live: secret(map[string]any{"tls.crt": "b2xk"}), Merged: secret(map[string]any{"tls.crt": "bmV3"})}}, showSecrets: true,
			want: Summary{Changed: []string{"secret/kestra/kestra-tls"}},
			file: "v1.Secret.kestra.kestra-tls", live: "tls.crt: b2xk", merged: "tls.crt: bmV3",
		},
		"server-kept fields only: unchanged": {
			pairs: []Pair{{Live: sameSecret, Merged: secret(map[string]any{"tls.crt": "b2xk"})}},
			want:  Summary{Unchanged: []string{"secret/kestra/kestra-tls"}},
		},
		"a new pod template restarts the workload": {
			pairs: []Pair{{Live: deployment("kestra/kestra:1"), Merged: deployment("kestra/kestra:2")}},
			want:  Summary{Changed: []string{"deployment/kestra/kestra"}, Restarts: []string{"deployment/kestra/kestra"}},
		},
		"an object to create": {
			pairs: []Pair{{Merged: secret(map[string]any{"tls.crt": "bmV3"})}},
			want:  Summary{Created: []string{"secret/kestra/kestra-tls"}},
			file:  "v1.Secret.kestra.kestra-tls", merged: "tls.crt: '*** (after)'",
		},
	} {
		t.Run(name, func(t *testing.T) {
			live, merged := t.TempDir(), t.TempDir()
			got, err := Write(live, merged, tc.pairs, tc.showSecrets)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if tc.file == "" {
				return
			}
			for dir, want := range map[string]string{live: tc.live, merged: tc.merged} {
				data, _ := os.ReadFile(filepath.Join(dir, tc.file))
				if !strings.Contains(string(data), want) || strings.Contains(string(data), "resourceVersion") || strings.Contains(string(data), "managedFields") {
					t.Errorf("%s:\n%s\nwant %q, and no server-kept field", filepath.Join(filepath.Base(dir), tc.file), data, want)
				}
			}
		})
	}
}
