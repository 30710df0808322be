package overlays

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/kestra"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// fileDatasources adds to our configuration file the sslrootcert of the PostgreSQL datasources that the
// server's configuration files (MICRONAUT_CONFIG_FILES, the chart's way) name, as the base's ConfigMaps and
// Secrets hold them: Micronaut reads our file after theirs. It returns a line per datasource for the user.
func fileDatasources(install *kestra.Install, objects []map[string]any, m *model.Model) []string {
	w := install.Server
	if !m.OutboundTrust() || !w.Env.HasConfigFiles {
		return nil
	}
	tree := map[string]any{}
	for _, file := range strings.Split(w.Env.ConfigFiles, ",") {
		data := mountedFile(w, objects, strings.TrimSpace(file))
		layer := map[string]any{}
		if data == nil || yaml.Unmarshal(data, &layer) != nil {
			continue
		}
		tree = values.MergeMaps(tree, layer)
	}
	extra, verified := m.DatasourceFragment(tree)
	if len(verified) == 0 {
		return nil
	}
	m.Fragment = values.MergeMaps(m.Fragment, extra)
	var lines []string
	for _, name := range verified {
		lines = append(lines, fmt.Sprintf("%s %s: its PostgreSQL datasource %s verifies the database's certificate against the outbound bundle (sslrootcert, in %s)", w.Kind, w.Name, name, model.ConfigFile))
	}
	return lines
}

// mountedFile is the content a container path shows from a ConfigMap or Secret volume of the base, nil when
// the base does not hold it.
func mountedFile(w kestra.Workload, objects []map[string]any, file string) []byte {
	for _, mount := range w.Mounts {
		key := ""
		switch {
		case mount.SubPath != "" && mount.MountPath == file:
			key = mount.SubPath
		case mount.SubPath == "" && path.Dir(file) == path.Clean(mount.MountPath):
			key = path.Base(file)
		default:
			continue
		}
		for _, volume := range w.Volumes {
			if volume.Name == mount.Name {
				if data := volumeKey(volume, objects, key); data != nil {
					return data
				}
			}
		}
	}
	return nil
}

func volumeKey(volume corev1.Volume, objects []map[string]any, path string) []byte {
	kind, name := "", ""
	var items []corev1.KeyToPath
	switch {
	case volume.ConfigMap != nil:
		kind, name, items = "ConfigMap", volume.ConfigMap.Name, volume.ConfigMap.Items
	case volume.Secret != nil:
		kind, name, items = "Secret", volume.Secret.SecretName, volume.Secret.Items
	default:
		return nil
	}
	key := path
	for _, item := range items {
		if item.Path == path {
			key = item.Key
		}
	}
	for _, object := range objects {
		metadata, _ := object["metadata"].(map[string]any)
		if object["kind"] != kind || metadata["name"] != name {
			continue
		}
		if data, ok := object["data"].(map[string]any); ok {
			if value, ok := data[key].(string); ok {
				if kind == "Secret" {
					decoded, err := base64.StdEncoding.DecodeString(value)
					if err != nil {
						return nil
					}
					return decoded
				}
				return []byte(value)
			}
		}
		if plain, ok := object["stringData"].(map[string]any); ok {
			if value, ok := plain[key].(string); ok {
				return []byte(value)
			}
		}
	}
	return nil
}
