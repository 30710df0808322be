package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/keystore"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// KeystoresToRewrite names the Certificates of this apply whose Java keystores, as cert-manager last wrote
// them, do not open with the password their password Secret holds now. cert-manager encrypts keystores only
// when it issues (its checks ask whether a keystore is there, not whether it opens), so after a password
// change Kestra would fail to open its stores at its next start until cert-manager happened to issue again.
// Certificates created by this apply are left out: cert-manager issues them with the current password.
func (a *Applier) KeystoresToRewrite(ctx context.Context, results []Result, defaultNamespace string) ([]CertificateRef, error) {
	var stale []CertificateRef
	for _, result := range results {
		certificate := result.Object
		gvk := certificate.GroupVersionKind()
		if result.Operation == Created || gvk.Group != resources.CertManagerGroup || gvk.Kind != "Certificate" {
			continue
		}
		format, passwordRef := keystoreToCheck(certificate)
		if format == "" {
			continue
		}
		namespace := certificate.GetNamespace()
		if namespace == "" {
			namespace = defaultNamespace
		}
		secretName, _, _ := unstructured.NestedString(certificate.Object, "spec", "secretName")
		stores, err := a.secretData(ctx, namespace, secretName, nil)
		if err != nil {
			return nil, err
		}
		// The password Secret is usually one of this apply's objects, as the server returned it.
		password, err := a.secretData(ctx, namespace, passwordRef.name, results)
		if err != nil {
			return nil, err
		}
		if stores == nil || password == nil {
			continue // nothing written yet, or cert-manager cannot write until the password Secret exists
		}
		if !opensWith(format, stores, password[passwordRef.key]) {
			stale = append(stale, CertificateRef{Namespace: namespace, Name: certificate.GetName()})
		}
	}
	return stale, nil
}

type secretKeyRef struct{ name, key string }

// keystoreToCheck is the keystore a Certificate has cert-manager create, PKCS#12 first (Kestra's
// keystore.p12), and the Secret key holding its password.
func keystoreToCheck(certificate *unstructured.Unstructured) (string, secretKeyRef) {
	for _, format := range []string{"pkcs12", "jks"} {
		store, found, _ := unstructured.NestedMap(certificate.Object, "spec", "keystores", format)
		if !found || store["create"] != true {
			continue
		}
		name, _, _ := unstructured.NestedString(store, "passwordSecretRef", "name")
		key, _, _ := unstructured.NestedString(store, "passwordSecretRef", "key")
		if name != "" && key != "" {
			return format, secretKeyRef{name: name, key: key}
		}
	}
	return "", secretKeyRef{}
}

// opensWith tells whether the Secret's keystore of this format decrypts with the password. A keystore
// missing from the Secret counts as opening: cert-manager writes a missing one by itself.
func opensWith(format string, stores map[string][]byte, password []byte) bool {
	switch format {
	case "pkcs12":
		data, present := stores["keystore.p12"]
		if !present {
			return true
		}
		_, _, err := pki.ParsePKCS12(data, string(password))
		return err == nil
	case "jks":
		data, present := stores["keystore.jks"]
		if !present {
			return true
		}
		_, err := keystore.TrustedInJKS(data, string(password))
		return err == nil
	}
	return true
}

// secretData reads a Secret's data from the apply's results when it is among them, else from the server;
// nil when there is no such Secret.
func (a *Applier) secretData(ctx context.Context, namespace, name string, results []Result) (map[string][]byte, error) {
	for _, result := range results {
		object := result.Object
		if object.GetKind() == "Secret" && object.GetName() == name && object.GetNamespace() == namespace {
			return resources.SecretData(object), nil
		}
	}
	client, err := a.dynamicClient()
	if err != nil {
		return nil, err
	}
	secret, err := client.Resource(resources.Secrets).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s to check the keystores cert-manager wrote: %w", qualifiedName(namespace, name), err)
	}
	return resources.SecretData(secret), nil
}
