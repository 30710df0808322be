package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
)

// WaitOptions waits for an existing install's certificate.
type WaitOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Certificate string
	Timeout     time.Duration

	namespace string
	genericiooptions.IOStreams
}

// NewWaitOptions returns the defaults.
func NewWaitOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *WaitOptions {
	return &WaitOptions{configFlags: configFlags, Certificate: "kestra-tls", Timeout: 5 * time.Minute, IOStreams: streams}
}

// NewCmdWait waits until a cert-manager Certificate is Ready, explaining why when it is not.
func NewCmdWait(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewWaitOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "wait [CERTIFICATE]",
		Short: "Wait until Kestra's certificate (default kestra-tls) is Ready",
		Long: `Watch a cert-manager Certificate (default kestra-tls, in -n NAMESPACE) until it is Ready for its current
spec; on timeout explain why from its conditions, its latest CertificateRequest, the issuer and events.
Exit codes: 0 Ready, 124 timeout, 130 interrupted, 1 other errors.`,
		Example: "  kubectl kestra-tls wait -n kestra --timeout 2m",
		Args:    cobra.MaximumNArgs(1),
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
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait; 0 checks once")
	return cmd
}

// Complete reads the certificate name and namespace.
func (o *WaitOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Certificate = args[0]
	}
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Validate checks the timeout.
func (o *WaitOptions) Validate() error {
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s is negative: use 0 to check once, or a duration such as 5m", o.Timeout)
	}
	return nil
}

// Run waits.
func (o *WaitOptions) Run(ctx context.Context) error {
	refs := []apply.CertificateRef{{Namespace: o.namespace, Name: o.Certificate}}
	return waitAndReport(ctx, o.configFlags, refs, o.Timeout, o.IOStreams)
}
