package status

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
)

// unreadableStores names the stores a container of the workload cannot open, from the pod template alone:
// the kubelet lays a Secret volume's files out owned by root, with the item's mode, else the volume's
// defaultMode, else 0644, and with the pod's fsGroup as their group, group read added. The container runs as
// its securityContext's runAsUser, else the pod's, else the image's USER, which for Kestra's images is the
// non-root user kestra: a file only root may read locks Kestra out of its keystore, and Micronaut does not
// start.
func unreadableStores(w workload) []string {
	pod, _, _ := unstructured.NestedMap(w.object.Object, "spec", "template", "spec")
	volume := storesVolume(pod, w.storesSecret)
	if volume == nil {
		return nil
	}
	if _, hasFSGroup := number(pod, "securityContext", "fsGroup"); hasFSGroup {
		return nil
	}
	modes := fileModes(volume)
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	var problems []string
	for _, c := range containers {
		container, _ := c.(map[string]any)
		if !mounts(container, fmt.Sprint(volume["name"])) {
			continue
		}
		reads := readerOf(pod, container)
		var locked []string
		for _, key := range []string{"keystore.p12", "truststore.jks", model.OutboundTrustFile, model.OutboundBundleFile} {
			if mode, mounted := modes(key); mounted && !reads(mode) {
				locked = append(locked, fmt.Sprintf("%s (mode %#o)", key, mode))
			}
		}
		if len(locked) > 0 {
			problems = append(problems, fmt.Sprintf("container %s of %s %s runs as %s and cannot read %s, which the kubelet lays out owned by root", container["name"], w.object.GetKind(), w.object.GetName(), userOf(pod, container), strings.Join(locked, ", ")))
		}
	}
	return problems
}

func storesVolume(pod map[string]any, secret string) map[string]any {
	volumes, _, _ := unstructured.NestedSlice(pod, "volumes")
	for _, v := range volumes {
		volume, _ := v.(map[string]any)
		if name, _, _ := unstructured.NestedString(volume, "secret", "secretName"); name == secret {
			return volume
		}
		// A projected volume (the stores beside the public outbound trust): its Secret source, under the
		// volume's defaultMode, as a secret volume would say it.
		for _, source := range volumeSources(volume)[1:] {
			if name, _, _ := unstructured.NestedString(source, "secret", "name"); name == secret {
				fields := map[string]any{"items": source["secret"].(map[string]any)["items"]}
				if mode, ok := number(volume, "projected", "defaultMode"); ok {
					fields["defaultMode"] = mode
				}
				return map[string]any{"name": volume["name"], "secret": fields}
			}
		}
	}
	return nil
}

// volumeSources are where a volume's files come from: the volume itself (a secret or configMap volume),
// then each source of a projected one.
func volumeSources(volume map[string]any) []map[string]any {
	sources := []map[string]any{volume}
	projected, _, _ := unstructured.NestedSlice(volume, "projected", "sources")
	for _, s := range projected {
		if source, ok := s.(map[string]any); ok {
			sources = append(sources, source)
		}
	}
	return sources
}

// fileModes tells the mode of a key's file in the volume, and whether the volume lays the key out at all.
func fileModes(volume map[string]any) func(key string) (int64, bool) {
	defaultMode, ok := number(volume, "secret", "defaultMode")
	if !ok {
		defaultMode = 0o644
	}
	items, _, _ := unstructured.NestedSlice(volume, "secret", "items")
	return func(key string) (int64, bool) {
		if len(items) == 0 {
			return defaultMode, true
		}
		for _, i := range items {
			item, _ := i.(map[string]any)
			if item["key"] == key {
				if mode, ok := number(item, "mode"); ok {
					return mode, true
				}
				return defaultMode, true
			}
		}
		return 0, false
	}
}

// readerOf tells whether the container's process may read a root-owned file of the given mode: root as its
// owner; group 0 (runAsGroup 0, or a runAsUser without runAsGroup, which the runtime gives group 0 when
// the image does not know the uid) through the group bits; anyone else through the bits for others.
func readerOf(pod, container map[string]any) func(mode int64) bool {
	uid, hasUID := securityField(pod, container, "runAsUser")
	gid, hasGID := securityField(pod, container, "runAsGroup")
	groupRoot := (hasGID && gid == 0) || (hasUID && !hasGID && uid != 0)
	supplemental, _, _ := unstructured.NestedSlice(pod, "securityContext", "supplementalGroups")
	for _, g := range supplemental {
		groupRoot = groupRoot || fmt.Sprint(g) == "0"
	}
	return func(mode int64) bool {
		switch {
		case hasUID && uid == 0:
			return mode&0o400 != 0
		case groupRoot && mode&0o040 != 0:
			return true
		}
		return mode&0o004 != 0
	}
}

func userOf(pod, container map[string]any) string {
	if uid, ok := securityField(pod, container, "runAsUser"); ok {
		return fmt.Sprintf("uid %d", uid)
	}
	return fmt.Sprintf("the image's user (%v: Kestra's images run as the non-root user kestra)", container["image"])
}

func securityField(pod, container map[string]any, field string) (int64, bool) {
	if value, ok := number(container, "securityContext", field); ok {
		return value, true
	}
	return number(pod, "securityContext", field)
}

func mounts(container map[string]any, volume string) bool {
	list, _, _ := unstructured.NestedSlice(container, "volumeMounts")
	for _, m := range list {
		if mount, _ := m.(map[string]any); mount["name"] == volume {
			return true
		}
	}
	return false
}

// number reads an integer field whichever way it was decoded (JSON gives int64 or float64).
func number(node map[string]any, path ...string) (int64, bool) {
	value, found, _ := unstructured.NestedFieldNoCopy(node, path...)
	if !found {
		return 0, false
	}
	switch n := value.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
