package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// RouteRef is an HTTPRoute attached to a Gateway that is not in the applied set: someone else's controller
// must accept it, and nothing else tells the user that it did.
type RouteRef struct {
	Namespace, Name string
	Gateway         string // namespace/name
}

func (r RouteRef) String() string { return "HTTPRoute " + qualifiedName(r.Namespace, r.Name) }

// RoutesToForeignGateways finds the HTTPRoutes whose parent Gateway was not applied with them.
func RoutesToForeignGateways(objects []*unstructured.Unstructured, defaultNamespace string) []RouteRef {
	ours := map[string]bool{}
	for _, object := range objects {
		if gvk := object.GroupVersionKind(); gvk.Group == resources.GatewayGroup && gvk.Kind == "Gateway" {
			ours[orDefault(object.GetNamespace(), defaultNamespace)+"/"+object.GetName()] = true
		}
	}
	var refs []RouteRef
	for _, object := range objects {
		if gvk := object.GroupVersionKind(); gvk.Group != resources.GatewayGroup || gvk.Kind != "HTTPRoute" {
			continue
		}
		namespace := orDefault(object.GetNamespace(), defaultNamespace)
		parents, _, _ := unstructured.NestedSlice(object.Object, "spec", "parentRefs")
		for _, raw := range parents {
			parent, _ := raw.(map[string]any)
			parentNamespace, _ := parent["namespace"].(string)
			gateway := orDefault(parentNamespace, namespace) + "/" + fmt.Sprint(parent["name"])
			if !ours[gateway] {
				refs = append(refs, RouteRef{Namespace: namespace, Name: object.GetName(), Gateway: gateway})
			}
		}
	}
	return refs
}

// WaitForRoute watches the route until the Gateway's controller accepts it (Accepted=True in its
// status.parents), printing each condition it sets; it says plainly when none did within the timeout.
func (w *Waiter) WaitForRoute(ctx context.Context, ref RouteRef, timeout time.Duration) error {
	once := timeout == 0 // --timeout 0 checks once, as for Certificates
	limit := timeout
	if once {
		limit = checkOnceLimit
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := w.Dynamic.Resource(resources.HTTPRoutes).Namespace(ref.Namespace)
	selector := fields.OneTermEqualSelector("metadata.name", ref.Name).String()
	last := ""
	check := func(route *unstructured.Unstructured) bool {
		accepted, line := routeStatus(route, ref.Gateway)
		if line != last && line != "" {
			w.printf("%s: %s\n", ref, line)
			last = line
		}
		return accepted
	}
	attempt := 0
	// down waits out an API server that is briefly away, as the Certificate wait does; any other error is
	// the answer (a route the user may not read is not "no controller").
	failed := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		if err := w.down(ctx, err, &attempt); err != nil && ctx.Err() == nil {
			return fmt.Errorf("watching %s: %w", ref, err)
		}
		return nil
	}
	for ctx.Err() == nil {
		list, err := client.List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			if err := failed(err); err != nil {
				return err
			}
			continue
		}
		w.up()
		attempt = 0
		for i := range list.Items {
			if check(&list.Items[i]) {
				return nil
			}
		}
		if once {
			break
		}
		watcher, err := client.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			if err := failed(err); err != nil {
				return err
			}
			continue
		}
		for event := range watcher.ResultChan() {
			if route, ok := event.Object.(*unstructured.Unstructured); ok && check(route) {
				watcher.Stop()
				return nil
			}
		}
		watcher.Stop()
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	if last == "" {
		return &TimeoutError{Explanation: fmt.Sprintf("%s: no Gateway controller has accepted it after %s (its status names no parent): is a controller for the GatewayClass of Gateway %s running (kubectl get gatewayclass, kubectl describe gateway -n %s)?",
			ref, timeout, ref.Gateway, strings.SplitN(ref.Gateway, "/", 2)[0])}
	}
	return &TimeoutError{Explanation: fmt.Sprintf("%s is not accepted by Gateway %s after %s: %s", ref, ref.Gateway, timeout, last)}
}

// routeStatus reads the Gateway's entry in the route's status: accepted, and its conditions as one line.
func routeStatus(route *unstructured.Unstructured, gateway string) (bool, string) {
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	for _, raw := range parents {
		parent, _ := raw.(map[string]any)
		ref, _ := parent["parentRef"].(map[string]any)
		namespace := route.GetNamespace()
		if ns, ok := ref["namespace"].(string); ok && ns != "" {
			namespace = ns
		}
		if namespace+"/"+fmt.Sprint(ref["name"]) != gateway {
			continue
		}
		conditions, _ := parent["conditions"].([]any)
		accepted, resolved := false, true
		var parts []string
		for _, c := range conditions {
			condition, _ := c.(map[string]any)
			parts = append(parts, fmt.Sprintf("%s=%s (%s): %s", condition["type"], condition["status"], condition["reason"], condition["message"]))
			switch condition["type"] {
			case "Accepted":
				accepted = condition["status"] == "True"
			case "ResolvedRefs":
				resolved = condition["status"] == "True"
			}
		}
		controller, _ := parent["controllerName"].(string)
		return accepted && resolved, fmt.Sprintf("%s by %s", strings.Join(parts, "; "), orDefault(controller, "its controller"))
	}
	return false, ""
}
