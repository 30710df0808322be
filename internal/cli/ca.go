package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// CAOptions prints the root CA cert-manager made in the cluster for an overlay generated with --gitops.
type CAOptions struct {
	configFlags *genericclioptions.ConfigFlags
	namespace   string
	genericiooptions.IOStreams
}

// NewCAOptions returns the defaults.
func NewCAOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *CAOptions {
	return &CAOptions{configFlags: configFlags, IOStreams: streams}
}

// NewCmdCA prints the CA clients must trust, from the cluster.
func NewCmdCA(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCAOptions(configFlags, streams)
	return &cobra.Command{
		Use:   "ca [-n NAMESPACE]",
		Short: "Print the CA certificate clients must trust, made by cert-manager in the cluster (--gitops)",
		Long: `Print, as PEM, the root CA certificate that cert-manager made in the namespace for an overlay generated
with --gitops --self-signed: browsers, curl and other clients must trust it to reach Kestra. Only the
certificate is printed; its key stays in the cluster. An overlay generated without --gitops keeps its CA in
DIR/certs/ca.pem instead.`,
		Example: `  kubectl kestra-tls ca -n kestra > kestra-ca.pem
  curl --cacert kestra-ca.pem https://kestra.example.com/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
}

// Complete reads the namespace.
func (o *CAOptions) Complete() error {
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Run finds the root CA's Secret by its role label and prints its certificate.
func (o *CAOptions) Run(ctx context.Context) error {
	client, err := listingClient(o.configFlags)
	if err != nil {
		return err
	}
	selector := model.RoleLabel + "=" + model.RoleCARoot
	list, err := client.Resource(resources.Secrets).Namespace(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return interrupted(ctx, fmt.Errorf("cannot list Secrets in namespace %s: %w (check `kubectl auth can-i list secrets -n %s`)", o.namespace, err, o.namespace))
	}
	switch len(list.Items) {
	case 0:
		return fmt.Errorf("no CA made by cert-manager in namespace %s (no Secret labelled %s): apply an overlay generated with --gitops --self-signed there, or pass -n NAMESPACE; an overlay generated without --gitops keeps its CA in DIR/certs/ca.pem", o.namespace, selector)
	case 1:
	default:
		return fmt.Errorf("%d Secrets in namespace %s are labelled %s: keep one overlay with --gitops --self-signed per namespace", len(list.Items), o.namespace, selector)
	}
	secret := list.Items[0]
	certs, err := pki.ParseCertificates(resources.SecretData(&secret)["tls.crt"])
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("Secret %s/%s holds no CA certificate yet: cert-manager has not issued it (kubectl kestra-tls wait -n %s %s says why)", o.namespace, secret.GetName(), o.namespace, secret.GetName())
	}
	_, err = o.Out.Write(pki.EncodeCertificates(certs[0]))
	return err
}
