package apply

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// Helm marks what it installed: the annotation names the release, the label says helm manages it.
const (
	helmReleaseAnnotation   = "meta.helm.sh/release-name"
	helmNamespaceAnnotation = "meta.helm.sh/release-namespace"
	managedByLabel          = "app.kubernetes.io/managed-by"
)

// LeftToHelm is the operation for a live object helm owns that the overlay only carries from its base.
const LeftToHelm Operation = "unchanged (owned by Helm release %s)"

// Origin tells where a built object comes from in the overlay, so that objects another tool installed are
// touched no more than the overlay means to.
type Origin struct {
	// FromBase is true for the base's objects (the user's Kestra), false for the overlay's own.
	FromBase bool
	// Patch is the part of the object the overlay sets, nil when it leaves the object as the base has it.
	Patch map[string]any
}

// HelmOwnedError refuses to patch workloads a Helm release owns: the next `helm upgrade` would undo it, or
// conflict. Advice says what to run instead.
type HelmOwnedError struct {
	Objects []string
	Release string
	Advice  string
}

func (e *HelmOwnedError) Error() string {
	return fmt.Sprintf("%s belong to Helm release %s: applying would take fields over from helm, and the next `helm upgrade` would undo them; nothing was written. %s", strings.Join(e.Objects, ", "), e.Release, e.Advice)
}

// action is what apply does with one object.
type action struct {
	skip    bool
	release string
	// body is what to send: the whole built object, or only the fields the overlay patches.
	body  *unstructured.Unstructured
	force bool
	// revision is the store's revision before the first write (0 unknown).
	revision uint64
}

// planActions reads the live objects the base brings, before anything is written: a helm-owned object the
// overlay only carries is left alone, one it patches gets only the patched fields (and only when the user
// allows it for workloads), everything else is applied whole.
func (a *Applier) planActions(ctx context.Context, infos []*resource.Info, opts Options) ([]action, error) {
	actions := make([]action, len(infos))
	var refused []string
	release := ""
	dyn, err := a.dynamicClient()
	if err != nil {
		return nil, err
	}
	// The base's objects as they are in the cluster, read at once, each request ended with ctx (an
	// interrupt, or apply giving up on another read).
	lives, errs := make([]*unstructured.Unstructured, len(infos)), make([]error, len(infos))
	origins := make([]Origin, len(infos))
	var fromBase []int
	if opts.Origin != nil && opts.DryRun != DryRunClient {
		for i, info := range infos {
			object := info.Object.(*unstructured.Unstructured)
			if origins[i] = opts.Origin(object.GetKind(), object.GetName()); origins[i].FromBase {
				fromBase = append(fromBase, i)
			}
		}
	}
	atOnce(fromBase, func(i int) {
		info := infos[i]
		lives[i], errs[i] = dyn.Resource(info.Mapping.Resource).Namespace(info.Namespace).Get(ctx, info.Name, metav1.GetOptions{})
	})
	for i, info := range infos {
		object := info.Object.(*unstructured.Unstructured)
		actions[i] = action{body: object, force: opts.ForceConflicts}
		origin := origins[i]
		if !origin.FromBase {
			continue
		}
		live, err := lives[i], errs[i]
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, a.explain(err, fmt.Sprintf("reading %s %s", object.GetKind(), qualifiedName(info.Namespace, info.Name)), info)
		}
		owner := helmRelease(live)
		if owner == "" {
			continue
		}
		switch {
		case origin.Patch == nil:
			actions[i] = action{skip: true, release: owner, body: live}
		case isWorkload(object.GetKind()) && !opts.AllowHelmOwned:
			refused = append(refused, object.GetKind()+" "+qualifiedName(info.Namespace, info.Name))
			release = owner
		default:
			// Only what the overlay sets, forced: helm owns these fields' old values.
			actions[i] = action{body: restrictTo(object, origin.Patch), force: true, release: owner}
		}
	}
	if len(refused) > 0 {
		return nil, &HelmOwnedError{Objects: refused, Release: release, Advice: opts.HelmAdvice}
	}
	return actions, nil
}

func isWorkload(kind string) bool { return kind == "Deployment" || kind == "StatefulSet" }

// helmRelease names the release that owns a live object, "release (namespace ns)", or "" for none.
func helmRelease(live *unstructured.Unstructured) string {
	annotations := live.GetAnnotations()
	name := annotations[helmReleaseAnnotation]
	if name == "" {
		if live.GetLabels()[managedByLabel] != "Helm" {
			return ""
		}
		name = "(unnamed)"
	}
	if ns := annotations[helmNamespaceAnnotation]; ns != "" {
		name += " in namespace " + ns
	}
	return name
}

// restrictTo keeps, of the built object, only the fields the patch names (list entries matched by their
// key: name, mountPath, containerPort or port), with the built values: kustomize may have renamed
// references (hash suffixes) since the patch was written.
func restrictTo(built *unstructured.Unstructured, patch map[string]any) *unstructured.Unstructured {
	body, _ := restrict(built.Object, patch).(map[string]any)
	if body == nil {
		body = map[string]any{}
	}
	body["apiVersion"], body["kind"] = built.GetAPIVersion(), built.GetKind()
	metadata := map[string]any{"name": built.GetName()}
	if built.GetNamespace() != "" {
		metadata["namespace"] = built.GetNamespace()
	}
	body["metadata"] = metadata
	return &unstructured.Unstructured{Object: body}
}

func restrict(built, patch any) any {
	switch p := patch.(type) {
	case map[string]any:
		b, ok := built.(map[string]any)
		if !ok {
			return built
		}
		out := map[string]any{}
		for key, value := range p {
			if key == "apiVersion" || key == "kind" || key == "metadata" {
				continue
			}
			if builtValue, ok := b[key]; ok {
				out[key] = restrict(builtValue, value)
			}
		}
		return out
	case []any:
		b, ok := built.([]any)
		if !ok {
			return built
		}
		var out []any
		for _, item := range p {
			fields, ok := item.(map[string]any)
			if !ok {
				return built // a list of scalars is set whole
			}
			key := mergeKey(fields)
			for _, candidate := range b {
				if c, ok := candidate.(map[string]any); ok && key != "" && fmt.Sprint(c[key]) == fmt.Sprint(fields[key]) {
					out = append(out, restrict(c, fields))
				}
			}
		}
		return out
	}
	return built
}

func mergeKey(fields map[string]any) string {
	for _, key := range []string{"name", "mountPath", "containerPort", "port"} {
		if _, ok := fields[key]; ok {
			return key
		}
	}
	return ""
}
