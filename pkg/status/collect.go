package status

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// ourSelector picks what this plugin wrote: the marker every object of ours carries (model.ManagedByLabel).
var ourSelector = model.ManagedByLabel + "=" + model.ManagedByValue

// snapshot is everything status reads, one list per kind.
type snapshot struct {
	ingresses, routes, gateways     []unstructured.Unstructured
	ourSecrets, tlsSecrets          []unstructured.Unstructured
	deployments, statefulSets, pods []unstructured.Unstructured
	services                        []unstructured.Unstructured
	// servicesHidden: a Role written for an earlier status may not list Services; the readiness of the
	// Kestra behind an Ingress is then unknown, and status still runs.
	servicesHidden                        bool
	certificates, issuers, clusterIssuers []unstructured.Unstructured
	// sealedSecrets are ours (--gitops --seal-with), on which the controller reports whether it unsealed
	// them; sealedHidden: a Role written for an earlier status may not list them.
	sealedSecrets []unstructured.Unstructured
	sealedHidden  bool
	// clientTrusts are our ConfigMaps of the clients' CA (--client-ca where cert-manager writes the stores);
	// clientTrustHidden: a Role written for an earlier status may not list ConfigMaps.
	clientTrusts      []unstructured.Unstructured
	clientTrustHidden bool
	requests          int
	// clusterIssuersHidden: the user may not list ClusterIssuers (a namespaced Role, as a status CronJob
	// gets); their Ready is then unknown, not missing.
	clusterIssuersHidden bool
	// index is inNamespace's, made on first use.
	index *byNamespace
}

type listing struct {
	gvr      schema.GroupVersionResource
	options  metav1.ListOptions
	into     *[]unstructured.Unstructured
	optional bool // an API that may not be installed (Gateway API, cert-manager)
	cluster  bool
	// hidden records that the list was forbidden, for a kind status can do without.
	hidden *bool
}

// read lists every kind once, in parallel, in namespace (all namespaces when empty).
func read(ctx context.Context, client dynamic.Interface, namespace string) (*snapshot, error) {
	s := &snapshot{}
	listings := []listing{
		// Every Ingress: the official chart's (--target helm) carries our marker as an annotation.
		{gvr: resources.Ingresses, into: &s.ingresses},
		{gvr: resources.HTTPRoutes, options: metav1.ListOptions{LabelSelector: ourSelector}, into: &s.routes, optional: true},
		{gvr: resources.Gateways, options: metav1.ListOptions{LabelSelector: ourSelector}, into: &s.gateways, optional: true},
		{gvr: resources.Secrets, options: metav1.ListOptions{LabelSelector: ourSelector}, into: &s.ourSecrets},
		// cert-manager writes the TLS Secrets of Ingresses and Gateways without our label.
		{gvr: resources.Secrets, options: metav1.ListOptions{FieldSelector: "type=kubernetes.io/tls"}, into: &s.tlsSecrets},
		{gvr: resources.Deployments, into: &s.deployments},
		{gvr: resources.StatefulSets, into: &s.statefulSets},
		{gvr: resources.Pods, into: &s.pods},
		// The Services an Ingress or HTTPRoute sends to lead to the workload whose readiness counts.
		{gvr: resources.Services, into: &s.services, hidden: &s.servicesHidden},
		{gvr: resources.Certificates, into: &s.certificates, optional: true},
		{gvr: resources.Issuers, into: &s.issuers, optional: true},
		{gvr: resources.ClusterIssuers, into: &s.clusterIssuers, optional: true, cluster: true, hidden: &s.clusterIssuersHidden},
		{gvr: resources.SealedSecrets, options: metav1.ListOptions{LabelSelector: ourSelector}, into: &s.sealedSecrets, optional: true, hidden: &s.sealedHidden},
		{gvr: resources.ConfigMaps, options: metav1.ListOptions{LabelSelector: ourSelector + "," + model.RoleLabel + "=" + model.RoleClientTrust}, into: &s.clientTrusts, hidden: &s.clientTrustHidden},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(listings))
	for i, l := range listings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resource dynamic.ResourceInterface = client.Resource(l.gvr)
			if !l.cluster {
				resource = client.Resource(l.gvr).Namespace(namespace)
			}
			list, err := resource.List(ctx, l.options)
			switch {
			case err != nil && l.optional && (apierrors.IsNotFound(err) || meta.IsNoMatchError(err)):
				// The API is not installed: nothing of that kind to report.
			case err != nil && l.hidden != nil && apierrors.IsForbidden(err):
				*l.hidden = true
			case err != nil:
				errs[i] = fmt.Errorf("cannot list %s: %w (check that the cluster is reachable, `kubectl cluster-info`, and that you may list them, `kubectl auth can-i list %s`)", l.gvr.GroupResource(), err, l.gvr.GroupResource())
			default:
				*l.into = list.Items
			}
		}()
	}
	wg.Wait()
	s.requests = len(listings)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	s.ingresses = slices.DeleteFunc(s.ingresses, func(i unstructured.Unstructured) bool {
		return !model.Marked(i.GetLabels(), i.GetAnnotations())
	})
	for _, items := range [][]unstructured.Unstructured{s.ingresses, s.routes, s.ourSecrets} {
		sort.Slice(items, func(a, b int) bool {
			return items[a].GetNamespace()+"/"+items[a].GetName() < items[b].GetNamespace()+"/"+items[b].GetName()
		})
	}
	return s, nil
}

func (s *snapshot) find(items []unstructured.Unstructured, namespace, name string) *unstructured.Unstructured {
	for i := range items {
		if items[i].GetNamespace() == namespace && items[i].GetName() == name {
			return &items[i]
		}
	}
	return nil
}

func (s *snapshot) secret(namespace, name string) *unstructured.Unstructured {
	if found := s.find(s.ourSecrets, namespace, name); found != nil {
		return found
	}
	return s.find(s.tlsSecrets, namespace, name)
}

// certificateFor is the Certificate whose Secret is secretName.
func (s *snapshot) certificateFor(namespace, secretName string) *unstructured.Unstructured {
	for i := range s.certificates {
		c := &s.certificates[i]
		if name, _, _ := unstructured.NestedString(c.Object, "spec", "secretName"); c.GetNamespace() == namespace && name == secretName {
			return c
		}
	}
	return nil
}

func (s *snapshot) issuer(namespace, kind, name string) *unstructured.Unstructured {
	if kind == "ClusterIssuer" {
		return s.find(s.clusterIssuers, "", name)
	}
	return s.find(s.issuers, namespace, name)
}
