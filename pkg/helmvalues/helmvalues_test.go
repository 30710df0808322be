package helmvalues

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

func appModel() *model.Model {
	return &model.Model{
		Values: &values.Resolved{Values: values.Values{Mode: "app", App: values.App{
			Port: 8443, SSLSecretName: "kestra-ssl", PasswordSecretName: "kestra-ssl-password", PasswordEnv: "KESTRA_TLS_STORE_PASSWORD", MountPath: "/app/ssl",
		}}},
		JavaOpts: "-Dtrust",
	}
}

func chart(t *testing.T, text string) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := yaml.Unmarshal([]byte(text), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValuesKeepTheUsersEntries(t *testing.T) {
	tests := map[string]struct {
		chart        string
		path         []string
		want         any
		wantWarnings []string
	}{
		"our volume follows the user's, once, even when their values already hold an older copy of it": {
			chart: `{common: {extraVolumes: [{name: plugins, emptyDir: {}}, {name: kestra-ssl, emptyDir: {}}]}}`,
			path:  []string{"common", "extraVolumes"},
			want: []any{
				map[string]any{"name": "plugins", "emptyDir": map[string]any{}},
				map[string]any{"name": "kestra-ssl", "secret": map[string]any{"secretName": "kestra-ssl", "defaultMode": 0o444, "items": []any{
					map[string]any{"key": "keystore.p12", "path": "keystore.p12"},
					map[string]any{"key": "truststore.jks", "path": "truststore.jks"},
				}}},
			},
		},
		"a component's own JVM options get the trust store too, since they replace the common ones": {
			chart: `{common: {jvm: {extraOpts: -Xmx1g}}, deployments: {worker: {jvm: {extraOpts: -Xmx4g}}, executor: {enabled: true}}}`,
			path:  []string{"deployments"},
			want:  map[string]any{"worker": map[string]any{"jvm": map[string]any{"extraOpts": "-Xmx4g -Dtrust"}}},
		},
		"common JVM options are appended to": {
			chart: `{common: {jvm: {extraOpts: -Xmx1g}}}`,
			path:  []string{"common", "jvm", "extraOpts"},
			want:  "-Xmx1g -Dtrust",
		},
		"a KESTRA_CONFIGURATION in extraEnv is warned about": {
			chart:        `{common: {extraEnv: [{name: KESTRA_CONFIGURATION, value: "kestra: {}"}]}}`,
			path:         []string{"configurations", "secrets"},
			want:         []any{map[string]any{"name": model.ConfigName, "key": model.ConfigFile}},
			wantWarnings: []string{"common.extraEnv", "replaces MICRONAUT_CONFIG_FILES"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, warnings := Values(Input{Model: appModel(), Chart: chart(t, tc.chart), Checksum: "sum"})
			if diff := cmp.Diff(tc.want, dig(got, tc.path...)); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tc.path, diff)
			}
			joined := strings.Join(warnings, "\n")
			for _, want := range tc.wantWarnings {
				if !strings.Contains(joined, want) {
					t.Errorf("warnings lack %q: %v", want, warnings)
				}
			}
			if len(tc.wantWarnings) == 0 && len(warnings) > 0 {
				t.Errorf("unexpected warnings: %v", warnings)
			}
		})
	}
}

func TestServesHTTPUnlessTheUserRemovesThePort(t *testing.T) {
	if !ServesHTTP(nil) || !ServesHTTP(chart(t, `{service: {ports: {management: {port: 8081}}}}`)) {
		t.Error("the chart's default http port was not assumed")
	}
	if ServesHTTP(chart(t, `{service: {ports: {http: null}}}`)) {
		t.Error("a removed http port still counts")
	}
}
