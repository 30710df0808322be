package kestra

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// objects turns YAML documents into the Objects Find reads.
func objects(t *testing.T, docs ...string) []Object {
	t.Helper()
	var out []Object
	for _, doc := range docs {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		data, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Object{Kind: meta.Kind, Name: meta.Metadata.Name, JSON: data})
	}
	return out
}

func workload(kind, name, component string, containers string) string {
	labels := "app.kubernetes.io/name: kestra"
	if component != "" {
		labels += ", app.kubernetes.io/component: " + component
	}
	return `
apiVersion: apps/v1
kind: ` + kind + `
metadata: {name: ` + name + `, labels: {` + labels + `}}
spec:
  template:
    metadata: {labels: {` + labels + `}}
    spec:
      containers:` + containers
}

const service = `
apiVersion: v1
kind: Service
metadata: {name: kestra}
spec:
  selector: {app.kubernetes.io/name: kestra, app.kubernetes.io/component: standalone}
  ports: [{name: http, port: 8080, targetPort: http}, {name: management, port: 8081, targetPort: management}]`

const kestraContainer = `
        - name: kestra-standalone
          image: kestra/kestra:v1.3.15
          ports: [{name: http, containerPort: 8080}, {name: management, containerPort: 8081}]
          env: [{name: MICRONAUT_CONFIG_FILES, value: /app/confs/_default.yml}, {name: _JAVA_OPTIONS, value: -Xmx1g}]`

const dind = `
        - name: kestra-standalone-docker-dind
          image: docker:dind-rootless`

func TestFind(t *testing.T) {
	tests := map[string]struct {
		objects                  []string
		sel                      Selection
		wantKind, wantServer     string
		wantContainer, wantPort  string
		wantWorkloads            int
		wantErr                  []string
		wantConfigFiles, wantJVM string
	}{
		"the chart's standalone beside its dind sidecar": {
			objects:  []string{workload("Deployment", "kestra-standalone", "standalone", kestraContainer+dind), service},
			wantKind: "Deployment", wantServer: "kestra-standalone", wantContainer: "kestra-standalone", wantPort: "http", wantWorkloads: 1,
			wantConfigFiles: "/app/confs/_default.yml", wantJVM: "-Xmx1g",
		},
		"a StatefulSet": {
			objects:  []string{workload("StatefulSet", "kestra-standalone", "standalone", kestraContainer), service},
			wantKind: "StatefulSet", wantServer: "kestra-standalone", wantContainer: "kestra-standalone", wantPort: "http", wantWorkloads: 1,
		},
		"distributed: the webserver serves, every component is Kestra": {
			objects: []string{
				workload("Deployment", "kestra-webserver", "webserver", strings.ReplaceAll(kestraContainer, "standalone", "webserver")),
				workload("Deployment", "kestra-worker", "worker", strings.ReplaceAll(kestraContainer, "standalone", "worker")+dind),
				workload("Deployment", "kestra-executor", "executor", strings.ReplaceAll(kestraContainer, "standalone", "executor")),
				strings.ReplaceAll(service, "standalone", "webserver"),
			},
			wantKind: "Deployment", wantServer: "kestra-webserver", wantContainer: "kestra-webserver", wantPort: "http", wantWorkloads: 3,
		},
		"a workload without the chart's labels, found by Kestra's image": {
			objects: []string{`
apiVersion: apps/v1
kind: Deployment
metadata: {name: orchestrator}
spec:
  template:
    metadata: {labels: {app: orchestrator}}
    spec:
      containers:
        - {name: proxy, image: envoyproxy/envoy}
        - {name: app, image: "registry.example.com/mirror/kestra:v1.3.15@sha256:abc", ports: [{containerPort: 8080}]}`, `
apiVersion: v1
kind: Service
metadata: {name: orchestrator}
spec: {selector: {app: orchestrator}, ports: [{port: 80, targetPort: 8080}]}`},
			wantKind: "Deployment", wantServer: "orchestrator", wantContainer: "app", wantPort: "80", wantWorkloads: 1,
		},
		"two containers that look like Kestra": {
			objects: []string{workload("Deployment", "kestra-standalone", "standalone", kestraContainer+`
        - {name: kestra, image: kestra/kestra}`), service},
			wantErr: []string{"2 containers that look like Kestra", "kestra-standalone, kestra", "--container"},
		},
		"--container picks one of them": {
			objects: []string{workload("Deployment", "kestra-standalone", "standalone", kestraContainer+`
        - {name: kestra, image: kestra/kestra}`), service},
			sel:      Selection{Container: "kestra"},
			wantKind: "Deployment", wantServer: "kestra-standalone", wantContainer: "kestra", wantPort: "http", wantWorkloads: 1,
		},
		"a Service with no ports": {
			objects: []string{workload("Deployment", "kestra-standalone", "standalone", kestraContainer), `
apiVersion: v1
kind: Service
metadata: {name: kestra}
spec: {type: ExternalName, externalName: kestra.example.com, selector: {app.kubernetes.io/component: standalone}}`},
			wantErr: []string{"Service kestra has no ports", "--service"},
		},
		"no Kestra at all": {
			objects: []string{`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {spec: {containers: [{name: nginx, image: nginx}]}}}`},
			wantErr: []string{"no Kestra Deployment or StatefulSet", "Deployment web", "--deployment"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			install, err := Find(objects(t, tc.objects...), tc.sel, "base.yaml")
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error; found %+v", install)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			port := install.ServicePort.Name
			if port == "" {
				port = itoa(install.ServicePort.Number)
			}
			got := []string{install.Server.Kind, install.Server.Name, install.Server.Container, port}
			want := []string{tc.wantKind, tc.wantServer, tc.wantContainer, tc.wantPort}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("found %v, want %v", got, want)
			}
			if len(install.Workloads) != tc.wantWorkloads {
				t.Errorf("%d Kestra workloads, want %d", len(install.Workloads), tc.wantWorkloads)
			}
			if tc.wantConfigFiles != "" && install.Server.Env.ConfigFiles != tc.wantConfigFiles {
				t.Errorf("MICRONAUT_CONFIG_FILES = %q", install.Server.Env.ConfigFiles)
			}
			if tc.wantJVM != "" && install.Server.Env.JavaOpts["_JAVA_OPTIONS"] != tc.wantJVM {
				t.Errorf("_JAVA_OPTIONS = %q", install.Server.Env.JavaOpts["_JAVA_OPTIONS"])
			}
		})
	}
}

func itoa(n int32) string {
	data, _ := yaml.Marshal(n)
	return strings.TrimSpace(string(data))
}
