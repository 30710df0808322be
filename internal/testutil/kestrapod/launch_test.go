package kestrapod

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func decodeAll(t *testing.T, docs ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, doc := range docs {
		object := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &object); err != nil {
			t.Fatal(err)
		}
		out = append(out, object)
	}
	return out
}

const launchConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: kestra-config}
data:
  _default.yml: |
    kestra: {url: http://old/, repository: {type: postgres}}
    micronaut: {server: {ssl: {key-store: {password: "${STORE_PASSWORD}", path: "file:/app/ssl/keystore.p12"}}}}`

const launchSecret = `
apiVersion: v1
kind: Secret
metadata: {name: pw}
data: {password: c2VjcmV0}`

func launchDeployment(env string) string {
	return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: kestra}
spec:
  template:
    spec:
      volumes: [{name: conf, configMap: {name: kestra-config, items: [{key: _default.yml, path: _default.yml}]}}]
      containers:
        - name: kestra
          volumeMounts: [{name: conf, mountPath: /app/confs/_default.yml, subPath: _default.yml}]
          env:` + env
}

func TestStartFollowsTheLauncherAndMicronaut(t *testing.T) {
	tests := map[string]struct {
		env     string
		key     string
		want    string
		wantErr string
	}{
		"files are read in order": {
			env: `
            - {name: MICRONAUT_CONFIG_FILES, value: /app/confs/_default.yml}`,
			key: "kestra.url", want: "http://old/",
		},
		"an environment variable wins over the files": {
			env: `
            - {name: MICRONAUT_CONFIG_FILES, value: /app/confs/_default.yml}
            - {name: KESTRA_URL, value: https://new/}`,
			key: "kestra.url", want: "https://new/",
		},
		"a placeholder resolves from a secretKeyRef, and camelCase finds kebab-case": {
			env: `
            - {name: MICRONAUT_CONFIG_FILES, value: /app/confs/_default.yml}
            - {name: STORE_PASSWORD, valueFrom: {secretKeyRef: {name: pw, key: password}}}`,
			key: "micronaut.server.ssl.keyStore.password", want: "secret",
		},
		"KESTRA_CONFIGURATION replaces every listed file": {
			env: `
            - {name: MICRONAUT_CONFIG_FILES, value: /app/confs/_default.yml}
            - {name: KESTRA_CONFIGURATION, value: "kestra: {url: https://env/}"}`,
			key: "kestra.repository.type", want: "",
		},
		"a listed file that no mount provides": {
			env: `
            - {name: MICRONAUT_CONFIG_FILES, value: "/app/confs/_default.yml,/app/secrets/missing.yml"}`,
			wantErr: "/app/secrets/missing.yml",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Start(decodeAll(t, launchConfigMap, launchSecret, launchDeployment(tc.env)), "Deployment", "kestra", "kestra")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(tc.key); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}
