package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/conditions"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/resources"
)

// CertificateRef names a Certificate to wait for, and the issuer expected to sign it.
type CertificateRef struct {
	Namespace, Name        string
	IssuerKind, IssuerName string
	// Via names the Ingress or Gateway that makes cert-manager's ingress-shim or gateway-shim create the
	// Certificate, if any.
	Via string
	// Hosts are the names the Ingress asks for: until ingress-shim has copied them into the Certificate,
	// a Ready condition is about the old spec.
	Hosts []string
	// Renewing asks for a certificate newer than revision AfterRevision (renew): the Ready condition of the
	// one being replaced does not count, even when it had no revision yet.
	Renewing      bool
	AfterRevision int64
}

func (r CertificateRef) String() string { return "Certificate " + qualifiedName(r.Namespace, r.Name) }

// CertificatesIn finds what an apply of these objects makes cert-manager issue: Certificates, and the
// Certificates that ingress-shim and gateway-shim create for annotated Ingresses and Gateways (named after
// each TLS secretName or certificateRefs Secret).
func CertificatesIn(objects []*unstructured.Unstructured, defaultNamespace string) []CertificateRef {
	var refs []CertificateRef
	for _, object := range objects {
		namespace := object.GetNamespace()
		if namespace == "" {
			namespace = defaultNamespace
		}
		gvk := object.GroupVersionKind()
		switch {
		case gvk.Group == resources.CertManagerGroup && gvk.Kind == "Certificate":
			kind, _, _ := unstructured.NestedString(object.Object, "spec", "issuerRef", "kind")
			name, _, _ := unstructured.NestedString(object.Object, "spec", "issuerRef", "name")
			if kind == "" {
				kind = "Issuer"
			}
			refs = append(refs, CertificateRef{Namespace: namespace, Name: object.GetName(), IssuerKind: kind, IssuerName: name})
		case gvk.Group == resources.GatewayGroup && gvk.Kind == "Gateway":
			refs = append(refs, gatewayCertificates(object, namespace)...)
		case gvk.Kind == "Ingress":
			kind, name := issuerAnnotation(object)
			if name == "" {
				continue
			}
			tls, _, _ := unstructured.NestedSlice(object.Object, "spec", "tls")
			for _, entry := range tls {
				fields, _ := entry.(map[string]any)
				secret, _ := fields["secretName"].(string)
				if secret == "" {
					continue
				}
				hosts, _, _ := unstructured.NestedStringSlice(fields, "hosts")
				refs = append(refs, CertificateRef{Namespace: namespace, Name: secret, IssuerKind: kind, IssuerName: name, Via: "Ingress " + object.GetName(), Hosts: hosts})
			}
		}
	}
	return refs
}

// TimeoutError is returned when a Certificate is not Ready in time; it exits 124, as cmctl and timeout(1).
type TimeoutError struct{ Explanation string }

func (e *TimeoutError) Error() string { return e.Explanation }
func (e *TimeoutError) ExitCode() int { return 124 }

// InterruptedError is returned when the user stops the wait (Ctrl-C); it exits 130, as shells do.
type InterruptedError struct{}

func (e *InterruptedError) Error() string { return "interrupted while waiting for the certificate" }
func (e *InterruptedError) ExitCode() int { return 130 }

// Waiter watches Certificates until they are Ready.
type Waiter struct {
	Dynamic dynamic.Interface
	// Progress gets one line each time a condition's reason or message changes.
	Progress io.Writer

	outage     outage
	progressMu sync.Mutex
}

// ReadyCertificate is a Certificate that became Ready, with when.
type ReadyCertificate struct {
	Ref            CertificateRef
	Object         *unstructured.Unstructured
	TransitionTime time.Time
}

// Wait blocks until every Certificate is Ready with its observedGeneration current, or the timeout
// passes (0: check once). It lists then watches; it never polls. An API server that goes away (a restart,
// a network blip) is waited for within the same timeout; a watch the server closes or expires is resumed
// or relisted.
func (w *Waiter) Wait(ctx context.Context, refs []CertificateRef, timeout time.Duration) ([]ReadyCertificate, error) {
	started := time.Now()
	deadline := started.Add(timeout)
	var ready []ReadyCertificate
	for _, ref := range refs {
		waitCtx, cancel := context.WithDeadline(ctx, deadline)
		if timeout == 0 {
			// "Check once" still needs time for its one request: a deadline already past fails it.
			waitCtx, cancel = context.WithTimeout(ctx, checkOnceLimit)
		}
		object, err := w.waitOne(waitCtx, ref, timeout == 0)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ready, &InterruptedError{}
			}
			var failed *issuanceFailed
			if errors.As(err, &failed) {
				explanation := w.explain(ctx, ref, fmt.Sprintf("%s failed to issue, %s into the wait:", ref, time.Since(started).Round(100*time.Millisecond)))
				return ready, &TimeoutError{Explanation: explanation + "\n" + failed.advice(ref)}
			}
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errNotReadyOnce) {
				if since := w.outage.downSince; !since.IsZero() {
					return ready, &TimeoutError{Explanation: fmt.Sprintf("%s is not Ready after %s: the API server has been unreachable for the last %s (since %s), so kestra-tls cannot tell why: %v",
						ref, timeout, time.Since(since).Round(time.Second), since.Format(time.TimeOnly), w.outage.lastErr)}
				}
				explanation := w.Explain(ctx, ref, timeout)
				if ctx.Err() != nil {
					return ready, &InterruptedError{}
				}
				if w.outage.total > 0 {
					explanation += fmt.Sprintf("\n  (the API server was unreachable for %s of the wait)", w.outage.total.Round(time.Second))
				}
				return ready, &TimeoutError{Explanation: explanation}
			}
			return ready, err
		}
		klog.V(4).Infof("wait: %s Ready", ref)
		ready = append(ready, ReadyCertificate{Ref: ref, Object: object, TransitionTime: readyTransition(object)})
	}
	return ready, nil
}

var errNotReadyOnce = errors.New("not ready")

// checkOnceLimit bounds the single look of --timeout 0.
const checkOnceLimit = 30 * time.Second

// outage tracks how long the API server could not be reached during a wait.
type outage struct {
	downSince time.Time
	total     time.Duration
	lastErr   error
}

// transient errors are worth waiting out: the server is restarting, overloaded or briefly unreachable.
func transient(err error) bool {
	return isUnreachable(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsInternalError(err)
}

// down records a failed request and waits a little before the next try; it returns the error when the
// wait should end instead.
func (w *Waiter) down(ctx context.Context, err error, attempt *int) error {
	if ctx.Err() != nil || !transient(err) {
		return err
	}
	if w.outage.downSince.IsZero() {
		w.outage.downSince = time.Now()
		w.printf("lost the API server (%v); waiting for it to come back\n", err)
	}
	w.outage.lastErr = err
	*attempt++
	backoff := min(time.Duration(*attempt)*250*time.Millisecond, 2*time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(backoff):
		return nil
	}
}

func (w *Waiter) up() {
	if since := w.outage.downSince; !since.IsZero() {
		gone := time.Since(since)
		w.outage.total += gone
		w.outage.downSince = time.Time{}
		w.printf("the API server is back after %s\n", gone.Round(100*time.Millisecond))
	}
}

func (w *Waiter) waitOne(ctx context.Context, ref CertificateRef, once bool) (*unstructured.Unstructured, error) {
	started := time.Now()
	client := w.Dynamic.Resource(resources.Certificates).Namespace(ref.Namespace)
	selector := fields.OneTermEqualSelector("metadata.name", ref.Name).String()
	var last string
	attempt := 0
	announced, following := false, false
	for { // list, then watch from the list's version; relist when the watch's version expired
		list, err := client.List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			if once {
				return nil, err
			}
			if err := w.down(ctx, err, &attempt); err != nil {
				return nil, err
			}
			continue
		}
		w.up()
		attempt = 0
		for i := range list.Items {
			if isReady(&list.Items[i], ref) {
				return &list.Items[i], nil
			}
			last = w.report(ref, &list.Items[i], last)
			if failed := failedSince(&list.Items[i], started); failed != nil {
				return nil, failed
			}
		}
		if once {
			return nil, errNotReadyOnce
		}
		if !following && w.Progress != nil {
			following = true
			followCtx, stopFollowing := context.WithCancel(ctx)
			defer stopFollowing()
			w.followACME(followCtx, ref)
		}
		if len(list.Items) == 0 && ref.Via != "" && !announced {
			w.printf("waiting for cert-manager to create %s from %s\n", ref, ref.Via)
			announced = true
		}
		resourceVersion := list.GetResourceVersion()
		for {
			watcher, err := client.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: resourceVersion, AllowWatchBookmarks: true})
			if err != nil {
				if err := w.down(ctx, err, &attempt); err != nil {
					return nil, err
				}
				break // relist: events may have been missed while the server was away
			}
			w.up()
			object, done, relist, err := w.consume(ctx, watcher, ref, started, &resourceVersion, &last)
			watcher.Stop()
			if done || err != nil {
				return object, err
			}
			if relist {
				break
			}
			// The server closed the watch (it does so every few minutes): resume from the last version seen.
		}
	}
}

// consume reads watch events until the Certificate is Ready (done), the context ends, the watch closes
// (resume), or its version expired (410 Gone: relist).
func (w *Waiter) consume(ctx context.Context, watcher watch.Interface, ref CertificateRef, started time.Time, resourceVersion, last *string) (object *unstructured.Unstructured, done, relist bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return nil, true, false, ctx.Err()
		case event, open := <-watcher.ResultChan():
			if !open {
				return nil, false, false, nil
			}
			switch event.Type {
			case watch.Error:
				if status := apierrors.FromObject(event.Object); apierrors.IsResourceExpired(status) || apierrors.IsGone(status) {
					w.printf("the watch expired (%v); listing again\n", status)
					return nil, false, true, nil
				}
				return nil, true, false, apierrors.FromObject(event.Object)
			case watch.Bookmark, watch.Added, watch.Modified:
				object, ok := event.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				*resourceVersion = object.GetResourceVersion()
				if event.Type == watch.Bookmark {
					continue
				}
				if isReady(object, ref) {
					return object, true, false, nil
				}
				*last = w.report(ref, object, *last)
				if failed := failedSince(object, started); failed != nil {
					return nil, true, false, failed
				}
			case watch.Deleted:
				w.printf("%s was deleted; waiting for it to come back\n", ref)
			}
		}
	}
}

func (w *Waiter) report(ref CertificateRef, object *unstructured.Unstructured, last string) string {
	condition := conditions.Find(object, "Ready")
	line := "created, no Ready condition yet"
	if condition != nil {
		line = fmt.Sprintf("Ready=%s (%s): %s", condition["status"], condition["reason"], condition["message"])
	}
	if line != last {
		w.printf("%s: %s\n", ref, line)
	}
	return line
}

func (w *Waiter) printf(format string, args ...any) {
	if w.Progress != nil {
		// The ACME followers print from their own goroutines.
		w.progressMu.Lock()
		defer w.progressMu.Unlock()
		fmt.Fprintf(w.Progress, format, args...)
	}
}

// isReady is Ready=True for the Certificate's current spec (observedGeneration), and that spec names the
// hosts we asked for.
func isReady(object *unstructured.Unstructured, ref CertificateRef) bool {
	condition := conditions.Find(object, "Ready")
	if condition == nil || condition["status"] != "True" {
		return false
	}
	observed, found, _ := unstructured.NestedInt64(condition, "observedGeneration")
	if found && observed < object.GetGeneration() {
		return false
	}
	if ref.Renewing {
		revision, _, _ := unstructured.NestedInt64(object.Object, "status", "revision")
		if revision <= ref.AfterRevision || conditions.Find(object, "Issuing") != nil {
			return false
		}
	}
	names, _, _ := unstructured.NestedStringSlice(object.Object, "spec", "dnsNames")
	ips, _, _ := unstructured.NestedStringSlice(object.Object, "spec", "ipAddresses")
	have := map[string]bool{}
	for _, name := range append(names, ips...) {
		have[name] = true
	}
	for _, host := range ref.Hosts {
		if !have[host] {
			return false
		}
	}
	return true
}

func readyTransition(object *unstructured.Unstructured) time.Time {
	if condition := conditions.Find(object, "Ready"); condition != nil {
		if text, ok := condition["lastTransitionTime"].(string); ok {
			t, _ := time.Parse(time.RFC3339, text)
			return t
		}
	}
	return time.Time{}
}

// Explain says why a Certificate is not Ready, walking the chain: the Certificate, its latest
// CertificateRequest, the issuer, ACME orders and challenges, and recent events.
func (w *Waiter) Explain(ctx context.Context, ref CertificateRef, timeout time.Duration) string {
	return w.explain(ctx, ref, fmt.Sprintf("%s is not Ready after %s:", ref, timeout))
}

func (w *Waiter) explain(ctx context.Context, ref CertificateRef, header string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", header)
	certificate, err := w.Dynamic.Resource(resources.Certificates).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if ref.Via != "" {
			shim := "ingress-shim"
			if strings.HasPrefix(ref.Via, "Gateway ") {
				shim = "gateway-shim (cert-manager started with --enable-gateway-api)"
			}
			fmt.Fprintf(&b, "  it was never created: cert-manager's %s makes it from %s's cert-manager.io annotation; is the cert-manager controller running?\n", shim, ref.Via)
		} else {
			fmt.Fprintf(&b, "  it does not exist\n")
		}
	case err != nil:
		fmt.Fprintf(&b, "  cannot read it: %v\n", err)
	default:
		writeConditions(&b, "  ", certificate)
		if kind, _, _ := unstructured.NestedString(certificate.Object, "spec", "issuerRef", "kind"); kind != "" {
			ref.IssuerKind = kind
		}
		if name, _, _ := unstructured.NestedString(certificate.Object, "spec", "issuerRef", "name"); name != "" {
			ref.IssuerName = name
		}
	}
	w.explainRequests(ctx, &b, ref)
	w.explainIssuer(ctx, &b, ref)
	w.explainEvents(ctx, &b, ref)
	return strings.TrimRight(b.String(), "\n")
}

func (w *Waiter) explainRequests(ctx context.Context, b *strings.Builder, ref CertificateRef) {
	requests, err := w.Dynamic.Resource(resources.CertificateRequests).Namespace(ref.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	var latest *unstructured.Unstructured
	latestRevision := ""
	for i := range requests.Items {
		request := &requests.Items[i]
		annotations := request.GetAnnotations()
		if annotations["cert-manager.io/certificate-name"] != ref.Name {
			continue
		}
		revision := annotations["cert-manager.io/certificate-revision"]
		if latest == nil || len(revision) > len(latestRevision) || (len(revision) == len(latestRevision) && revision > latestRevision) {
			latest, latestRevision = request, revision
		}
	}
	if latest == nil {
		fmt.Fprintf(b, "  no CertificateRequest yet\n")
		return
	}
	fmt.Fprintf(b, "  CertificateRequest %s (revision %s):\n", latest.GetName(), latestRevision)
	writeConditions(b, "    ", latest)
	w.explainACME(ctx, b, ref.Namespace, latest.GetName())
}

func (w *Waiter) explainACME(ctx context.Context, b *strings.Builder, namespace, requestName string) {
	orders, err := w.Dynamic.Resource(resources.Orders).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	var challenges *unstructured.UnstructuredList // listed once, when an order of the request shows up
	for _, order := range orders.Items {
		if !ownedBy(&order, requestName) {
			continue
		}
		state, _, _ := unstructured.NestedString(order.Object, "status", "state")
		reason, _, _ := unstructured.NestedString(order.Object, "status", "reason")
		fmt.Fprintf(b, "    ACME Order %s: state %q %s\n", order.GetName(), state, reason)
		writeHint(b, "      ", reason, "")
		if challenges == nil {
			if challenges, err = w.Dynamic.Resource(resources.Challenges).Namespace(namespace).List(ctx, metav1.ListOptions{}); err != nil {
				return
			}
		}
		for _, challenge := range challenges.Items {
			if !ownedBy(&challenge, order.GetName()) {
				continue
			}
			state, _, _ := unstructured.NestedString(challenge.Object, "status", "state")
			reason, _, _ := unstructured.NestedString(challenge.Object, "status", "reason")
			domain, _, _ := unstructured.NestedString(challenge.Object, "spec", "dnsName")
			fmt.Fprintf(b, "      ACME Challenge %s for %s: state %q %s\n", challenge.GetName(), domain, state, reason)
			writeHint(b, "        ", reason, domain)
		}
	}
}

func ownedBy(object *unstructured.Unstructured, owner string) bool {
	for _, ref := range object.GetOwnerReferences() {
		if ref.Name == owner {
			return true
		}
	}
	return false
}

func (w *Waiter) explainIssuer(ctx context.Context, b *strings.Builder, ref CertificateRef) {
	if ref.IssuerName == "" {
		return
	}
	var issuer *unstructured.Unstructured
	var err error
	if ref.IssuerKind == "ClusterIssuer" {
		issuer, err = w.Dynamic.Resource(resources.ClusterIssuers).Get(ctx, ref.IssuerName, metav1.GetOptions{})
	} else {
		issuer, err = w.Dynamic.Resource(resources.Issuers).Namespace(ref.Namespace).Get(ctx, ref.IssuerName, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		where := ""
		if ref.IssuerKind != "ClusterIssuer" {
			where = " in namespace " + ref.Namespace
		}
		fmt.Fprintf(b, "  %s %q does not exist%s: create it, or point the %s at an issuer that exists\n", ref.IssuerKind, ref.IssuerName, where, orDefault(ref.Via, "Certificate"))
	case err != nil:
		fmt.Fprintf(b, "  %s %s: cannot read it: %v\n", ref.IssuerKind, ref.IssuerName, err)
	default:
		fmt.Fprintf(b, "  %s %s:\n", ref.IssuerKind, ref.IssuerName)
		writeConditions(b, "    ", issuer)
	}
}

func (w *Waiter) explainEvents(ctx context.Context, b *strings.Builder, ref CertificateRef) {
	events, err := w.Dynamic.Resource(resources.Events).Namespace(ref.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	var lines []string
	for _, event := range events.Items {
		name, _, _ := unstructured.NestedString(event.Object, "involvedObject", "name")
		if name != ref.Name && !strings.HasPrefix(name, ref.Name+"-") {
			continue
		}
		kind, _, _ := unstructured.NestedString(event.Object, "involvedObject", "kind")
		reason, _, _ := unstructured.NestedString(event.Object, "reason")
		message, _, _ := unstructured.NestedString(event.Object, "message")
		when, _, _ := unstructured.NestedString(event.Object, "lastTimestamp")
		lines = append(lines, fmt.Sprintf("    %s %s %s/%s: %s", when, reason, kind, name, message))
	}
	if len(lines) == 0 {
		return
	}
	sort.Strings(lines)
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	fmt.Fprintf(b, "  recent events:\n%s\n", strings.Join(lines, "\n"))
}

func writeConditions(b *strings.Builder, indent string, object *unstructured.Unstructured) {
	conditions, _, _ := unstructured.NestedSlice(object.Object, "status", "conditions")
	if len(conditions) == 0 {
		fmt.Fprintf(b, "%sno conditions yet\n", indent)
	}
	for _, c := range conditions {
		condition, _ := c.(map[string]any)
		fmt.Fprintf(b, "%s%s=%s (%s): %s\n", indent, condition["type"], condition["status"], condition["reason"], condition["message"])
		if message, _ := condition["message"].(string); condition["status"] != "True" {
			writeHint(b, indent+"  ", message, "")
		}
	}
}

// writeHint adds what to do about a message, when we know; host, when known, fills the hint's HOST.
func writeHint(b *strings.Builder, indent, message, host string) {
	if hint := acmeHint(message); hint != "" {
		fmt.Fprintf(b, "%s-> %s\n", indent, strings.ReplaceAll(hint, "HOST", orDefault(host, "<host>")))
	}
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

// issuanceFailed is an issuance cert-manager gave up on during the wait: it tries again only after its
// backoff (an hour, doubling), so waiting longer cannot help.
type issuanceFailed struct {
	at       time.Time
	attempts int64
}

// clockSkew allows for cert-manager's clock running behind ours when telling a failure of this wait from
// an older one.
const clockSkew = 5 * time.Second

// failedSince returns the failure of the Certificate's issuance when it happened during this wait and no
// new attempt runs (Issuing is not True).
func failedSince(object *unstructured.Unstructured, started time.Time) *issuanceFailed {
	text, _, _ := unstructured.NestedString(object.Object, "status", "lastFailureTime")
	at, err := time.Parse(time.RFC3339, text)
	if err != nil || at.Before(started.Add(-clockSkew)) {
		return nil
	}
	if conditions.IsTrue(object, "Issuing") {
		return nil
	}
	attempts, _, _ := unstructured.NestedInt64(object.Object, "status", "failedIssuanceAttempts")
	return &issuanceFailed{at: at, attempts: attempts}
}

func (f *issuanceFailed) Error() string { return "cert-manager gave up on the issuance" }

func (f *issuanceFailed) advice(ref CertificateRef) string {
	return fmt.Sprintf("  cert-manager gave up on this issuance at %s (failed attempt %d) and retries only after its backoff (1h, doubling), so kestra-tls stopped waiting: fix the cause above, then start a new attempt at once with `kubectl kestra-tls renew -n %s` (or `cmctl renew -n %[3]s %s`)",
		f.at.Local().Format(time.TimeOnly), f.attempts, ref.Namespace, ref.Name)
}
