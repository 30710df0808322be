package apply

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
)

// TestPhasesKeepWhatMatters runs a whole overlay's kinds through inPhases and records which ran together.
func TestPhasesKeepWhatMatters(t *testing.T) {
	kinds := []schema.GroupVersionKind{
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "Secret"},
		{Group: "cert-manager.io", Version: "v1", Kind: "Issuer"},
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
		{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"},
	}
	infos := make([]*resource.Info, len(kinds))
	for i, gvk := range kinds {
		infos[i] = &resource.Info{Mapping: &meta.RESTMapping{GroupVersionKind: gvk}}
	}
	for name, tc := range map[string]struct {
		phase func(*resource.Info) int
		want  [][]string
	}{
		"writes: the namespace, then the Secret with the issuer, then everything else at once": {
			phase: writePhase,
			want:  [][]string{{"Namespace"}, {"Secret", "Issuer"}, {"Service", "Deployment", "Ingress", "HTTPRoute", "Certificate"}},
		},
		"dry runs: the namespace, then every other object at once": {
			phase: checkPhase,
			want:  [][]string{{"Namespace"}, {"Secret", "Issuer", "Service", "Deployment", "Ingress", "HTTPRoute", "Certificate"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var got [][]string
			current := -1
			err := inPhases(infos, tc.phase, func(i int) error {
				mu.Lock()
				defer mu.Unlock()
				if p := tc.phase(infos[i]); p != current {
					current = p
					got = append(got, nil)
				}
				got[len(got)-1] = append(got[len(got)-1], kinds[i].Kind)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Within a phase the order is the scheduler's: compare as sets, in the overlay's order.
			for _, group := range got {
				sortByOverlay(group, kinds)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("phases (-want +got):\n%s", diff)
			}
		})
	}
}

func sortByOverlay(group []string, kinds []schema.GroupVersionKind) {
	index := map[string]int{}
	for i, gvk := range kinds {
		index[gvk.Kind] = i
	}
	for i := 1; i < len(group); i++ {
		for j := i; j > 0 && index[group[j]] < index[group[j-1]]; j-- {
			group[j], group[j-1] = group[j-1], group[j]
		}
	}
}
