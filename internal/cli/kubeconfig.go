package cli

import (
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// namespaceOf reads the target namespace from the kubeconfig flags, naming the flag behind a failure: an
// absent kubeconfig file or context reads as "invalid configuration" otherwise.
func namespaceOf(configFlags *genericclioptions.ConfigFlags) (string, error) {
	namespace, _, err := configFlags.ToRawKubeConfigLoader().Namespace()
	if err == nil {
		return namespace, nil
	}
	switch {
	case configFlags.Context != nil && *configFlags.Context != "":
		return "", fmt.Errorf("--context %s: %v (list the contexts with `kubectl config get-contexts`)", *configFlags.Context, err)
	case configFlags.KubeConfig != nil && *configFlags.KubeConfig != "":
		return "", fmt.Errorf("--kubeconfig %s: %v", *configFlags.KubeConfig, err)
	}
	return "", fmt.Errorf("reading the kubeconfig ($KUBECONFIG or ~/.kube/config): %v (check it with `kubectl config view`)", err)
}
