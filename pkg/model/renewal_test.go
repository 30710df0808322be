package model

import (
	"strings"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

func TestDecideRenewal(t *testing.T) {
	for name, tc := range map[string]struct {
		version, renewal, image string
		reloads                 bool
		why, err                string
	}{
		"the demo base's kestra/kestra:latest is the current Kestra: it reloads":       {image: "kestra/kestra:latest", reloads: true, why: "the image kestra/kestra:latest"},
		"a base without a Kestra image (the chart's appVersion) is the current Kestra": {reloads: true, why: "current Kestra"},
		"Kestra 1.3 runs Micronaut 4.10: it reloads":                                   {image: "kestra/kestra:v1.3.2", reloads: true},
		"a later minor with a variant tag reloads":                                     {image: "registry.kestra.io/docker/kestra:v1.4.0-full", reloads: true},
		"Kestra 2 reloads": {image: "kestra/kestra:2.0", reloads: true},
		"the develop image with a digest is the current Kestra":                      {image: "kestra/kestra:develop-no-plugins@sha256:abc", reloads: true},
		"Kestra 1.2 runs Micronaut 4.9: it restarts":                                 {image: "kestra/kestra:v1.2.8", why: "before Kestra 1.3"},
		"Kestra 0.24 restarts":                                                       {image: "kestra/kestra:v0.24.0", why: "before Kestra 1.3"},
		"a private tag names no version: the restart, which works with every Kestra": {image: "registry.corp/kestra:prod", why: "--kestra-version 1.3"},
		"--kestra-version wins over the image":                                       {version: "1.3", image: "kestra/kestra:v1.1.0", reloads: true},
		"--kestra-version of an older Kestra restarts over a latest image":           {version: "v1.2", image: "kestra/kestra:latest"},
		"--kestra-version latest reloads over a private tag":                         {version: "latest", image: "registry.corp/kestra:prod", reloads: true},
		"app.renewal restart keeps the restart on a Kestra that could reload":        {renewal: "restart", image: "kestra/kestra:v1.3.0", why: "app.renewal is restart"},
		"app.renewal reload wins over a private tag":                                 {renewal: "reload", image: "registry.corp/kestra:prod", reloads: true},
		"app.renewal reload is refused for a Kestra known to be older":               {renewal: "reload", image: "kestra/kestra:v1.2.0", err: "older than Kestra 1.3"},
		"a --kestra-version that is no version is refused, naming the flag":          {version: "prod", err: "--kestra-version \"prod\""},
	} {
		t.Run(name, func(t *testing.T) {
			v := values.Values{}
			v.Kestra.Version, v.App.Renewal, v.App.ReloadInterval = tc.version, tc.renewal, "1m"
			got, err := decideRenewal(v, tc.image)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Reloads != tc.reloads || !strings.Contains(got.Why, tc.why) {
				t.Errorf("reloads %v (%s), want %v with %q", got.Reloads, got.Why, tc.reloads, tc.why)
			}
		})
	}
}
