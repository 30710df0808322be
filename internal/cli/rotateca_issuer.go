package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/renew"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// Installs whose certificate cert-manager issues from our CA (self-signed with cert-manager: ingress,
// gateway, app mode with --app-issuer cert-manager) rotate differently from app mode's own stores.
// cert-manager's CA issuer reads a single certificate from its Secret's ca.crt and requires it to chain, so
// no issuer can hold the old and the new CA at once: the trust of step 1 lives in the clients, which get
// ca-next.pem, and step 2 hands cert-manager an issuer signed by the next CA and has it issue again.

// runIssuerRotation takes the next step for such an install.
func (o *RotateCAOptions) runIssuerRotation(ctx context.Context, state, certs string) error {
	if o.Finish {
		return o.finish(ctx, certs, state, o.issuedByAnotherIssuer)
	}
	var err error
	switch state {
	case "":
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationTrust); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 1/3 applied: a new CA in %s/%s; Kestra's certificate is still the old CA's.\n"+
			"cert-manager's CA issuer holds one CA, so trusting both happens in the clients: give %s/%s to every client that\n"+
			"verifies Kestra, then run `kubectl kestra-tls rotate-ca %s` again.\n", certs, generate.NextCACertFile, certs, generate.NextCACertFile, o.Dir)
		return nil
	case generate.RotationTrust:
		err = o.applyStep(ctx, "certificates.rotation="+generate.RotationIssue)
	default:
		// Step 2 again: it finishes what an interrupted run left.
		err = o.applyStep(ctx)
	}
	if err != nil {
		return err
	}
	// cert-manager does not reissue when its issuer's Secret changes: ask it to, for what the old issuer still
	// signs, as renew does, and roll Kestra where it loaded a keystore cert-manager wrote.
	old, err := o.issuedByAnotherIssuer(ctx, certs)
	if err != nil {
		return err
	}
	if len(old) == 0 {
		fmt.Fprintf(o.Out, "step 2/3 is in place: once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`\n", certs, generate.NextCACertFile, o.Dir)
		return nil
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return err
	}
	r := NewRenewOptions(o.configFlags, o.IOStreams)
	r.namespace, r.Timeout, r.why = o.namespace, o.Timeout, renew.ByCARotation
	if err := r.reissue(ctx, client, old); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "step 2/3 applied: cert-manager issued Kestra's certificate from the new CA; clients trusting both CAs keep working.\n"+
		"Once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`.\n", certs, generate.NextCACertFile, o.Dir)
	return nil
}

// issuedByAnotherIssuer is every Certificate of the overlay whose Secret holds a certificate the issuer in
// certs/ did not sign, or no certificate yet: after step 2 there must be none.
func (o *RotateCAOptions) issuedByAnotherIssuer(ctx context.Context, certs string) ([]apply.CertificateRef, error) {
	issuerPEM, err := os.ReadFile(filepath.Join(certs, generate.IssuerCertFile))
	if err != nil {
		return nil, fmt.Errorf("the overlay has no issuer in %s: %v (re-run `kubectl kestra-tls rotate-ca %s`)", certs, err, o.Dir)
	}
	issuer, err := pki.ParseCertificates(issuerPEM)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %v", certs, generate.IssuerCertFile, err)
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	return o.certificatesNotSignedBy(ctx, client, func(chain []*x509.Certificate) bool {
		return chain[0].CheckSignatureFrom(issuer[0]) == nil
	})
}

// certificatesNotSignedBy are the overlay's certificates whose Secret holds no chain that signedBy accepts,
// or no certificate yet.
func (o *RotateCAOptions) certificatesNotSignedBy(ctx context.Context, client dynamic.Interface, signedBy func(chain []*x509.Certificate) bool) ([]apply.CertificateRef, error) {
	refs, err := certificatesOfOverlay(o.Dir, o.namespace)
	if err != nil {
		return nil, err
	}
	var old []apply.CertificateRef
	for _, ref := range refs {
		secret, err := client.Resource(resources.Secrets).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			old = append(old, ref)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s/%s to see which CA signed it: %w", ref.Namespace, ref.Name, err)
		}
		chain, err := pki.ParseCertificates(resources.SecretData(secret)["tls.crt"])
		if err != nil || !signedBy(chain) {
			old = append(old, ref)
		}
	}
	return old, nil
}
