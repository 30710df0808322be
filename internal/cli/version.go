package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

// Version is stamped at build time: -ldflags "-X github.com/kestra-tls/kubectl-kestra-tls/internal/cli.Version=v1.2.3".
var Version = "v0.0.0-dev"

// VersionOptions prints the version.
type VersionOptions struct {
	Output string
	genericiooptions.IOStreams
}

// versionInfo is what -o json|yaml prints, named as kubectl's clientVersion fields are.
type versionInfo struct {
	GitVersion string `json:"gitVersion"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
}

// NewVersionOptions returns the defaults.
func NewVersionOptions(streams genericiooptions.IOStreams) *VersionOptions {
	return &VersionOptions{IOStreams: streams}
}

// NewCmdVersion prints the plugin's version.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	cmd := &cobra.Command{
		Use:   "version [-o json|yaml]",
		Short: "Print the plugin's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "json or yaml, as kubectl version -o; default: one line")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json", "yaml"))
	return cmd
}

// Validate checks -o.
func (o *VersionOptions) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("-o %q: use json or yaml (or leave -o out for one line)", o.Output)
}

// Run prints the version stamped into the binary.
func (o *VersionOptions) Run(ctx context.Context) error {
	info := versionInfo{GitVersion: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	var data []byte
	var err error
	switch o.Output {
	case "json":
		data, err = json.MarshalIndent(map[string]versionInfo{"clientVersion": info}, "", "  ")
		data = append(data, '\n')
	case "yaml":
		data, err = yaml.Marshal(map[string]versionInfo{"clientVersion": info})
	default:
		data = []byte(fmt.Sprintf("kubectl-kestra_tls %s\n", Version))
	}
	if err != nil {
		return err
	}
	_, err = o.Out.Write(data)
	return err
}
