package apply

import (
	"context"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// followACME prints the Orders and Challenges of the Certificate's requests as their state changes, so that
// an ACME issuance (which takes seconds to minutes) shows where it is: the Certificate's own conditions do
// not change while a Challenge is pending or validated. They are the Certificate's by name, as cert-manager
// names them (<certificate>-<revision>-<hash>[-<hash>]). It returns when ctx ends; a user who may not
// read Orders simply sees no such lines. It starts after followDelay: a CA issues within it, and only
// then are the two extra watches worth their requests (an Order made meanwhile is listed, not missed).
func (w *Waiter) followACME(ctx context.Context, ref CertificateRef) {
	go func() {
		if !sleep(ctx, followDelay) {
			return
		}
		for _, gvr := range []schema.GroupVersionResource{resources.Orders, resources.Challenges} {
			go w.follow(ctx, gvr, ref)
		}
	}()
}

const followDelay = time.Second

func (w *Waiter) follow(ctx context.Context, gvr schema.GroupVersionResource, ref CertificateRef) {
	client := w.Dynamic.Resource(gvr).Namespace(ref.Namespace)
	seen := map[string]string{}
	for ctx.Err() == nil {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			if !sleep(ctx, 2*time.Second) {
				return
			}
			continue
		}
		for i := range list.Items {
			w.reportACME(ctx, gvr, ref, &list.Items[i], seen)
		}
		watcher, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			if !sleep(ctx, 2*time.Second) {
				return
			}
			continue
		}
		for event := range watcher.ResultChan() {
			if object, ok := event.Object.(*unstructured.Unstructured); ok && (event.Type == watch.Added || event.Type == watch.Modified) {
				w.reportACME(ctx, gvr, ref, object, seen)
			}
		}
		watcher.Stop()
	}
}

func (w *Waiter) reportACME(ctx context.Context, gvr schema.GroupVersionResource, ref CertificateRef, object *unstructured.Unstructured, seen map[string]string) {
	if ctx.Err() != nil || !strings.HasPrefix(object.GetName(), ref.Name+"-") {
		return
	}
	state, _, _ := unstructured.NestedString(object.Object, "status", "state")
	reason, _, _ := unstructured.NestedString(object.Object, "status", "reason")
	line := "ACME Order " + object.GetName()
	if gvr == resources.Challenges {
		host, _, _ := unstructured.NestedString(object.Object, "spec", "dnsName")
		line = "ACME Challenge " + object.GetName() + " for " + host
	}
	line += ": " + orDefault(state, "created")
	if reason != "" {
		line += " (" + firstLine(reason) + ")"
	}
	if seen[object.GetName()] == line {
		return
	}
	seen[object.GetName()] = line
	w.printf("%s\n", line)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
