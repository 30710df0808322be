package model

import (
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// postgresVerifies are the sslmode values with which PostgreSQL's JDBC driver checks the server's
// certificate, and so needs its CA: by default it looks in ~/.postgresql/root.crt, which Kestra's
// container does not have.
var postgresVerifies = []string{"sslmode=verify-full", "sslmode=verify-ca"}

// DatasourceTrust points every PostgreSQL datasource of configuration that verifies its server, and names
// no root certificate of its own, at the outbound bundle (sslrootcert), so that the database's CA is
// trusted as the tasks' servers are. It returns the configuration and the datasources it changed; without
// outbound trust, or when none qualifies, the configuration as it was.
func (m *Model) DatasourceTrust(configuration, source string) (string, []string, error) {
	if !m.OutboundTrust() || strings.TrimSpace(configuration) == "" {
		return configuration, nil, nil
	}
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(configuration), &tree); err != nil {
		return configuration, nil, nil // the merge before this one names the error
	}
	fragment, changed := m.DatasourceFragment(tree)
	if len(changed) == 0 {
		return configuration, nil, nil
	}
	merged, err := mergeYAML(configuration, fragment, source)
	return merged, changed, err
}

// DatasourceFragment is the configuration that sets sslrootcert on the PostgreSQL datasources of tree
// (a configuration as Micronaut reads it) that verify their server and name no root certificate, and the
// names of those datasources; nil without outbound trust or without any.
func (m *Model) DatasourceFragment(tree map[string]any) (map[string]any, []string) {
	if !m.OutboundTrust() {
		return nil, nil
	}
	datasources, _ := tree["datasources"].(map[string]any)
	bundle := path.Join(m.Values.App.MountPath, OutboundBundleFile)
	fragment := map[string]any{}
	var changed []string
	for name, value := range datasources {
		fields, _ := value.(map[string]any)
		url, _ := fields["url"].(string)
		if !strings.HasPrefix(url, "jdbc:postgresql:") || strings.Contains(url, "sslrootcert=") || !containsAny(url, postgresVerifies) {
			continue
		}
		separator := "?"
		if strings.Contains(url, "?") {
			separator = "&"
		}
		fragment[name] = map[string]any{"url": url + separator + "sslrootcert=" + bundle}
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	sort.Strings(changed)
	return map[string]any{"datasources": fragment}, changed
}

func containsAny(s string, parts []string) bool {
	for _, part := range parts {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}
