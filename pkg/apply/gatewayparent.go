package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// checkRouteParents refuses, before any write, an HTTPRoute whose parent Gateway is not in the set and
// would not take it: the Gateway or its listener is missing, or the listener does not allow routes from
// the route's namespace. A route the Gateway ignores would otherwise apply cleanly and serve nothing.
func (a *Applier) checkRouteParents(ctx context.Context, infos []*resource.Info) error {
	ours := map[string]bool{}
	for _, info := range infos {
		if gvk := info.Object.GetObjectKind().GroupVersionKind(); gvk.Group == resources.GatewayGroup && gvk.Kind == "Gateway" {
			ours[info.Namespace+"/"+info.Name] = true
		}
	}
	for _, info := range infos {
		gvk := info.Object.GetObjectKind().GroupVersionKind()
		if gvk.Group != resources.GatewayGroup || gvk.Kind != "HTTPRoute" {
			continue
		}
		route, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
		for _, raw := range parents {
			parent, _ := raw.(map[string]any)
			name, _ := parent["name"].(string)
			namespace, _ := parent["namespace"].(string)
			listener, _ := parent["sectionName"].(string)
			if namespace == "" {
				namespace = info.Namespace
			}
			if kind, _ := parent["kind"].(string); (kind != "" && kind != "Gateway") || ours[namespace+"/"+name] {
				continue
			}
			if err := a.checkParent(ctx, info.Namespace, info.Name, namespace, name, listener); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Applier) checkParent(ctx context.Context, routeNamespace, routeName, namespace, name, listenerName string) error {
	client, err := a.dynamicClient()
	if err != nil {
		return err
	}
	gateway, err := client.Resource(resources.Gateways).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("HTTPRoute %s/%s attaches to Gateway %s/%s, which does not exist: check --gateway (kubectl get gateways -A)", routeNamespace, routeName, namespace, name)
	case apierrors.IsForbidden(err):
		return nil // the user may not read Gateways there; the route's conditions will tell
	case err != nil:
		return a.explain(err, "reading Gateway "+namespace+"/"+name, nil)
	}
	listeners, _, _ := unstructured.NestedSlice(gateway.Object, "spec", "listeners")
	var names []string
	for _, raw := range listeners {
		listener, _ := raw.(map[string]any)
		names = append(names, fmt.Sprint(listener["name"]))
	}
	if listenerName != "" && !slices.Contains(names, listenerName) {
		return fmt.Errorf("Gateway %s/%s has no listener %q: it has %s (fix the :LISTENER of --gateway)", namespace, name, listenerName, strings.Join(names, ", "))
	}
	for _, raw := range listeners {
		listener, _ := raw.(map[string]any)
		if listenerName != "" && listener["name"] != listenerName {
			continue
		}
		if allows(listener, routeNamespace, namespace) {
			return nil
		}
	}
	which := "no listener of Gateway " + namespace + "/" + name
	if listenerName != "" {
		which = "listener " + listenerName + " of Gateway " + namespace + "/" + name
	}
	return fmt.Errorf("%s allows HTTPRoutes from namespace %s: its owner must add allowedRoutes.namespaces.from: All, or Selector matching %s (kubernetes.io/metadata.name: %s), for the route to attach", which, routeNamespace, routeNamespace, routeNamespace)
}

// allows reads a listener's allowedRoutes.namespaces.from: Same by default; a Selector is taken to match,
// since the API server alone cannot tell us the namespace's labels without another read.
func allows(listener map[string]any, routeNamespace, gatewayNamespace string) bool {
	from, _, _ := unstructured.NestedString(listener, "allowedRoutes", "namespaces", "from")
	switch from {
	case "All", "Selector":
		return true
	case "", "Same":
		return routeNamespace == gatewayNamespace
	}
	return false
}
