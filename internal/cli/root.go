// Package cli holds the cobra commands of kubectl kestra-tls: flag parsing and printing only; the work
// is done by the packages under pkg/.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// DisplayName is how users type the plugin, through kubectl.
const DisplayName = "kubectl kestra-tls"

// NewCmdKestraTLS is the root command; every subcommand shares one set of kubeconfig flags.
func NewCmdKestraTLS(streams genericiooptions.IOStreams) *cobra.Command {
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.WrapConfigFn = wrapConfig
	cmd := &cobra.Command{
		Use:   "kestra-tls",
		Short: "Serve Kestra over HTTPS: certificates, Java keystores and manifests in one step",
		Long: `kubectl kestra-tls makes Kestra serve HTTPS, replacing the openssl, keytool and hand-written YAML
steps of Kestra's "Configure SSL for Kestra" guide: generate writes the setup into a folder you can read,
apply puts it in the cluster and waits until the certificate is Ready. As in kubectl, -o is an output format
(apply, status, version: -o yaml|json), except for generate and certs, where it is the folder they write
(--output-dir).`,
		Example: `  # Kestra serves HTTPS itself; look at the folder, then apply it
  kubectl kestra-tls generate --mode app --host kestra.example.com -o kestra-tls
  kubectl kestra-tls apply kestra-tls -n kestra

  # TLS at the Ingress, from Let's Encrypt, in one step
  kubectl kestra-tls apply --host kestra.example.com -n kestra`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: DisplayName},
	}
	// As kubectl: a mistyped flag gets a pointer to the command's help.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	configFlags.AddFlags(cmd.PersistentFlags())
	addVerbosityFlag(cmd)
	cmd.AddCommand(
		NewCmdCerts(streams),
		NewCmdGenerate(configFlags, streams),
		NewCmdApply(configFlags, streams),
		NewCmdDiff(configFlags, streams),
		NewCmdUninstall(configFlags, streams),
		NewCmdWait(configFlags, streams),
		NewCmdStatus(configFlags, streams),
		NewCmdRenew(configFlags, streams),
		NewCmdRotateCA(configFlags, streams),
		NewCmdCA(configFlags, streams),
		NewCmdVersion(streams),
	)
	return cmd
}

// wrapConfig lets the benchmarks count the API requests a command makes; nil in the plugin.
var wrapConfig func(*rest.Config) *rest.Config

// SetConfigWrapper installs a wrapper for the REST config of commands created afterwards (benchmarks).
func SetConfigWrapper(wrap func(*rest.Config) *rest.Config) { wrapConfig = wrap }

// ExitCoder is an error that asks for a particular process exit code.
type ExitCoder interface {
	error
	ExitCode() int
}

// ExitCode maps an error from the command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var coded ExitCoder
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return 130 // interrupted, as a shell reports SIGINT
	}
	return 1
}

// maxVerbosity is the highest -v that logs no request body.
const maxVerbosity = 7

// addVerbosityFlag routes client-go's klog lines to -v, as kubectl does: none by default, so that a
// library's "E1130 memcache.go:..." never stands before our own error; -v 6 shows the requests.
func addVerbosityFlag(cmd *cobra.Command) {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	// Errors go to stderr at or above stderrthreshold whatever the output: raise it as well.
	for name, value := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		klogFlags.Set(name, value)
	}
	klog.SetOutput(io.Discard)
	verbosity := klogFlags.Lookup("v")
	verbosity.Usage = fmt.Sprintf("log level, as kubectl's -v (4 shows apply's steps as they end, 6 each request, 7 their headers; at most %d: the bodies hold keys); 0 prints no log line", maxVerbosity)
	cmd.PersistentFlags().AddGoFlag(verbosity)
	previous := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		// client-go logs request and response bodies from 8 on: our Secrets' keys, store passwords and
		// keystores would be printed.
		if level, err := strconv.Atoi(verbosity.Value.String()); err == nil && level > maxVerbosity {
			verbosity.Value.Set(strconv.Itoa(maxVerbosity))
			fmt.Fprintf(c.ErrOrStderr(), "-v %d would print the requests' bodies, which hold keys and passwords: logging at -v %d (each request and its headers)\n", level, maxVerbosity)
		}
		if verbosity.Value.String() != "0" {
			klogFlags.Set("stderrthreshold", "INFO")
			klog.LogToStderr(true)
			klog.SetOutput(c.ErrOrStderr())
		}
		if previous != nil {
			return previous(c, args)
		}
		return nil
	}
}
