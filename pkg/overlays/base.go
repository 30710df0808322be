package overlays

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/resmap"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
)

// Target is what the overlay patches in the base: Kestra's Deployment, container and Service.
type Target struct {
	Namespace     string
	Deployment    string
	Container     string
	Configuration string // the base's KESTRA_CONFIGURATION
	JavaOpts      string // the base's JAVA_OPTS
	Service       string
	ServicePort   ServicePort
}

// ServicePort is how the Ingress addresses Kestra's HTTP port on the Service.
type ServicePort struct {
	Name   string
	Number int32
}

// Selection names the objects to patch; empty fields are found by the official chart's labels.
type Selection struct {
	Deployment, Container, Service string
}

const (
	nameLabel      = "app.kubernetes.io/name"
	componentLabel = "app.kubernetes.io/component"
	kestraHTTPPort = 8080
)

// kestraComponents are the chart's components that serve the UI and API.
var kestraComponents = []string{"standalone", "webserver"}

// FindTarget picks Kestra's Deployment, container and Service in a built base.
func FindTarget(base resmap.ResMap, sel Selection, baseName string) (Target, error) {
	deployments, services, err := decodeBase(base)
	if err != nil {
		return Target{}, fmt.Errorf("--base %s: %v", baseName, err)
	}
	deployment, err := pickDeployment(deployments, sel.Deployment, baseName)
	if err != nil {
		return Target{}, err
	}
	container, err := pickContainer(deployment, sel.Container)
	if err != nil {
		return Target{}, err
	}
	target := Target{Namespace: deployment.Namespace, Deployment: deployment.Name, Container: container.Name}
	for _, env := range container.Env {
		if env.Name != "KESTRA_CONFIGURATION" && env.Name != "JAVA_OPTS" {
			continue
		}
		if env.ValueFrom != nil {
			return Target{}, fmt.Errorf("--base %s: %s of container %q comes from valueFrom; kestra-tls can only merge into a literal value (inline it in the base)", baseName, env.Name, container.Name)
		}
		if env.Name == "KESTRA_CONFIGURATION" {
			target.Configuration = env.Value
		} else {
			target.JavaOpts = env.Value
		}
	}
	service, err := pickService(services, deployment, sel.Service, baseName)
	if err != nil {
		return Target{}, err
	}
	target.Service = service.Name
	target.ServicePort = pickServicePort(service, container)
	return target, nil
}

func decodeBase(base resmap.ResMap) ([]appsv1.Deployment, []corev1.Service, error) {
	var deployments []appsv1.Deployment
	var services []corev1.Service
	for _, res := range base.Resources() {
		var into any
		switch res.GetKind() {
		case "Deployment":
			deployments = append(deployments, appsv1.Deployment{})
			into = &deployments[len(deployments)-1]
		case "Service":
			services = append(services, corev1.Service{})
			into = &services[len(services)-1]
		default:
			continue
		}
		data, err := res.MarshalJSON()
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(data, into); err != nil {
			return nil, nil, fmt.Errorf("%s %s: %v", res.GetKind(), res.GetName(), err)
		}
	}
	return deployments, services, nil
}

func pickDeployment(deployments []appsv1.Deployment, name, baseName string) (*appsv1.Deployment, error) {
	var candidates []*appsv1.Deployment
	for i := range deployments {
		d := &deployments[i]
		if name != "" {
			if d.Name == name {
				candidates = append(candidates, d)
			}
			continue
		}
		l := d.Labels
		if l[nameLabel] == "kestra" && contains(kestraComponents, l[componentLabel]) {
			candidates = append(candidates, d)
		}
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case name != "" && len(candidates) == 0:
		return nil, fmt.Errorf("--deployment %s: no such Deployment in --base %s (it has: %s)", name, baseName, deploymentNames(deployments))
	case len(candidates) == 0:
		return nil, fmt.Errorf("--base %s has no Kestra Deployment labelled %s=kestra, %s=standalone or webserver (it has: %s): name yours with --deployment", baseName, nameLabel, componentLabel, deploymentNames(deployments))
	}
	var names []string
	for _, d := range candidates {
		names = append(names, qualified(d.Namespace, d.Name))
	}
	return nil, fmt.Errorf("--base %s has %d candidate Kestra Deployments (%s): choose one with --deployment", baseName, len(candidates), strings.Join(names, ", "))
}

func pickContainer(d *appsv1.Deployment, name string) (*corev1.Container, error) {
	containers := d.Spec.Template.Spec.Containers
	var names []string
	for i := range containers {
		names = append(names, containers[i].Name)
		if containers[i].Name == name || (name == "" && (len(containers) == 1 || containers[i].Name == "kestra")) {
			return &containers[i], nil
		}
	}
	if name != "" {
		return nil, fmt.Errorf("--container %s: Deployment %s has no such container (it has: %s)", name, d.Name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("Deployment %s has %d containers (%s) and none is named kestra: choose one with --container", d.Name, len(containers), strings.Join(names, ", "))
}

func pickService(services []corev1.Service, d *appsv1.Deployment, name, baseName string) (*corev1.Service, error) {
	podLabels := labels.Set(d.Spec.Template.Labels)
	var candidates []*corev1.Service
	var all []string
	for i := range services {
		s := &services[i]
		all = append(all, s.Name)
		if s.Namespace != d.Namespace {
			continue
		}
		if name != "" {
			if s.Name == name {
				candidates = append(candidates, s)
			}
			continue
		}
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			candidates = append(candidates, s)
		}
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case name != "" && len(candidates) == 0:
		return nil, fmt.Errorf("--service %s: no such Service beside Deployment %s in --base %s (it has: %s)", name, d.Name, baseName, strings.Join(all, ", "))
	case len(candidates) == 0:
		return nil, fmt.Errorf("--base %s has no Service selecting the pods of Deployment %s: add one, or name it with --service", baseName, d.Name)
	}
	var names []string
	for _, s := range candidates {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("--base %s has %d Services selecting Deployment %s (%s): choose one with --service", baseName, len(candidates), d.Name, strings.Join(names, ", "))
}

// pickServicePort finds the Service port that reaches Kestra's HTTP port (8080), not the guide's port 80.
func pickServicePort(s *corev1.Service, c *corev1.Container) ServicePort {
	httpNames := map[string]bool{}
	for _, p := range c.Ports {
		if p.ContainerPort == kestraHTTPPort && p.Name != "" {
			httpNames[p.Name] = true
		}
	}
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if (target.IntVal == kestraHTTPPort) || (target.StrVal != "" && httpNames[target.StrVal]) || (target.IntVal == 0 && target.StrVal == "" && p.Port == kestraHTTPPort) {
			return servicePort(p)
		}
	}
	return servicePort(s.Spec.Ports[0])
}

func servicePort(p corev1.ServicePort) ServicePort {
	if p.Name != "" {
		return ServicePort{Name: p.Name}
	}
	return ServicePort{Number: p.Port}
}

func deploymentNames(deployments []appsv1.Deployment) string {
	if len(deployments) == 0 {
		return "no Deployment"
	}
	var names []string
	for _, d := range deployments {
		names = append(names, qualified(d.Namespace, d.Name))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

// embeddedBase returns the default base's files from the embedded templates.
func embeddedBase(templates fs.FS) ([]fileset.File, error) {
	var files []fileset.File
	err := fs.WalkDir(templates, embeddedBaseDir, func(p string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates, p)
		files = append(files, fileset.File{Name: p, Data: data, Mode: fileset.Public})
		return err
	})
	return files, err
}
