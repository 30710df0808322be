package status

import (
	"crypto/x509"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// workload is a Deployment or StatefulSet that mounts our stores Secret.
type workload struct {
	object       *unstructured.Unstructured
	storesSecret string
	// passwordSecret and passwordKey are where the container reads the store password.
	passwordSecret, passwordKey string
}

// checkApps reports every workload that mounts a stores Secret of ours: Kestra serving HTTPS itself.
// Workloads mounting the same Secret (Kestra's components) are one install, named by the first.
func checkApps(s *snapshot, opts Options) []Install {
	groups := map[string][]workload{}
	var order []string
	for _, items := range [][]unstructured.Unstructured{s.deployments, s.statefulSets} {
		for i := range items {
			w, ok := s.mountsStores(&items[i])
			if !ok {
				continue
			}
			key := items[i].GetNamespace() + "/" + w.storesSecret
			if _, seen := groups[key]; !seen {
				order = append(order, key)
			}
			groups[key] = append(groups[key], w)
		}
	}
	sort.Strings(order)
	var installs []Install
	for _, key := range order {
		installs = append(installs, checkApp(s, groups[key], opts))
	}
	return installs
}

// checkReadiness reads what the workload's controller last observed: no ready pod means Kestra serves
// nothing, fewer than wanted a degraded Kestra. A workload no controller has observed yet says nothing.
func checkReadiness(install *Install, object *unstructured.Unstructured) {
	if _, observed, _ := unstructured.NestedInt64(object.Object, "status", "observedGeneration"); !observed {
		return
	}
	wanted, found, _ := unstructured.NestedInt64(object.Object, "spec", "replicas")
	if !found {
		wanted = 1
	}
	ready, _, _ := unstructured.NestedInt64(object.Object, "status", "readyReplicas")
	what := fmt.Sprintf("%s %s", object.GetKind(), object.GetName())
	inspect := fmt.Sprintf("kubectl describe %s %s -n %s", strings.ToLower(object.GetKind()), object.GetName(), object.GetNamespace())
	switch {
	case wanted > 0 && ready == 0:
		install.add(Broken, fmt.Sprintf("%s has no ready pod (0 of %d): Kestra serves nothing, whatever its certificate (%s tells why)", what, wanted, inspect))
	case ready < wanted:
		install.add(Warning, fmt.Sprintf("%s has %d of %d pods ready (%s tells why)", what, ready, wanted, inspect))
	}
}

// mountsStores finds a pod volume from a Secret labelled as our stores.
func (s *snapshot) mountsStores(object *unstructured.Unstructured) (workload, bool) {
	volumes, _, _ := unstructured.NestedSlice(object.Object, "spec", "template", "spec", "volumes")
	for _, v := range volumes {
		volume, _ := v.(map[string]any)
		for _, name := range volumeSecrets(volume) {
			if secret := s.secret(object.GetNamespace(), name); secret != nil && secret.GetLabels()[model.RoleLabel] == model.RoleStores {
				w := workload{object: object, storesSecret: name}
				w.passwordSecret, w.passwordKey = s.passwordRef(object)
				return w, true
			}
		}
	}
	return workload{}, false
}

// volumeSecrets names the Secrets a pod volume lays out: a secret volume's, or each secret source of a
// projected one (the stores beside the public outbound trust).
func volumeSecrets(volume map[string]any) []string {
	if name, _, _ := unstructured.NestedString(volume, "secret", "secretName"); name != "" {
		return []string{name}
	}
	var names []string
	sources, _, _ := unstructured.NestedSlice(volume, "projected", "sources")
	for _, source := range sources {
		fields, _ := source.(map[string]any)
		if name, _, _ := unstructured.NestedString(fields, "secret", "name"); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// passwordRef is the container variable read from a Secret labelled as our store password.
func (s *snapshot) passwordRef(object *unstructured.Unstructured) (string, string) {
	containers, _, _ := unstructured.NestedSlice(object.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		container, _ := c.(map[string]any)
		env, _, _ := unstructured.NestedSlice(container, "env")
		for _, e := range env {
			variable, _ := e.(map[string]any)
			name, _, _ := unstructured.NestedString(variable, "valueFrom", "secretKeyRef", "name")
			key, _, _ := unstructured.NestedString(variable, "valueFrom", "secretKeyRef", "key")
			if secret := s.find(s.ourSecrets, object.GetNamespace(), name); secret != nil && secret.GetLabels()[model.RoleLabel] == model.RolePassword {
				return name, key
			}
		}
	}
	return "", ""
}

func checkApp(s *snapshot, group []workload, opts Options) Install {
	first := group[0]
	install := Install{Namespace: first.object.GetNamespace(), Kind: first.object.GetKind(), Name: first.object.GetName(), Mode: "app"}
	secret := s.secret(install.Namespace, first.storesSecret)
	if hosts := secret.GetAnnotations()[model.HostsAnnotation]; hosts != "" {
		install.Hosts = strings.Split(hosts, ",")
	}
	k := &Keystore{Secret: first.storesSecret, PasswordSecret: first.passwordSecret, Renewal: model.RenewalRestart}
	if secret.GetAnnotations()[model.RenewalAnnotation] == model.RenewalReload {
		k.Renewal, k.ReloadInterval = model.RenewalReload, secret.GetAnnotations()[model.ReloadIntervalAnnotation]
	}
	install.Keystore = k
	for _, w := range group {
		k.Workloads = append(k.Workloads, w.object.GetKind()+"/"+w.object.GetName())
	}
	if certificate := s.certificateFor(install.Namespace, first.storesSecret); certificate != nil {
		install.Certificate = checkCertificate(s, &install, certificate)
	}
	for _, w := range group {
		checkReadiness(&install, w.object)
	}
	password, ok := s.password(install.Namespace, first)
	if !ok {
		install.add(Broken, fmt.Sprintf("%s %s reads no store password from a Secret of ours (label %s=%s): re-run generate and apply", install.Kind, install.Name, model.RoleLabel, model.RolePassword))
		return install
	}
	data := resources.SecretData(secret)
	key, chain, err := pki.ParsePKCS12(data["keystore.p12"], password)
	if err != nil {
		hint := "re-run generate and apply"
		if install.Certificate != nil {
			// cert-manager encrypts the stores only when it issues: a password changed since stays unused.
			hint = "if the password Secret changed after cert-manager wrote the stores, `kubectl kestra-tls renew -n " + install.Namespace + "` has it write them again with the new one"
		}
		install.add(Broken, fmt.Sprintf("keystore.p12 in Secret %s does not open with the password in Secret %s: %v (%s)", k.Secret, k.PasswordSecret, err, hint))
	} else {
		k.Opens = true
		k.KeyMatches = pki.KeyMatches(key, chain[0].PublicKey)
		if !k.KeyMatches {
			install.add(Broken, fmt.Sprintf("keystore.p12 in Secret %s holds a key that does not belong to its certificate: kubectl kestra-tls renew", k.Secret))
		}
	}
	var trusted []*x509.Certificate
	roots, source := trusted, "truststore"
	if _, present := data["truststore.jks"]; present {
		if trusted, err = keystore.TrustedInJKS(data["truststore.jks"], password); err != nil {
			install.add(Warning, fmt.Sprintf("truststore.jks in Secret %s does not open with the store password: %v", k.Secret, err))
		}
		roots = trusted
	} else if ca, err := pki.ParseCertificates(data["ca.crt"]); err == nil && len(ca) > 0 {
		// cert-manager writes a truststore only when its issuer names a CA; ca.crt is the same CA.
		roots, source = ca, "ca.crt"
	}
	for _, cert := range trusted {
		k.TrustedCAs = append(k.TrustedCAs, cert.Subject.CommonName)
	}
	if k.ClientAuth = secret.GetAnnotations()[model.ClientAuthAnnotation]; k.ClientAuth != "" {
		clientCA := secret.GetAnnotations()[model.ClientCAAnnotation]
		if clientCA != "" && clientCA != model.ClientCAInStores {
			checkClientTrust(s, &install, k.ClientAuth, clientCA, group, opts)
		} else {
			install.ClientAuth = &ClientAuth{Mode: k.ClientAuth, CheckedBy: "Kestra", Source: "Secret " + k.Secret}
			checkClientCAs(&install, fmt.Sprintf("Secret %s's truststore", k.Secret), trusted, opts)
		}
		if clientCA == model.ClientCAInStores && len(chain) > 1 {
			// The truststore holds the clients' CA: Kestra's own certificate chains to the CA in its keystore.
			roots, source = chain[len(chain)-1:], "the CA in keystore.p12"
		}
	}
	if len(chain) > 0 {
		k.Leaf = checkLeaf(&install, secret, chain, roots, source, opts)
		k.TruststoreHoldsIssuer = k.Leaf.VerifiedBy == "truststore"
		k.Rotation = rotationStep(chain[0], trusted)
	}
	checkTrustCAs(&install, secret, data, password)
	for _, w := range group {
		for _, problem := range unreadableStores(w) {
			k.Unreadable = append(k.Unreadable, problem)
			install.add(Broken, problem+": Kestra cannot open its stores and does not start. Re-run `kubectl kestra-tls generate` and apply it (the stores are then mounted 0444, guarded by the store password), or give the pod a securityContext.fsGroup")
		}
	}
	checkRestarts(s, &install, group, secret, opts.Now)
	return install
}

func (s *snapshot) password(namespace string, w workload) (string, bool) {
	if w.passwordSecret == "" {
		return "", false
	}
	secret := s.find(s.ourSecrets, namespace, w.passwordSecret)
	if secret == nil {
		return "", false
	}
	value, ok := resources.SecretData(secret)[w.passwordKey]
	return strings.TrimRight(string(value), "\n"), ok
}

// rotationStep reads rotate-ca's progress from the stores alone: two CAs trusted means a rotation is
// under way; which of them signed the server certificate tells the step.
func rotationStep(leaf *x509.Certificate, trusted []*x509.Certificate) string {
	if len(trusted) < 2 {
		return ""
	}
	newest := trusted[0]
	for _, ca := range trusted[1:] {
		if ca.NotBefore.After(newest.NotBefore) {
			newest = ca
		}
	}
	if leaf.CheckSignatureFrom(newest) == nil {
		return "2/3 server certificate from the new CA; run rotate-ca --finish once every client trusts it"
	}
	return "1/3 old and new CA trusted; run rotate-ca again to issue from the new CA"
}

// KubeletSync is how long the kubelet may take to show a changed Secret in a pod's volume: its sync period
// (1 minute), plus the watch's propagation. (The test ground's kubelet swaps at once and sets it to zero.)
var KubeletSync = 90 * time.Second

// checkRestarts finds Kestra pods that loaded older stores: Micronaut reads them once, at start, unless it
// reloads them (Kestra 1.3 and later, renewal reload), in which case only a pod on an older Secret lags.
func checkRestarts(s *snapshot, install *Install, group []workload, secret *unstructured.Unstructured, now time.Time) {
	k := install.Keystore
	changed := lastChanged(secret)
	k.Serving = map[string]string{}
	reloadBy := time.Time{}
	if k.Reloads() {
		interval, err := time.ParseDuration(k.ReloadInterval)
		if err != nil {
			interval = time.Minute
		}
		reloadBy = changed.Add(KubeletSync + interval)
	}
	for _, w := range group {
		name := strings.ToLower(w.object.GetKind()) + "/" + w.object.GetName()
		stale := len(k.StalePods)
		selector, _, _ := unstructured.NestedStringMap(w.object.Object, "spec", "selector", "matchLabels")
		for i := range s.pods {
			pod := &s.pods[i]
			if len(selector) == 0 || pod.GetNamespace() != install.Namespace || !matches(pod.GetLabels(), selector) || pod.GetDeletionTimestamp() != nil {
				continue
			}
			k.Pods++
			started := pod.GetCreationTimestamp().Time
			if t := timeField(pod, "status", "startTime"); t != nil {
				started = *t
			}
			switch {
			case !mountsSecret(pod, w.storesSecret):
				k.StalePods = append(k.StalePods, StalePod{Name: pod.GetName(), Reason: OlderSecret, Started: started.UTC()})
			case started.Before(changed) && !k.Reloads():
				k.StalePods = append(k.StalePods, StalePod{Name: pod.GetName(), Reason: StartedBeforeChange, Started: started.UTC()})
			}
		}
		k.Serving[name] = servingState(k, k.StalePods[stale:], reloadBy, now)
	}
	switch {
	case k.NeedsRestart():
		k.RestartNeeded = true
		install.add(Warning, fmt.Sprintf("restart needed: %d of %d Kestra pods started before Secret %s last changed (%s) and still serve the stores they loaded then (Micronaut reads them only at start): kubectl kestra-tls renew -n %s restarts them", len(k.StalePods), k.Pods, k.Secret, changed.Format(time.RFC3339), install.Namespace))
	case len(k.StalePods) > 0:
		install.add(Warning, fmt.Sprintf("rollout under way: %d of %d Kestra pods still mount an older stores Secret than %s; they are replaced as the rollout proceeds (kubectl rollout status)", len(k.StalePods), k.Pods, k.Secret))
	}
}

// servingState is what a workload's pods serve against the Secret, in the words status prints.
func servingState(k *Keystore, stale []StalePod, reloadBy, now time.Time) string {
	for _, pod := range stale {
		if pod.Reason == OlderSecret {
			return "rollout under way"
		}
	}
	switch {
	case len(stale) > 0:
		return "restart due"
	case k.Reloads() && now.Before(reloadBy):
		return "reload due by " + reloadBy.UTC().Format(time.RFC3339)
	case k.Reloads():
		return "reloads in place"
	}
	return "serves the Secret's certificate"
}

func matches(labels, selector map[string]string) bool {
	for key, value := range selector {
		if labels[key] != value {
			return false
		}
	}
	return true
}

func mountsSecret(pod *unstructured.Unstructured, name string) bool {
	volumes, _, _ := unstructured.NestedSlice(pod.Object, "spec", "volumes")
	for _, v := range volumes {
		volume, _ := v.(map[string]any)
		if slices.Contains(volumeSecrets(volume), name) {
			return true
		}
	}
	return false
}

// checkTrustCAs finds the --trust-ca certificates the stores Secret says its outbound stores hold and that
// they do not: the tasks calling a server of that CA then fail, in the JVM or in the processes.
func checkTrustCAs(install *Install, secret *unstructured.Unstructured, data map[string][]byte, password string) {
	wanted := secret.GetAnnotations()[model.TrustCAsAnnotation]
	if wanted == "" {
		return
	}
	inBundle := map[string]bool{}
	if certs, err := pki.ParseCertificates(data[model.OutboundBundleFile]); err == nil {
		for _, cert := range certs {
			inBundle[fingerprint(cert)] = true
		}
	}
	inJKS := map[string]bool{}
	if certs, err := keystore.TrustedInJKS(data[model.OutboundTrustFile], password); err == nil {
		for _, cert := range certs {
			inJKS[fingerprint(cert)] = true
		}
	}
	for _, sum := range strings.Split(wanted, ",") {
		var lacking []string
		if !inBundle[sum] {
			lacking = append(lacking, model.OutboundBundleFile+" (processes)")
		}
		if !inJKS[sum] {
			lacking = append(lacking, model.OutboundTrustFile+" (the JVM)")
		}
		if len(lacking) > 0 {
			install.add(Broken, fmt.Sprintf("Secret %s lacks the --trust-ca certificate sha256 %s... in %s: tasks calling its servers fail; re-run generate with that --trust-ca and apply", secret.GetName(), sum[:16], strings.Join(lacking, " and ")))
		}
	}
}

// checkClientTrust checks the clients' CA in the ConfigMap (named name, before kustomize's hash suffix)
// that Kestra's workloads mount beside the stores cert-manager writes.
func checkClientTrust(s *snapshot, install *Install, mode, name string, group []workload, opts Options) {
	install.ClientAuth = &ClientAuth{Mode: mode, CheckedBy: "Kestra", Source: "ConfigMap " + name}
	var found *unstructured.Unstructured
	for i := range s.clientTrusts {
		c := &s.clientTrusts[i]
		if c.GetNamespace() != install.Namespace || (c.GetName() != name && !strings.HasPrefix(c.GetName(), name+"-")) {
			continue
		}
		// The one the pods mount: an earlier one may linger after the CA changed.
		if found == nil || slices.ContainsFunc(group, func(w workload) bool { return mountsConfigMap(w.object, c.GetName()) }) {
			found = c
		}
	}
	switch {
	case found == nil && s.clientTrustHidden:
		install.add(Warning, fmt.Sprintf("cannot list ConfigMaps: the clients' CA in ConfigMap %s is not checked", name))
		return
	case found == nil:
		install.add(Broken, fmt.Sprintf("ConfigMap %s, the clients' CA Kestra verifies client certificates against, does not exist: Kestra's pods cannot start; re-run generate with --client-ca and apply", name))
		return
	}
	where := "ConfigMap " + found.GetName()
	install.ClientAuth.Source = where
	data, _, _ := unstructured.NestedStringMap(found.Object, "data")
	cas, err := pki.ParseCertificates([]byte(data[model.ClientCAFile]))
	if err != nil || len(cas) == 0 {
		install.add(Warning, fmt.Sprintf("%s holds no CA certificate in %s (%v): the clients' CA is not checked", where, model.ClientCAFile, err))
		return
	}
	checkClientCAs(install, where, cas, opts)
}

// mountsConfigMap tells whether a workload's pod template has a volume from the ConfigMap, projected or not.
func mountsConfigMap(object *unstructured.Unstructured, name string) bool {
	volumes, _, _ := unstructured.NestedSlice(object.Object, "spec", "template", "spec", "volumes")
	for _, v := range volumes {
		volume, _ := v.(map[string]any)
		for _, source := range volumeSources(volume) {
			if ref, _, _ := unstructured.NestedString(source, "configMap", "name"); ref == name {
				return true
			}
		}
	}
	return false
}

// checkClientCAs records in install.ClientAuth the CAs client certificates are verified against, and warns
// before they expire:
// every client certificate they signed stops working with them.
func checkClientCAs(install *Install, where string, cas []*x509.Certificate, opts Options) {
	for _, ca := range cas {
		left := ca.NotAfter.Sub(opts.Now)
		install.ClientAuth.CAs = append(install.ClientAuth.CAs, ClientCA{Subject: ca.Subject.CommonName, NotAfter: ca.NotAfter.UTC(), DaysLeft: int(left.Hours() / 24)})
		switch {
		case left <= 0:
			install.add(Broken, fmt.Sprintf("the client CA %q in %s expired on %s: no client certificate gets in any more; renew that CA and issue the clients again (kubectl kestra-tls certs --client NAME)", ca.Subject.CommonName, where, ca.NotAfter.UTC().Format(time.RFC3339)))
		case left < opts.WarnWithin:
			install.add(Warning, fmt.Sprintf("the client CA %q in %s expires in %s, on %s: the client certificates it signed stop working then", ca.Subject.CommonName, where, humanDuration(left), ca.NotAfter.UTC().Format(time.RFC3339)))
		}
	}
}
