package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestRunsKestraTellsKestrasImagesFromOthers(t *testing.T) {
	for name, tc := range map[string]struct {
		name, image string
		want        bool
	}{
		"Kestra's registry image":                 {"app", "registry.kestra.io/docker/kestra:latest", true},
		"the Docker Hub image with a tag":         {"app", "kestra/kestra:v1.1.0-full", true},
		"a mirror on a registry with a port":      {"app", "registry.corp:5000/mirror/kestra@sha256:abc", true},
		"a service named kestra without an image": {"kestra", "", true},
		"postgres":                           {"postgres", "postgres:16", false},
		"an image that only mentions kestra": {"plugins", "kestra/kestra-plugins:1", false},
	} {
		t.Run(name, func(t *testing.T) {
			service := types.ServiceConfig{Name: tc.name}
			service.Image = tc.image // promoted from an embedded struct: not settable in the literal
			if got := runsKestra(service); got != tc.want {
				t.Errorf("runsKestra(%q, %q) = %v, want %v", tc.name, tc.image, got, tc.want)
			}
		})
	}
}
