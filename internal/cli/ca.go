package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"sort"
	"strconv"

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
with --gitops --self-signed: browsers, curl and other clients must trust it to reach Kestra. While rotate-ca
moves to a new root, both are printed, the new one first: clients must trust both until rotate-ca --finish.
Only certificates are printed; their keys stay in the cluster. An overlay generated without --gitops keeps its CA in
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
	if len(list.Items) == 0 {
		return fmt.Errorf("no CA made by cert-manager in namespace %s (no Secret labelled %s): apply an overlay generated with --gitops --self-signed there, or pass -n NAMESPACE; an overlay generated without --gitops keeps its CA in DIR/certs/ca.pem", o.namespace, selector)
	}
	// Two roots while rotate-ca moves to the next one: clients must trust both, the newer first.
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool {
		gi, _ := strconv.Atoi(items[i].GetLabels()[model.CAGenerationLabel])
		gj, _ := strconv.Atoi(items[j].GetLabels()[model.CAGenerationLabel])
		return gi > gj
	})
	var roots []*x509.Certificate
	for i := range items {
		certs, err := pki.ParseCertificates(resources.SecretData(&items[i])["tls.crt"])
		if err != nil || len(certs) == 0 {
			return fmt.Errorf("Secret %s/%s holds no CA certificate yet: cert-manager has not issued it (kubectl kestra-tls wait -n %s %s says why)", o.namespace, items[i].GetName(), o.namespace, items[i].GetName())
		}
		roots = append(roots, certs[0])
	}
	_, err = o.Out.Write(pki.EncodeCertificates(roots...))
	return err
}
