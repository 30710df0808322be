package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
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
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationIssue); err != nil {
			return err
		}
	default:
		// Step 2 again: finish what an interrupted run left, and reissue only what the old issuer still signs.
		if err := o.applyStep(ctx); err != nil {
			return err
		}
		old, err := o.issuedByAnotherIssuer(ctx, certs)
		if err != nil || len(old) == 0 {
			if err == nil {
				fmt.Fprintf(o.Out, "step 2/3 is in place: once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`\n", certs, generate.NextCACertFile, o.Dir)
			}
			return err
		}
	}
	// cert-manager does not reissue when its issuer's Secret changes: ask it to, as renew does, and roll
	// Kestra where it loaded a keystore cert-manager wrote.
	r := NewRenewOptions(o.configFlags, o.IOStreams)
	r.Dir, r.dirGiven, r.namespace, r.Timeout = o.Dir, true, o.namespace, o.Timeout
	if err := r.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "step 2/3 applied: cert-manager issued Kestra's certificate from the new CA; clients trusting both CAs keep working.\n"+
		"Once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`.\n", certs, generate.NextCACertFile, o.Dir)
	return nil
}

// issuedByAnotherIssuer names the certificate Secrets of the overlay whose certificate the issuer in certs/
// did not sign (or that do not exist): after step 2 they must all be the next CA's issuer's.
func (o *RotateCAOptions) issuedByAnotherIssuer(ctx context.Context, certs string) ([]string, error) {
	issuerPEM, err := os.ReadFile(filepath.Join(certs, generate.IssuerCertFile))
	if err != nil {
		return nil, fmt.Errorf("the overlay has no issuer in %s: %v (re-run `kubectl kestra-tls rotate-ca %s`)", certs, err, o.Dir)
	}
	issuer, err := pki.ParseCertificates(issuerPEM)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %v", certs, generate.IssuerCertFile, err)
	}
	refs, err := certificatesOfOverlay(o.Dir, o.namespace)
	if err != nil {
		return nil, err
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	secrets := resources.Secrets
	var old []string
	for _, ref := range refs {
		secret, err := client.Resource(secrets).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			old = append(old, fmt.Sprintf("Secret %s/%s (%v)", ref.Namespace, ref.Name, err))
			continue
		}
		encoded, _, _ := unstructured.NestedString(secret.Object, "data", "tls.crt")
		pem, _ := base64.StdEncoding.DecodeString(encoded)
		leaf, err := pki.ParseCertificates(pem)
		if err != nil || !signedBy(leaf[0], issuer[0]) {
			old = append(old, fmt.Sprintf("Secret %s/%s", ref.Namespace, ref.Name))
		}
	}
	return old, nil
}

func signedBy(leaf, issuer *x509.Certificate) bool {
	return leaf.CheckSignatureFrom(issuer) == nil
}
