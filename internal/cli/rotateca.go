package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// RotateCAOptions moves an install to a new CA in three steps, without a moment when a client that follows
// the steps stops trusting Kestra.
type RotateCAOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Dir         string
	Finish      bool
	Timeout     time.Duration

	namespace string
	genericiooptions.IOStreams
}

// NewRotateCAOptions returns the defaults.
func NewRotateCAOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *RotateCAOptions {
	return &RotateCAOptions{configFlags: configFlags, Timeout: 5 * time.Minute, IOStreams: streams}
}

// NewCmdRotateCA replaces our CA step by step.
func NewCmdRotateCA(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRotateCAOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "rotate-ca DIR [--finish]",
		Short: "Move Kestra to a new CA in three steps, without downtime",
		Long: `Replace the CA that signs Kestra's own certificate (app mode, the CA kept in DIR/certs) in three steps,
each applied to the cluster, each safe to run again:

  1. rotate-ca DIR            a new CA (certs/ca-next.pem); Kestra's truststores trust the old and the new
                              CA; its certificate is still the old CA's. Give ca-next.pem to every client.
  2. rotate-ca DIR            once step 1 is live (Kestra's pods all run the new stores): Kestra's
                              certificate from the new CA; clients that trust both keep working.
  3. rotate-ca DIR --finish   once every client trusts the new CA: it becomes certs/ca.pem, the old CA is
                              removed from the stores and from certs/.

A step that is not yet live is applied again instead of moving on, so an interrupted run is finished by
running it again. "kubectl kestra-tls status" shows the step an install is at.

Where cert-manager issues Kestra's certificate from our CA (--self-signed in ingress or gateway mode, or app
mode with --app-issuer cert-manager), cert-manager's CA issuer holds a single CA, so step 1 changes nothing in
the cluster: the clients get ca-next.pem. Step 2 gives cert-manager an issuer signed by the new CA, has it
issue again (as renew does) and restarts Kestra where it loads cert-manager's keystore; --finish is refused
while a certificate of the overlay still comes from the old CA.

An overlay generated with --gitops --self-signed, whose root cert-manager makes in the cluster, rotates
through cert-manager: step 1 adds a second root (kubectl kestra-tls ca prints both), step 2 has the issuer
signed by it and Kestra's certificates issued again, --finish removes the old root. Commit DIR after each
step.

Kestra 1.3 and later re-read their stores in place (app.renewal reload): no step restarts Kestra, and step 1
is live once the kubelet has updated the pods' files and Micronaut has re-read them (app.reloadInterval).
The JVM reads the outbound truststore (--outbound-trust) only at start: for tasks calling out to a service
of the new CA, restart Kestra after step 1 (kubectl rollout restart).`,
		Example: `  kubectl kestra-tls rotate-ca kestra-tls -n kestra            # step 1
  kubectl kestra-tls status -n kestra                           # caRotation 1/3; pods restarted?
  kubectl kestra-tls rotate-ca kestra-tls -n kestra            # step 2
  kubectl kestra-tls rotate-ca kestra-tls -n kestra --finish   # step 3`,
		Args: cobra.ExactArgs(1),
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
	cmd.Flags().BoolVar(&o.Finish, "finish", false, "step 3: make the new CA the only one")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "how long apply may wait")
	return cmd
}

// Complete reads DIR and the namespace.
func (o *RotateCAOptions) Complete(args []string) error {
	o.Dir = args[0]
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Validate checks DIR.
func (o *RotateCAOptions) Validate() error {
	return checkOverlayDir(o.Dir)
}

// Run takes the next step, or repeats the current one until it is live.
func (o *RotateCAOptions) Run(ctx context.Context) error {
	g, err := regenerateOptions(o.configFlags, o.IOStreams, o.Dir)
	if err != nil {
		return err
	}
	v := g.resolved
	rotation := v.CARotation()
	switch {
	case v.GitOps && v.IssuedByOurCAIssuer():
		return o.runGitOpsRotation(ctx, v.Values)
	case v.GitOps:
		return fmt.Errorf("%s was generated with --gitops, and its certificates come from %s: rotate-ca replaces the CA cert-manager makes for --self-signed, not yours", o.Dir, map[bool]string{true: "your certificate (--cert, --pkcs12)", false: "your issuer or an ACME CA"}[v.SuppliesCertificate()])
	case rotation != "":
	case v.Certificates.CADir != "":
		return fmt.Errorf("%s shares the CA in --ca-dir %s with other overlays, which would all have to move at once: rotate-ca works on a CA kept in the overlay", o.Dir, v.Certificates.CADir)
	case v.IssuedByOurCAIssuer() && v.Target == "helm":
		return fmt.Errorf("%s: with --target helm the chart's Ingress gets the certificate and this folder cannot reissue it: rotate the CA of an overlay applied with `kubectl kestra-tls apply`", o.Dir)
	default:
		return fmt.Errorf("%s: rotate-ca replaces our CA, kept in %s/certs, in an install applied to a cluster: app mode's own stores, or a certificate cert-manager issues from our CA (--self-signed); this overlay is mode %s, target %s (a certificate from another issuer, or one you supply, has its CA elsewhere)", o.Dir, o.Dir, v.Mode, v.Target)
	}
	certs := filepath.Join(o.Dir, model.CertsDir)
	state := v.Certificates.Rotation
	if rotation == values.RotatesIssuer {
		return o.runIssuerRotation(ctx, state, certs)
	}
	if o.Finish {
		return o.finish(ctx, certs, state, nil)
	}
	switch state {
	case "":
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationTrust); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 1/3 applied: Kestra trusts the old and the new CA (%s/%s); its certificate is still the old CA's.\n"+
			"Give %s/%s to every client that verifies Kestra, then run `kubectl kestra-tls rotate-ca %s` again.\n", certs, generate.NextCACertFile, certs, generate.NextCACertFile, o.Dir)
		return nil
	case generate.RotationTrust:
		pending, err := o.stepOnePending(ctx, certs)
		if err != nil {
			return err
		}
		if pending != "" {
			if err := o.applyStep(ctx); err != nil { // resume: the same step again
				return err
			}
			return fmt.Errorf("step 1/3 is applied but not live yet: %s; run `kubectl kestra-tls rotate-ca %s` again when it is", pending, o.Dir)
		}
		if err := o.applyStep(ctx, "certificates.rotation="+generate.RotationIssue); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 2/3 applied: Kestra's certificate comes from the new CA; clients trusting both CAs keep working.\n"+
			"Once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`.\n", certs, generate.NextCACertFile, o.Dir)
		return nil
	default:
		if err := o.applyStep(ctx); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "step 2/3 is in place: once every client trusts %s/%s, run `kubectl kestra-tls rotate-ca %s --finish`\n", certs, generate.NextCACertFile, o.Dir)
		return nil
	}
}

// finish is step 3: refused before step 2, and when stillOld (if any) names what the old CA still signs;
// then the next CA becomes the CA and the folder is applied without the rotation.
func (o *RotateCAOptions) finish(ctx context.Context, certs, state string, stillOld func(context.Context, string) ([]apply.CertificateRef, error)) error {
	switch state {
	case "":
		return fmt.Errorf("no CA rotation is under way in %s: start one with `kubectl kestra-tls rotate-ca %s`", o.Dir, o.Dir)
	case generate.RotationTrust:
		return fmt.Errorf("--finish would drop the CA that signed Kestra's certificate: step 2 has not run; run `kubectl kestra-tls rotate-ca %s` first", o.Dir)
	}
	if stillOld != nil {
		old, err := stillOld(ctx, certs)
		if err != nil {
			return err
		}
		if len(old) > 0 {
			var secrets []string
			for _, ref := range old {
				secrets = append(secrets, "Secret "+ref.Namespace+"/"+ref.Name)
			}
			return fmt.Errorf("--finish would drop the CA that still signs %s: step 2 is not complete; run `kubectl kestra-tls rotate-ca %s` again", strings.Join(secrets, ", "), o.Dir)
		}
	}
	if err := o.promote(certs); err != nil {
		return err
	}
	if err := o.applyStep(ctx, "certificates.rotation="); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "step 3/3 done: %s/ca.pem is the new CA and the old one is gone; clients may drop it\n", certs)
	return nil
}

// applyStep generates DIR with the rotation step set, and applies it.
func (o *RotateCAOptions) applyStep(ctx context.Context, sets ...string) error {
	g, err := regenerateOptions(o.configFlags, o.IOStreams, o.Dir, sets...)
	if err != nil {
		return err
	}
	return applyRegenerated(ctx, o.configFlags, o.IOStreams, g, o.namespace, o.Timeout)
}

// promote makes the next CA the CA, under the folder's lock; run again after a kill, it finds nothing left
// to promote and the apply that follows completes the step.
func (o *RotateCAOptions) promote(certs string) error {
	held, err := fileset.Lock(o.Dir, 0o755, WaitingFor(o.ErrOut, o.Dir))
	if err != nil {
		return err
	}
	defer held.Release()
	_, err = generate.FinishRotation(certs, time.Now())
	return err
}

// stepOnePending says what keeps step 1 from being live: the stores in the cluster must trust the next CA,
// and every Kestra pod must have loaded them: restarted since (a Kestra that reads its stores at start), or
// past the kubelet's update and Micronaut's next read (one that reloads them).
func (o *RotateCAOptions) stepOnePending(ctx context.Context, certs string) (string, error) {
	nextPEM, err := os.ReadFile(filepath.Join(certs, generate.NextCACertFile))
	if err != nil {
		return "", fmt.Errorf("step 1 left no %s in %s: run `kubectl kestra-tls rotate-ca %s` again after restoring it, or start over by setting certificates.rotation to \"\" in %s/values.yaml", generate.NextCACertFile, certs, o.Dir, o.Dir)
	}
	next, err := pki.ParseCertificates(nextPEM)
	if err != nil {
		return "", fmt.Errorf("%s/%s: %v", certs, generate.NextCACertFile, err)
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return "", err
	}
	report, err := status.Check(ctx, client, status.Options{Namespace: o.namespace})
	if err != nil {
		return "", interrupted(ctx, err)
	}
	for _, install := range report.Installs {
		k := install.Keystore
		if k == nil || !slices.Contains(k.TrustedCAs, next[0].Subject.CommonName) {
			continue
		}
		if len(k.StalePods) > 0 {
			return fmt.Sprintf("%d of %d Kestra pods still run the stores from before step 1 (kubectl rollout status -n %s %s)", len(k.StalePods), k.Pods, install.Namespace, k.Workloads[0]), nil
		}
		for _, w := range k.Workloads {
			// Kestra re-reads the stores in place: live once the kubelet and Micronaut's schedule have passed.
			if state := k.Serving[strings.ToLower(w)]; strings.HasPrefix(state, "reload due") {
				return fmt.Sprintf("%s re-reads the stores from before step 1 in place, %s", strings.ToLower(w), state), nil
			}
		}
		return "", nil
	}
	return fmt.Sprintf("no stores Secret in namespace %s trusts the new CA %q yet", o.namespace, next[0].Subject.CommonName), nil
}
