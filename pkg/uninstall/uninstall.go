// Package uninstall takes kestra-tls back out of a cluster: it deletes the objects the overlay made (found
// by the overlay and by our marker, never by name alone), and takes our fields back from the base's objects
// it patched, so that Kestra returns to what the user or Helm set.
package uninstall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// Remover removes an install through the API server.
type Remover struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
	// Namespace is where objects that name none live (-n, or the kubeconfig's).
	Namespace string
	DryRun    bool
	// Wait bounds the wait for the workloads' controllers to observe the generation we gave back; 0 does
	// not wait.
	Wait time.Duration

	// users caches, per namespace, who refers to which Secret during one Run (usersIn).
	users map[string]map[string][]string
}

// Input is the overlay as built, and for each object of the base (by "Kind/name") its own content.
type Input struct {
	Built []*unstructured.Unstructured
	Base  map[string]*unstructured.Unstructured
}

// Run removes what the overlay put there and returns one line per object, as kubectl prints them.
// Base objects come first (our fields taken back, so that nothing refers to our Secrets any more), then
// our own objects, then what cert-manager made for them.
func (r *Remover) Run(ctx context.Context, in Input) ([]string, error) {
	r.users = nil
	var lines []string
	var ours []*unstructured.Unstructured
	var rollouts []rollout
	overlay := map[string]bool{}
	for _, object := range in.Built {
		namespace := object.GetNamespace()
		if namespace == "" {
			namespace = r.Namespace
		}
		overlay[object.GetKind()+"/"+namespace+"/"+object.GetName()] = true
	}
	for _, object := range in.Built {
		base, fromBase := in.Base[object.GetKind()+"/"+object.GetName()]
		if !fromBase {
			ours = append(ours, object)
			continue
		}
		line, given, err := r.takeBack(ctx, object, base)
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
		if _, workload := resources.Workloads(object.GetKind()); workload && given != nil && !r.DryRun {
			rollouts = append(rollouts, rollout{kind: object.GetKind(), namespace: given.GetNamespace(), name: given.GetName(), generation: given.GetGeneration()})
		}
	}
	// Our Secrets go only once no pod template asks for them any more.
	if r.Wait > 0 {
		if err := r.waitObserved(ctx, rollouts); err != nil {
			return lines, err
		}
	}
	deleted := map[string]bool{}
	for _, object := range ours {
		line, err := r.remove(ctx, object, deleted, overlay)
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
	issued, err := r.removeIssued(ctx, ours, deleted)
	lines = append(lines, issued...)
	if err != nil {
		return lines, err
	}
	unsealed, err := r.removeUnsealed(ctx, deleted)
	lines = append(lines, unsealed...)
	if err != nil {
		return lines, err
	}
	older, err := r.removeOlderGenerations(ctx, in.Built, overlay)
	lines = append(lines, older...)
	if err != nil {
		return lines, err
	}
	made, err := r.namespacesWeMade(ctx, overlay)
	return append(lines, made...), err
}

// takeBack gives a base object back its own content: the base's object applied under our field manager
// sets every field we changed back to the base's value and drops the fields only the overlay added. When
// another manager (the user's kubectl, Helm) also owns every field still ours, an empty apply then drops our
// field manager altogether; fields we took from it with --force-conflicts or --allow-helm-owned are handed
// back to it (handOver).
// It returns the object as given back when that changed it.
func (r *Remover) takeBack(ctx context.Context, object, base *unstructured.Unstructured) (string, *unstructured.Unstructured, error) {
	resource, label, live, err := r.live(ctx, object)
	if live == nil || err != nil {
		return label + " not found", nil, err
	}
	if _, ours := managedSets(live); ours == nil {
		return label + " unchanged (no field of ours)", nil, nil
	}
	// A JSON round trip rather than DeepCopy: kustomize's maps hold plain ints.
	data, err := json.Marshal(base.Object)
	if err != nil {
		return "", nil, err
	}
	body := map[string]any{}
	if err := json.Unmarshal(data, &body); err != nil {
		return "", nil, err
	}
	unstructured.SetNestedField(body, object.GetNamespace(), "metadata", "namespace")
	applied, err := r.apply(ctx, resource, object.GetName(), body)
	if err != nil {
		return "", nil, fmt.Errorf("taking our fields back from %s: %v", label, err)
	}
	outcome, given := label+" fields removed", applied
	if applied.GetResourceVersion() == live.GetResourceVersion() {
		outcome, given = label+" unchanged (its fields are the base's)", nil
	}
	others, ours := managedSets(applied)
	// A dry run persisted nothing: the managed fields it returns are not the object's to hand over.
	if ours != nil && others != nil && !ours.Difference(others).Empty() && !r.DryRun {
		handed, err := r.handOver(ctx, resource, applied)
		if err != nil {
			return "", nil, fmt.Errorf("giving %s's fields back to its other manager: %v", label, err)
		}
		if handed != nil {
			return label + " fields removed", given, nil
		}
	}
	if ours == nil || others == nil || !ours.Difference(others).Empty() {
		return outcome, given, nil
	}
	empty := map[string]any{"apiVersion": object.GetAPIVersion(), "kind": object.GetKind(), "metadata": map[string]any{"name": object.GetName()}}
	if ns := object.GetNamespace(); ns != "" {
		empty["metadata"].(map[string]any)["namespace"] = ns
	}
	dropped, err := r.apply(ctx, resource, object.GetName(), empty)
	if err != nil {
		return "", nil, fmt.Errorf("dropping our field manager from %s: %v", label, err)
	}
	return label + " fields removed", dropped, nil
}

// live is the object as the cluster holds it (nil when it is gone), with the client and kubectl's name for it.
func (r *Remover) live(ctx context.Context, object *unstructured.Unstructured) (dynamic.ResourceInterface, string, *unstructured.Unstructured, error) {
	resource, label, err := r.resourceFor(object)
	if err != nil {
		return nil, "", nil, err
	}
	live, err := resource.Get(ctx, object.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return resource, label, nil, nil
	case err != nil:
		return nil, label, nil, fmt.Errorf("reading %s: %v", label, err)
	}
	return resource, label, live, nil
}

func (r *Remover) apply(ctx context.Context, resource dynamic.ResourceInterface, name string, body map[string]any) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	force := true
	options := metav1.PatchOptions{FieldManager: apply.FieldManager, Force: &force}
	if r.DryRun {
		options.DryRun = []string{metav1.DryRunAll}
	}
	return resource.Patch(ctx, name, types.ApplyPatchType, data, options)
}

// managedSets are the fields other managers own, together, and the fields ours owns (nil: none).
func managedSets(object *unstructured.Unstructured) (others, ours *fieldpath.Set) {
	for _, entry := range object.GetManagedFields() {
		if entry.FieldsV1 == nil || entry.Manager == "before-first-apply" {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(entry.FieldsV1.Raw)); err != nil {
			continue
		}
		if entry.Manager == apply.FieldManager {
			if ours == nil {
				ours = set
			} else {
				ours = ours.Union(set)
			}
			continue
		}
		if others == nil {
			others = set
		} else {
			others = others.Union(set)
		}
	}
	return others, ours
}

// remove deletes one of our objects if it carries our marker and nothing else still uses it.
func (r *Remover) remove(ctx context.Context, object *unstructured.Unstructured, deleted, overlay map[string]bool) (string, error) {
	resource, label, live, err := r.live(ctx, object)
	if live == nil || err != nil {
		return label + " not found", err
	}
	if !model.Marked(live.GetLabels(), live.GetAnnotations()) {
		return fmt.Sprintf("left: %s (it does not carry our marker %s=%s)", label, model.ManagedByLabel, model.ManagedByValue), nil
	}
	if kind := object.GetKind(); kind == "Issuer" || kind == "ClusterIssuer" {
		if user, err := r.otherCertificateUsing(ctx, live); err != nil || user != "" {
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("left: %s (Certificate %s, not ours, still uses it)", label, user), nil
		}
	}
	if object.GetKind() == "Secret" {
		users, err := r.secretUsers(ctx, object.GetNamespace(), object.GetName(), overlay)
		if err != nil {
			return "", err
		}
		if len(users) > 0 {
			return fmt.Sprintf("left: %s (still used by %s)", label, joinNames(users)), nil
		}
	}
	if err := r.delete(ctx, resource, object.GetName()); err != nil {
		return "", fmt.Errorf("deleting %s: %v", label, err)
	}
	deleted[object.GetKind()+"/"+object.GetNamespace()+"/"+object.GetName()] = true
	return label + " deleted", nil
}

// removeIssued deletes the Certificates cert-manager's ingress-shim and gateway-shim made for our Ingress or
// Gateway (the garbage collector would, but a cluster may lag), and the Secrets cert-manager wrote for the
// Certificates that go.
func (r *Remover) removeIssued(ctx context.Context, ours []*unstructured.Unstructured, deleted map[string]bool) ([]string, error) {
	var lines []string
	namespaces := map[string]bool{}
	for _, object := range ours {
		if object.GetNamespace() != "" {
			namespaces[object.GetNamespace()] = true
		}
	}
	for _, namespace := range sortedKeys(namespaces) {
		certificates, err := r.Client.Resource(resources.Certificates).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			continue
		} else if err != nil {
			return lines, fmt.Errorf("listing Certificates in %s: %v", namespace, err)
		}
		for _, certificate := range certificates.Items {
			owned := slices.ContainsFunc(certificate.GetOwnerReferences(), func(ref metav1.OwnerReference) bool {
				return deleted[ref.Kind+"/"+namespace+"/"+ref.Name]
			})
			ours := deleted["Certificate/"+namespace+"/"+certificate.GetName()]
			if !owned && !ours {
				continue
			}
			if owned {
				if err := r.delete(ctx, r.Client.Resource(resources.Certificates).Namespace(namespace), certificate.GetName()); err != nil {
					return lines, err
				}
				lines = append(lines, "certificate.cert-manager.io/"+certificate.GetName()+" deleted (made by cert-manager for our "+ownerKind(certificate)+")")
			}
			secretName, _, _ := unstructured.NestedString(certificate.Object, "spec", "secretName")
			secrets := r.Client.Resource(resources.Secrets).Namespace(namespace)
			secret, err := secrets.Get(ctx, secretName, metav1.GetOptions{})
			if err != nil || secret.GetAnnotations()["cert-manager.io/certificate-name"] != certificate.GetName() {
				continue
			}
			if err := r.delete(ctx, secrets, secretName); err != nil {
				return lines, err
			}
			lines = append(lines, "secret/"+secretName+" deleted (cert-manager wrote it for Certificate "+certificate.GetName()+")")
		}
	}
	return lines, nil
}

// removeUnsealed deletes the Secrets the Sealed Secrets controller made from our SealedSecrets that went
// (the garbage collector would, through their owner reference, but a cluster may lag).
func (r *Remover) removeUnsealed(ctx context.Context, deleted map[string]bool) ([]string, error) {
	var lines []string
	for _, key := range sortedKeys(deleted) {
		kind, rest, _ := strings.Cut(key, "/")
		namespace, name, _ := strings.Cut(rest, "/")
		if kind != "SealedSecret" {
			continue
		}
		secrets := r.Client.Resource(resources.Secrets).Namespace(namespace)
		secret, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		if !slices.ContainsFunc(secret.GetOwnerReferences(), func(ref metav1.OwnerReference) bool { return ref.Kind == "SealedSecret" && ref.Name == name }) {
			continue
		}
		if err := r.delete(ctx, secrets, name); err != nil {
			return lines, err
		}
		lines = append(lines, "secret/"+name+" deleted (the Sealed Secrets controller made it from SealedSecret "+name+")")
	}
	return lines, nil
}

// otherCertificateUsing names a Certificate outside the install that the issuer still signs for.
func (r *Remover) otherCertificateUsing(ctx context.Context, issuer *unstructured.Unstructured) (string, error) {
	list := r.Client.Resource(resources.Certificates).Namespace(issuer.GetNamespace())
	certificates, err := list.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	for _, certificate := range certificates.Items {
		name, _, _ := unstructured.NestedString(certificate.Object, "spec", "issuerRef", "name")
		kind, _, _ := unstructured.NestedString(certificate.Object, "spec", "issuerRef", "kind")
		if kind == "" {
			kind = "Issuer"
		}
		if name != issuer.GetName() || kind != issuer.GetKind() || certificate.GetLabels()[model.ManagedByLabel] == model.ManagedByValue || len(certificate.GetOwnerReferences()) > 0 {
			continue
		}
		return certificate.GetNamespace() + "/" + certificate.GetName(), nil
	}
	return "", nil
}

func (r *Remover) delete(ctx context.Context, resource dynamic.ResourceInterface, name string) error {
	options := metav1.DeleteOptions{}
	if r.DryRun {
		options.DryRun = []string{metav1.DryRunAll}
	}
	if err := resource.Delete(ctx, name, options); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *Remover) resourceFor(object *unstructured.Unstructured) (dynamic.ResourceInterface, string, error) {
	gvk := object.GroupVersionKind()
	mapping, err := r.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %v", gvk.Kind, object.GetName(), err)
	}
	label := kubectlName(gvk, object.GetName())
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if object.GetNamespace() == "" {
			object.SetNamespace(r.Namespace)
		}
		return r.Client.Resource(mapping.Resource).Namespace(object.GetNamespace()), label, nil
	}
	return r.Client.Resource(mapping.Resource), label, nil
}

// kubectlName is how kubectl names an object in its output: kind.group/name.
func kubectlName(gvk schema.GroupVersionKind, name string) string {
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + name
}

func ownerKind(object unstructured.Unstructured) string {
	for _, ref := range object.GetOwnerReferences() {
		return ref.Kind + " " + ref.Name
	}
	return "object"
}

func sortedKeys(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for key := range set {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
