package status

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// checkSealed reports our SealedSecrets the Sealed Secrets controller did not open: their Secret is then
// missing (or stale), and no Kestra install can be found through it. One that it opened says nothing: the
// install it feeds is checked through its Secret.
func checkSealed(s *snapshot) []Install {
	var installs []Install
	for i := range s.sealedSecrets {
		sealed := &s.sealedSecrets[i]
		synced, reason, message := syncedCondition(sealed)
		missing := s.find(s.ourSecrets, sealed.GetNamespace(), sealed.GetName()) == nil
		if synced == "True" && !missing {
			continue
		}
		install := Install{Namespace: sealed.GetNamespace(), Kind: "SealedSecret", Name: sealed.GetName(), Mode: "app"}
		fix := "seal it for this cluster's controller: `kubeseal --fetch-cert > cert.pem`, then generate --seal-with cert.pem and apply again"
		switch {
		case synced == "False":
			install.add(Broken, fmt.Sprintf("the Sealed Secrets controller could not unseal it (%s: %s); %s", reason, message, fix))
		case synced == "" && missing:
			install.add(Broken, fmt.Sprintf("no Sealed Secrets controller has unsealed it yet (no Secret %s, no status): is the controller installed and running? (kubectl get pods -A -l app.kubernetes.io/name=sealed-secrets)", sealed.GetName()))
		case missing:
			install.add(Broken, fmt.Sprintf("the Sealed Secrets controller reports it unsealed, but Secret %s is missing: %s", sealed.GetName(), fix))
		}
		installs = append(installs, install)
	}
	return installs
}

// syncedCondition is the controller's Synced condition on a SealedSecret.
func syncedCondition(sealed *unstructured.Unstructured) (status, reason, message string) {
	conditions, _, _ := unstructured.NestedSlice(sealed.Object, "status", "conditions")
	for _, c := range conditions {
		condition, _ := c.(map[string]any)
		if condition["type"] == "Synced" {
			status, _ = condition["status"].(string)
			reason, _ = condition["reason"].(string)
			message, _ = condition["message"].(string)
		}
	}
	return status, reason, message
}
