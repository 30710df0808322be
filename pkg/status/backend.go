package status

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// ingressBackends are the Services an Ingress sends requests to, in order, each once.
func ingressBackends(ingress *unstructured.Unstructured) []string {
	var names []string
	if name, _, _ := unstructured.NestedString(ingress.Object, "spec", "defaultBackend", "service", "name"); name != "" {
		names = appendNew(names, name)
	}
	rules, _, _ := unstructured.NestedSlice(ingress.Object, "spec", "rules")
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		paths, _, _ := unstructured.NestedSlice(rule, "http", "paths")
		for _, p := range paths {
			path, _ := p.(map[string]any)
			if name, _, _ := unstructured.NestedString(path, "backend", "service", "name"); name != "" {
				names = appendNew(names, name)
			}
		}
	}
	return names
}

// routeBackends are the Services an HTTPRoute sends requests to (backendRefs of the core group and kind
// Service, the defaults), in order, each once.
func routeBackends(route *unstructured.Unstructured) []string {
	var names []string
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(rule, "backendRefs")
		for _, b := range refs {
			ref, _ := b.(map[string]any)
			group, _ := ref["group"].(string)
			kind, _ := ref["kind"].(string)
			namespace, _ := ref["namespace"].(string)
			if group != "" || (kind != "" && kind != "Service") || (namespace != "" && namespace != route.GetNamespace()) {
				// Another kind of backend, or a Service across namespaces (a ReferenceGrant's business): not a
				// Kestra of this install to look at.
				continue
			}
			if name, _ := ref["name"].(string); name != "" {
				names = appendNew(names, name)
			}
		}
	}
	return names
}

// checkBackends follows an Ingress's or HTTPRoute's Services to the workloads they select and reads their
// readiness: a valid certificate in front of a Kestra with no ready pod still serves nothing but errors.
func checkBackends(s *snapshot, install *Install, services []string) {
	if s.servicesHidden {
		return
	}
	for _, name := range services {
		service := s.find(s.services, install.Namespace, name)
		if service == nil {
			install.add(Broken, fmt.Sprintf("the %s sends requests to Service %s, which does not exist: nothing answers behind the certificate (kubectl get service -n %s)", install.Kind, name, install.Namespace))
			continue
		}
		selector, found, _ := unstructured.NestedStringMap(service.Object, "spec", "selector")
		if !found || len(selector) == 0 {
			// A Service without a selector has its endpoints managed by someone else: no workload to read.
			continue
		}
		chosen := labels.SelectorFromSet(selector)
		workloads := s.selectedWorkloads(install.Namespace, chosen)
		for _, w := range workloads {
			checkReadiness(install, w)
		}
		if len(workloads) == 0 && !s.selectsPod(install.Namespace, chosen) {
			install.add(Broken, fmt.Sprintf("Service %s selects no pod (selector %s): nothing answers behind the certificate; check the Service's selector against Kestra's pod labels", name, chosen))
		}
	}
}

// selectedWorkloads are the Deployments and StatefulSets in namespace whose pods the selector picks.
func (s *snapshot) selectedWorkloads(namespace string, selector labels.Selector) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, w := range s.inNamespace().workloads[namespace] {
		podLabels, _, _ := unstructured.NestedStringMap(w.Object, "spec", "template", "metadata", "labels")
		if selector.Matches(labels.Set(podLabels)) {
			found = append(found, w)
		}
	}
	return found
}

// selectsPod says whether any pod in namespace matches: pods made without a Deployment or StatefulSet.
func (s *snapshot) selectsPod(namespace string, selector labels.Selector) bool {
	for _, pod := range s.inNamespace().pods[namespace] {
		if selector.Matches(labels.Set(pod.GetLabels())) {
			return true
		}
	}
	return false
}

// byNamespace are the snapshot's workloads and pods by namespace: status -A over a fleet looks each
// install's up among thousands, once per backend Service.
type byNamespace struct {
	workloads, pods map[string][]*unstructured.Unstructured
}

func (s *snapshot) inNamespace() *byNamespace {
	if s.index != nil {
		return s.index
	}
	s.index = &byNamespace{workloads: map[string][]*unstructured.Unstructured{}, pods: map[string][]*unstructured.Unstructured{}}
	for _, items := range [][]unstructured.Unstructured{s.deployments, s.statefulSets} {
		for i := range items {
			s.index.workloads[items[i].GetNamespace()] = append(s.index.workloads[items[i].GetNamespace()], &items[i])
		}
	}
	for i := range s.pods {
		s.index.pods[s.pods[i].GetNamespace()] = append(s.index.pods[s.pods[i].GetNamespace()], &s.pods[i])
	}
	return s.index
}
