// Package diff compares what an apply would make of each object with what the cluster holds, the way
// kubectl diff does: both sides cleaned of what the server keeps for itself, written as files into two
// folders, and compared by `diff -u -N` or the program KUBECTL_EXTERNAL_DIFF names.
package diff

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Pair is one object: Live as the cluster holds it (nil when the apply would create it), Merged as the
// server's dry run of our apply returns it.
type Pair struct {
	Live, Merged *unstructured.Unstructured
}

// Summary counts what the apply would do, by "kind/namespace/name", and names the workloads whose pod
// template changes: the apply restarts them.
type Summary struct {
	Created, Changed, Unchanged, Restarts []string
}

// Changes tells whether anything would change.
func (s Summary) Changes() bool { return len(s.Created)+len(s.Changed) > 0 }

// Write puts each side of each pair, cleaned and masked, into liveDir and mergedDir under the same file
// name (kubectl's: group.version.Kind.namespace.name), and returns the summary.
func Write(liveDir, mergedDir string, pairs []Pair, showSecrets bool) (Summary, error) {
	var summary Summary
	for _, p := range pairs {
		merged := Clean(p.Merged.Object)
		var live map[string]any
		if p.Live != nil {
			live = Clean(p.Live.Object)
		}
		if !showSecrets {
			maskSecret(live, merged)
		}
		name := fileName(p.Merged)
		label := strings.ToLower(p.Merged.GetKind()) + "/" + qualified(p.Merged.GetNamespace(), p.Merged.GetName())
		switch {
		case live == nil:
			summary.Created = append(summary.Created, label)
		case reflect.DeepEqual(live, merged):
			summary.Unchanged = append(summary.Unchanged, label)
			continue
		default:
			summary.Changed = append(summary.Changed, label)
			if podTemplate(live) != nil && !reflect.DeepEqual(podTemplate(live), podTemplate(merged)) {
				summary.Restarts = append(summary.Restarts, label)
			}
		}
		if live != nil {
			if err := writeYAML(filepath.Join(liveDir, name), live); err != nil {
				return summary, err
			}
		}
		if err := writeYAML(filepath.Join(mergedDir, name), merged); err != nil {
			return summary, err
		}
	}
	return summary, nil
}

// Clean is the object without what the server keeps for itself (managed fields, versions, identity,
// status), as kubectl diff shows it. The object is as the API server returned it (JSON values only).
func Clean(object map[string]any) map[string]any {
	clean := runtime.DeepCopyJSONValue(object).(map[string]any)
	delete(clean, "status")
	if meta, ok := clean["metadata"].(map[string]any); ok {
		for _, key := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"} {
			delete(meta, key)
		}
	}
	return clean
}

// maskSecret hides a Secret's values, as kubectl diff does: the same value on both sides reads "***", a
// changed one "*** (before)" and "*** (after)", so that what changes still shows.
func maskSecret(live, merged map[string]any) {
	if merged["kind"] != "Secret" {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		after, _ := merged[field].(map[string]any)
		var before map[string]any
		if live != nil {
			before, _ = live[field].(map[string]any)
		}
		for key, value := range after {
			if previous, ok := before[key]; ok && previous == value {
				after[key], before[key] = "***", "***"
				continue
			}
			after[key] = "*** (after)"
		}
		for key := range before {
			if before[key] != "***" {
				before[key] = "*** (before)"
			}
		}
	}
}

func podTemplate(object map[string]any) any {
	spec, _ := object["spec"].(map[string]any)
	return spec["template"]
}

func fileName(object *unstructured.Unstructured) string {
	gv := strings.ReplaceAll(object.GetAPIVersion(), "/", ".")
	parts := []string{gv, object.GetKind()}
	if ns := object.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return strings.Join(append(parts, object.GetName()), ".")
}

func writeYAML(path string, object map[string]any) error {
	data, err := yaml.Marshal(object)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// String is the closing summary, as the diff's last lines.
func (s Summary) String() string {
	line := fmt.Sprintf("%d to create, %d to change, %d unchanged", len(s.Created), len(s.Changed), len(s.Unchanged))
	if len(s.Restarts) > 0 {
		line += "; the apply restarts " + strings.Join(s.Restarts, ", ") + " (its pod template changes)"
	}
	return line
}
