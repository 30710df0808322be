// Package status finds the Kestra TLS installs of a cluster and checks them the way an operator would on
// day two: is the certificate Ready and still covering every host, how long until it expires, does the
// keystore Kestra loaded open and match, did Kestra restart since its Secret changed, and is the chain it
// really serves the one in the Secret. It reads with a fixed number of list requests, whatever the number
// of installs, and never writes.
package status

import (
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"time"
)

// Health is an install's verdict; the command's exit status follows the worst one.
type Health string

const (
	Healthy Health = "healthy"
	// Warning needs attention soon: expiry within the window, a restart due, an issuer not Ready.
	Warning Health = "warning"
	// Broken is failing now, or will at the next TLS handshake: a missing or expired certificate, a host
	// not covered, a keystore that does not open, a server serving another certificate.
	Broken Health = "broken"
)

// worse orders healths.
func worse(a, b Health) Health {
	rank := map[Health]int{Healthy: 0, "": 0, Warning: 1, Broken: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Report is what status prints: every install found, and the worst health among them.
type Report struct {
	Installs []Install `json:"installs"`
	Health   Health    `json:"health"`
	// Requests is how many API requests the report cost (list requests, one per kind).
	Requests int `json:"requests"`
}

// Install is one Kestra served over TLS by this plugin, named by the object in front of it: the Ingress
// (mode ingress), the HTTPRoute (mode gateway) or Kestra's workload (mode app).
type Install struct {
	Namespace string   `json:"namespace"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	Mode      string   `json:"mode"`
	Hosts     []string `json:"hosts"`

	Certificate *Certificate `json:"certificate,omitempty"`
	// TLSSecret is the certificate the Ingress or Gateway serves (mode ingress and gateway).
	TLSSecret *Leaf `json:"tlsSecret,omitempty"`
	// Keystore is what Kestra itself serves (mode app, and gateway with backend TLS).
	Keystore *Keystore `json:"keystore,omitempty"`
	// Served is the chain a TLS handshake with --url returned.
	Served *Served `json:"served,omitempty"`
	// ClientAuth is how clients authenticate with certificates, nil where nothing asks them for one.
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`

	Health   Health    `json:"health"`
	Findings []Finding `json:"findings,omitempty"`
}

// ClientAuth is who asks clients for certificates, and the CAs their certificates must chain to.
type ClientAuth struct {
	// Mode is need (no certificate, no connection) or want (asked for, not required).
	Mode string `json:"mode"`
	// CheckedBy is Kestra (mode app) or the Ingress controller's IngressClass annotations name.
	CheckedBy string `json:"checkedBy"`
	// Source holds the CAs: "Secret NAME" (Kestra's truststore, or ca.crt for the Ingress controller) or
	// "ConfigMap NAME" (the clients' own CA beside the stores cert-manager writes).
	Source string     `json:"source"`
	CAs    []ClientCA `json:"cas"`
}

// ClientCA is a CA whose client certificates get in, until it expires.
type ClientCA struct {
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"notAfter"`
	DaysLeft int       `json:"daysLeft"`
}

// Finding is one thing wrong, with what to do about it.
type Finding struct {
	Severity Health `json:"severity"`
	Message  string `json:"message"`
}

// Leaf is the certificate the install presents: Kestra's keystore where Kestra serves HTTPS itself, else the
// Ingress's or Gateway's TLS Secret.
func (i *Install) Leaf() *Leaf {
	if i.Keystore != nil && i.Keystore.Leaf != nil {
		return i.Keystore.Leaf
	}
	return i.TLSSecret
}

// CARotation is rotate-ca's step, read from Kestra's own stores or from our CA issuer; empty when none.
func (i *Install) CARotation() string {
	if i.Keystore != nil && i.Keystore.Rotation != "" {
		return i.Keystore.Rotation
	}
	if i.Certificate != nil {
		return i.Certificate.Issuer.CARotation
	}
	return ""
}

func (i *Install) add(severity Health, message string) {
	i.Findings = append(i.Findings, Finding{Severity: severity, Message: message})
	i.Health = worse(i.Health, severity)
}

// Certificate is the cert-manager Certificate behind an install.
type Certificate struct {
	Name        string     `json:"name"`
	Ready       bool       `json:"ready"`
	Reason      string     `json:"reason,omitempty"`
	Message     string     `json:"message,omitempty"`
	NotAfter    *time.Time `json:"notAfter,omitempty"`
	RenewalTime *time.Time `json:"renewalTime,omitempty"`
	Revision    int64      `json:"revision,omitempty"`
	Issuer      Issuer     `json:"issuer"`
}

// Issuer is the cert-manager issuer a Certificate names.
type Issuer struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Found   bool   `json:"found"`
	Ready   bool   `json:"ready"`
	Message string `json:"message,omitempty"`
	// CARotation is the step of rotate-ca on our CA issuer, empty when none is under way (app mode's own
	// stores report theirs in keystore.caRotation).
	CARotation string `json:"caRotation,omitempty"`
}

// Leaf is a server certificate as a Secret holds it.
type Leaf struct {
	Secret      string    `json:"secret"`
	Subject     string    `json:"subject,omitempty"`
	Issuer      string    `json:"issuer,omitempty"`
	Names       []string  `json:"names,omitempty"`
	NotAfter    time.Time `json:"notAfter"`
	DaysLeft    int       `json:"daysLeft"`
	Fingerprint string    `json:"sha256"`
	// VerifiedBy says which CA the chain verified against ("ca.crt", "truststore", "system roots"), empty
	// when it did not.
	VerifiedBy string `json:"verifiedBy,omitempty"`
	// MissingHosts are the install's hosts the certificate does not cover.
	MissingHosts []string `json:"missingHosts,omitempty"`
	// Changed is when the Secret last changed (its newest managed-fields time).
	Changed time.Time `json:"changed"`
}

// Keystore is Kestra's own TLS material: the keystore and truststore it loaded at start.
type Keystore struct {
	Secret         string `json:"secret"`
	PasswordSecret string `json:"passwordSecret,omitempty"`
	Opens          bool   `json:"opens"`
	KeyMatches     bool   `json:"keyMatches"`
	// TrustedCAs are the subjects in the truststore.
	TrustedCAs []string `json:"trustedCAs,omitempty"`
	// ClientAuth is need or want when Kestra asks clients for certificates (against the truststore).
	ClientAuth string `json:"clientAuth,omitempty"`
	// TruststoreHoldsIssuer tells whether the truststore holds the CA that signed the keystore's chain.
	TruststoreHoldsIssuer bool     `json:"truststoreHoldsIssuer"`
	Leaf                  *Leaf    `json:"leaf,omitempty"`
	Workloads             []string `json:"workloads,omitempty"`
	Pods                  int      `json:"pods"`
	// StalePods started before the Secret last changed, or mount an older keystore Secret: Micronaut reads
	// its stores once, at start, so they still serve the old certificate.
	StalePods     []StalePod `json:"stalePods,omitempty"`
	RestartNeeded bool       `json:"restartNeeded"`
	// Renewal is how a renewed keystore reaches Kestra: "reload" (Micronaut re-reads it every
	// ReloadInterval, Kestra 1.3 and later) or "restart" (read once, at start).
	Renewal        string `json:"renewal"`
	ReloadInterval string `json:"reloadInterval,omitempty"`
	// Serving says, per workload, what its pods serve against the Secret: "reloads in place", "reload due
	// by TIME", "restart due", "rollout under way", or "serves the Secret's certificate".
	Serving map[string]string `json:"serving,omitempty"`
	// Rotation is the CA rotation step (rotate-ca), empty when none is under way.
	Rotation string `json:"caRotation,omitempty"`
	// Unreadable names the containers that cannot read a store their volume lays out, and the stores.
	Unreadable []string `json:"unreadable,omitempty"`
}

// StalePod is a Kestra pod serving older stores than the Secret's.
type StalePod struct {
	Name string `json:"name"`
	// Reason is StartedBeforeChange (the Secret changed in place: only a restart reloads it) or
	// OlderSecret (the pod mounts a previous Secret: its workload's rollout has not finished).
	Reason  string    `json:"reason"`
	Started time.Time `json:"started"`
}

// Reasons a pod is stale.
const (
	StartedBeforeChange = "StartedBeforeChange"
	OlderSecret         = "OlderSecret"
)

// Reloads tells whether Kestra re-reads its keystore in place.
func (k *Keystore) Reloads() bool { return k.Renewal == model.RenewalReload }

// NeedsRestart tells whether restarting the workloads (not only waiting for a rollout) is what it takes.
func (k *Keystore) NeedsRestart() bool {
	for _, pod := range k.StalePods {
		if pod.Reason == StartedBeforeChange {
			return true
		}
	}
	return false
}

// Served is the outcome of a TLS handshake with the install's URL.
type Served struct {
	URL         string `json:"url"`
	Address     string `json:"address"`
	Subject     string `json:"subject,omitempty"`
	Fingerprint string `json:"sha256,omitempty"`
	// MatchesSecret tells whether the served leaf is the Secret's (the keystore's in mode app).
	MatchesSecret bool   `json:"matchesSecret"`
	Error         string `json:"error,omitempty"`
}
