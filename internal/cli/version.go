package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Version is stamped at build time: -ldflags "-X github.com/kestra-tls/kubectl-kestra-tls/internal/cli.Version=v1.2.3".
var Version = "v0.0.0-dev"

// VersionOptions prints the version.
type VersionOptions struct {
	genericiooptions.IOStreams
}

// NewCmdVersion prints the plugin's version.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(o.Out, "kubectl-kestra_tls %s\n", Version)
			return err
		},
	}
}
