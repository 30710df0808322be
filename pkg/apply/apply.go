// Package apply puts a built overlay into the cluster with server-side apply through cli-runtime, then
// waits for cert-manager to make the certificate Ready, explaining from the whole chain when it doesn't.
package apply

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/model"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// FieldManager owns the fields we apply, so kubectl and others see who set them.
const FieldManager = "kubectl-kestra-tls"

// DryRun is kubectl's --dry-run.
type DryRun string

const (
	DryRunNone   DryRun = "none"
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// Options tune one apply.
type Options struct {
	DryRun          DryRun
	ForceConflicts  bool
	CreateNamespace bool
	// Namespace is used for objects that name none (kubectl's -n, or the kubeconfig's).
	Namespace string
	// Origin says, by kind and name, which objects come from the base and what the overlay patches in
	// them; nil treats every object as the overlay's own.
	Origin func(kind, name string) Origin
	// AllowHelmOwned patches workloads that a Helm release owns (only the fields the overlay sets).
	AllowHelmOwned bool
	// HelmAdvice is what to run instead when a Helm release owns Kestra's workloads.
	HelmAdvice string
	// NamespaceWait bounds the wait for a namespace being deleted to be gone before --create-namespace
	// makes it again (apply's --timeout).
	NamespaceWait time.Duration
	// Notes get a line for what apply decided for the user (the IngressClass that serves the Ingress).
	Notes io.Writer
}

// Operation says what the apply did to an object, in kubectl's words.
type Operation string

const (
	Created    Operation = "created"
	Configured Operation = "configured"
	Unchanged  Operation = "unchanged"
)

// Result is one applied object as the server returned it.
type Result struct {
	Object    *unstructured.Unstructured
	Operation Operation
}

// Applier applies with one REST client getter: the shared kubeconfig flags.
type Applier struct {
	Getter genericclioptions.RESTClientGetter
	// DemoBase: the overlay's base is kestra-tls's embedded demo Kestra, never to be forced over another.
	DemoBase bool

	dynamicMu sync.Mutex // the reads run concurrently
	dynamic   dynamic.Interface

	kindsRead sync.Once
	kindsErr  error
}

func (a *Applier) dynamicClient() (dynamic.Interface, error) {
	a.dynamicMu.Lock()
	defer a.dynamicMu.Unlock()
	if a.dynamic == nil {
		config, err := a.Getter.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		if a.dynamic, err = dynamic.NewForConfig(config); err != nil {
			return nil, err
		}
	}
	return a.dynamic, nil
}

// Apply server-side applies every object of the YAML stream, one request each, in dependency order. It is
// all or nothing: every object is first applied as a server-side dry run (strict field validation, as
// kubectl does), and nothing is written, a namespace it created removed again, unless all pass.
func (a *Applier) Apply(ctx context.Context, manifests []byte, opts Options) ([]Result, error) {
	if err := a.checkKinds(manifests); err != nil {
		return nil, err
	}
	infos, err := resource.NewBuilder(a.Getter).
		Unstructured().
		Stream(bytes.NewReader(manifests), "overlay").
		NamespaceParam(opts.Namespace).DefaultNamespace().
		Flatten().
		Do().Infos()
	if err != nil {
		return nil, a.explain(err, "reading the overlay", nil)
	}
	for _, info := range infos {
		unwrapBase64(info)
	}
	sort.SliceStable(infos, func(i, j int) bool { return rank(infos[i]) < rank(infos[j]) })
	// Independent reads, at once: the target namespaces (made with --create-namespace), the Gateways our
	// routes attach to, the base's live objects, and the cluster's IngressClasses when there is an Ingress.
	// The errors keep that order. A read into a namespace not made yet finds nothing, as it would after.
	var actions []action
	var parentsErr, planErr error
	var reads sync.WaitGroup
	reads.Add(2)
	listClasses := sync.OnceValues(func() ([]ingressClass, error) { return a.ingressClasses(ctx) })
	if opts.DryRun != DryRunClient && hasIngress(infos) {
		go listClasses() // waited for where the classes are checked
	}
	go func() { defer reads.Done(); parentsErr = a.checkRouteParents(ctx, infos) }()
	go func() { defer reads.Done(); actions, planErr = a.planActions(ctx, infos, opts) }()
	created, waited, namespacesErr := a.checkNamespaces(ctx, infos, opts)
	reads.Wait()
	if namespacesErr == nil && waited {
		// A namespace made again after the old one finished terminating holds none of what the reads may
		// have seen there: read again.
		actions, planErr = a.planActions(ctx, infos, opts)
	}
	for _, err := range []error{namespacesErr, parentsErr, planErr} {
		if err != nil {
			a.removeNamespaces(created)
			return nil, err
		}
	}
	klog.V(4).Info("apply: namespaces, route parents and the base's live objects read")
	if opts.DryRun != DryRunClient {
		if err := a.settleIngressClasses(ctx, infos, actions, listClasses, opts.Notes); err != nil {
			a.removeNamespaces(created)
			return nil, err
		}
	}
	// The store's revision before any write (for "unchanged" without clocks), read while the dry runs go.
	var revision uint64
	var revisionErr error
	revisionRead := make(chan struct{})
	go func() { defer close(revisionRead); revision, revisionErr = a.currentRevision(ctx, opts) }()
	if opts.DryRun == DryRunNone {
		if err := a.checkAll(ctx, infos, actions, opts); err != nil {
			<-revisionRead
			a.removeNamespaces(created)
			return nil, err
		}
		klog.V(4).Info("apply: the server-side dry run of every object passed")
	}
	<-revisionRead
	if revisionErr != nil {
		a.removeNamespaces(created)
		return nil, revisionErr
	}
	results := make([]Result, len(infos))
	done := make([]bool, len(infos))
	err = inPhases(infos, writePhase, func(i int) error {
		actions[i].revision = revision
		if actions[i].skip {
			results[i], done[i] = Result{Object: actions[i].body, Operation: Operation(fmt.Sprintf(string(LeftToHelm), actions[i].release))}, true
			return nil
		}
		result, err := a.applyOne(ctx, infos[i], actions[i], opts)
		if err != nil {
			return err
		}
		results[i], done[i] = result, true
		return nil
	})
	// What was written, in the overlay's order, also when a write failed.
	written := results[:0]
	for i, result := range results {
		if done[i] {
			written = append(written, result)
		}
	}
	klog.V(4).Infof("apply: %d of %d objects applied", len(written), len(infos))
	return written, err
}

// ReadKinds reads the cluster's kinds (discovery: from the disk cache while it is fresh, else from the API
// server) into the mapper the getter keeps, once; a caller while it runs waits for it. Apply calls it
// first; a command calls it earlier, on the other core, to have them read by then. The mapper itself reads
// nothing until it is first asked, so it is asked for one kind.
func (a *Applier) ReadKinds() error {
	a.kindsRead.Do(func() {
		mapper, err := a.Getter.ToRESTMapper()
		if err == nil {
			_, err = mapper.RESTMapping(schema.GroupKind{Kind: "Namespace"}, "v1")
		}
		if err != nil {
			a.kindsErr = a.explain(err, "reading the cluster's kinds", nil)
			return
		}
		klog.V(4).Info("apply: the cluster's kinds read")
	})
	return a.kindsErr
}

// checkKinds maps every kind first, so a missing cert-manager is reported before anything is written.
func (a *Applier) checkKinds(manifests []byte) error {
	if err := a.ReadKinds(); err != nil {
		return err
	}
	mapper, err := a.Getter.ToRESTMapper()
	if err != nil {
		return err
	}
	objects, err := Decode(manifests)
	if err != nil {
		return err
	}
	for _, object := range objects {
		gvk := object.GroupVersionKind()
		if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			if meta.IsNoMatchError(err) && gvk.Group == resources.CertManagerGroup {
				return errors.New("cert-manager is not installed in this cluster (no certificates.cert-manager.io API): install it (kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.21.2/cert-manager.yaml), or generate with --self-signed --no-cert-manager, which needs no cert-manager")
			}
			if meta.IsNoMatchError(err) && gvk.Group == resources.GatewayGroup {
				return fmt.Errorf("the Gateway API is not installed in this cluster (no %s %s API): install its CRDs, standard channel (kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.0/standard-install.yaml) and a Gateway controller, or use --mode ingress", strings.ToLower(gvk.Kind)+"s."+resources.GatewayGroup, gvk.Version)
			}
			return a.explain(err, fmt.Sprintf("looking up %s", gvk.Kind), nil)
		}
	}
	return nil
}

// checkAll applies every object as a server-side dry run: the API server validates each (schema, unknown
// fields, conflicts, admission) before the first write.
func (a *Applier) checkAll(ctx context.Context, infos []*resource.Info, actions []action, opts Options) error {
	check := opts
	check.DryRun = DryRunServer
	err := inPhases(infos, checkPhase, func(i int) error {
		if actions[i].skip {
			return nil
		}
		_, err := a.applyOne(ctx, infos[i], actions[i], check)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w (found by a server-side dry run of every object before any write: nothing was written)", err)
	}
	return nil
}

// removeNamespaces deletes the namespaces this apply created, when it then wrote nothing into them.
func (a *Applier) removeNamespaces(names []string) {
	if len(names) == 0 {
		return
	}
	dyn, err := a.dynamicClient()
	if err != nil {
		return
	}
	// Not the user's context: an interrupt must not leave the namespace behind.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range names {
		_ = dyn.Resource(resources.Namespaces).Delete(ctx, name, metav1.DeleteOptions{})
	}
}

// checkNamespaces makes sure every target namespace exists, creating it with --create-namespace; it
// returns the namespaces it created, and whether it waited for one being deleted to be gone first.
func (a *Applier) checkNamespaces(ctx context.Context, infos []*resource.Info, opts Options) (created []string, waited bool, err error) {
	declared := map[string]bool{}
	needed := map[string]bool{}
	for _, info := range infos {
		if info.Mapping.GroupVersionKind.Kind == "Namespace" {
			declared[info.Name] = true
		}
		if info.Namespaced() {
			needed[info.Namespace] = true
		}
	}
	if opts.DryRun == DryRunClient {
		return nil, false, nil
	}
	dyn, err := a.dynamicClient()
	if err != nil {
		return nil, false, err
	}
	namespaces := dyn.Resource(resources.Namespaces)
	for _, name := range sortedKeys(needed) {
		if declared[name] {
			continue
		}
		existing, err := namespaces.Get(ctx, name, metav1.GetOptions{})
		if err == nil && existing.GetDeletionTimestamp() != nil {
			// Still being deleted (an uninstall, a kubectl delete a moment ago): nothing can be created in
			// it, and only once it is gone can --create-namespace make it again.
			if !opts.CreateNamespace {
				return created, waited, fmt.Errorf("namespace %q is being deleted (Terminating): wait until it is gone (kubectl get namespace %s), then apply with --create-namespace", name, name)
			}
			waited = true
			if err = a.waitNamespaceGone(ctx, name, opts.NamespaceWait); !apierrors.IsNotFound(err) {
				return created, waited, err
			}
		}
		switch {
		case err == nil:
			continue
		case !apierrors.IsNotFound(err):
			return created, waited, a.explain(err, "checking namespace "+name, nil)
		case !opts.CreateNamespace:
			return created, waited, fmt.Errorf("namespace %q does not exist: create it (kubectl create namespace %s) or pass --create-namespace", name, name)
		case opts.DryRun == DryRunServer:
			// The API server checks each object against its namespace, and a dry run persists none.
			return created, waited, fmt.Errorf("namespace %q does not exist, and --dry-run=server cannot check objects in a namespace that only a real apply would create: create it first (kubectl create namespace %s), or use --dry-run=client", name, name)
		}
		// Our marker tells uninstall that apply made it (an apply entry with no field but the name would
		// leave no managed fields to tell by).
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name,
			"labels": map[string]any{model.ManagedByLabel: model.ManagedByValue}}}}
		data, _ := ns.MarshalJSON()
		_, err = namespaces.Patch(ctx, name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, DryRun: serverDryRun(opts)})
		if err != nil {
			return created, waited, a.explain(err, "creating namespace "+name, nil)
		}
		created = append(created, name)
	}
	return created, waited, nil
}

// waitNamespaceGone waits, within limit, until the namespace being deleted is gone, and returns the
// NotFound that says so.
func (a *Applier) waitNamespaceGone(ctx context.Context, name string, limit time.Duration) error {
	dyn, err := a.dynamicClient()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for {
		_, err := dyn.Resource(resources.Namespaces).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return err
		case err != nil:
			return a.explain(err, "waiting for namespace "+name+" to be deleted", nil)
		case !time.Now().Before(deadline):
			return fmt.Errorf("namespace %q is still being deleted (Terminating) after %s: its finalizers hold it (kubectl get namespace %s -o yaml shows which); apply again once it is gone", name, limit, name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (a *Applier) applyOne(ctx context.Context, info *resource.Info, act action, opts Options) (Result, error) {
	object := act.body
	if opts.DryRun == DryRunClient {
		return Result{Object: object, Operation: Configured}, nil
	}
	data, err := runtime.Encode(unstructured.UnstructuredJSONScheme, object)
	if err != nil {
		return Result{}, err
	}
	force := act.force
	patchOptions := &metav1.PatchOptions{FieldManager: FieldManager, Force: &force, DryRun: serverDryRun(opts), FieldValidation: "Strict"}
	started := time.Now()
	var created bool
	response := info.Client.Patch(types.ApplyPatchType).
		NamespaceIfScoped(info.Namespace, info.Namespaced()).
		Resource(info.Mapping.Resource.Resource).
		Name(info.Name).
		VersionedParams(patchOptions, metav1.ParameterCodec).
		Body(data).
		Do(ctx).WasCreated(&created)
	raw, err := response.Raw()
	if err != nil {
		err = statusError(raw, response.Error())
		return Result{}, a.explain(err, fmt.Sprintf("applying %s %s", info.Mapping.GroupVersionKind.Kind, qualifiedName(info.Namespace, info.Name)), info)
	}
	applied := &unstructured.Unstructured{}
	if err := applied.UnmarshalJSON(raw); err != nil {
		return Result{}, err
	}
	operation := Unchanged
	switch {
	case created:
		operation = Created
	case opts.DryRun == DryRunServer:
		// A dry run persists nothing, so no revision moves: read our managedFields time instead.
		if changedByUs(applied, started) {
			operation = Configured
		}
	case writtenAfter(applied, act.revision):
		operation = Configured
	}
	return Result{Object: applied, Operation: operation}, nil
}

// currentRevision is the store's revision before the first write, as the API server reports it in a list:
// an object whose resourceVersion is newer was written by this apply. The server's own counter, not a
// clock: a skewed client clock cannot change the verdict.
func (a *Applier) currentRevision(ctx context.Context, opts Options) (uint64, error) {
	if opts.DryRun != DryRunNone {
		return 0, nil
	}
	dyn, err := a.dynamicClient()
	if err != nil {
		return 0, err
	}
	list, err := dyn.Resource(resources.Namespaces).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, a.explain(err, "reading the cluster's revision", nil)
	}
	revision, _ := strconv.ParseUint(list.GetResourceVersion(), 10, 64)
	return revision, nil
}

// writtenAfter tells whether the object changed after the revision; an unreadable resourceVersion (not
// etcd's counter) counts as changed, the safe side.
func writtenAfter(object *unstructured.Unstructured, revision uint64) bool {
	version, err := strconv.ParseUint(object.GetResourceVersion(), 10, 64)
	return err != nil || revision == 0 || version > revision
}

// statusError prefers the Status the server sent (for a conflict it names the other field managers and
// fields) over the client's generic message.
func statusError(body []byte, err error) error {
	var status metav1.Status
	if json.Unmarshal(body, &status) == nil && status.Kind == "Status" && status.Message != "" {
		return &apierrors.StatusError{ErrStatus: status}
	}
	return err
}

// changedByUs reads our managedFields entry: a server-side apply that changes nothing leaves its time
// alone, one that changes something stamps it (to the second) with the server's clock.
func changedByUs(object *unstructured.Unstructured, started time.Time) bool {
	for _, entry := range object.GetManagedFields() {
		if entry.Manager == FieldManager && entry.Operation == metav1.ManagedFieldsOperationApply && entry.Time != nil {
			return !entry.Time.Time.Before(started.Truncate(time.Second))
		}
	}
	return true
}

func serverDryRun(opts Options) []string {
	if opts.DryRun == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// rank orders kinds so that nothing is applied before what it needs.
func rank(info *resource.Info) int {
	gvk := info.Mapping.GroupVersionKind
	switch {
	case gvk.Kind == "Namespace":
		return 0
	case gvk.Kind == "CustomResourceDefinition":
		return 1
	case gvk.Kind == "Secret" || gvk.Kind == "ConfigMap" || gvk.Kind == "ServiceAccount":
		return 2
	case gvk.Group == resources.CertManagerGroup && (gvk.Kind == "ClusterIssuer" || gvk.Kind == "Issuer"):
		return 3
	case gvk.Kind == "Service":
		return 4
	case gvk.Kind == "Ingress":
		return 6
	case gvk.Group == resources.CertManagerGroup:
		return 7
	}
	return 5
}

// explain turns API errors into messages that say what to do. Cancellation, an unreachable server, an
// untrusted server certificate and a refused verb each get their own words.
func (a *Applier) explain(err error, doing string, info *resource.Info) error {
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.Is(err, context.Canceled):
		// Wrapped, so that the command tells an interrupt (130) from a failure.
		return fmt.Errorf("%s: %w", doing, err)
	case apierrors.IsForbidden(err) && (apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || strings.Contains(err.Error(), "because it is being terminated")):
		return fmt.Errorf("%s: its namespace is being deleted (Terminating): wait until it is gone, then apply with --create-namespace: %v", doing, err)
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
		return fmt.Errorf("%s: a ResourceQuota of the namespace refuses it (not a permission of yours): raise the quota or free some of it (kubectl describe resourcequota): %v", doing, err)
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "admission webhook"):
		return fmt.Errorf("%s: an admission webhook refused it (a policy of the cluster, not a permission of yours): %v", doing, err)
	case apierrors.IsForbidden(err) && !forbiddenPattern.MatchString(err.Error()):
		return fmt.Errorf("%s: the API server refused it (forbidden, but not by an RBAC rule): %v", doing, err)
	case apierrors.IsForbidden(err):
		verb, what := refused(err, info)
		hint := fmt.Sprintf("kubectl auth can-i %s %s", verb, what)
		if info != nil && info.Namespaced() {
			hint += " -n " + info.Namespace
		}
		return fmt.Errorf("%s: forbidden: your user may not %s %s (check with `%s` and ask for that RBAC permission): %v", doing, verb, what, hint, err)
	case apierrors.IsConflict(err) && a.DemoBase:
		return fmt.Errorf("%s: the namespace already runs a Kestra that kestra-tls did not make (another field manager owns these fields: %v), and this overlay's base is kestra-tls's minimal demo Kestra (kestra/kestra:latest, in-memory H2), which would replace it: generate again with --base (your Kestra manifests, or `helm template` output of your chart), or apply into another namespace", doing, err)
	case apierrors.IsConflict(err):
		return fmt.Errorf("%s: another field manager owns some of these fields: %v (re-run with --force-conflicts to take them over)", doing, err)
	case errors.As(err, &unknownAuthority), errors.As(err, &invalid), errors.As(err, &hostname):
		return fmt.Errorf("%s: the API server%s presented a certificate your kubeconfig does not trust: %v (check the context's certificate-authority-data, --certificate-authority, or --context)", doing, a.serverAddress(), err)
	case isUnreachable(err):
		return fmt.Errorf("cannot reach the cluster%s: %v (check --kubeconfig and --context, and that the API server is up)", a.serverAddress(), err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func (a *Applier) serverAddress() string {
	if config, err := a.Getter.ToRESTConfig(); err == nil {
		return " at " + config.Host
	}
	return ""
}

// forbiddenPattern reads the API server's own words: User "x" cannot VERB resource "RESOURCE" ...
var forbiddenPattern = regexp.MustCompile(`cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?`)

// refused names the verb and resource the server refused, as `kubectl auth can-i` takes them.
func refused(err error, info *resource.Info) (verb, what string) {
	if match := forbiddenPattern.FindStringSubmatch(err.Error()); match != nil {
		what = match[2]
		if match[3] != "" {
			what += "." + match[3]
		}
		return match[1], what
	}
	verb, what = "patch", "the object"
	if info != nil {
		what = info.Mapping.Resource.Resource
	}
	return verb, what
}

func isUnreachable(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.As(err, &urlErr) || (errors.As(err, &netErr) && netErr.Timeout()) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host")
}

func qualifiedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func sortedKeys(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for key := range set {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// unwrapBase64 writes the base64 values of a Secret's data and a ConfigMap's binaryData on one line, as the
// API server returns them. kustomize wraps long ones (a truststore) over lines, which the API server
// decodes the same, but server-side apply compares as written: an install that plain kubectl applied would
// otherwise conflict with ours on a value that did not change.
func unwrapBase64(info *resource.Info) {
	object, ok := info.Object.(*unstructured.Unstructured)
	if !ok {
		return
	}
	field := map[string]string{"Secret": "data", "ConfigMap": "binaryData"}[object.GetKind()]
	if field == "" {
		return
	}
	values, found, _ := unstructured.NestedMap(object.Object, field)
	if !found {
		return
	}
	for key, value := range values {
		if text, ok := value.(string); ok {
			values[key] = strings.Join(strings.Fields(text), "")
		}
	}
	unstructured.SetNestedMap(object.Object, values, field)
}
