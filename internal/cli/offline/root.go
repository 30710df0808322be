package offline

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// DisplayName is how users type the plugin, through kubectl.
const DisplayName = "kubectl kestra-tls"

// ErrNotOffline says the command line needs the full plugin (a flag only it defines).
var ErrNotOffline = errors.New("not a command line the light plugin runs")

// commands are those this package runs without the engine.
var commands = map[string]bool{"certs": true, "version": true}

// Handles tells whether the plugin runs these arguments itself: certs or version, named first, or the
// root's help.
func Handles(args []string) bool {
	return (len(args) > 0 && commands[args[0]]) || asksForRootHelp(args)
}

// NewCmdRoot is the root of the light plugin: the same names, display name and output as the full
// plugin's, for certs and version only.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "kestra-tls",
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: DisplayName},
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	// The full plugin's global flags (--kubeconfig, -v ...) are not known here: such a line goes to the engine.
	cmd.SetFlagErrorFunc(func(*cobra.Command, error) error { return ErrNotOffline })
	cmd.AddCommand(NewCmdCerts(streams), NewCmdVersion(streams))
	// The root's help is the engine's, commands the light plugin does not run included; a command's own
	// help stays cobra's.
	commandHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c != cmd {
			commandHelp(c, args)
			return
		}
		fmt.Fprint(streams.Out, RootHelp())
	})
	return cmd
}
