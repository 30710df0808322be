package kestra

import (
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/yamlguard"
)

// FuzzFind decodes any base document the way generate does (the YAML guard first, then the workload and
// Service decoding): an error or an install, never a panic.
func FuzzFind(f *testing.F) {
	f.Add([]byte(workload("Deployment", "kestra-standalone", "standalone", kestraContainer+dind)), []byte(service))
	f.Add([]byte(workload("StatefulSet", "kestra", "", "\n        - {name: kestra, image: kestra/kestra}")), []byte("kind: Service\nmetadata: {name: kestra}\nspec: {type: ExternalName}"))
	f.Add([]byte("kind: Deployment\nspec: {template: {spec: {containers: [{}]}}}"), []byte("kind: Service\nspec: {ports: [{}]}"))
	f.Fuzz(func(t *testing.T, workloadDoc, serviceDoc []byte) {
		var objects []Object
		for _, doc := range [][]byte{workloadDoc, serviceDoc} {
			if yamlguard.Check("fuzz", doc) != nil {
				return
			}
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			data, err := yaml.YAMLToJSON(doc)
			if err != nil || yaml.Unmarshal(data, &meta) != nil {
				return
			}
			objects = append(objects, Object{Kind: meta.Kind, Name: meta.Metadata.Name, JSON: data})
		}
		install, err := Find(objects, Selection{}, "fuzz.yaml")
		if err == nil && (install == nil || install.Service == "") {
			t.Fatal("no error and no Service")
		}
	})
}
