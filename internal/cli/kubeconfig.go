package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
)

// namespaceOf reads the target namespace from the kubeconfig flags, naming the flag behind a failure: an
// absent kubeconfig file or context reads as "invalid configuration" otherwise.
func namespaceOf(configFlags *genericclioptions.ConfigFlags) (string, error) {
	if err := kubeconfigExists(configFlags); err != nil {
		return "", err
	}
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

// kubeconfigExists names a KUBECONFIG that lists no file that exists: client-go skips missing files there
// without a word and falls back to localhost:8080, so the user would read about a refused connection
// instead of the path they mistyped. (A missing --kubeconfig is already an error naming it.)
func kubeconfigExists(configFlags *genericclioptions.ConfigFlags) error {
	if configFlags.KubeConfig != nil && *configFlags.KubeConfig != "" {
		return nil
	}
	value := os.Getenv("KUBECONFIG")
	paths := filepath.SplitList(value)
	if len(paths) == 0 {
		_, err := os.Stat(clientcmd.RecommendedHomeFile)
		inCluster := os.Getenv("KUBERNETES_SERVICE_HOST") != ""
		if err != nil && !inCluster && (configFlags.APIServer == nil || *configFlags.APIServer == "") {
			return fmt.Errorf("no kubeconfig: %s does not exist and KUBECONFIG is not set, so there is no cluster to talk to: pass --kubeconfig, or set KUBECONFIG", clientcmd.RecommendedHomeFile)
		}
		return nil
	}
	for _, path := range paths {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	return fmt.Errorf("KUBECONFIG=%s: no such file, so there is no cluster to talk to: point KUBECONFIG at your kubeconfig, pass --kubeconfig, or unset KUBECONFIG to use ~/.kube/config", value)
}
