package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/uninstall"
)

const uninstallExample = `  # Go back to plain HTTP: remove what ./kestra-tls put in the cluster
  kubectl kestra-tls uninstall -n kestra

  # See first what it would do
  kubectl kestra-tls uninstall kestra-tls -n kestra --dry-run`

// UninstallOptions removes an install.
type UninstallOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Dir         string
	DryRun      bool
	Yes         bool
	DeleteLocal bool
	Timeout     time.Duration
	namespace   string
	genericiooptions.IOStreams
}

// NewUninstallOptions returns the defaults.
func NewUninstallOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *UninstallOptions {
	return &UninstallOptions{configFlags: configFlags, Dir: "kestra-tls", Timeout: 5 * time.Minute, IOStreams: streams}
}

// NewCmdUninstall takes kestra-tls back out of the cluster (or of a Compose project).
func NewCmdUninstall(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewUninstallOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "uninstall [DIR]",
		Short: "Remove what an overlay put in the cluster, and go back to plain HTTP",
		Long: `Remove what the overlay in DIR (default ./kestra-tls) applied: the objects it made (Ingress, issuer,
Certificate, Secrets; found by the overlay and by the marker app.kubernetes.io/managed-by=kubectl-kestra-tls,
never by name alone) are deleted, with the Certificates cert-manager made for our Ingress or Gateway and the
Secrets it wrote for them; from the base's objects it patched (Kestra's Deployment, Service) the fields of the
field manager "kubectl-kestra-tls" are taken back with server-side apply, so that what the user or Helm set
stays. Once the workloads' controllers have seen the pod template given back (within --timeout), our
Secrets go, with the older generations earlier generates left. An issuer another Certificate still uses, a
Secret another object still uses, or an object without our marker, is left, with a line saying why; so is
a namespace apply --create-namespace made, as what runs there stays. For a Compose overlay, the override and its env file are removed and the restart command printed.
The folder stays unless --delete-local. On a terminal it asks first, unless --yes.`,
		Example: uninstallExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Var(&dryRunValue{target: &o.DryRun, does: []string{"server", "client"}},
		"dry-run", `"server" (or bare, or "client"): say what would be removed; the API server checks each request, nothing changes`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "server"
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "server", "client"))
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait for the workloads' controllers to see the pod template given back, before our Secrets go; 0 does not wait")
	cmd.Flags().BoolVar(&o.DeleteLocal, "delete-local", false, "also delete the files generate wrote in the folder (its certs/ holds the CA key), and the folder if that leaves it empty; files of yours there stay")
	return cmd
}

// Complete reads the folder and the namespace.
func (o *UninstallOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Dir = args[0]
	}
	if o.isCompose() {
		return nil
	}
	var err error
	o.namespace, err = namespaceOf(o.configFlags)
	return err
}

// Validate checks that DIR is an overlay generate wrote.
func (o *UninstallOptions) Validate() error {
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s is negative: use 0 not to wait, or a duration such as 5m", o.Timeout)
	}
	if err := checkOverlayDir(o.Dir); err != nil {
		return err
	}
	if !o.isCompose() && !isKustomization(o.Dir) {
		return fmt.Errorf("%s is not an overlay folder (no kustomization.yaml): give the folder you generated and applied", o.Dir)
	}
	return nil
}

// isCompose tells a Compose overlay from the folder's values (the override may already be gone).
func (o *UninstallOptions) isCompose() bool {
	return overlayValues(o.Dir).Target == "compose"
}

// Run asks, then removes.
func (o *UninstallOptions) Run(ctx context.Context) error {
	if !o.confirm() {
		return fmt.Errorf("not confirmed: nothing removed (pass --yes to skip the question)")
	}
	if o.isCompose() {
		return o.uninstallCompose()
	}
	built, err := overlays.Build(o.Dir)
	if err != nil {
		return err
	}
	manifests, err := built.AsYaml()
	if err != nil {
		return err
	}
	objects, err := apply.Decode(manifests)
	if err != nil {
		return err
	}
	layout, err := overlays.Inspect(o.Dir)
	if err != nil {
		return err
	}
	base := map[string]*unstructured.Unstructured{}
	for key, object := range layout.Base {
		base[key] = &unstructured.Unstructured{Object: object}
	}
	config, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return err
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	mapper, err := o.configFlags.ToRESTMapper()
	if err != nil {
		return err
	}
	remover := &uninstall.Remover{Client: client, Mapper: mapper, Namespace: o.namespace, DryRun: o.DryRun, Wait: o.Timeout}
	lines, err := remover.Run(ctx, uninstall.Input{Built: objects, Base: base})
	suffix := ""
	if o.DryRun {
		suffix = " (server dry run)"
	}
	for _, line := range lines {
		fmt.Fprintln(o.Out, line+suffix)
	}
	if err != nil {
		return interrupted(ctx, err)
	}
	return o.deleteLocal()
}

// uninstallCompose removes the override and its env file: docker compose then runs the user's files alone.
func (o *UninstallOptions) uninstallCompose() error {
	v := overlayValues(o.Dir)
	for _, file := range []string{overlays.ComposeOverrideFile, filepath.Join(overlays.CertsDir, overlays.ComposeEnvFile)} {
		path := filepath.Join(o.Dir, file)
		if o.DryRun {
			fmt.Fprintf(o.Out, "would remove %s\n", path)
			continue
		}
		if err := os.Remove(path); err == nil {
			fmt.Fprintf(o.Out, "removed %s\n", path)
		}
	}
	var flags strings.Builder
	for _, file := range v.Compose.EnvFiles {
		flags.WriteString(" --env-file " + file)
	}
	for _, file := range v.Compose.Files {
		flags.WriteString(" -f " + file)
	}
	fmt.Fprintf(o.Out, "restart Kestra without TLS: docker compose%s up -d\n", flags.String())
	return o.deleteLocal()
}

func (o *UninstallOptions) deleteLocal() error {
	if !o.DeleteLocal || o.DryRun {
		if !o.DryRun {
			fmt.Fprintf(o.Out, "%s is kept (its certs/ holds the CA key); --delete-local removes the files kestra-tls wrote there\n", o.Dir)
		}
		return nil
	}
	removed, kept, err := overlays.RemoveLocal(o.Dir)
	fmt.Fprintf(o.Out, "removed %d files kestra-tls wrote in %s\n", len(removed), o.Dir)
	if len(kept) > 0 {
		names := kept
		if len(names) > 5 {
			names = append(names[:5:5], fmt.Sprintf("and %d more", len(kept)-5))
		}
		fmt.Fprintf(o.Out, "kept %s: %s (not written by kestra-tls, or edited since)\n", o.Dir, strings.Join(names, ", "))
	}
	return err
}

// confirm asks on a terminal; elsewhere (scripts, CI) it goes ahead, as kubectl delete does.
func (o *UninstallOptions) confirm() bool {
	file, ok := o.In.(*os.File)
	if o.Yes || o.DryRun || !ok || !term.IsTerminal(int(file.Fd())) {
		return true
	}
	fmt.Fprintf(o.Out, "Remove kestra-tls's objects and fields of %s from namespace %s? [y/N] ", o.Dir, o.namespace)
	answer, _ := bufio.NewReader(o.In).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes")
}
