package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/renew"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// An overlay generated with --gitops has cert-manager make our CA in the cluster: a root (selfSigned) that
// signs the name-constrained issuer Kestra's certificates come from. Its three steps go through
// cert-manager, each written into the overlay (to commit) and applied:
//
//  1. a second root, generation N+1, beside the current one; `kubectl kestra-tls ca` prints both, for the
//     clients to trust;
//  2. the issuer signed by the new root, and Kestra's certificates issued again under it;
//  3. (--finish) the old root goes: its Certificate, Issuer and Secret.

// runGitOpsRotation takes the next step for an overlay whose CA cert-manager makes.
func (o *RotateCAOptions) runGitOpsRotation(ctx context.Context, v values.Values) error {
	generation := max(v.CertManager.CAGeneration, 1)
	current := overlays.RootCAName(v.CertManager.CAIssuerName, generation)
	next := overlays.RootCAName(v.CertManager.CAIssuerName, generation+1)
	client, err := listingClient(o.configFlags)
	if err != nil {
		return err
	}
	state := v.Certificates.Rotation
	if o.Finish {
		switch state {
		case "":
			return fmt.Errorf("no CA rotation is under way in %s: start one with `kubectl kestra-tls rotate-ca %s`", o.Dir, o.Dir)
		case generate.RotationTrust:
			return fmt.Errorf("--finish would drop the root CA %s, which still signs Kestra's certificates: step 2 has not run; run `kubectl kestra-tls rotate-ca %s` first", current, o.Dir)
		}
		old, err := o.notUnderRoot(ctx, client, v, next)
		if err != nil {
			return err
		}
		if len(old) > 0 {
			return fmt.Errorf("--finish would drop the root CA that still signs %s: step 2 is not complete; run `kubectl kestra-tls rotate-ca %s` again", strings.Join(old, ", "), o.Dir)
		}
		if err := o.applyStep(ctx, "certificates.rotation=", "certManager.caGeneration="+strconv.Itoa(generation+1)); err != nil {
			return err
		}
		if err := o.deleteRoot(ctx, client, current); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 3/3 done: the root CA %s is gone; %s is the only one (kubectl kestra-tls ca -n %s prints it). Commit %s.\n", current, next, o.namespace, o.Dir)
		return nil
	}
	switch state {
	case "":
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationTrust); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 1/3 applied: cert-manager makes a second root CA, %s, beside %s, which still signs Kestra's certificates.\n"+
			"Commit %s. Give every client that verifies Kestra both roots (kubectl kestra-tls ca -n %s prints them), then run `kubectl kestra-tls rotate-ca %s` again.\n", next, current, o.Dir, o.namespace, o.Dir)
		return nil
	case generate.RotationTrust:
		if _, err := secretCertificate(ctx, client, o.namespace, next); err != nil {
			return fmt.Errorf("step 1/3 is applied but not live yet: %v; run `kubectl kestra-tls rotate-ca %s` again when cert-manager has issued it", err, o.Dir)
		}
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationIssue); err != nil {
			return err
		}
	default:
		// Step 2 again: it finishes what an interrupted run left.
		if err := o.applyStep(ctx); err != nil {
			return err
		}
	}
	// The issuer first (its issuerRef changed: cert-manager issues it again from the new root), then what it
	// signs: cert-manager does not reissue a certificate when its issuer's Secret changes.
	r := NewRenewOptions(o.configFlags, o.IOStreams)
	r.namespace, r.Timeout, r.why = o.namespace, o.Timeout, renew.ByCARotation
	issuer := []apply.CertificateRef{{Namespace: o.namespace, Name: v.CertManager.CAIssuerName}}
	if under, err := o.issuerUnderRoot(ctx, client, v, next); err != nil {
		return err
	} else if !under {
		if err := r.reissue(ctx, client, issuer); err != nil {
			return err
		}
	}
	old, err := o.leavesNotUnderRoot(ctx, client, next)
	if err != nil {
		return err
	}
	if len(old) > 0 {
		if err := r.reissue(ctx, client, old); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "step 2/3 applied: Kestra's certificates come from the issuer under the new root CA %s; clients trusting both keep working.\n"+
		"Commit %s. Once every client trusts %s, run `kubectl kestra-tls rotate-ca %s --finish`.\n", next, o.Dir, next, o.Dir)
	return nil
}

// secretCertificate is the first certificate cert-manager wrote into the Secret of that name (tls.crt).
func secretCertificate(ctx context.Context, client dynamic.Interface, namespace, name string) (*x509.Certificate, error) {
	secret, err := client.Resource(resources.Secrets).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("the root CA's Secret %s/%s: %w", namespace, name, err)
	}
	certs, err := pki.ParseCertificates(resources.SecretData(secret)["tls.crt"])
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("Secret %s/%s holds no certificate yet (kubectl kestra-tls wait -n %s %s says why)", namespace, name, namespace, name)
	}
	return certs[0], nil
}

// issuerUnderRoot tells whether the issuer's Secret holds a certificate the root signed.
func (o *RotateCAOptions) issuerUnderRoot(ctx context.Context, client dynamic.Interface, v values.Values, root string) (bool, error) {
	rootCert, err := secretCertificate(ctx, client, o.namespace, root)
	if err != nil {
		return false, err
	}
	issuer, err := secretCertificate(ctx, client, o.namespace, v.CertManager.CAIssuerName)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil && issuer.CheckSignatureFrom(rootCert) == nil, nil
}

// leavesNotUnderRoot are the overlay's certificates whose Secret holds no chain up to the root: issued by
// the issuer before the root signed it, or not issued yet.
func (o *RotateCAOptions) leavesNotUnderRoot(ctx context.Context, client dynamic.Interface, root string) ([]apply.CertificateRef, error) {
	rootCert, err := secretCertificate(ctx, client, o.namespace, root)
	if err != nil {
		return nil, err
	}
	return o.certificatesNotSignedBy(ctx, client, func(chain []*x509.Certificate) bool {
		// The leaf, then the issuer that signed it: under the root when the root signed that issuer.
		return len(chain) >= 2 && chain[0].CheckSignatureFrom(chain[1]) == nil && chain[1].CheckSignatureFrom(rootCert) == nil
	})
}

// notUnderRoot names what does not chain to the root yet: the issuer, and Kestra's certificates.
func (o *RotateCAOptions) notUnderRoot(ctx context.Context, client dynamic.Interface, v values.Values, root string) ([]string, error) {
	var names []string
	under, err := o.issuerUnderRoot(ctx, client, v, root)
	if err != nil {
		return nil, err
	}
	if !under {
		names = append(names, "the issuer "+v.CertManager.CAIssuerName)
	}
	old, err := o.leavesNotUnderRoot(ctx, client, root)
	if err != nil {
		return nil, err
	}
	for _, ref := range old {
		names = append(names, "Secret "+ref.Namespace+"/"+ref.Name)
	}
	return names, nil
}

// deleteRoot removes a root CA that signs nothing any more: the overlay no longer makes it, and an apply
// does not delete what it no longer holds (Argo CD's and Flux's pruning would).
func (o *RotateCAOptions) deleteRoot(ctx context.Context, client dynamic.Interface, name string) error {
	for _, resource := range []struct {
		what string
		api  dynamic.NamespaceableResourceInterface
	}{
		{"certificate.cert-manager.io", client.Resource(resources.Certificates)},
		{"issuer.cert-manager.io", client.Resource(resources.Issuers)},
		{"secret", client.Resource(resources.Secrets)},
	} {
		err := resource.api.Namespace(o.namespace).Delete(ctx, name, metav1.DeleteOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return interrupted(ctx, fmt.Errorf("deleting %s/%s: %w", resource.what, name, err))
		default:
			fmt.Fprintf(o.Out, "%s/%s deleted\n", resource.what, name)
		}
	}
	return nil
}
