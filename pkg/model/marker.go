package model

// The marker every object this plugin writes carries, so that day-two commands (status, renew, rotate-ca)
// find installs by one label selector in every mode and target. The templates spell the same strings.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-kestra-tls"
	// ManagedByAnnotation carries the same where a chart renders the object and owns its labels (the
	// official chart's Ingress, with --target helm): value ManagedByValue.
	ManagedByAnnotation = "kestra-tls.io/managed-by"
	// RoleLabel tells our Secrets apart: RoleStores holds keystore.p12 and truststore.jks, RolePassword
	// their password.
	RoleLabel    = "kestra-tls.io/role"
	RoleStores   = "stores"
	RolePassword = "store-password"
	// TrustCAsAnnotation on the stores Secret lists the SHA-256 fingerprints of the --trust-ca certificates
	// its outbound stores must hold.
	TrustCAsAnnotation = "kestra-tls.io/trust-cas"
	// RoleCARoot marks the Secret of the root CA cert-manager makes with --gitops: what clients must trust.
	RoleCARoot = "ca-root"
	// CAGenerationLabel numbers the roots of one overlay across rotate-ca's rotations (--gitops).
	CAGenerationLabel = "kestra-tls.io/ca-generation"
	// HostsAnnotation lists, comma-separated, the names Kestra's own certificate must cover.
	HostsAnnotation = "kestra-tls.io/hosts"
	// ClientAuthAnnotation on the stores Secret says that Kestra asks clients for certificates (need or
	// want), against the truststore, and on our Ingress that its controller does, against the CA in Secret
	// ClientCASecret; ClientCAAnnotation that the truststore holds the clients' own CA (--client-ca) rather
	// than ours.
	ClientAuthAnnotation = "kestra-tls.io/client-auth"
	ClientCAAnnotation   = "kestra-tls.io/client-ca"
	// ClientCAInStores is ClientCAAnnotation's value where the clients' CA is the truststore of the stores
	// generate writes; where cert-manager writes them, it names the ConfigMap ClientTrustConfigMap instead.
	ClientCAInStores = "external"
	// CARotationAnnotation is on our CA issuer while rotate-ca is under way: its step, trust or issue.
	CARotationAnnotation = "kestra-tls.io/ca-rotation"
)

// Marked tells whether an object carries our marker, as a label or (where a chart owns the labels) as an
// annotation.
func Marked(labels, annotations map[string]string) bool {
	return labels[ManagedByLabel] == ManagedByValue || annotations[ManagedByAnnotation] == ManagedByValue
}
