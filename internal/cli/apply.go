package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/yaml"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/fileset"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/renew"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

const applyExample = `  # Apply an overlay made by generate, and wait until cert-manager's certificate is Ready
  kubectl kestra-tls apply kestra-tls -n kestra

  # Generate and apply in one step
  kubectl kestra-tls apply --host kestra.example.com --self-signed -n kestra --create-namespace

  # Ask the API server to validate everything without persisting it; print the result (Secrets masked)
  kubectl kestra-tls apply kestra-tls --dry-run=server -o yaml`

// ApplyOptions applies an overlay with server-side apply and waits for the certificate.
type ApplyOptions struct {
	configFlags *genericclioptions.ConfigFlags
	Generate    *GenerateOptions

	Dir             string
	DryRun          string
	Output          string
	CreateNamespace bool
	ForceConflicts  bool
	AllowHelmOwned  bool
	Wait            bool
	Timeout         time.Duration

	generateFlags *pflag.FlagSet
	generateFirst bool
	namespace     string
	// namespaceGiven: -n was on the command line, not taken from the kubeconfig.
	namespaceGiven bool
	genericiooptions.IOStreams
}

// NewApplyOptions returns the defaults.
func NewApplyOptions(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *ApplyOptions {
	return &ApplyOptions{
		configFlags: configFlags, Generate: NewGenerateOptions(configFlags, streams),
		Dir: "kestra-tls", DryRun: string(apply.DryRunNone), Wait: true, Timeout: 5 * time.Minute, IOStreams: streams,
	}
}

// NewCmdApply applies an overlay (generating it first when given generate's flags).
func NewCmdApply(configFlags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewApplyOptions(configFlags, streams)
	cmd := &cobra.Command{
		Use:   "apply [DIR]",
		Short: "Apply an overlay with server-side apply and wait until the certificate is Ready",
		Long: `Build the overlay in DIR (default ./kestra-tls) with kustomize, apply every object with server-side
apply under the field manager "kubectl-kestra-tls", and, when cert-manager issues a certificate, wait until it
is Ready, explaining from the Certificate, its CertificateRequest, the issuer and events when it isn't.
Given generate's flags, it generates DIR first.

Exit codes: 0 when applied (and Ready), 124 when the wait timed out, 130 when interrupted, 1 otherwise.`,
		Example: applyExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	// generate's flags in a set of their own, to tell whether any was given.
	scratch := &cobra.Command{}
	o.Generate.AddFlags(scratch)
	o.generateFlags = scratch.Flags()
	cmd.Flags().AddFlagSet(o.generateFlags)
	cmd.Flags().StringVar(&o.DryRun, "dry-run", o.DryRun, `"none", "client" (print what would be applied) or "server" (the API server validates, nothing persists)`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = string(apply.DryRunClient)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "print the applied objects: yaml, json or name (Secret data masked unless --show-secrets)")
	cmd.Flags().BoolVar(&o.CreateNamespace, "create-namespace", false, "create missing namespaces")
	cmd.Flags().BoolVar(&o.ForceConflicts, "force-conflicts", false, "take over fields another field manager owns")
	cmd.Flags().BoolVar(&o.AllowHelmOwned, "allow-helm-owned", false, "patch Kestra workloads that a Helm release owns (only the fields kestra-tls sets; the next helm upgrade may undo them): prefer generate --target helm")
	cmd.Flags().BoolVar(&o.Wait, "wait", o.Wait, "wait for cert-manager's certificates to be Ready (when there are any)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "how long to wait; 0 checks once")
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("yaml", "json", "name"))
	return cmd
}

// Complete reads the target namespace and, when generate's flags are given, resolves their values.
func (o *ApplyOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Dir = args[0]
	}
	o.generateFlags.VisitAll(func(flag *pflag.Flag) {
		// --show-secrets is about what apply prints, not an input of generate.
		o.generateFirst = o.generateFirst || (cmd.Flags().Changed(flag.Name) && flag.Name != "show-secrets")
	})
	var err error
	if o.namespace, err = namespaceOf(o.configFlags); err != nil {
		return err
	}
	o.namespaceGiven = cmd.Flags().Changed("namespace")
	if o.generateFirst {
		o.Generate.OutputDir = o.Dir
		o.Generate.DryRun = o.DryRun != string(apply.DryRunNone)
		return o.Generate.Complete(cmd)
	}
	return nil
}

// Validate checks the flags, kubectl's way.
func (o *ApplyOptions) Validate() error {
	switch apply.DryRun(o.DryRun) {
	case apply.DryRunNone, apply.DryRunClient, apply.DryRunServer:
	default:
		return fmt.Errorf(`--dry-run=%s is not a dry-run mode: use "none", "client" or "server"`, o.DryRun)
	}
	switch o.Output {
	case "", "yaml", "json", "name":
	default:
		return fmt.Errorf("-o %s is not an output format here: use yaml, json or name", o.Output)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s is negative: use 0 to check once, or a duration such as 5m", o.Timeout)
	}
	if o.generateFirst {
		return o.Generate.validateInputs()
	}
	if !isKustomization(o.Dir) {
		return fmt.Errorf("%s is not an overlay folder (no kustomization.yaml): run `kubectl kestra-tls generate -o %s ...` first, or give generate's flags (e.g. --host) too", o.Dir, o.Dir)
	}
	return nil
}

// usesDemoBase tells an overlay over the embedded demo Kestra, from the values generate used or left.
func (o *ApplyOptions) usesDemoBase() bool {
	if o.generateFirst {
		return o.Generate.resolved.Target == "kustomize" && o.Generate.resolved.Base == ""
	}
	data, err := os.ReadFile(filepath.Join(o.Dir, overlays.ValuesFile))
	if err != nil || !overlays.IsEarlierRun(data) {
		return false
	}
	var v values.Values
	return yaml.Unmarshal(data, &v) == nil && v.Target == "kustomize" && v.Base == ""
}

// isKustomization tells whether dir holds a kustomization, under one of the names kustomize reads.
func isKustomization(dir string) bool {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && !info.IsDir() {
			return true
		}
	}
	return false
}

// Run builds, applies, and waits.
func (o *ApplyOptions) Run(ctx context.Context) error {
	// The cluster's kinds and what the overlay takes from its base are read on the other core while the
	// overlay builds.
	applier := &apply.Applier{Getter: o.configFlags, DemoBase: o.usesDemoBase()}
	go applier.ReadKinds()
	readLayout := sync.OnceValues(o.layout)
	if !o.generateFirst { // a folder generate writes first is read once written
		go readLayout()
	}
	built, err := o.build()
	if err != nil {
		return err
	}
	klog.V(4).Infof("apply: overlay %s built (%d objects)", o.Dir, built.Size())
	installNamespace, err := overlays.InstallNamespace(built, o.Dir, o.namespace, o.namespaceGiven)
	if err != nil {
		return err
	}
	if installNamespace != "" && installNamespace != o.namespace {
		fmt.Fprintf(o.ErrOut, "namespace %s: %s names it (the kubeconfig's is %s)\n", installNamespace, o.Dir, o.namespace)
	}
	layout, err := readLayout()
	if err != nil {
		return err
	}
	manifests, err := built.AsYaml()
	if err != nil {
		return err
	}
	dryRun := apply.DryRun(o.DryRun)
	results, err := applier.Apply(ctx, manifests, apply.Options{
		DryRun: dryRun, ForceConflicts: o.ForceConflicts, CreateNamespace: o.CreateNamespace, Namespace: o.namespace, NamespaceWait: o.Timeout, Notes: o.ErrOut,
		Origin: func(kind, name string) apply.Origin {
			key := overlays.Key(kind, name)
			return apply.Origin{FromBase: layout.FromBase[key], Patch: layout.Patches[key]}
		},
		AllowHelmOwned: o.AllowHelmOwned, HelmAdvice: o.helmAdvice(),
	})
	if printErr := o.print(results, dryRun); printErr != nil && err == nil {
		err = printErr
	}
	if err != nil {
		return interrupted(ctx, err)
	}
	if dryRun != apply.DryRunNone {
		return nil
	}
	rewritten, err := o.rewriteKeystores(ctx, applier, results)
	if err != nil || !o.Wait {
		return err
	}
	// The objects as the server returned them carry their namespaces and annotations: no second decode.
	applied := make([]*unstructured.Unstructured, len(results))
	for i, result := range results {
		applied[i] = result.Object
	}
	if err := o.waitForRoutes(ctx, apply.RoutesToForeignGateways(applied, o.namespace)); err != nil {
		return err
	}
	refs := apply.CertificatesIn(applied, o.namespace)
	for i, ref := range refs {
		if revision, ok := rewritten[ref.Namespace+"/"+ref.Name]; ok {
			refs[i].Renewing, refs[i].AfterRevision = true, revision
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return o.waitFor(ctx, refs)
}

// rewriteKeystores has cert-manager issue again where the keystores it wrote no longer open with the store
// password just applied (a new overlay folder mints a new one), and returns the revisions replaced, by
// namespace/name, so that the wait is for the new keystores.
func (o *ApplyOptions) rewriteKeystores(ctx context.Context, applier *apply.Applier, results []apply.Result) (map[string]int64, error) {
	stale, err := applier.KeystoresToRewrite(ctx, results, o.namespace)
	if err != nil || len(stale) == 0 {
		return nil, err
	}
	client, err := listingClient(o.configFlags)
	if err != nil {
		return nil, err
	}
	replaced := map[string]int64{}
	for _, ref := range stale {
		triggered, err := renew.Trigger(ctx, client, ref.Namespace, ref.Name, renew.ByPasswordChange, time.Now())
		if err != nil {
			return nil, interrupted(ctx, err)
		}
		replaced[ref.Namespace+"/"+ref.Name] = triggered.Revision
		fmt.Fprintf(o.Out, "certificate.cert-manager.io/%s reissue triggered: its keystores do not open with the new store password "+
			"(running Kestra pods keep the stores they loaded; kubectl kestra-tls status -n %s tells when they need a restart)\n", ref.Name, ref.Namespace)
	}
	return replaced, nil
}

// waitForRoutes waits until the controller of a Gateway we did not make accepts our route: nothing else
// shows that the route serves.
func (o *ApplyOptions) waitForRoutes(ctx context.Context, routes []apply.RouteRef) error {
	if len(routes) == 0 {
		return nil
	}
	waiter, err := newWaiter(o.configFlags, o.ErrOut)
	if err != nil {
		return err
	}
	for _, route := range routes {
		if err := waiter.WaitForRoute(ctx, route, o.Timeout); err != nil {
			return interrupted(ctx, err)
		}
		fmt.Fprintf(o.Out, "httproute.gateway.networking.k8s.io/%s accepted by Gateway %s\n", route.Name, route.Gateway)
	}
	return nil
}

// build is the overlay in DIR, generated there first when generate's flags are given, or only in a scratch
// folder for a dry run.
func (o *ApplyOptions) build() (resmap.ResMap, error) {
	if !o.generateFirst {
		return overlays.Build(o.Dir)
	}
	if !o.Generate.DryRun {
		held, err := fileset.Lock(o.Dir, 0o755, WaitingFor(o.ErrOut, o.Dir))
		if err != nil {
			return nil, err
		}
		defer held.Release()
	}
	overlay, err := o.Generate.render()
	if err != nil {
		return nil, err
	}
	for _, warning := range overlay.Warnings {
		fmt.Fprintf(o.ErrOut, "Warning: %s\n", warning)
	}
	// Built before it is written: a folder kustomize refuses is neither applied nor left on disk.
	built, err := overlay.BuildAt(o.Dir)
	if err != nil || o.Generate.DryRun {
		if err != nil {
			err = overlays.ExplainBuildError(o.Generate.resolved.Base, err)
		}
		return built, err
	}
	if _, err := overlay.Write(o.Dir, true); err != nil {
		return nil, err
	}
	for _, line := range overlay.Adopted {
		fmt.Fprintf(o.ErrOut, "taken over: %s\n", line)
	}
	fmt.Fprintf(o.ErrOut, "generated %s\n", o.Dir)
	return built, nil
}

// layout reads what the overlay does to its base; a dry run of generate-first has no folder yet and
// touches nothing.
func (o *ApplyOptions) layout() (*overlays.Layout, error) {
	if o.generateFirst && o.Generate.DryRun {
		return &overlays.Layout{}, nil
	}
	return overlays.Inspect(o.Dir)
}

// helmAdvice is the install through the chart that replaces an apply over a Helm release, with the mode,
// hosts and issuer of the overlay's values.
func (o *ApplyOptions) helmAdvice() string {
	flags := "--mode ingress --host kestra.example.com"
	if previous, err := os.ReadFile(filepath.Join(o.Dir, overlays.ValuesFile)); err == nil {
		var v values.Values
		if yaml.Unmarshal(previous, &v) == nil && v.Mode != "" && len(v.Hosts) > 0 {
			flags = "--mode " + v.Mode
			for _, host := range v.Hosts {
				flags += " --host " + host
			}
			if v.TerminatesOutside() {
				switch v.Issuer.Type {
				case "letsencrypt":
					if v.Issuer.Email != "" {
						flags += " --email " + v.Issuer.Email
					}
				case "ref":
					flags += " --issuer-ref " + v.Issuer.RefName + ",kind=" + v.Issuer.RefKind
				case "self-signed":
					flags += " --self-signed"
				}
			}
		}
	}
	ns := ""
	if o.namespace != "" {
		ns = " -n " + o.namespace
	}
	return fmt.Sprintf("Install through the chart instead: `kubectl kestra-tls generate --target helm %s --chart-values YOUR-VALUES.yaml -o kestra-tls-helm%s`, then `kubectl kestra-tls apply kestra-tls-helm%s` and `helm upgrade RELEASE CHART%s -f YOUR-VALUES.yaml -f kestra-tls-helm/helm-values.yaml`; or pass --allow-helm-owned to patch only the fields kestra-tls sets.", flags, ns, ns, ns)
}

func (o *ApplyOptions) print(results []apply.Result, dryRun apply.DryRun) error {
	suffix := ""
	if dryRun != apply.DryRunNone {
		suffix = fmt.Sprintf(" (%s dry run)", dryRun)
	}
	var objects []map[string]any
	for _, result := range results {
		switch o.Output {
		case "":
			operation := string(result.Operation)
			if dryRun == apply.DryRunClient {
				operation = "would be applied"
			}
			fmt.Fprintf(o.Out, "%s %s%s\n", resourceName(result.Object), operation, suffix)
		case "name":
			fmt.Fprintln(o.Out, resourceName(result.Object))
		default:
			object := result.Object.DeepCopy().Object
			if !o.Generate.ShowSecrets {
				overlays.MaskSecret(object)
			}
			objects = append(objects, object)
		}
	}
	switch o.Output {
	case "yaml":
		for i, object := range objects {
			data, err := yaml.Marshal(object)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(o.Out, "---")
			}
			o.Out.Write(data)
		}
	case "json":
		list := map[string]any{"apiVersion": "v1", "kind": "List", "items": objects}
		data, err := json.MarshalIndent(list, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(o.Out, string(data))
	}
	return nil
}

// resourceName is kubectl's kind.group/name.
func resourceName(object *unstructured.Unstructured) string {
	gvk := object.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + object.GetName()
}

func (o *ApplyOptions) waitFor(ctx context.Context, refs []apply.CertificateRef) error {
	return waitAndReport(ctx, o.configFlags, refs, o.Timeout, o.IOStreams)
}

// newWaiter watches through the kubeconfig's cluster, with progress on progress.
func newWaiter(configFlags *genericclioptions.ConfigFlags, progress io.Writer) (*apply.Waiter, error) {
	config, err := configFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	return &apply.Waiter{Dynamic: client, Progress: progress}, nil
}

// waitAndReport watches the Certificates, progress on stderr, and names each Ready one on stdout.
func waitAndReport(ctx context.Context, configFlags *genericclioptions.ConfigFlags, refs []apply.CertificateRef, timeout time.Duration, streams genericiooptions.IOStreams) error {
	waiter, err := newWaiter(configFlags, streams.ErrOut)
	if err != nil {
		return err
	}
	ready, err := waiter.Wait(ctx, refs, timeout)
	out := streams.Out
	for _, certificate := range ready {
		names, _, _ := unstructured.NestedStringSlice(certificate.Object.Object, "spec", "dnsNames")
		ips, _, _ := unstructured.NestedStringSlice(certificate.Object.Object, "spec", "ipAddresses")
		fmt.Fprintf(out, "certificate.cert-manager.io/%s Ready (%s)\n", certificate.Ref.Name, strings.Join(append(names, ips...), ", "))
	}
	return interrupted(ctx, err)
}

// interrupted turns a cancelled context (Ctrl-C) into exit code 130.
func interrupted(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &apply.InterruptedError{}
	}
	return err
}
