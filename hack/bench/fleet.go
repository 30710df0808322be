package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/apply"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/overlays"
)

// fleet measures what users meet when they outgrow one install: `status -A` over many installs (created in
// bulk, straight through the API, from a built overlay: status reads them as it reads any), with the
// number of its API requests against the same over 10; and many applies at once, one process per namespace.
func fleet(c *cluster.Cluster, plugin, work string, installs, parallel int) error {
	say("## 7. Fleet scale\n\n")
	overlay := filepath.Join(work, "fleet-overlay")
	// Our CA straight into a TLS Secret (no cert-manager): each install is its Ingress, Secret, Deployment
	// and Service, as status finds it; none waits on an issuer.
	if _, err := runInProcess(nil, "generate", "-o", overlay, "--host", "kestra.example.com", "--self-signed", "--no-cert-manager"); err != nil {
		return err
	}
	built, err := overlays.Build(overlay)
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
	say("`status -A` over N installs made in bulk (%d objects each: %s), on the real kube-apiserver; whole process, %d runs:\n\n", len(objects), kinds(objects), *runs)
	say("| installs | API requests | median | min - max | peak memory (max RSS) |\n|---|---|---|---|---|\n")
	made := 0
	for _, n := range []int{10, installs} {
		if err := createInstalls(c, objects, made, n); err != nil {
			return err
		}
		made = n
		counts := &requestCounter{}
		if _, err := runInProcess(counts, "status", "-A", "-o", "json", "--kubeconfig", c.Kubeconfig, "--cache-dir", filepath.Join(work, "discovery-fleet")); err != nil && !isVerdict(err) {
			return err
		}
		var times durations
		var rss []int64
		for i := 0; i < *runs; i++ {
			took, peak, err := measure(plugin, []int{0, 2, 3}, "status", "-A", "-o", "json", "--kubeconfig", c.Kubeconfig, "--cache-dir", filepath.Join(work, "discovery-fleet"))
			if err != nil {
				return err
			}
			times, rss = append(times, took), append(rss, peak)
		}
		say("| %d (and the installs of the sections above) | %d | %s | %s | %s |\n", n, counts.total(), times.median(), times.span(), mb(median(rss)))
	}
	say("\n")
	return parallelApply(c, plugin, work, parallel)
}

// isVerdict: status's exit 2 or 3 is its verdict on the installs, not a failure of the command.
func isVerdict(err error) bool {
	return err != nil && strings.Contains(err.Error(), "(see the report above)")
}

// createInstalls makes the objects of installs from..to-1, each in its own namespace, 16 at a time.
func createInstalls(c *cluster.Cluster, objects []*unstructured.Unstructured, from, to int) error {
	ctx := context.Background()
	jobs := make(chan int)
	errs := make(chan error, to-from)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ns := fmt.Sprintf("fleet-%d", i)
				if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
					errs <- err
					continue
				}
				for _, object := range objects {
					copied := object.DeepCopy()
					copied.SetNamespace(ns)
					gvk := copied.GroupVersionKind()
					resource := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: plural(gvk.Kind)}
					if _, err := c.Dynamic.Resource(resource).Namespace(ns).Create(ctx, copied, metav1.CreateOptions{}); err != nil {
						errs <- fmt.Errorf("%s %s in %s: %v", gvk.Kind, copied.GetName(), ns, err)
					}
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs // nil when none
}

func plural(kind string) string {
	return map[string]string{"Ingress": "ingresses", "Secret": "secrets", "Deployment": "deployments", "Service": "services", "ConfigMap": "configmaps"}[kind]
}

func kinds(objects []*unstructured.Unstructured) string {
	var names []string
	for _, o := range objects {
		names = append(names, o.GetKind())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// parallelApply runs `apply` of one overlay per namespace, n processes at once, each waiting until
// cert-manager's certificate (our CA's Issuer in that namespace) is Ready.
func parallelApply(c *cluster.Cluster, plugin, work string, n int) error {
	caDir := filepath.Join(work, "fleet-ca")
	dirs := make([]string, n)
	for i := range n {
		dirs[i] = filepath.Join(work, fmt.Sprintf("parallel-%d", i))
		if _, err := runInProcess(nil, "generate", "-o", dirs[i], "--host", "kestra.example.com", "--self-signed", "--ca-dir", caDir, "-n", fmt.Sprintf("parallel-%d", i)); err != nil {
			return err
		}
	}
	times := make([]time.Duration, n)
	rss := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	started := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			times[i], rss[i], errs[i] = measure(plugin, []int{0}, "apply", dirs[i], "--create-namespace", "--timeout", "5m", "--kubeconfig", c.Kubeconfig, "--cache-dir", filepath.Join(work, "discovery-parallel"))
		}()
	}
	wg.Wait()
	wall := time.Since(started)
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("apply %d of %d: %v", i+1, n, err)
		}
	}
	ready := 0
	for i := range n {
		got, err := c.Dynamic.Resource(certificatesGVR).Namespace(fmt.Sprintf("parallel-%d", i)).Get(context.Background(), "kestra-tls", metav1.GetOptions{})
		if err == nil && conditionTrue(got, "Ready") {
			ready++
		}
	}
	var d durations = times
	say("%d applies at once, one process per namespace, each until its certificate is Ready (real cert-manager):\n\n", n)
	say("| processes | Ready | wall time | per process (median, min - max) | peak memory per process (median / max) |\n|---|---|---|---|---|\n")
	say("| %d | %d | %s | %s, %s | %s / %s |\n\n", n, ready, round(wall), d.median(), d.span(), mb(median(rss)), mb(maxOf(rss)))
	if ready != n {
		return fmt.Errorf("%d of %d certificates Ready after the parallel applies", ready, n)
	}
	return nil
}

func conditionTrue(object *unstructured.Unstructured, kind string) bool {
	conditions, _, _ := unstructured.NestedSlice(object.Object, "status", "conditions")
	for _, c := range conditions {
		fields, _ := c.(map[string]any)
		if fields["type"] == kind && fields["status"] == "True" {
			return true
		}
	}
	return false
}

// measure runs one process and returns its wall time and peak resident memory; an exit code among ok is
// success (status's verdicts).
func measure(name string, ok []int, args ...string) (time.Duration, int64, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	err := cmd.Run()
	elapsed := time.Since(started)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && contains(ok, exit.ExitCode())) {
		return 0, 0, fmt.Errorf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.String())
	}
	var peak int64
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = usage.Maxrss * 1024 // kilobytes on Linux
	}
	return elapsed, peak, nil
}

func contains(values []int, v int) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

func median(values []int64) int64 {
	sorted := append([]int64{}, values...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	return sorted[len(sorted)/2]
}

func maxOf(values []int64) int64 {
	var m int64
	for _, v := range values {
		m = max(m, v)
	}
	return m
}

func mb(bytes int64) string { return fmt.Sprintf("%.0f MB", float64(bytes)/1e6) }
