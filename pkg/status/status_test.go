package status

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// material is a CA and a server certificate for hosts, valid for days from issued.
func material(t *testing.T, hosts []string, issued time.Time, days int) (ca, server pki.Pair) {
	t.Helper()
	caKey, _ := pki.ECDSAP256.GenerateKey()
	ca, err := pki.NewCA(pki.CARequest{CommonName: "Test CA", Days: 3650, Key: caKey, Now: issued})
	if err != nil {
		t.Fatal(err)
	}
	return ca, issue(t, ca, hosts, issued, days)
}

// issue signs a server certificate for hosts with ca, valid for days from issued.
func issue(t *testing.T, ca pki.Pair, hosts []string, issued time.Time, days int) pki.Pair {
	t.Helper()
	parsed, err := pki.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := pki.ECDSAP256.GenerateKey()
	cert, err := pki.IssueServer(ca, pki.ServerRequest{Hosts: parsed, Days: days, Key: key, Now: issued})
	if err != nil {
		t.Fatal(err)
	}
	return pki.Pair{Cert: cert, Key: key}
}

func object(apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name, "namespace": namespace}}}
	for key, value := range fields {
		u.Object[key] = value
	}
	return u
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

func tlsSecret(namespace, name string, ca, server pki.Pair) *unstructured.Unstructured {
	keyPEM, _ := pki.EncodePrivateKey(server.Key)
	s := object("v1", "Secret", namespace, name, map[string]any{
		"type": "kubernetes.io/tls",
		"data": map[string]any{"tls.crt": b64(pki.EncodeCertificates(server.Cert)), "tls.key": b64(keyPEM), "ca.crt": b64(pki.EncodeCertificates(ca.Cert))},
	})
	s.SetCreationTimestamp(metav1.NewTime(now.Add(-time.Hour)))
	return s
}

func ingress(namespace string, hosts ...string) *unstructured.Unstructured {
	var list []any
	for _, h := range hosts {
		list = append(list, h)
	}
	u := object("networking.k8s.io/v1", "Ingress", namespace, "kestra", map[string]any{
		"spec": map[string]any{"tls": []any{map[string]any{"hosts": list, "secretName": "kestra-tls"}}},
	})
	u.SetLabels(map[string]string{model.ManagedByLabel: model.ManagedByValue})
	return u
}

// withBackend points the first object, an Ingress, at Service kestra-web on port 8080.
func withBackend(objects ...runtime.Object) []runtime.Object {
	ingress := objects[0].(*unstructured.Unstructured)
	ingress.Object["spec"].(map[string]any)["rules"] = []any{map[string]any{"host": "kestra.example.com", "http": map[string]any{"paths": []any{
		map[string]any{"path": "/", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": "kestra-web", "port": map[string]any{"number": int64(8080)}}}},
	}}}}
	return objects
}

// service is Service kestra-web selecting pods labelled app=<app>.
func service(app string) *unstructured.Unstructured {
	return object("v1", "Service", "kestra", "kestra-web", map[string]any{"spec": map[string]any{"selector": map[string]any{"app": app}}})
}

// kestra is Deployment kestra (pods app=kestra) as its controller observed it: ready of wanted pods.
func kestra(wanted, ready int64) *unstructured.Unstructured {
	return object("apps/v1", "Deployment", "kestra", "kestra", map[string]any{
		"metadata": map[string]any{"name": "kestra", "namespace": "kestra", "generation": int64(2)},
		"spec":     map[string]any{"replicas": wanted, "template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "kestra"}}}},
		"status":   map[string]any{"observedGeneration": int64(2), "readyReplicas": ready},
	})
}

func certificate(namespace string, ready bool) *unstructured.Unstructured {
	status := "True"
	if !ready {
		status = "False"
	}
	return object("cert-manager.io/v1", "Certificate", namespace, "kestra-tls", map[string]any{
		"spec":   map[string]any{"secretName": "kestra-tls", "issuerRef": map[string]any{"kind": "ClusterIssuer", "name": "letsencrypt-prod"}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": "Failed", "message": "the ACME order failed"}}},
	})
}

// withClientCA makes the app install ask clients for certificates (--client-auth need) of a CA of theirs
// (--client-ca) valid for days more: the truststore holds that CA alone.
func withClientCA(t *testing.T, objects []runtime.Object, days int) []runtime.Object {
	t.Helper()
	key, _ := pki.ECDSAP256.GenerateKey()
	clients, err := pki.NewCA(pki.CARequest{CommonName: "Clients CA", Days: days + 1, Key: key, Now: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	jks, err := keystore.JKS([]keystore.TrustedEntry{{Alias: "client-ca-1", Cert: clients.Cert}}, "store-pass")
	if err != nil {
		t.Fatal(err)
	}
	stores := objects[0].(*unstructured.Unstructured)
	stores.Object["data"].(map[string]any)["truststore.jks"] = b64(jks)
	annotations := stores.GetAnnotations()
	annotations[model.ClientAuthAnnotation], annotations[model.ClientCAAnnotation] = "need", "external"
	stores.SetAnnotations(annotations)
	return objects
}

// sealedSecret is one of ours as the Sealed Secrets controller left it: synced "True", "False" (with its
// message when it could not decrypt), or "" before any controller saw it.
func sealedSecret(namespace, name, synced string) *unstructured.Unstructured {
	u := object("bitnami.com/v1alpha1", "SealedSecret", namespace, name, map[string]any{})
	u.SetLabels(map[string]string{model.ManagedByLabel: model.ManagedByValue})
	if synced != "" {
		u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Synced", "status": synced, "reason": "ErrUnsealFailed", "message": "no key could decrypt secret (keystore.p12)"}}}
	}
	return u
}

func clusterIssuer(ready bool) *unstructured.Unstructured {
	status := "True"
	if !ready {
		status = "False"
	}
	return object("cert-manager.io/v1", "ClusterIssuer", "", "letsencrypt-prod", map[string]any{
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status, "message": "account not registered"}}},
	})
}

// appObjects is an app-mode install: stores and password Secrets of ours, a Deployment mounting them, and
// one pod started at podStart, mounting podSecret.
func appObjects(t *testing.T, storesPassword, openPassword string, podStart time.Time, podSecret string) []runtime.Object {
	t.Helper()
	ca, server := material(t, []string{"kestra.example.com"}, now.Add(-24*time.Hour), 365)
	p12, err := keystore.PKCS12(server.Key, []*x509.Certificate{server.Cert, ca.Cert}, storesPassword)
	if err != nil {
		t.Fatal(err)
	}
	jks, err := keystore.JKS([]keystore.TrustedEntry{{Alias: "ca", Cert: ca.Cert}}, storesPassword)
	if err != nil {
		t.Fatal(err)
	}
	stores := object("v1", "Secret", "kestra", "kestra-ssl-abc", map[string]any{"data": map[string]any{"keystore.p12": b64(p12), "truststore.jks": b64(jks)}})
	stores.SetLabels(map[string]string{model.ManagedByLabel: model.ManagedByValue, model.RoleLabel: model.RoleStores})
	stores.SetAnnotations(map[string]string{model.HostsAnnotation: "kestra.example.com"})
	stores.SetCreationTimestamp(metav1.NewTime(now.Add(-time.Hour)))
	password := object("v1", "Secret", "kestra", "kestra-ssl-password-abc", map[string]any{"data": map[string]any{"password": b64([]byte(openPassword))}})
	password.SetLabels(map[string]string{model.ManagedByLabel: model.ManagedByValue, model.RoleLabel: model.RolePassword})
	template := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "kestra"}},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "kestra", "env": []any{map[string]any{"name": "KESTRA_TLS_STORE_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "kestra-ssl-password-abc", "key": "password"}}}}}},
			"volumes":    []any{map[string]any{"name": "kestra-ssl", "secret": map[string]any{"secretName": "kestra-ssl-abc"}}},
		},
	}
	deployment := object("apps/v1", "Deployment", "kestra", "kestra", map[string]any{"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "kestra"}}, "template": template}})
	pod := object("v1", "Pod", "kestra", "kestra-1", map[string]any{
		"spec":   map[string]any{"volumes": []any{map[string]any{"name": "kestra-ssl", "secret": map[string]any{"secretName": podSecret}}}},
		"status": map[string]any{"startTime": podStart.Format(time.RFC3339)},
	})
	pod.SetLabels(map[string]string{"app": "kestra"})
	return []runtime.Object{stores, password, deployment, pod}
}

// reloading marks appObjects' stores Secret as generate does for a Kestra that re-reads its keystore.
func reloading(objects []runtime.Object) []runtime.Object {
	stores := objects[0].(*unstructured.Unstructured)
	annotations := stores.GetAnnotations()
	annotations[model.RenewalAnnotation], annotations[model.ReloadIntervalAnnotation] = model.RenewalReload, "1m"
	stores.SetAnnotations(annotations)
	return objects
}

// withTrustCA gives appObjects' stores the outbound stores and the annotation naming a --trust-ca
// certificate, which they hold or not.
func withTrustCA(t *testing.T, objects []runtime.Object, holds bool) []runtime.Object {
	t.Helper()
	corp := otherCA(t)
	held := []*x509.Certificate{}
	if holds {
		held = append(held, corp)
	}
	jks, err := keystore.JKS(append([]keystore.TrustedEntry{{Alias: "public-1", Cert: otherCA(t)}}, trusted(held)...), "store-pass")
	if err != nil {
		t.Fatal(err)
	}
	stores := objects[0].(*unstructured.Unstructured)
	data := stores.Object["data"].(map[string]any)
	data[model.OutboundTrustFile] = b64(jks)
	data[model.OutboundBundleFile] = b64(pki.EncodeCertificates(held...))
	annotations := stores.GetAnnotations()
	annotations[model.TrustCAsAnnotation] = fingerprint(corp)
	stores.SetAnnotations(annotations)
	return objects
}

func trusted(certs []*x509.Certificate) []keystore.TrustedEntry {
	var entries []keystore.TrustedEntry
	for i, cert := range certs {
		entries = append(entries, keystore.TrustedEntry{Alias: fmt.Sprintf("corp-%d", i), Cert: cert})
	}
	return entries
}

// mountedApp is appObjects with the stores mounted into the Kestra container as the volume's defaultMode
// lays them out, and the pod's securityContext (nil: none, the image's user).
func mountedApp(t *testing.T, defaultMode int64, podSecurity map[string]any) []runtime.Object {
	t.Helper()
	objects := appObjects(t, "store-pass", "store-pass", now, "kestra-ssl-abc")
	deployment := objects[2].(*unstructured.Unstructured)
	pod := deployment.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	container := pod["containers"].([]any)[0].(map[string]any)
	container["image"] = "kestra/kestra:latest"
	container["volumeMounts"] = []any{map[string]any{"name": "kestra-ssl", "mountPath": "/app/ssl", "readOnly": true}}
	pod["volumes"].([]any)[0].(map[string]any)["secret"].(map[string]any)["defaultMode"] = defaultMode
	if podSecurity != nil {
		pod["securityContext"] = podSecurity
	}
	return objects
}

func fakeClient(objects ...runtime.Object) *dynamicfake.FakeDynamicClient {
	lists := map[schema.GroupVersionResource]string{}
	for _, gvr := range []schema.GroupVersionResource{resources.Ingresses, resources.HTTPRoutes, resources.Gateways, resources.Secrets, resources.Pods, resources.Services, resources.Deployments, resources.StatefulSets, resources.Certificates, resources.Issuers, resources.ClusterIssuers, resources.SealedSecrets, resources.ConfigMaps} {
		kind := map[string]string{"ingresses": "Ingress", "httproutes": "HTTPRoute", "gateways": "Gateway", "secrets": "Secret", "pods": "Pod", "services": "Service", "deployments": "Deployment", "statefulsets": "StatefulSet", "certificates": "Certificate", "issuers": "Issuer", "clusterissuers": "ClusterIssuer", "sealedsecrets": "SealedSecret", "configmaps": "ConfigMap"}[gvr.Resource]
		lists[gvr] = kind + "List"
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objects...)
}

// TestCheck decides the health of installs from what the API server holds (a fake client here; the real
// control plane and cert-manager in internal/cli's day-two tests).
func TestCheck(t *testing.T) {
	hosts := []string{"kestra.example.com", "www.kestra.example.com"}
	ca, server := material(t, hosts, now.Add(-24*time.Hour), 90)
	expiring := issue(t, ca, hosts, now.Add(-89*24*time.Hour), 90)
	expired := issue(t, ca, hosts, now.Add(-100*24*time.Hour), 90)
	oneHost := issue(t, ca, hosts[:1], now.Add(-24*time.Hour), 90)
	// Kestra's pods started an hour after the stores Secret was written, or an hour before.
	after, before := now, now.Add(-2*time.Hour)

	tests := map[string]struct {
		objects []runtime.Object
		health  Health
		finding string
	}{
		"an Ingress whose Secret covers every host and verifies is healthy": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), certificate("kestra", true), clusterIssuer(true)}, Healthy, ""},
		"an Ingress without its Secret is broken": {
			[]runtime.Object{ingress("kestra", hosts...)}, Broken, "Secret kestra-tls does not exist"},
		"a Certificate that is not Ready is broken": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), certificate("kestra", false), clusterIssuer(true)}, Broken, "not Ready (Failed: the ACME order failed)"},
		"an issuer that is not Ready is a warning": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), certificate("kestra", true), clusterIssuer(false)}, Warning, "cannot renew"},
		"a certificate expiring within the window is a warning": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, expiring)}, Warning, "expires in"},
		"an expired certificate is broken": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, expired)}, Broken, "expired on"},
		"a host the certificate does not cover is broken": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, oneHost)}, Broken, "does not cover www.kestra.example.com"},
		"a chain that does not verify against ca.crt is broken": {
			[]runtime.Object{ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", pki.Pair{Cert: otherCA(t)}, server)}, Broken, "does not verify against ca.crt"},
		"an Ingress in front of a Kestra with every pod ready is healthy": {
			withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), service("kestra"), kestra(1, 1)), Healthy, ""},
		"an Ingress in front of a Kestra with no ready pod is broken": {
			withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), service("kestra"), kestra(1, 0)), Broken, "Deployment kestra has no ready pod (0 of 1)"},
		"an Ingress in front of a Kestra with one of two pods ready is a warning": {
			withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), service("kestra"), kestra(2, 1)), Warning, "Deployment kestra has 1 of 2 pods ready"},
		"an Ingress sending to a Service that does not exist is broken": {
			withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), kestra(1, 1)), Broken, "Service kestra-web, which does not exist"},
		"an Ingress sending to a Service that selects no pod is broken": {
			withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), service("worker"), kestra(1, 1)), Broken, "Service kestra-web selects no pod (selector app=worker)"},
		"an app install whose pods started after the Secret is healthy": {
			appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-abc"), Healthy, ""},
		"a pod started before the Secret changed needs a restart": {
			appObjects(t, "store-pass", "store-pass", before, "kestra-ssl-abc"), Warning, "restart needed"},
		"a pod started before the Secret changed, on a Kestra that reloads, needs no restart": {
			reloading(appObjects(t, "store-pass", "store-pass", before, "kestra-ssl-abc")), Healthy, ""},
		"outbound stores holding the --trust-ca certificate are healthy": {
			withTrustCA(t, appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-abc"), true), Healthy, ""},
		"outbound stores that lost a --trust-ca certificate are broken": {
			withTrustCA(t, appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-abc"), false), Broken, "lacks the --trust-ca certificate"},
		"a pod on an older stores Secret is a rollout under way": {
			appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-old"), Warning, "rollout under way"},
		"a keystore that does not open with the password Secret is broken": {
			appObjects(t, "store-pass", "wrong-pass", after, "kestra-ssl-abc"), Broken, "does not open"},
		"stores mounted 0400 for the image's non-root user are broken": {
			mountedApp(t, 0o400, nil), Broken, "runs as the image's user (kestra/kestra:latest: Kestra's images run as the non-root user kestra) and cannot read keystore.p12 (mode 0400), truststore.jks (mode 0400)"},
		"stores mounted 0444 are read by the image's non-root user": {
			mountedApp(t, 0o444, nil), Healthy, ""},
		"stores mounted 0400 with an fsGroup are read through the group": {
			mountedApp(t, 0o400, map[string]any{"runAsUser": int64(1001), "fsGroup": int64(2000)}), Healthy, ""},
		"stores mounted 0400 are read by runAsUser 0": {
			mountedApp(t, 0o400, map[string]any{"runAsUser": int64(0)}), Healthy, ""},
		"stores mounted 0440 are read by a uid the image lacks, whose group is root": {
			mountedApp(t, 0o440, map[string]any{"runAsUser": int64(1001)}), Healthy, ""},
		"clients' own CA in the truststore, far from expiry, is healthy (Kestra's certificate checked against its keystore's CA)": {
			withClientCA(t, appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-abc"), 365), Healthy, ""},
		"a client CA expiring within the window is a warning": {
			withClientCA(t, appObjects(t, "store-pass", "store-pass", after, "kestra-ssl-abc"), 10), Warning, `the client CA "Clients CA" in Secret kestra-ssl-abc's truststore expires in`},
		"a SealedSecret the controller could not unseal is broken": {
			[]runtime.Object{sealedSecret("kestra", "kestra-ssl", "False")}, Broken, "could not unseal it (ErrUnsealFailed: no key could decrypt secret (keystore.p12)); seal it for this cluster's controller: `kubeseal --fetch-cert"},
		"a SealedSecret no controller has seen is broken": {
			[]runtime.Object{sealedSecret("kestra", "kestra-ssl", "")}, Broken, "no Sealed Secrets controller has unsealed it yet"},
		"stores mounted 0440 for runAsUser 1001 and runAsGroup 3000 are broken": {
			mountedApp(t, 0o440, map[string]any{"runAsUser": int64(1001), "runAsGroup": int64(3000)}), Broken, "runs as uid 1001 and cannot read keystore.p12 (mode 0440)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			report, err := Check(context.Background(), fakeClient(tc.objects...), Options{Namespace: "kestra", WarnWithin: 30 * 24 * time.Hour, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Installs) != 1 {
				t.Fatalf("found %d installs, want 1", len(report.Installs))
			}
			install := report.Installs[0]
			var messages []string
			for _, f := range install.Findings {
				messages = append(messages, f.Message)
			}
			if install.Health != tc.health || report.Health != tc.health || !strings.Contains(strings.Join(messages, "\n"), tc.finding) {
				t.Errorf("health %s (report %s), want %s with a finding containing %q:\n%s", install.Health, report.Health, tc.health, tc.finding, strings.Join(messages, "\n"))
			}
			if report.Requests != 14 {
				t.Errorf("%d requests, want the fixed 14", report.Requests)
			}
		})
	}
}

func otherCA(t *testing.T) *x509.Certificate {
	t.Helper()
	key, _ := pki.ECDSAP256.GenerateKey()
	ca, err := pki.NewCA(pki.CARequest{CommonName: "Other CA", Days: 3650, Key: key, Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return ca.Cert
}

// TestRotationStep reads rotate-ca's step from the stores alone.
func TestRotationStep(t *testing.T) {
	oldCA, server := material(t, []string{"kestra.example.com"}, now.Add(-48*time.Hour), 90)
	newCA, newServer := material(t, []string{"kestra.example.com"}, now.Add(-time.Hour), 90)
	tests := map[string]struct {
		leaf    *x509.Certificate
		trusted []*x509.Certificate
		want    string
	}{
		"one CA trusted: no rotation":                               {server.Cert, []*x509.Certificate{oldCA.Cert}, ""},
		"both trusted, the old CA signs: step 1":                    {server.Cert, []*x509.Certificate{oldCA.Cert, newCA.Cert}, "1/3"},
		"both trusted, the new CA signs: step 2":                    {newServer.Cert, []*x509.Certificate{oldCA.Cert, newCA.Cert}, "2/3"},
		"both trusted in the other order, the new CA signs: step 2": {newServer.Cert, []*x509.Certificate{newCA.Cert, oldCA.Cert}, "2/3"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := rotationStep(tc.leaf, tc.trusted); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("rotationStep = %q, want %q...", got, tc.want)
			}
		})
	}
}

// TestStatusRunsWithARoleThatCannotListServices: a Role written for an earlier status (no Services) still
// gets its report; only the readiness behind the Ingress is left unread.
func TestStatusRunsWithARoleThatCannotListServices(t *testing.T) {
	hosts := []string{"kestra.example.com"}
	ca, server := material(t, hosts, now.Add(-24*time.Hour), 90)
	client := fakeClient(withBackend(ingress("kestra", hosts...), tlsSecret("kestra", "kestra-tls", ca, server), kestra(1, 0))...)
	client.PrependReactor("list", "services", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "", errors.New("the Role does not list services"))
	})
	report, err := Check(context.Background(), client, Options{Namespace: "kestra", WarnWithin: 30 * 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatalf("status with a Role that cannot list Services: %v", err)
	}
	if report.Health != Healthy || len(report.Installs) != 1 {
		t.Errorf("health %s with %d installs, want the Ingress's healthy certificate: %+v", report.Health, len(report.Installs), report.Installs)
	}
}

// TestServingSaysReloadOrRestartPerWorkload: what status prints per workload, from the Secret's last change,
// the pods' start and the renewal the overlay set up.
func TestServingSaysReloadOrRestartPerWorkload(t *testing.T) {
	for name, tc := range map[string]struct {
		objects []runtime.Object
		now     time.Time
		want    string
	}{
		"a Kestra that reloads, the Secret changed an hour ago":                {reloading(appObjects(t, "p", "p", now.Add(-2*time.Hour), "kestra-ssl-abc")), now, "reloads in place"},
		"a Kestra that reloads, the Secret changed a minute ago":               {reloading(appObjects(t, "p", "p", now.Add(-2*time.Hour), "kestra-ssl-abc")), now.Add(-59 * time.Minute), "reload due by"},
		"a Kestra that reads its keystore at start, started before the change": {appObjects(t, "p", "p", now.Add(-2*time.Hour), "kestra-ssl-abc"), now, "restart due"},
		"a Kestra that reads its keystore at start, started after the change":  {appObjects(t, "p", "p", now, "kestra-ssl-abc"), now, "serves the Secret's certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			report, err := Check(context.Background(), fakeClient(tc.objects...), Options{Namespace: "kestra", WarnWithin: time.Hour, Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if got := report.Installs[0].Keystore.Serving["deployment/kestra"]; !strings.HasPrefix(got, tc.want) {
				t.Errorf("deployment/kestra %q, want %q", got, tc.want)
			}
		})
	}
}
