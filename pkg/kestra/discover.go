// Package kestra finds Kestra in a set of Kubernetes manifests (the official chart's output, or anyone's):
// its workloads, the container in each that runs Kestra, the Service in front of the UI, and how each
// container receives its configuration. It reads; it writes nothing.
package kestra

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels and names of the official chart.
const (
	NameLabel      = "app.kubernetes.io/name"
	ComponentLabel = "app.kubernetes.io/component"
	// HTTPPort is the port Kestra's Micronaut server listens on for HTTP.
	HTTPPort = 8080
)

// serverComponents serve the UI and API; the Service selects one of them.
var serverComponents = []string{"standalone", "webserver"}

// knownComponents are the chart's components; the chart names each container kestra-<component>.
var knownComponents = []string{"standalone", "webserver", "executor", "worker", "scheduler", "indexer"}

// Workload is a Deployment or StatefulSet with a container that runs Kestra.
type Workload struct {
	Kind, Namespace, Name string
	// Component is the chart's component label (standalone, webserver, worker...), empty when unlabelled.
	Component string
	// Container is the name of the container that runs Kestra, and Image its image.
	Container, Image string
	Env              Env
	PodLabels        map[string]string
	Ports            []corev1.ContainerPort
	Volumes          []corev1.Volume
	Mounts           []corev1.VolumeMount
	// Docker are the pod's Docker daemons (the chart's Docker-in-Docker sidecar), which pull the images of
	// Docker task runners.
	Docker []DockerDaemon
	// podPorts are the ports of every container of the pod: a Service's named targetPort may be any's.
	podPorts []corev1.ContainerPort
}

// DockerDaemon is a Docker-in-Docker container beside Kestra.
type DockerDaemon struct {
	Container string
	// Rootless: dockerd runs as a user (the chart's default, docker:dind-rootless as uid 1000) and reads
	// registry CAs under its home (~/.config/docker/certs.d) instead of /etc/docker/certs.d.
	Rootless bool
}

// CertsDir is where the daemon reads each registry's CA: DIR/<host[:port]>/ca.crt.
func (d DockerDaemon) CertsDir() string {
	if d.Rootless {
		return "/home/rootless/.config/docker/certs.d"
	}
	return "/etc/docker/certs.d"
}

// dockerDaemons finds the containers that run dockerd: Docker's dind images (docker:dind, dind-rootless).
func dockerDaemons(template corev1.PodTemplateSpec) []DockerDaemon {
	var found []DockerDaemon
	for _, c := range template.Spec.Containers {
		repository, tag := c.Image, ""
		if colon := strings.LastIndex(repository, ":"); colon > strings.LastIndex(repository, "/") {
			repository, tag = repository[:colon], repository[colon+1:]
		}
		if path.Base(repository) != "docker" || !strings.Contains(tag, "dind") {
			continue
		}
		uid := int64(-1)
		if template.Spec.SecurityContext != nil && template.Spec.SecurityContext.RunAsUser != nil {
			uid = *template.Spec.SecurityContext.RunAsUser
		}
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
			uid = *c.SecurityContext.RunAsUser
		}
		// The rootless image runs as its user unless told otherwise; as root, dockerd is not rootless.
		rootless := uid > 0 || (uid < 0 && strings.Contains(tag, "rootless"))
		found = append(found, DockerDaemon{Container: c.Name, Rootless: rootless})
	}
	return found
}

// Env is what the Kestra container's environment says about configuration and JVM options.
type Env struct {
	// KestraConfiguration is the literal KESTRA_CONFIGURATION; HasKestraConfiguration tells an empty one apart.
	KestraConfiguration    string
	HasKestraConfiguration bool
	// ConfigFiles is MICRONAUT_CONFIG_FILES as listed (comma-separated); HasConfigFiles tells it is set.
	ConfigFiles    string
	HasConfigFiles bool
	// JavaOpts holds the literal value of each JVM options variable present (JAVA_OPTS, _JAVA_OPTIONS).
	JavaOpts map[string]string
	// FromValueFrom lists the variables above that come from a ConfigMap or Secret: we cannot extend those.
	FromValueFrom []string
	// Names are every variable the container sets, literal or not.
	Names []string
}

// Install is Kestra as found in a base.
type Install struct {
	// Server is the workload behind the Service (standalone, or webserver in distributed mode).
	Server Workload
	// Workloads are every Kestra workload, Server included, in a stable order.
	Workloads []Workload
	Service   string
	// ServicePort addresses the Service port that reaches Kestra's HTTP port 8080.
	ServicePort ServicePort
	// ServesHTTP is true when a Service port reaches 8080: closing plain HTTP would break it.
	ServesHTTP bool
	// ServicePorts are every port of the Service, as the base has them.
	ServicePorts []ServicePort
	// Warnings are what the user should check about the choice.
	Warnings []string
}

// ServicePort is how an Ingress or route addresses a Service port: by name when it has one.
type ServicePort struct {
	Name   string
	Number int32
}

// Selection names what to patch; empty fields are found.
type Selection struct {
	// Workload names the Deployment or StatefulSet that serves the UI (kestra.deployment, --deployment).
	Workload, Container, Service string
}

// Object is one manifest of the base, as decoded JSON, with its kind and name for matching.
type Object struct {
	Kind string
	Name string
	JSON []byte
}

type podWorkload struct {
	kind     string
	meta     metav1.ObjectMeta
	template corev1.PodTemplateSpec
}

// Find picks Kestra's workloads, containers and Service among the objects. baseName names the base in errors.
func Find(objects []Object, sel Selection, baseName string) (*Install, error) {
	workloads, services, err := decode(objects)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %v", baseName, err)
	}
	var kestra []Workload
	for _, w := range workloads {
		found, ok, err := asKestra(w, sel, baseName)
		if err != nil {
			return nil, err
		}
		if ok {
			kestra = append(kestra, found)
		}
	}
	server, err := pickServer(kestra, workloads, sel, baseName)
	if err != nil {
		return nil, err
	}
	if sel.Container != "" && server.Container != sel.Container {
		// --container names the server's container; the other components keep their own.
		return nil, fmt.Errorf("--container %s: %s %s has no such container (it has: %s)", sel.Container, server.Kind, server.Name, strings.Join(containerNames(workloadByName(workloads, server.Kind, server.Name)), ", "))
	}
	install := &Install{Server: server, Workloads: kestra}
	service, err := pickService(services, server, sel.Service, baseName)
	if err != nil {
		return nil, err
	}
	install.Service = service.Name
	for _, p := range service.Spec.Ports {
		install.ServicePorts = append(install.ServicePorts, servicePort(p))
	}
	install.ServicePort, install.ServesHTTP, install.Warnings, err = pickServicePort(service, server, baseName)
	return install, err
}

func decode(objects []Object) ([]podWorkload, []corev1.Service, error) {
	var workloads []podWorkload
	var services []corev1.Service
	for _, object := range objects {
		switch object.Kind {
		case "Deployment", "StatefulSet", "Service":
			if object.Name == "" {
				return nil, nil, fmt.Errorf("a %s has no metadata.name: name it", object.Kind)
			}
		}
		switch object.Kind {
		case "Deployment":
			var d appsv1.Deployment
			if err := json.Unmarshal(object.JSON, &d); err != nil {
				return nil, nil, fmt.Errorf("Deployment %s: %v", object.Name, err)
			}
			workloads = append(workloads, podWorkload{kind: "Deployment", meta: d.ObjectMeta, template: d.Spec.Template})
		case "StatefulSet":
			var s appsv1.StatefulSet
			if err := json.Unmarshal(object.JSON, &s); err != nil {
				return nil, nil, fmt.Errorf("StatefulSet %s: %v", object.Name, err)
			}
			workloads = append(workloads, podWorkload{kind: "StatefulSet", meta: s.ObjectMeta, template: s.Spec.Template})
		case "Service":
			var s corev1.Service
			if err := json.Unmarshal(object.JSON, &s); err != nil {
				return nil, nil, fmt.Errorf("Service %s: %v", object.Name, err)
			}
			services = append(services, s)
		}
	}
	return workloads, services, nil
}

// asKestra tells whether a workload runs Kestra and, if so, in which container. A workload the user named
// is Kestra's whatever its labels.
func asKestra(w podWorkload, sel Selection, baseName string) (Workload, bool, error) {
	component := w.meta.Labels[ComponentLabel]
	named := sel.Workload != "" && w.meta.Name == sel.Workload
	labelled := w.meta.Labels[NameLabel] == "kestra"
	containers := w.template.Spec.Containers
	var candidates []int
	for i, c := range containers {
		if sel.Container != "" && (named || sel.Workload == "") && hasContainer(containers, sel.Container) {
			if c.Name == sel.Container {
				candidates = append(candidates, i)
			}
			continue
		}
		if runsKestra(c) {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 && (named || labelled) && len(containers) == 1 {
		candidates = []int{0}
	}
	switch {
	case len(candidates) == 0:
		return Workload{}, false, nil
	case len(candidates) > 1:
		var names []string
		for _, i := range candidates {
			names = append(names, containers[i].Name)
		}
		return Workload{}, false, fmt.Errorf("--base %s: %s %s has %d containers that look like Kestra (%s): choose one with --container", baseName, w.kind, w.meta.Name, len(candidates), strings.Join(names, ", "))
	}
	c := containers[candidates[0]]
	if component == "" {
		component = componentFromCommand(c)
	}
	return Workload{
		Kind: w.kind, Namespace: w.meta.Namespace, Name: w.meta.Name, Component: component, Container: c.Name, Image: c.Image,
		Env: readEnv(c), PodLabels: w.template.Labels, Ports: c.Ports, Volumes: w.template.Spec.Volumes, Mounts: c.VolumeMounts,
		Docker: dockerDaemons(w.template), podPorts: podPorts(containers),
	}, true, nil
}

func podPorts(containers []corev1.Container) []corev1.ContainerPort {
	var ports []corev1.ContainerPort
	for _, c := range containers {
		ports = append(ports, c.Ports...)
	}
	return ports
}

// runsKestra recognises Kestra's container by image (kestra/kestra, kestra-ee, any registry) or by the
// names the chart and the guide give it (kestra-<component>, kestra); sidecars such as dind match neither.
func runsKestra(c corev1.Container) bool {
	repository := c.Image
	if at := strings.Index(repository, "@"); at >= 0 {
		repository = repository[:at]
	}
	if colon := strings.LastIndex(repository, ":"); colon > strings.LastIndex(repository, "/") {
		repository = repository[:colon]
	}
	switch path.Base(repository) {
	case "kestra", "kestra-ee":
		return true
	}
	if c.Name == "kestra" || strings.HasPrefix(c.Name, "kestra-workergroup-") {
		return true
	}
	for _, component := range knownComponents {
		if c.Name == "kestra-"+component {
			return true
		}
	}
	return false
}

// componentFromCommand reads `kestra server <component>` from the container's command or arguments.
func componentFromCommand(c corev1.Container) string {
	words := strings.Fields(strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
	for i, word := range words {
		if word == "server" && i+1 < len(words) && slices.Contains(knownComponents, words[i+1]) {
			return words[i+1]
		}
	}
	return ""
}

func readEnv(c corev1.Container) Env {
	env := Env{JavaOpts: map[string]string{}}
	for _, e := range c.Env {
		env.Names = append(env.Names, e.Name)
		switch e.Name {
		case "KESTRA_CONFIGURATION", "MICRONAUT_CONFIG_FILES", "JAVA_OPTS", "_JAVA_OPTIONS":
		default:
			continue
		}
		if e.ValueFrom != nil {
			env.FromValueFrom = append(env.FromValueFrom, e.Name)
		}
		switch e.Name {
		case "KESTRA_CONFIGURATION":
			env.KestraConfiguration, env.HasKestraConfiguration = e.Value, true
		case "MICRONAUT_CONFIG_FILES":
			env.ConfigFiles, env.HasConfigFiles = e.Value, true
		default:
			env.JavaOpts[e.Name] = e.Value
		}
	}
	return env
}

func pickServer(kestra []Workload, all []podWorkload, sel Selection, baseName string) (Workload, error) {
	var candidates []Workload
	for _, w := range kestra {
		if sel.Workload != "" {
			if w.Name == sel.Workload {
				candidates = append(candidates, w)
			}
			continue
		}
		if slices.Contains(serverComponents, w.Component) {
			candidates = append(candidates, w)
		}
	}
	if sel.Workload == "" && len(candidates) == 0 {
		// Unlabelled Kestras (the kestra image, no component label): one is the server; several, a choice.
		for _, w := range kestra {
			if w.Component == "" {
				candidates = append(candidates, w)
			}
		}
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case sel.Workload != "" && len(candidates) == 0:
		if w := workloadByName(all, "", sel.Workload); w != nil {
			return Workload{}, fmt.Errorf("--deployment %s: %s %s in --base %s has no container that runs Kestra (it has: %s): name it with --container", sel.Workload, w.kind, w.meta.Name, baseName, strings.Join(containerNames(w), ", "))
		}
		return Workload{}, fmt.Errorf("--deployment %s: no such Deployment or StatefulSet in --base %s (it has: %s)", sel.Workload, baseName, workloadNames(all))
	case len(candidates) == 0:
		return Workload{}, fmt.Errorf("--base %s has no Kestra Deployment or StatefulSet serving the UI (labelled %s standalone or webserver, or running the kestra image; it has: %s): name yours with --deployment", baseName, ComponentLabel, workloadNames(all))
	}
	var names []string
	for _, w := range candidates {
		names = append(names, qualified(w.Namespace, w.Name))
	}
	return Workload{}, fmt.Errorf("--base %s has %d candidate Kestra Deployments (%s): choose one with --deployment", baseName, len(candidates), strings.Join(names, ", "))
}

func pickService(services []corev1.Service, server Workload, name, baseName string) (*corev1.Service, error) {
	podLabels := labels.Set(server.PodLabels)
	var candidates []*corev1.Service
	var all []string
	for i := range services {
		s := &services[i]
		all = append(all, s.Name)
		if s.Namespace != server.Namespace {
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
		return nil, fmt.Errorf("--service %s: no such Service beside %s %s in --base %s (it has: %s)", name, server.Kind, server.Name, baseName, strings.Join(all, ", "))
	case len(candidates) == 0:
		return nil, fmt.Errorf("--base %s has no Service selecting the pods of %s %s: add one, or name it with --service", baseName, server.Kind, server.Name)
	}
	var names []string
	for _, s := range candidates {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("--base %s has %d Services selecting %s %s (%s): choose one with --service", baseName, len(candidates), server.Kind, server.Name, strings.Join(names, ", "))
}

// pickServicePort finds the Service port that reaches Kestra's HTTP port (8080), not the guide's port 80.
// Where none does, it takes the one port that reaches some other port of Kestra's container (Kestra may
// listen elsewhere), never the management port (health and metrics, not the UI), never a port whose
// targetPort names no container port: the Service would send traffic nowhere.
func pickServicePort(s *corev1.Service, server Workload, baseName string) (ServicePort, bool, []string, error) {
	if len(s.Spec.Ports) == 0 {
		return ServicePort{}, false, nil, fmt.Errorf("--base %s: Service %s has no ports (an ExternalName or headless Service?): give it a port to Kestra's 8080, or name another with --service", baseName, s.Name)
	}
	for _, p := range s.Spec.Ports {
		if reachesHTTP(p, server.podPorts) {
			return servicePort(p), true, nil, nil
		}
	}
	var candidates []corev1.ServicePort
	var described []string
	for _, p := range s.Spec.Ports {
		target, found := containerPort(p, server.podPorts)
		switch {
		case !found:
			target := p.TargetPort.String()
			if p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0 {
				target = fmt.Sprint(p.Port)
			}
			described = append(described, fmt.Sprintf("%s -> %s (no container of %s %s declares that port)", portName(p), target, server.Kind, server.Name))
		case target == ManagementPort:
			described = append(described, fmt.Sprintf("%s -> %d (Kestra's management port: health and metrics, not the UI)", portName(p), target))
		default:
			described = append(described, fmt.Sprintf("%s -> %d", portName(p), target))
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 1 {
		p := candidates[0]
		target, _ := containerPort(p, server.podPorts)
		return servicePort(p), false, []string{fmt.Sprintf("Service %s has no port to Kestra's HTTP port %d: kestra-tls routes to its port %s (to %d), the only one that is not the management port; that is right only if Kestra listens on %d (micronaut.server.port)", s.Name, HTTPPort, portName(p), target, target)}, nil
	}
	return ServicePort{}, false, nil, fmt.Errorf("--base %s: Service %s has no port that reaches Kestra's HTTP port %d (its ports: %s): add one (e.g. name: http, port: 8080, targetPort: %d), or name the Service that has it with --service", baseName, s.Name, HTTPPort, strings.Join(described, "; "), HTTPPort)
}

// ManagementPort is Kestra's management listener (health, metrics: endpoints.all.port).
const ManagementPort = 8081

// containerPort is the container port a Service port sends to; found is false for a targetPort name that
// no container port has.
func containerPort(p corev1.ServicePort, containerPorts []corev1.ContainerPort) (int32, bool) {
	switch {
	case p.TargetPort.Type == intstr.String && p.TargetPort.StrVal != "":
		for _, c := range containerPorts {
			if c.Name == p.TargetPort.StrVal {
				return c.ContainerPort, true
			}
		}
		return 0, false
	case p.TargetPort.IntVal != 0:
		return p.TargetPort.IntVal, declared(p.TargetPort.IntVal, containerPorts)
	}
	return p.Port, declared(p.Port, containerPorts)
}

// declared: a pod that declares its ports declares this one (ports need not be declared; where some are,
// an undeclared number is most likely a mistake).
func declared(port int32, containerPorts []corev1.ContainerPort) bool {
	return len(containerPorts) == 0 || slices.ContainsFunc(containerPorts, func(c corev1.ContainerPort) bool { return c.ContainerPort == port })
}

func portName(p corev1.ServicePort) string {
	if p.Name != "" {
		return fmt.Sprintf("%s (%d)", p.Name, p.Port)
	}
	return fmt.Sprint(p.Port)
}

// reachesHTTP: the Service port sends to Kestra's HTTP port, resolving a named targetPort among the pod's
// containers as Kubernetes does.
func reachesHTTP(p corev1.ServicePort, podPorts []corev1.ContainerPort) bool {
	target, found := containerPort(p, podPorts)
	return found && target == HTTPPort
}

// servicePort keeps the port's name (an Ingress backend prefers it: it survives renumbering) and its
// number (an HTTPRoute backendRef takes only a number).
func servicePort(p corev1.ServicePort) ServicePort {
	return ServicePort{Name: p.Name, Number: p.Port}
}

func hasContainer(containers []corev1.Container, name string) bool {
	return slices.ContainsFunc(containers, func(c corev1.Container) bool { return c.Name == name })
}

func workloadByName(all []podWorkload, kind, name string) *podWorkload {
	for i := range all {
		if all[i].meta.Name == name && (kind == "" || all[i].kind == kind) {
			return &all[i]
		}
	}
	return nil
}

func containerNames(w *podWorkload) []string {
	if w == nil {
		return nil
	}
	var names []string
	for _, c := range w.template.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

func workloadNames(all []podWorkload) string {
	if len(all) == 0 {
		return "no Deployment or StatefulSet"
	}
	var names []string
	for _, w := range all {
		names = append(names, w.kind+" "+qualified(w.meta.Namespace, w.meta.Name))
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
