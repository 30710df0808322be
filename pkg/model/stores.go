package model

import "github.com/kestra-tls/kubectl-kestra-tls/pkg/values"

// StoresFileMode is the mode of each store in Kestra's pod: readable by whatever user the container runs
// as. Kestra's images run as a non-root user whose uid depends on the image (1000 on the jammy-based
// ones), a securityContext may choose another, and the kubelet lays Secret files out owned by root, so a
// mode for the owner alone (the 0400 we used to write) locks Kestra out of its own keystore. What guards the
// private key is the store password (PBES2 with AES-256), which reaches the container only as an
// environment variable from its own Secret; the CA key and the password file are never mounted.
// SECURITY.md says the same to users.
const StoresFileMode = 0o444

// StoreKeys are the keys of the stores Secret that Kestra's containers mount, and no other: the Secret
// cert-manager writes (--app-issuer cert-manager) also holds tls.key unencrypted, which must not be laid
// out readable by every user of the container.
func StoreKeys(v values.Values) []string {
	keys := []string{"keystore.p12"}
	if v.HasTruststore() && !v.PublicClientTrust() {
		// (With the clients' own CA, cert-manager's truststore, its issuer's CA, must not admit clients.)
		keys = append(keys, "truststore.jks")
	}
	if v.Mode == "app" && v.App.OutboundTrust && !v.PublicOutboundTrust() {
		keys = append(keys, OutboundTrustFile, OutboundBundleFile)
	}
	return keys
}

// OutboundKeys are the keys of the ConfigMap of public outbound stores (values' PublicOutboundTrust).
func OutboundKeys(v values.Values) []string {
	if !v.PublicOutboundTrust() {
		return nil
	}
	return []string{OutboundTrustFile, OutboundBundleFile}
}
