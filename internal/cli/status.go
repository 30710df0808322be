package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/status"
)

// Exit codes of status, for CronJobs and CI steps.
const (
	exitStatusWarning = 2
	exitStatusBroken  = 3
)

// StatusOptions checks installs.
type StatusOptions struct {
	configFlags   *genericclioptions.ConfigFlags
	AllNamespaces bool
	Output        string
	WarnWithin    string
	URL           string
	ConnectTo     string

	namespace  string
	warnWithin time.Duration
	genericiooptions.IOStreams
}

// NewStatusOptions returns the defaults.
func NewStatusOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *StatusOptions {
	return &StatusOptions{configFlags: configFlags, Output: "table", WarnWithin: "30d", IOStreams: streams}
}

// NewCmdStatus reports the health of every install.
func NewCmdStatus(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewStatusOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "status [-n NAMESPACE | -A] [-o table|yaml|json]",
		Short: "Check every Kestra TLS install: certificate, expiry, hosts, keystore, restarts",
		Long: `Find the Kestra installs this plugin set up (by the label app.kubernetes.io/managed-by=kubectl-kestra-tls on
their Ingress, HTTPRoute or stores Secret) and check each one: the cert-manager Certificate (Ready, expiry,
renewal time, its issuer's Ready); the certificate actually in the Secret (it covers every host, its chain
verifies to the CA we know, days left); in app mode, the keystore opens with the password Secret, its key
matches its certificate, the truststore holds the CA, and, per workload, whether its pods serve what the
Secret holds: "reloads in place" (Kestra 1.3 and later re-read the stores; "reload due by TIME" just after a
change), "restart due" (older Kestras read them only at start, and pods older than the Secret's change still
serve the old certificate) or "rollout under way". With --url, a TLS handshake shows whether the chain really
served is the Secret's.

It only reads, with the same twelve list requests however many installs there are.

Exit status:
  0  every install is healthy
  2  warnings: a certificate expires within --warn-within, a restart is needed, an issuer is not Ready
  3  broken: a certificate missing, not Ready, expired or not covering a host, a keystore that does not
     open, a served certificate that is not the Secret's
  1  status could not run (no access, no install found, bad flags)`,
		Example: `  kubectl kestra-tls status -n kestra
  kubectl kestra-tls status -A --warn-within 14d -o json
  kubectl kestra-tls status -n kestra --url https://kestra.example.com
  kubectl kestra-tls status -n kestra --url https://kestra.example.com:8443 --connect-to 10.0.0.12:8443`,
		Args: cobra.NoArgs,
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
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "look in every namespace")
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "table, yaml or json")
	cmd.Flags().StringVar(&o.WarnWithin, "warn-within", o.WarnWithin, "warn when a certificate expires within this time (30d, 72h)")
	cmd.Flags().StringVar(&o.URL, "url", "", "also compare the chain served at https://HOST[:PORT] with the Secret's")
	cmd.Flags().StringVar(&o.ConnectTo, "connect-to", "", "with --url: dial this ADDRESS:PORT instead of the URL's host (private networks, port-forwards), keeping the host for SNI")
	return cmd
}

// Complete reads the namespace.
func (o *StatusOptions) Complete() error {
	if o.AllNamespaces {
		return nil
	}
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Validate checks the flags.
func (o *StatusOptions) Validate() error {
	switch o.Output {
	case "table", "yaml", "json":
	default:
		return fmt.Errorf("--output %q is not supported: use table, yaml or json", o.Output)
	}
	var err error
	if o.warnWithin, err = parseDays(o.WarnWithin); err != nil {
		return fmt.Errorf("--warn-within %q: %v (give days as 30d, or a duration as 72h)", o.WarnWithin, err)
	}
	if o.URL != "" {
		if _, err := status.ParseURL(o.URL); err != nil {
			return err
		}
	}
	if o.ConnectTo != "" && o.URL == "" {
		return fmt.Errorf("--connect-to needs --url (did you mean --url https://HOST --connect-to %s?)", o.ConnectTo)
	}
	if o.ConnectTo != "" && !strings.Contains(o.ConnectTo, ":") {
		return fmt.Errorf("--connect-to %q has no port: give ADDRESS:PORT", o.ConnectTo)
	}
	return nil
}

// parseDays is time.ParseDuration with days (30d), as certificate lifetimes are spoken of.
func parseDays(text string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(text, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(text)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}

// StatusError carries status's verdict as the exit code.
type StatusError struct {
	Health status.Health
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("at least one install is %s (see the report above)", e.Health)
}

func (e *StatusError) ExitCode() int {
	if e.Health == status.Broken {
		return exitStatusBroken
	}
	return exitStatusWarning
}

// Run checks and prints.
func (o *StatusOptions) Run(ctx context.Context) error {
	client, err := listingClient(o.configFlags)
	if err != nil {
		return err
	}
	report, err := status.Check(ctx, client, status.Options{Namespace: o.namespace, WarnWithin: o.warnWithin, URL: o.URL, ConnectTo: o.ConnectTo})
	if err != nil {
		return interrupted(ctx, err)
	}
	if len(report.Installs) == 0 {
		where := "namespace " + o.namespace
		if o.AllNamespaces {
			where = "any namespace"
		}
		return fmt.Errorf("no Kestra TLS install found in %s (nothing labelled app.kubernetes.io/managed-by=kubectl-kestra-tls): pass -n NAMESPACE or -A, or set one up with generate and apply", where)
	}
	if err := printReport(o.Out, report, o.Output); err != nil {
		return err
	}
	if report.Health != status.Healthy {
		return &StatusError{Health: report.Health}
	}
	return nil
}

func printReport(out io.Writer, report *status.Report, format string) error {
	switch format {
	case "json":
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(report)
		if err != nil {
			return err
		}
		_, err = out.Write(data)
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAMESPACE\tNAME\tMODE\tHOSTS\tCERTIFICATE\tEXPIRES\tHEALTH")
	for _, i := range report.Installs {
		certificate, expires := "-", "-"
		if i.Certificate != nil {
			certificate = i.Certificate.Name
			if i.Certificate.Ready {
				certificate += " (Ready)"
			} else {
				certificate += " (not Ready)"
			}
		}
		if leaf := i.Leaf(); leaf != nil {
			expires = fmt.Sprintf("%s (%dd)", leaf.NotAfter.Format("2006-01-02"), leaf.DaysLeft)
		}
		fmt.Fprintf(w, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", i.Namespace, strings.ToLower(i.Kind), i.Name, i.Mode, strings.Join(i.Hosts, ","), certificate, expires, i.Health)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, i := range report.Installs {
		if step := i.CARotation(); step != "" {
			fmt.Fprintf(out, "%s/%s: CA rotation at step %s\n", i.Namespace, i.Name, step)
		}
		for _, f := range i.Findings {
			fmt.Fprintf(out, "%s/%s: %s: %s\n", i.Namespace, i.Name, f.Severity, f.Message)
		}
		if c := i.ClientAuth; c != nil && len(c.CAs) > 0 {
			var cas []string
			for _, ca := range c.CAs {
				cas = append(cas, fmt.Sprintf("%q expires %s (%dd)", ca.Subject, ca.NotAfter.Format("2006-01-02"), ca.DaysLeft))
			}
			required := map[string]string{"need": "required", "want": "asked for, not required"}[c.Mode]
			fmt.Fprintf(out, "%s/%s: client certificates %s by %s; client CA %s\n", i.Namespace, i.Name, required, c.CheckedBy, strings.Join(cas, ", "))
		}
		if k := i.Keystore; k != nil {
			for _, w := range k.Workloads {
				state := k.Serving[strings.ToLower(w)]
				if state == "" {
					continue
				}
				how := "Kestra reads its keystore at start: a renewal needs a restart"
				if k.Reloads() {
					how = "Kestra re-reads its keystore every " + k.ReloadInterval + ": no restart on renewal"
				}
				fmt.Fprintf(out, "%s/%s: %s: %s (%s)\n", i.Namespace, i.Name, strings.ToLower(w), state, how)
			}
		}
		if i.Served != nil && i.Served.MatchesSecret {
			fmt.Fprintf(out, "%s/%s: %s serves the certificate in the Secret\n", i.Namespace, i.Name, i.Served.URL)
		}
	}
	return nil
}

// listingClient is a dynamic client allowed status's parallel lists at once: client-go's default burst
// (10) would hold the eleventh back for a second.
func listingClient(configFlags *genericclioptions.ConfigFlags) (dynamic.Interface, error) {
	config, err := configFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	config = rest.CopyConfig(config)
	config.QPS, config.Burst = 50, 100
	return dynamic.NewForConfig(config)
}
