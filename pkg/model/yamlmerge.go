package model

import (
	"fmt"
	"sort"
	"strings"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// mergeYAML sets fragment's keys in configuration, a YAML mapping, on its node tree: every scalar of the
// user's stays as written (12345678901234567890 is not rounded through a float, 1e3 stays the string
// SnakeYAML reads, not 1000), and so do its comments and key order.
func mergeYAML(configuration string, fragment map[string]any, source string) (string, error) {
	root := &kyaml.Node{Kind: kyaml.MappingNode, Tag: kyaml.NodeTagMap}
	if strings.TrimSpace(configuration) != "" {
		parsed, err := kyaml.Parse(configuration)
		if err != nil {
			return "", fmt.Errorf("%s is not valid YAML: %v (fix it in the base)", source, err)
		}
		switch node := parsed.YNode(); node.Kind {
		case kyaml.MappingNode:
			root = node
		case kyaml.ScalarNode:
			if node.Tag != kyaml.NodeTagNull {
				return "", fmt.Errorf("%s is the single value %q, not a mapping of Micronaut's keys (such as datasources: or kestra:): fix it in the base", source, node.Value)
			}
		default:
			return "", fmt.Errorf("%s is a YAML %s, not a mapping of Micronaut's keys (such as datasources: or kestra:): fix it in the base", source, kindName(node.Kind))
		}
	}
	if err := mergeInto(root, fragment); err != nil {
		return "", err
	}
	return kyaml.NewRNode(root).String()
}

func mergeInto(node *kyaml.Node, fragment map[string]any) error {
	keys := make([]string, 0, len(fragment))
	for key := range fragment {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		value := fragment[key]
		existing := valueOf(node, key)
		if nested, ok := value.(map[string]any); ok && existing != nil && existing.Kind == kyaml.MappingNode {
			if err := mergeInto(existing, nested); err != nil {
				return err
			}
			continue
		}
		replacement, err := toNode(value)
		if err != nil {
			return err
		}
		if existing != nil {
			*existing = *replacement
			continue
		}
		node.Content = append(node.Content, &kyaml.Node{Kind: kyaml.ScalarNode, Tag: kyaml.NodeTagString, Value: key}, replacement)
	}
	return nil
}

// valueOf is the value node of key in a mapping node, nil where it has none.
func valueOf(mapping *kyaml.Node, key string) *kyaml.Node {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			return mapping.Content[i+1]
		}
	}
	return nil
}

func toNode(value any) (*kyaml.Node, error) {
	data, err := yaml.Marshal(value)
	if err != nil {
		return nil, err
	}
	parsed, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, err
	}
	return parsed.YNode(), nil
}

func kindName(kind kyaml.Kind) string {
	switch kind {
	case kyaml.SequenceNode:
		return "list"
	case kyaml.AliasNode:
		return "alias"
	}
	return "document"
}
