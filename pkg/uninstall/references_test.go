package uninstall

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestSecretReferences(t *testing.T) {
	for name, tc := range map[string]struct {
		refs   func(map[string]any) []string
		object string
		want   []string
	}{
		"a Deployment names Secrets in volumes, projected volumes, env, envFrom and image pull secrets": {
			refs: podTemplateSecrets("spec", "template", "spec"),
			object: `{spec: {template: {spec: {
				volumes: [{name: a, secret: {secretName: stores}}, {name: b, projected: {sources: [{secret: {name: projected}}, {configMap: {name: not-a-secret}}]}}, {name: c, emptyDir: {}}],
				imagePullSecrets: [{name: registry}],
				initContainers: [{name: init, envFrom: [{secretRef: {name: init-env}}, {configMapRef: {name: config}}]}],
				containers: [{name: kestra, env: [{name: P, valueFrom: {secretKeyRef: {name: password, key: password}}}, {name: Q, value: plain}]}]}}}}`,
			want: []string{"stores", "projected", "registry", "init-env", "password"},
		},
		"a CronJob's pod template is one level deeper": {
			refs:   podTemplateSecrets("spec", "jobTemplate", "spec", "template", "spec"),
			object: `{spec: {jobTemplate: {spec: {template: {spec: {volumes: [{name: a, secret: {secretName: backup}}]}}}}}}`,
			want:   []string{"backup"},
		},
		"an Ingress names its TLS Secrets": {
			refs:   ingressSecrets,
			object: `{spec: {tls: [{hosts: [a.example.com], secretName: kestra-tls}, {hosts: [b.example.com]}]}}`,
			want:   []string{"kestra-tls"},
		},
		"a Gateway names the Secrets of its own namespace, not those it reads elsewhere or other kinds": {
			refs:   gatewaySecrets,
			object: `{spec: {listeners: [{name: https, tls: {certificateRefs: [{name: kestra-tls}, {kind: Secret, name: other, namespace: certs}, {kind: ConfigMap, name: cm}]}}, {name: http}]}}`,
			want:   []string{"kestra-tls"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			object := map[string]any{}
			if err := yaml.Unmarshal([]byte(tc.object), &object); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.refs(object)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHashSuffixTellsGenerationsApart(t *testing.T) {
	for name, tc := range map[string]struct {
		secret string
		want   string
	}{
		"kustomize's hash after the name":   {"kestra-ssl-66f727cmmd", "kestra-ssl"},
		"the password Secret's generation":  {"kestra-ssl-password-7kgmg9g2k6", "kestra-ssl-password"},
		"a fixed name has no generation":    {"kestra-ssl", ""},
		"a suffix of another length is not": {"kestra-ssl-abc", ""},
	} {
		t.Run(name, func(t *testing.T) {
			got := ""
			if match := hashSuffix.FindStringSubmatch(tc.secret); match != nil {
				got = match[1]
			}
			if got != tc.want {
				t.Errorf("name before the hash of %s = %q, want %q", tc.secret, got, tc.want)
			}
		})
	}
}
