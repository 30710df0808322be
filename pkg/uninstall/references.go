package uninstall

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// referrers are the kinds that can hold a Secret's name, and where: pod templates (volumes, env, envFrom,
// projected volumes, image pull secrets), an Ingress's TLS, a Gateway listener's certificateRefs.
var referrers = []struct {
	kind     string
	resource schema.GroupVersionResource
	refs     func(object map[string]any) []string
}{
	{"Deployment", resources.Deployments, podTemplateSecrets("spec", "template", "spec")},
	{"StatefulSet", resources.StatefulSets, podTemplateSecrets("spec", "template", "spec")},
	{"DaemonSet", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, podTemplateSecrets("spec", "template", "spec")},
	{"Job", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, podTemplateSecrets("spec", "template", "spec")},
	{"CronJob", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, podTemplateSecrets("spec", "jobTemplate", "spec", "template", "spec")},
	{"Ingress", resources.Ingresses, ingressSecrets},
	{"Gateway", resources.Gateways, gatewaySecrets},
}

// secretUsers names the objects in the Secret's namespace that refer to it, other than those the
// overlay itself holds (their references are ours, and go with this uninstall).
func (r *Remover) secretUsers(ctx context.Context, namespace, name string, overlay map[string]bool) ([]string, error) {
	users, err := r.usersIn(ctx, namespace, overlay)
	return users[name], err
}

// usersIn maps each Secret name of the namespace to the objects outside the overlay that refer to it. The
// referrers are listed once per namespace and run: what uninstall deletes meanwhile is the overlay's own.
func (r *Remover) usersIn(ctx context.Context, namespace string, overlay map[string]bool) (map[string][]string, error) {
	if users, listed := r.users[namespace]; listed {
		return users, nil
	}
	users := map[string][]string{}
	for _, referrer := range referrers {
		list, err := r.Client.Resource(referrer.resource).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			continue // the kind is not served (no Gateway API)
		} else if err != nil {
			return nil, fmt.Errorf("listing %ss in %s to see who uses our Secrets: %v", referrer.kind, namespace, err)
		}
		for _, item := range list.Items {
			if overlay[referrer.kind+"/"+namespace+"/"+item.GetName()] {
				continue
			}
			seen := map[string]bool{}
			for _, secret := range referrer.refs(item.Object) {
				if !seen[secret] {
					seen[secret] = true
					users[secret] = append(users[secret], referrer.kind+" "+item.GetName())
				}
			}
		}
	}
	if r.users == nil {
		r.users = map[string]map[string][]string{}
	}
	r.users[namespace] = users
	return users, nil
}

func podTemplateSecrets(path ...string) func(map[string]any) []string {
	return func(object map[string]any) []string {
		spec, _, _ := unstructured.NestedMap(object, path...)
		var names []string
		add := func(m map[string]any, fields ...string) {
			if name, _, _ := unstructured.NestedString(m, fields...); name != "" {
				names = append(names, name)
			}
		}
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		for _, v := range volumes {
			volume, _ := v.(map[string]any)
			add(volume, "secret", "secretName")
			sources, _, _ := unstructured.NestedSlice(volume, "projected", "sources")
			for _, s := range sources {
				source, _ := s.(map[string]any)
				add(source, "secret", "name")
			}
		}
		pulls, _, _ := unstructured.NestedSlice(spec, "imagePullSecrets")
		for _, p := range pulls {
			pull, _ := p.(map[string]any)
			add(pull, "name")
		}
		for _, field := range []string{"initContainers", "containers"} {
			containers, _, _ := unstructured.NestedSlice(spec, field)
			for _, c := range containers {
				container, _ := c.(map[string]any)
				env, _, _ := unstructured.NestedSlice(container, "env")
				for _, e := range env {
					variable, _ := e.(map[string]any)
					add(variable, "valueFrom", "secretKeyRef", "name")
				}
				envFrom, _, _ := unstructured.NestedSlice(container, "envFrom")
				for _, e := range envFrom {
					source, _ := e.(map[string]any)
					add(source, "secretRef", "name")
				}
			}
		}
		return names
	}
}

func ingressSecrets(object map[string]any) []string {
	var names []string
	tls, _, _ := unstructured.NestedSlice(object, "spec", "tls")
	for _, t := range tls {
		entry, _ := t.(map[string]any)
		if name, _, _ := unstructured.NestedString(entry, "secretName"); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// gatewaySecrets are the Secrets a Gateway's listeners serve from its own namespace (a reference into
// another namespace is that namespace's business, and needs a ReferenceGrant there).
func gatewaySecrets(object map[string]any) []string {
	var names []string
	listeners, _, _ := unstructured.NestedSlice(object, "spec", "listeners")
	for _, l := range listeners {
		listener, _ := l.(map[string]any)
		refs, _, _ := unstructured.NestedSlice(listener, "tls", "certificateRefs")
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			kind, _, _ := unstructured.NestedString(ref, "kind")
			namespace, _, _ := unstructured.NestedString(ref, "namespace")
			if name, _, _ := unstructured.NestedString(ref, "name"); name != "" && (kind == "" || kind == "Secret") && namespace == "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// hashSuffix is the content hash kustomize appends to a generated Secret's name.
var hashSuffix = regexp.MustCompile(`^(.+)-[a-z0-9]{10}$`)

// removeOlderGenerations deletes the Secrets earlier generates left: a new keystore is a new Secret name
// (the hash suffix rolls the pods), and apply does not prune the one before. Only Secrets with our marker,
// the same role and the same name before the hash as one the overlay holds, and that nothing uses.
func (r *Remover) removeOlderGenerations(ctx context.Context, built []*unstructured.Unstructured, overlay map[string]bool) ([]string, error) {
	var lines []string
	for _, object := range built {
		role := object.GetLabels()[model.RoleLabel]
		match := hashSuffix.FindStringSubmatch(object.GetName())
		if object.GetKind() != "Secret" || role == "" || match == nil {
			continue
		}
		namespace := object.GetNamespace()
		if namespace == "" {
			namespace = r.Namespace
		}
		secrets := r.Client.Resource(resources.Secrets).Namespace(namespace)
		selector := model.ManagedByLabel + "=" + model.ManagedByValue + "," + model.RoleLabel + "=" + role
		list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return lines, fmt.Errorf("listing older generations of secret %s in %s: %v", match[1], namespace, err)
		}
		for _, secret := range list.Items {
			older := hashSuffix.FindStringSubmatch(secret.GetName())
			if secret.GetName() == object.GetName() || older == nil || older[1] != match[1] || overlay["Secret/"+namespace+"/"+secret.GetName()] {
				continue
			}
			users, err := r.secretUsers(ctx, namespace, secret.GetName(), overlay)
			if err != nil {
				return lines, err
			}
			if len(users) > 0 {
				lines = append(lines, fmt.Sprintf("left: secret/%s (an older generation of %s, still used by %s)", secret.GetName(), match[1], joinNames(users)))
				continue
			}
			if err := r.delete(ctx, secrets, secret.GetName()); err != nil {
				return lines, fmt.Errorf("deleting secret/%s: %v", secret.GetName(), err)
			}
			lines = append(lines, fmt.Sprintf("secret/%s deleted (an older generation of %s)", secret.GetName(), match[1]))
		}
	}
	return lines, nil
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, name := range names[1 : len(names)-1] {
		out += ", " + name
	}
	return out + " and " + names[len(names)-1]
}

// namespacesWeMade says which of the install's namespaces `apply --create-namespace` made. They stay:
// Kestra runs there, and deleting a namespace deletes everything in it, which is the user's call.
func (r *Remover) namespacesWeMade(ctx context.Context, overlay map[string]bool) ([]string, error) {
	namespaces := map[string]bool{}
	for key := range overlay {
		if parts := strings.SplitN(key, "/", 3); parts[1] != "" {
			namespaces[parts[1]] = true
		}
	}
	var lines []string
	for _, name := range sortedKeys(namespaces) {
		namespace, err := r.Client.Resource(resources.Namespaces).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return lines, fmt.Errorf("reading namespace %s: %v", name, err)
		}
		if namespace.GetLabels()[model.ManagedByLabel] == model.ManagedByValue {
			lines = append(lines, fmt.Sprintf("left: namespace/%s (apply --create-namespace made it; what runs there stays: kubectl delete namespace %s removes it with everything in it)", name, name))
		}
	}
	return lines, nil
}
