package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
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
	// Clients are the client certificates to issue (--client), from the CA in OutputDir or --ca-dir, or
	// from ClientCA and ClientCAKey; ClientPasswordFile holds their PKCS#12 password.
	Clients                                   []string
	ClientCA, ClientCAKey, ClientPasswordFile string

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
	cmd.Flags().StringArrayVar(&o.Clients, "client", nil, "a client certificate for NAME (clientAuth only; repeatable): clients/NAME.pem, NAME.key and NAME.p12 (for browsers and curl --cert-type P12), signed by the CA in -o DIR or --ca-dir, or by --client-ca")
	cmd.Flags().StringVar(&o.ClientCA, "client-ca", "", "with --client: PEM certificate of a CA of yours that signs the client certificates (a corporate one), with --client-ca-key")
	cmd.Flags().StringVar(&o.ClientCAKey, "client-ca-key", "", "with --client-ca: its PEM private key")
	cmd.Flags().StringVar(&o.ClientPasswordFile, "client-password-file", "", "with --client: file holding the PKCS#12 password (default: the one kept in clients/NAME.p12-password, or a random one; never on the command line)")
	for _, name := range []string{"client-ca", "client-ca-key", "client-password-file"} {
		_ = cmd.MarkFlagFilename(name)
	}
	cmd.Flags().StringVarP(&o.OutputDir, "output-dir", "o", o.OutputDir, "directory to write into (created 0700)")
	_ = cmd.MarkFlagDirname("output-dir")
	return cmd
}

// Complete reads the flags and the files they name.
func (o *CertsOptions) Complete() error {
	if o.clientsOnly() {
		return nil
	}
	var err error
	o.request, err = o.TLS.Request(o.OutputDir)
	return err
}

// clientsOnly: --client without --host issues client certificates from a CA that is already there.
func (o *CertsOptions) clientsOnly() bool { return len(o.Clients) > 0 && len(o.TLS.Hosts) == 0 }

func (o *CertsOptions) Validate() error {
	if (o.ClientCA != "" || o.ClientCAKey != "" || o.ClientPasswordFile != "") && len(o.Clients) == 0 {
		return fmt.Errorf("--client-ca, --client-ca-key and --client-password-file are for client certificates: add --client NAME")
	}
	for _, name := range o.Clients {
		if err := generate.ValidClientName(name); err != nil {
			return err
		}
	}
	if o.clientsOnly() {
		if o.TLS.Days > pki.MaxServerDays || o.TLS.Days < 1 {
			return fmt.Errorf("--days %d: give 1 to %d days", o.TLS.Days, pki.MaxServerDays)
		}
		return nil
	}
	return o.request.Validate()
}

// Run makes the material and writes it.
func (o *CertsOptions) Run(ctx context.Context) error {
	release, err := LockOutputs(o.ErrOut, o.OutputDir, 0o700, o.request.CADir)
	if err != nil {
		return err
	}
	defer release()
	if o.clientsOnly() {
		return o.issueClients()
	}
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
	reportWritten(o.Out, result.Written, "unchanged", result.Unchanged)
	if len(bundle.Reused) > 0 {
		fmt.Fprintf(o.Out, "reused: %s\n", strings.Join(bundle.Reused, ", "))
	}
	fmt.Fprintf(o.Out, "server certificate for %s, valid until %s, issued by %q\n",
		strings.Join(pki.SANs(bundle.Server.Cert), ", "), bundle.Server.Cert.NotAfter.UTC().Format("2006-01-02"), bundle.CA.Subject.CommonName)
	fmt.Fprintf(o.Out, "next: clients trust %s; Kestra serves %s (password in %s) through micronaut.server.ssl, or let `kubectl kestra-tls generate --mode app` (or --target compose) write the whole setup\n",
		filepath.Join(o.OutputDir, "ca.pem"), filepath.Join(o.OutputDir, "keystore.p12"), filepath.Join(o.OutputDir, "store-password"))
	if len(o.Clients) > 0 {
		return o.issueClients()
	}
	return nil
}

// issueClients writes the --client certificates into OutputDir/clients.
func (o *CertsOptions) issueClients() error {
	algorithm, err := pki.ParseKeyAlgorithm(o.TLS.KeyAlgorithm)
	if err != nil {
		return err
	}
	req := generate.ClientRequest{
		Dir: o.OutputDir, CADir: o.OutputDir, CACertFile: o.ClientCA, CAKeyFile: o.ClientCAKey,
		Names: o.Clients, Days: o.TLS.Days, KeyAlgorithm: algorithm, Now: time.Now(),
	}
	if o.TLS.CADir != "" {
		req.CADir = o.TLS.CADir
	}
	if o.ClientPasswordFile != "" {
		password, err := generate.ReadInput("--client-password-file", o.ClientPasswordFile)
		if err != nil {
			return err
		}
		if req.Password = strings.TrimRight(string(password), "\r\n"); len(req.Password) < 6 {
			return fmt.Errorf("--client-password-file %s: the password must have at least 6 characters (browsers and keytool refuse shorter ones)", o.ClientPasswordFile)
		}
	}
	bundle, err := generate.PlanClients(req)
	if err != nil {
		return err
	}
	result, err := fileset.Write(o.OutputDir, 0o700, bundle.Files)
	if err != nil {
		return err
	}
	reportWritten(o.Out, result.Written, "unchanged (still valid, from the same CA)", bundle.Unchanged)
	for _, name := range o.Clients {
		base := filepath.Join(o.OutputDir, generate.ClientsDir, name)
		fmt.Fprintf(o.Out, "client %s, signed by %q: curl --cert %s.pem --key %s.key, or curl --cert-type P12 --cert %s.p12:PASSWORD (the password is in %s.p12-password); browsers import %s.p12\n",
			name, bundle.CA.Cert.Subject.CommonName, base, base, base, base, base)
	}
	return nil
}

// reportWritten says which files a run wrote, then, under label, the ones it kept as they were.
func reportWritten(out io.Writer, written []string, label string, unchanged []string) {
	for _, name := range written {
		fmt.Fprintf(out, "wrote %s\n", name)
	}
	if len(unchanged) > 0 {
		fmt.Fprintf(out, "%s: %s\n", label, strings.Join(unchanged, ", "))
	}
}
