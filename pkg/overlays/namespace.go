package overlays

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/resmap"
)

// installKinds are the objects of an install that must share Kestra's namespace: the workloads, their
// Service, and what routes to Kestra or holds its certificate.
var installKinds = []string{"Deployment", "StatefulSet", "Service", "Ingress", "HTTPRoute", "Certificate"}

// InstallNamespace is the namespace a built overlay puts Kestra's install into; empty where its objects
// name none (then kubectl's -n or the kubeconfig's decides). An overlay that would split the install across
// namespaces, or that contradicts an explicit --namespace, is refused, naming both.
func InstallNamespace(built resmap.ResMap, dir, flagNamespace string, flagGiven bool) (string, error) {
	where := map[string][]string{}
	for _, res := range built.Resources() {
		if !slices.Contains(installKinds, res.GetKind()) || res.GetNamespace() == "" {
			continue
		}
		where[res.GetNamespace()] = append(where[res.GetNamespace()], res.GetKind()+" "+res.GetName())
	}
	namespaces := make([]string, 0, len(where))
	for ns := range where {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	switch {
	case len(namespaces) > 1:
		var parts []string
		for _, ns := range namespaces {
			parts = append(parts, fmt.Sprintf("%s in %s", strings.Join(where[ns], ", "), ns))
		}
		return "", fmt.Errorf("%s splits Kestra's install across namespaces (%s): Kestra would name Secrets that are not in its namespace; set one namespace in the base, or run generate with -n NAMESPACE", dir, strings.Join(parts, "; "))
	case len(namespaces) == 0:
		return "", nil
	case flagGiven && flagNamespace != namespaces[0]:
		return "", fmt.Errorf("-n %s contradicts %s, which puts Kestra's install in namespace %s (%s): apply with -n %s, or run `kubectl kestra-tls generate -o %s -n %s` first to move it", flagNamespace, dir, namespaces[0], strings.Join(where[namespaces[0]], ", "), namespaces[0], dir, flagNamespace)
	}
	return namespaces[0], nil
}
