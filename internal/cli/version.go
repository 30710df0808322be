package cli

import (
	"context"
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

// NewVersionOptions returns the defaults.
func NewVersionOptions(streams genericiooptions.IOStreams) *VersionOptions {
	return &VersionOptions{IOStreams: streams}
}

// NewCmdVersion prints the plugin's version.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.Run(cmd.Context())
		},
	}
}

// Run prints the version stamped into the binary.
func (o *VersionOptions) Run(ctx context.Context) error {
	_, err := fmt.Fprintf(o.Out, "kubectl-kestra_tls %s\n", Version)
	return err
}
