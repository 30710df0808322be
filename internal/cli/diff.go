package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/diff"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

const diffExample = `  # What applying ./kestra-tls would change, as kubectl diff shows it
  kubectl kestra-tls diff -n kestra

  # What a new value would change, before generate writes anything
  kubectl kestra-tls diff kestra-tls -n kestra --mode app --host kestra.example.com --set app.clientAuthentication=need

  # With another diff program
  KUBECTL_EXTERNAL_DIFF="dyff between --omit-header" kubectl kestra-tls diff -n kestra`

// DiffOptions compares what an apply of the overlay would make with what the cluster holds.
type DiffOptions struct {
	*ApplyOptions
}

// NewDiffOptions returns the defaults: apply's, as a server-side dry run that waits for nothing.
func NewDiffOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *DiffOptions {
	o := &DiffOptions{ApplyOptions: NewApplyOptions(configFlags, streams)}
	o.DryRun, o.Wait = string(apply.DryRunServer), false
	return o
}

// NewCmdDiff shows, object by object, what apply would change.
func NewCmdDiff(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewDiffOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "diff [DIR]",
		Short: "Show what apply would change, object by object, as kubectl diff does",
		Long: `Build the overlay in DIR (default ./kestra-tls; given generate's flags, generated in memory first,
nothing written), have the API server dry-run its server-side apply under the field manager
"kubectl-kestra-tls", and compare each object with the live one: a unified diff per object, managed fields and
status left out, Secret values masked ("***", or "*** (before)" and "*** (after)" where they change) unless
--show-secrets, then a summary that names the workloads whose pod template changes, which the apply restarts.
KUBECTL_EXTERNAL_DIFF names another diff program, as for kubectl diff.

Exit codes, as kubectl diff's: 0 nothing would change, 1 something would, >1 the diff could not be made.`,
		Example: diffExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return diffFailed(err)
			}
			if err := o.Validate(); err != nil {
				return diffFailed(err)
			}
			return o.Run(cmd.Context())
		},
	}
	scratch := &cobra.Command{}
	o.Generate.AddFlags(scratch)
	o.generateFlags = scratch.Flags()
	cmd.Flags().AddFlagSet(o.generateFlags)
	cmd.Flags().BoolVar(&o.AllowHelmOwned, "allow-helm-owned", false, "as apply's: diff Kestra workloads that a Helm release owns (only the fields kestra-tls sets)")
	cmd.Flags().BoolVar(&o.ForceConflicts, "force-conflicts", false, "as apply's: show the fields another field manager owns as taken over")
	return cmd
}

// Run dry-runs the apply, reads the live objects and prints the differences.
func (o *DiffOptions) Run(ctx context.Context) error {
	built, err := o.build()
	if err != nil {
		return diffFailed(err)
	}
	manifests, err := built.AsYaml()
	if err != nil {
		return diffFailed(err)
	}
	layout := &overlays.Layout{}
	if !o.generateFirst {
		if layout, err = overlays.Inspect(o.Dir); err != nil {
			return diffFailed(err)
		}
	}
	applier := &apply.Applier{Getter: o.configFlags}
	results, err := applier.Apply(ctx, manifests, apply.Options{
		DryRun: apply.DryRunServer, ForceConflicts: o.ForceConflicts, Namespace: o.namespace, Notes: o.ErrOut,
		Origin: func(kind, name string) apply.Origin {
			key := overlays.Key(kind, name)
			return apply.Origin{FromBase: layout.FromBase[key], Patch: layout.Patches[key]}
		},
		AllowHelmOwned: o.AllowHelmOwned, HelmAdvice: o.helmAdvice(),
	})
	if err != nil {
		return diffFailed(interrupted(ctx, err))
	}
	pairs, err := o.live(ctx, results)
	if err != nil {
		return diffFailed(interrupted(ctx, err))
	}
	summary, err := o.print(pairs)
	if err != nil {
		return diffFailed(err)
	}
	if !summary.Changes() {
		return nil
	}
	fmt.Fprintln(o.Out, summary)
	if _, err := os.Stat(filepath.Join(o.Dir, overlays.HelmValuesFile)); err == nil && !o.generateFirst {
		fmt.Fprintf(o.Out, "the chart side: helm diff upgrade RELEASE kestra/kestra -n %s -f YOUR-VALUES.yaml -f %s (the helm-diff plugin)\n", o.namespace, filepath.Join(o.Dir, overlays.HelmValuesFile))
	}
	return &diffExit{code: 1}
}

// live reads, for every object the dry run returned, the object the cluster holds (none: created).
func (o *DiffOptions) live(ctx context.Context, results []apply.Result) ([]diff.Pair, error) {
	config, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	mapper, err := o.configFlags.ToRESTMapper()
	if err != nil {
		return nil, err
	}
	pairs := make([]diff.Pair, 0, len(results))
	for _, result := range results {
		merged := result.Object
		gvk := merged.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, err
		}
		resource := client.Resource(mapping.Resource)
		var getter dynamic.ResourceInterface = resource
		if merged.GetNamespace() != "" {
			getter = resource.Namespace(merged.GetNamespace())
		}
		live, err := getter.Get(ctx, merged.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			live = nil
		case err != nil:
			return nil, fmt.Errorf("reading %s %s: %v", gvk.Kind, merged.GetName(), err)
		}
		pairs = append(pairs, diff.Pair{Live: live, Merged: merged})
	}
	return pairs, nil
}

// print writes both sides into two folders and runs the diff program over them, as kubectl diff does.
func (o *DiffOptions) print(pairs []diff.Pair) (diff.Summary, error) {
	root, err := os.MkdirTemp("", "kestra-tls-diff-")
	if err != nil {
		return diff.Summary{}, err
	}
	defer os.RemoveAll(root)
	liveDir, mergedDir := filepath.Join(root, "LIVE"), filepath.Join(root, "MERGED")
	for _, dir := range []string{liveDir, mergedDir} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return diff.Summary{}, err
		}
	}
	summary, err := diff.Write(liveDir, mergedDir, pairs, o.Generate.ShowSecrets)
	if err != nil || !summary.Changes() {
		return summary, err
	}
	program := []string{"diff", "-u", "-N"}
	if external := strings.Fields(os.Getenv("KUBECTL_EXTERNAL_DIFF")); len(external) > 0 {
		program = external
	}
	cmd := exec.Command(program[0], append(program[1:], liveDir, mergedDir)...)
	cmd.Stdout, cmd.Stderr = o.Out, o.ErrOut
	var exit *exec.ExitError
	// diff exits 1 when the folders differ, which they do here.
	if err := cmd.Run(); err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return summary, fmt.Errorf("%s: %v", strings.Join(program, " "), err)
	}
	return summary, nil
}

// diffExit carries kubectl diff's exit codes: 1 for differences (no message), >1 for a failure.
type diffExit struct {
	code int
	err  error
}

func (e *diffExit) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *diffExit) ExitCode() int { return e.code }

func (e *diffExit) Unwrap() error { return e.err }

// diffFailed is a diff that could not be made: exit 2, as kubectl diff (130 stays an interrupt).
func diffFailed(err error) error {
	if ExitCode(err) == 130 {
		return err
	}
	return &diffExit{code: 2, err: err}
}
