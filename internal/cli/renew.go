package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/renew"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
)

// RenewOptions renews an install's certificate now, and restarts Kestra where it must reload.
type RenewOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Dir         string
	Restart     bool
	Timeout     time.Duration

	// why is the Issuing condition's message: renew's own, or that of the command renewing through it.
	why       string
	dirGiven  bool
	compose   bool // DIR is a Docker Compose override: no cluster to talk to
	namespace string
	genericiooptions.IOStreams
}

// NewRenewOptions returns the defaults.
func NewRenewOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *RenewOptions {
	return &RenewOptions{configFlags: configFlags, Restart: true, Timeout: 5 * time.Minute, why: renew.ByRenew, IOStreams: streams}
}

// NewCmdRenew renews now instead of at the renewal time.
func NewCmdRenew(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRenewOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "renew [DIR]",
		Short: "Renew Kestra's certificate now; Kestra reloads it in place, or is restarted where it cannot",
		Long: `Renew the certificates of the installs in -n NAMESPACE now:

- a certificate cert-manager issues (Let's Encrypt, an ACME CA, an issuer of yours, our CA issuer, app mode
  with --issuer-ref) is reissued the way cmctl renew asks for it (the Certificate's Issuing condition), and
  renew waits for the new revision to be Ready;
- a certificate from our own CA (app mode, --backend-tls, --self-signed --no-cert-manager) is minted again
  from the CA kept in the overlay folder DIR, which is then applied (the CA is never replaced; see rotate-ca).

Then Kestra gets the new certificate. Kestra 1.3 and later (Micronaut 4.10) re-read the keystore every
app.reloadInterval (1m): the stores Secret keeps its name, the kubelet updates the mounted files in place,
and nothing restarts. Older Kestras read the keystore only at start: their workloads whose pods still serve
the old stores are rolled as kubectl rollout restart rolls them (--restart=false skips it), and renew returns
once the API server has taken the new pod template. An overlay whose stores Secret has a hashed name rolls
by itself. With target compose, the stores' folder changes in place (Kestra reloads it) or Kestra is to be
restarted, as renew says.

Exit codes: 0 renewed, 124 the new certificate was not Ready in time, 130 interrupted, 1 otherwise.`,
		Example: `  # Reissue every cert-manager certificate of the installs in namespace kestra, restarting Kestra if needed
  kubectl kestra-tls renew -n kestra

  # App mode with our own CA: a new server certificate from the CA in ./kestra-tls, applied
  kubectl kestra-tls renew kestra-tls -n kestra`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.Restart, "restart", o.Restart, "restart Kestra's workloads that still serve the old keystore (app mode)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for the new certificate")
	return cmd
}

// Complete reads DIR and the namespace.
func (o *RenewOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Dir, o.dirGiven = args[0], true
		if overlayValues(o.Dir).Target == "compose" {
			return nil // no cluster: the stores are renewed in the folder
		}
	}
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Validate checks DIR and the timeout.
func (o *RenewOptions) Validate() error {
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: give how long to wait for the new certificate, such as 5m", o.Timeout)
	}
	if o.dirGiven {
		return checkOverlayDir(o.Dir)
	}
	return nil
}

// Run renews, waits, and restarts.
func (o *RenewOptions) Run(ctx context.Context) error {
	var refs []apply.CertificateRef
	var err error
	if o.dirGiven {
		if refs, err = o.renewOverlay(ctx); err != nil || o.compose {
			return err
		}
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return err
	}
	if !o.dirGiven {
		if refs, err = o.certificatesInCluster(ctx, client); err != nil {
			return err
		}
	}
	return o.reissue(ctx, client, refs)
}

// reissue has cert-manager issue these Certificates again and waits for them, then restarts Kestra where
// its pods still serve the stores from before.
func (o *RenewOptions) reissue(ctx context.Context, client dynamic.Interface, refs []apply.CertificateRef) error {
	renewed := map[string]bool{}
	now := time.Now()
	for i, ref := range refs {
		triggered, err := renew.Trigger(ctx, client, ref.Namespace, ref.Name, o.why, now)
		if err != nil {
			return interrupted(ctx, err)
		}
		refs[i].Renewing, refs[i].AfterRevision = true, triggered.Revision
		renewed[ref.Namespace+"/"+ref.Name] = true
		if triggered.AlreadyIssuing {
			fmt.Fprintf(o.Out, "certificate.cert-manager.io/%s is already being issued; waiting for it\n", ref.Name)
		} else {
			fmt.Fprintf(o.Out, "certificate.cert-manager.io/%s reissue triggered (revision %d)\n", ref.Name, triggered.Revision)
		}
	}
	if len(refs) > 0 {
		if err := waitAndReport(ctx, o.configFlags, refs, o.Timeout, o.IOStreams); err != nil {
			return err
		}
	}
	if !o.Restart {
		return nil
	}
	return o.restart(ctx, client, renewed)
}

// renewOverlay mints the overlay's server certificate again when it is ours and applies it, and returns
// the cert-manager Certificates the overlay makes, to reissue.
func (o *RenewOptions) renewOverlay(ctx context.Context) ([]apply.CertificateRef, error) {
	g, err := regenerateOptions(o.configFlags, o.IOStreams, o.Dir)
	if err != nil {
		return nil, err
	}
	if g.resolved.Target == "compose" && g.resolved.MintsServerCertificate() {
		// No cluster: new stores in the folder, and Compose restarts Kestra on them.
		g.renewServer, o.compose = true, true
		fmt.Fprintf(o.ErrOut, "minting a new server certificate from the CA in %s\n", o.Dir)
		if err := g.Run(ctx); err != nil {
			return nil, err
		}
		if r := g.rendered.Renewal; r.Reloads {
			fmt.Fprintf(o.Out, "Kestra reloads the keystore from %s in place, within %s: no restart\n", filepath.Join(o.Dir, overlays.ComposeStoresDir), r.Interval)
		} else {
			fmt.Fprintf(o.Out, "restart Kestra to load it (docker compose ... restart): %s\n", r.Why)
		}
		return nil, nil
	}
	if g.resolved.MintsServerCertificate() {
		g.renewServer = true
		fmt.Fprintf(o.ErrOut, "minting a new server certificate from the CA in %s\n", o.Dir)
		if err := applyRegenerated(ctx, o.configFlags, o.IOStreams, g, o.namespace, o.Timeout); err != nil {
			return nil, err
		}
	} else if g.resolved.SuppliesCertificate() {
		return nil, fmt.Errorf("%s serves the certificate you supplied (certificates.certFile or pkcs12File): renew it where it comes from, then re-run generate and apply with it", o.Dir)
	}
	refs, err := certificatesOfOverlay(o.Dir, o.namespace)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 && !g.resolved.MintsServerCertificate() {
		// Nothing of ours to mint and nothing in the folder for cert-manager: say where the certificate is.
		return nil, fmt.Errorf("%s makes no certificate renew could reissue (with --target helm the chart's Ingress gets it, with --gateway the Gateway's owner does): renew the installs in the cluster with `kubectl kestra-tls renew -n %s`", o.Dir, o.namespace)
	}
	return refs, nil
}

// certificatesInCluster is every cert-manager Certificate behind the namespace's installs.
func (o *RenewOptions) certificatesInCluster(ctx context.Context, client dynamic.Interface) ([]apply.CertificateRef, error) {
	report, err := status.Check(ctx, client, status.Options{Namespace: o.namespace})
	if err != nil {
		return nil, interrupted(ctx, err)
	}
	if len(report.Installs) == 0 {
		return nil, fmt.Errorf("no Kestra TLS install found in namespace %s: pass -n NAMESPACE, or the overlay folder (kubectl kestra-tls renew DIR)", o.namespace)
	}
	var refs []apply.CertificateRef
	var ours []string
	for _, install := range report.Installs {
		if install.Certificate != nil {
			refs = append(refs, apply.CertificateRef{Namespace: install.Namespace, Name: install.Certificate.Name})
		} else if install.Keystore != nil || install.TLSSecret != nil {
			ours = append(ours, strings.ToLower(install.Kind)+"/"+install.Name)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s in namespace %s serve a certificate from our own CA, which cert-manager cannot reissue: give the overlay folder, `kubectl kestra-tls renew DIR -n %s`", strings.Join(ours, ", "), o.namespace, o.namespace)
	}
	for _, name := range ours {
		fmt.Fprintf(o.ErrOut, "Warning: %s serves a certificate from our own CA: renew it with `kubectl kestra-tls renew DIR -n %s`\n", name, o.namespace)
	}
	return refs, nil
}

// restart rolls the workloads of every app install whose pods still serve stores older than the Secret, and
// of every install whose keystore cert-manager just reissued in place.
func (o *RenewOptions) restart(ctx context.Context, client dynamic.Interface, renewed map[string]bool) error {
	report, err := status.Check(ctx, client, status.Options{Namespace: o.namespace})
	if err != nil {
		return interrupted(ctx, err)
	}
	now := time.Now()
	for _, install := range report.Installs {
		k := install.Keystore
		if k == nil {
			continue
		}
		inPlace := install.Certificate != nil && renewed[install.Namespace+"/"+install.Certificate.Name]
		if k.Reloads() {
			// Micronaut re-reads the keystore on its schedule: the kubelet's update of the volume is enough.
			for _, w := range k.Workloads {
				kind, name, _ := strings.Cut(w, "/")
				fmt.Fprintf(o.Out, "%s.apps/%s reloads the keystore from Secret %s in place, within %s of the kubelet's update: no restart\n", strings.ToLower(kind), name, k.Secret, k.ReloadInterval)
			}
			continue
		}
		if !inPlace && !k.NeedsRestart() {
			continue
		}
		for _, w := range k.Workloads {
			kind, name, _ := strings.Cut(w, "/")
			restarted, err := renew.Restart(ctx, client, kind, install.Namespace, name, now)
			if err != nil {
				return interrupted(ctx, err)
			}
			fmt.Fprintf(o.Out, "%s.apps/%s restarted (generation %d): its pods reload the keystore from Secret %s\n", strings.ToLower(kind), name, restarted.Generation, k.Secret)
		}
	}
	return nil
}
