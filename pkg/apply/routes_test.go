package apply

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func gatewayObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind, "spec": spec}}
	o.SetNamespace(namespace)
	o.SetName(name)
	return o
}

func TestRoutesToForeignGatewaysLeaveOutTheGatewaysWeApply(t *testing.T) {
	route := func(parents ...any) *unstructured.Unstructured {
		return gatewayObject("HTTPRoute", "", "kestra", map[string]any{"parentRefs": parents})
	}
	for name, tc := range map[string]struct {
		objects []*unstructured.Unstructured
		want    []RouteRef
	}{
		"a route to a Gateway applied with it": {
			[]*unstructured.Unstructured{gatewayObject("Gateway", "", "kestra", nil), route(map[string]any{"name": "kestra"})}, nil,
		},
		"a route to someone else's Gateway in another namespace": {
			[]*unstructured.Unstructured{route(map[string]any{"name": "public", "namespace": "infra", "sectionName": "https"})},
			[]RouteRef{{Namespace: "kestra", Name: "kestra", Gateway: "infra/public"}},
		},
		"a route to a Gateway of the same name elsewhere": {
			[]*unstructured.Unstructured{gatewayObject("Gateway", "", "public", nil), route(map[string]any{"name": "public", "namespace": "infra"})},
			[]RouteRef{{Namespace: "kestra", Name: "kestra", Gateway: "infra/public"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, RoutesToForeignGateways(tc.objects, "kestra")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRouteStatusReadsOnlyItsGatewaysEntry(t *testing.T) {
	route := gatewayObject("HTTPRoute", "kestra", "kestra", nil)
	parent := func(namespace, name, accepted, resolved string) any {
		return map[string]any{
			"parentRef":      map[string]any{"name": name, "namespace": namespace},
			"controllerName": "example.com/gw",
			"conditions": []any{
				map[string]any{"type": "Accepted", "status": accepted, "reason": "R", "message": "m"},
				map[string]any{"type": "ResolvedRefs", "status": resolved, "reason": "R", "message": "m"},
			},
		}
	}
	for name, tc := range map[string]struct {
		parents []any
		want    bool
	}{
		"accepted, references resolved":      {[]any{parent("infra", "public", "True", "True")}, true},
		"accepted, a backend not found":      {[]any{parent("infra", "public", "True", "False")}, false},
		"not accepted":                       {[]any{parent("infra", "public", "False", "True")}, false},
		"accepted by another Gateway only":   {[]any{parent("other", "public", "True", "True")}, false},
		"no controller has written a status": {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			route.Object["status"] = map[string]any{"parents": tc.parents}
			if got, _ := routeStatus(route, "infra/public"); got != tc.want {
				t.Errorf("accepted = %v, want %v", got, tc.want)
			}
		})
	}
}
