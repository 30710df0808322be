package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

const certsExample = `  # A CA, a certificate for two names and an IP, keystore.p12 and truststore.jks in ./kestra-tls-certs
  kubectl kestra-tls certs --host kestra.example.com --host kestra.internal --host 10.0.0.5

  # RSA-4096 like Kestra's guide, with a CA shared by several outputs
  kubectl kestra-tls certs --host kestra.example.com --key-algorithm rsa-4096 --ca-dir ~/.kestra-tls-ca

  # Pack a certificate you already have (the guide's encrypted key works too)
  kubectl kestra-tls certs --cert server.pem --key server.key --key-password-file pass.txt --ca cacert.pem`

// CertsOptions makes or packs the TLS material into a directory.
type CertsOptions struct {
	TLS       *TLSFlags
	OutputDir string

	request generate.Request
	genericiooptions.IOStreams
}

// NewCertsOptions returns the defaults.
func NewCertsOptions(streams genericiooptions.IOStreams) *CertsOptions {
	return &CertsOptions{TLS: NewTLSFlags(), OutputDir: "kestra-tls-certs", IOStreams: streams}
}

// NewCmdCerts writes ca.pem, server.pem, keys, keystore.p12, truststore.jks and the store password.
func NewCmdCerts(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCertsOptions(streams)
	cmd := &cobra.Command{
		Use:     "certs --host NAME [--host NAME...] [-o DIR]",
		Short:   "Make a CA, a server certificate and Java keystores for Kestra",
		Long:    "Make (or reuse) a CA, issue a server certificate for every --host, and write the PEM files,\nkeystore.p12, truststore.jks, truststore.p12 and the store password. Keys and the password are 0600,\nthe stores 0644 (encrypted with the password; readable by the non-root user of Kestra's image).\nRe-running with the same flags changes nothing; --force mints a new CA.",
		Example: certsExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.TLS.AddFlags(cmd)
	cmd.Flags().StringVarP(&o.OutputDir, "output-dir", "o", o.OutputDir, "directory to write into (created 0700)")
	_ = cmd.MarkFlagDirname("output-dir")
	return cmd
}

// Complete reads the flags and the files they name.
func (o *CertsOptions) Complete() error {
	var err error
	o.request, err = o.TLS.Request(o.OutputDir)
	return err
}

// Validate checks the request before anything is made.
func (o *CertsOptions) Validate() error {
	return o.request.Validate()
}

// Run makes the material and writes it.
func (o *CertsOptions) Run(ctx context.Context) error {
	release, err := LockOutputs(o.ErrOut, o.OutputDir, 0o700, o.request.CADir)
	if err != nil {
		return err
	}
	defer release()
	bundle, err := generate.Plan(o.request)
	if err != nil {
		return err
	}
	for _, warning := range bundle.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", warning)
	}
	result, err := bundle.Write(o.request)
	if err != nil {
		return err
	}
	for _, name := range result.Written {
		fmt.Fprintf(o.Out, "wrote %s\n", name)
	}
	if len(result.Unchanged) > 0 {
		fmt.Fprintf(o.Out, "unchanged: %s\n", strings.Join(result.Unchanged, ", "))
	}
	if len(bundle.Reused) > 0 {
		fmt.Fprintf(o.Out, "reused: %s\n", strings.Join(bundle.Reused, ", "))
	}
	fmt.Fprintf(o.Out, "server certificate for %s, valid until %s, issued by %q\n",
		strings.Join(pki.SANs(bundle.Server.Cert), ", "), bundle.Server.Cert.NotAfter.UTC().Format("2006-01-02"), bundle.CA.Subject.CommonName)
	fmt.Fprintf(o.Out, "next: clients trust %s; Kestra serves %s (password in %s) through micronaut.server.ssl, or let `kubectl kestra-tls generate --mode app` (or --target compose) write the whole setup\n",
		filepath.Join(o.OutputDir, "ca.pem"), filepath.Join(o.OutputDir, "keystore.p12"), filepath.Join(o.OutputDir, "store-password"))
	return nil
}
