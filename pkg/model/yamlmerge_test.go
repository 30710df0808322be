package model

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeYAMLKeepsTheUsersValuesAsWritten(t *testing.T) {
	fragment := map[string]any{"micronaut": map[string]any{"server": map[string]any{"ssl": map[string]any{"enabled": true}}}}
	cases := []struct {
		name, configuration, want, refused string
	}{
		{
			name:          "an integer past float64's precision stays whole",
			configuration: "kestra:\n  tasks:\n    max: 12345678901234567890\n",
			want:          "kestra:\n  tasks:\n    max: 12345678901234567890\nmicronaut:\n  server:\n    ssl:\n      enabled: true\n",
		},
		{
			name:          "1e3, a string to SnakeYAML, stays 1e3",
			configuration: "kestra:\n  id: 1e3\n",
			want:          "kestra:\n  id: 1e3\nmicronaut:\n  server:\n    ssl:\n      enabled: true\n",
		},
		{
			name:          "comments, quoting and key order stay",
			configuration: "# mine\nzeta: 'quoted'\nalpha: on # YAML 1.1 boolean, as written\nmicronaut:\n  server:\n    port: 8080\n    ssl:\n      enabled: false\n",
			want:          "# mine\nzeta: 'quoted'\nalpha: on # YAML 1.1 boolean, as written\nmicronaut:\n  server:\n    port: 8080\n    ssl:\n      enabled: true\n",
		},
		{
			name: "an empty configuration gets ours alone", configuration: "",
			want: "micronaut:\n  server:\n    ssl:\n      enabled: true\n",
		},
		{name: "a list is refused as not a mapping", configuration: "- a\n- b\n", refused: "is a YAML list, not a mapping"},
		{name: "a lone value is refused as not a mapping", configuration: "datasources\n", refused: `is the single value "datasources", not a mapping`},
		{name: "broken YAML is refused", configuration: "a: [\n", refused: "is not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := mergeYAML(c.configuration, fragment, "KESTRA_CONFIGURATION of Deployment kestra")
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) || !strings.Contains(err.Error(), "KESTRA_CONFIGURATION of Deployment kestra") {
					t.Fatalf("mergeYAML = %q, %v; want a refusal saying %q and naming the source", got, err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
		})
	}
}
