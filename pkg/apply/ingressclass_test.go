package apply

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

func TestSettleIngressClasses(t *testing.T) {
	class := func(name, controller string, isDefault bool) runtime.Object {
		object := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
			"metadata": map[string]any{"name": name}, "spec": map[string]any{"controller": controller},
		}}
		if isDefault {
			object.SetAnnotations(map[string]string{defaultClassAnnotation: "true"})
		}
		return object
	}
	for name, tc := range map[string]struct {
		classes     []runtime.Object
		className   string
		annotations map[string]string
		wantErr     string
		wantNote    string
		wantAdded   map[string]string
	}{
		"no class named, the default is ingress-nginx's: its settings are added": {
			classes:   []runtime.Object{class("public", "k8s.io/ingress-nginx", true), class("traefik", "traefik.io/ingress-controller", false)},
			wantNote:  "Ingress kestra/kestra names no class: the cluster's default IngressClass public serves it (controller k8s.io/ingress-nginx)",
			wantAdded: map[string]string{"nginx.ingress.kubernetes.io/proxy-buffering": "off", "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"},
		},
		"no class named and none default: refused, naming the classes": {
			classes: []runtime.Object{class("public", "k8s.io/ingress-nginx", false), class("traefik", "traefik.io/ingress-controller", false)},
			wantErr: "Ingress kestra/kestra names no IngressClass and none is marked default in this cluster (it has public (k8s.io/ingress-nginx), traefik (traefik.io/ingress-controller)): generate with --ingress-class NAME",
		},
		"no class in the cluster yet: a note, nothing refused": {
			wantNote: "this cluster has no IngressClass yet",
		},
		"a class of the cluster's own name: its controller's settings, the user's annotation kept": {
			classes:     []runtime.Object{class("internal-lb", "k8s.io/ingress-nginx", false)},
			className:   "internal-lb",
			annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-read-timeout": "60"},
			wantNote:    "added the settings Kestra needs from k8s.io/ingress-nginx",
			wantAdded:   map[string]string{"nginx.ingress.kubernetes.io/proxy-buffering": "off", "nginx.ingress.kubernetes.io/proxy-read-timeout": "60"},
		},
		"client certificates through ingress-nginx on a class of ingress-nginx: applied": {
			classes:     []runtime.Object{class("nginx", "k8s.io/ingress-nginx", false)},
			className:   "nginx",
			annotations: map[string]string{"kestra-tls.io/client-auth": "need", "nginx.ingress.kubernetes.io/auth-tls-secret": "kestra/kestra-tls-client-ca", "nginx.ingress.kubernetes.io/auth-tls-verify-client": "on"},
			wantAdded:   map[string]string{"nginx.ingress.kubernetes.io/auth-tls-verify-client": "on"},
		},
		"client certificates through ingress-nginx on a class F5's NGINX controller serves: refused, it would ignore them": {
			classes:     []runtime.Object{class("nginx", "nginx.org/ingress-controller", true)},
			className:   "nginx",
			annotations: map[string]string{"kestra-tls.io/client-auth": "need", "nginx.ingress.kubernetes.io/auth-tls-secret": "kestra/kestra-tls-client-ca", "nginx.ingress.kubernetes.io/auth-tls-verify-client": "on"},
			wantErr:     "IngressClass nginx is served by nginx.org/ingress-controller, which ignores them and would let clients without a certificate reach Kestra; nothing was applied",
		},
		"client certificates through Traefik on a class of ingress-nginx: refused": {
			classes:     []runtime.Object{class("traefik", "k8s.io/ingress-nginx", false)},
			className:   "traefik",
			annotations: map[string]string{"kestra-tls.io/client-auth": "want", "traefik.ingress.kubernetes.io/router.tls.options": "kestra-kestra-tls-client-auth@kubernetescrd"},
			wantErr:     "with traefik.io/ingress-controller's settings, but IngressClass traefik is served by k8s.io/ingress-nginx",
		},
		"client certificates asked for without any controller's settings: refused": {
			classes:     []runtime.Object{class("nginx", "k8s.io/ingress-nginx", false)},
			className:   "nginx",
			annotations: map[string]string{"kestra-tls.io/client-auth": "need"},
			wantErr:     "carries no Ingress controller's client authentication settings",
		},
		"a class the cluster does not have: a note naming those it has": {
			classes:   []runtime.Object{class("traefik", "traefik.io/ingress-controller", true)},
			className: "nginx",
			wantNote:  "IngressClass nginx does not exist in this cluster (it has traefik (traefik.io/ingress-controller))",
		},
	} {
		t.Run(name, func(t *testing.T) {
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{resources.IngressClasses: "IngressClassList"}, tc.classes...)
			a := &Applier{dynamic: client}
			ingress := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
				"metadata": map[string]any{"name": "kestra", "namespace": "kestra", "labels": map[string]any{"app.kubernetes.io/managed-by": "kubectl-kestra-tls"}},
				"spec":     map[string]any{},
			}}
			if tc.className != "" {
				unstructured.SetNestedField(ingress.Object, tc.className, "spec", "ingressClassName")
			}
			if tc.annotations != nil {
				ingress.SetAnnotations(tc.annotations)
			}
			info := &resource.Info{Name: "kestra", Namespace: "kestra", Mapping: &meta.RESTMapping{GroupVersionKind: ingress.GroupVersionKind()}}
			var notes strings.Builder
			err := a.settleIngressClasses(context.Background(), []*resource.Info{info}, []action{{body: ingress}}, func() ([]ingressClass, error) { return a.ingressClasses(context.Background()) }, &notes)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(notes.String(), tc.wantNote) {
				t.Errorf("notes = %q, want %q", notes.String(), tc.wantNote)
			}
			got := ingress.GetAnnotations()
			for key, want := range tc.wantAdded {
				if got[key] != want {
					t.Errorf("annotation %s = %q, want %q (-want +got):\n%s", key, got[key], want, cmp.Diff(tc.wantAdded, got))
				}
			}
		})
	}
}
