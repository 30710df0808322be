// Command bench measures kubectl kestra-tls against what users do today, side by side on this machine,
// and prints Markdown tables (make bench; BENCHMARKS.md reports a run):
//
//  1. certs (ECDSA, RSA-4096) against the guide's openssl+keytool pipeline, whole processes;
//  2. cold start of --help and version, and binary size against kubectl's;
//  3. on the real control plane with the real cert-manager: apply --wait against kubectl apply -k plus
//     kubectl wait, the readiness latency, the same through ACME (pebble), the API requests of one apply,
//     and 1/10/50 installs;
//  7. fleet scale: status -A over 1000 installs made in bulk, and 20 applies at once.
//
// -quick runs everything once with small sizes: `make test` uses it to check that every benchmark runs.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/cli"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/acme"
	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil/cluster"
)

var (
	runs   = flag.Int("runs", 7, "repetitions of each whole-process timing")
	quick  = flag.Bool("quick", false, "run every benchmark once, small (a check, not a measurement)")
	sizes  = flag.String("scale", "1,10,50", "numbers of installs for the scale benchmark")
	output = flag.String("o", "", "also write the report to this file")
	before = flag.String("before", "", "a folder holding an earlier build (kubectl-kestra_tls and the files beside it): sections 1, 2, 2b, 3 and 3c time it and this one interleaved, side by side")
	only   = flag.String("sections", "", "run only these sections, comma-separated (1, 2, 2b, 3, 3b, 3c, 4, 5, 7); empty: all")
)

// build is one set of the plugin's binaries under test: this tree's (bin/), or -before's.
type build struct {
	label  string // "" without -before
	plugin string
}

func (b build) name(command string) string {
	if b.label == "" {
		return command
	}
	return command + " (" + b.label + ")"
}

// section tells whether -sections includes name.
func section(name string) bool {
	if *only == "" {
		return true
	}
	for _, s := range strings.Split(*only, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

var report bytes.Buffer

func say(format string, args ...any) {
	fmt.Fprintf(&report, format, args...)
	fmt.Printf(format, args...)
}

func main() {
	flag.Parse()
	if *quick {
		*runs, *sizes = 1, "1,2"
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *output != "" {
		if err := os.WriteFile(*output, report.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func run() error {
	bin := testutil.BinDir()
	plugin := filepath.Join(bin, "kubectl-kestra_tls")
	kubectl := filepath.Join(bin, "kubectl")
	for _, path := range []string{plugin, kubectl} {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s is missing: run make build tools", path)
		}
	}
	testutil.KillOrphans() // what an interrupted run of the bench or the tests left holding ports
	work, err := os.MkdirTemp("", "kestra-tls-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	builds := []build{{plugin: plugin}}
	if *before != "" {
		earlier := filepath.Join(*before, "kubectl-kestra_tls")
		if _, err := os.Stat(earlier); err != nil {
			return fmt.Errorf("-before %s: no kubectl-kestra_tls there (build the earlier commit with make build and pass its bin/)", *before)
		}
		// Before first in each pair of runs, after second, then the other way round: see interleave.
		builds = []build{{"before", earlier}, {"after", plugin}}
	}
	say("Machine: %s/%s, %d cores, %s. Runs per timing: %d.\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), *runs)
	if section("1") {
		if err := certificates(builds, work); err != nil {
			return err
		}
	}
	if section("2") {
		if err := coldStart(builds, kubectl); err != nil {
			return err
		}
		if err := machineFloor(work); err != nil {
			return err
		}
	}
	if section("2b") {
		if err := chartBase(builds, work); err != nil {
			return err
		}
	}
	return onCluster(builds, kubectl, work)
}

// interleave runs each build once per run, alternating which goes first, so that a slow moment of the
// machine hits both alike.
func interleave(builds []build, run int, do func(b build, index int) error) error {
	for k := range builds {
		i := k
		if run%2 == 1 {
			i = len(builds) - 1 - k
		}
		if err := do(builds[i], i); err != nil {
			return err
		}
	}
	return nil
}

// --- 1. certificates -------------------------------------------------------------------------------

func certificates(builds []build, work string) error {
	guide := filepath.Join(testutil.RepoRoot(), "hack", "guide-pipeline.sh")
	var pipeline durations
	ecdsa, rsa := make([]durations, len(builds)), make([]durations, len(builds))
	ecdsaRatio, rsaRatio := make([][]float64, len(builds)), make([][]float64, len(builds))
	for i := 0; i < *runs; i++ {
		// Interleaved, so a busy moment of the machine hits all alike.
		g, err := timeProcess(nil, guide, filepath.Join(work, fmt.Sprintf("guide-%d", i)))
		if err != nil {
			return err
		}
		pipeline = append(pipeline, g)
		err = interleave(builds, i, func(b build, k int) error {
			e, err := timeProcess(nil, b.plugin, "certs", "--host", "kestra.example.com", "-o", filepath.Join(work, fmt.Sprintf("ecdsa-%d-%d", k, i)))
			if err != nil {
				return err
			}
			r, err := timeProcess(nil, b.plugin, "certs", "--host", "kestra.example.com", "--key-algorithm", "rsa-4096", "-o", filepath.Join(work, fmt.Sprintf("rsa-%d-%d", k, i)))
			if err != nil {
				return err
			}
			ecdsa[k], rsa[k] = append(ecdsa[k], e), append(rsa[k], r)
			ecdsaRatio[k] = append(ecdsaRatio[k], float64(g)/float64(e))
			rsaRatio[k] = append(rsaRatio[k], float64(g)/float64(r))
			return nil
		})
		if err != nil {
			return err
		}
	}
	say("## 1. Certificates and keystores: `certs` against the guide's openssl+keytool pipeline\n\n")
	say("| command | median | min - max | guide / ours, per pair of runs (median, min - max) |\n|---|---|---|---|\n")
	say("| `hack/guide-pipeline.sh DIR` (RSA-4096, 5 openssl + 2 keytool) | %s | %s | 1 |\n", pipeline.median(), pipeline.span())
	for k, b := range builds {
		say("| %s | %s | %s | %s |\n", b.name("`kubectl-kestra_tls certs --host kestra.example.com` (ECDSA P-256)"), ecdsa[k].median(), ecdsa[k].span(), ratios(ecdsaRatio[k]))
	}
	for k, b := range builds {
		say("| %s | %s | %s | %s |\n", b.name("`kubectl-kestra_tls certs --host kestra.example.com --key-algorithm rsa-4096`"), rsa[k].median(), rsa[k].span(), ratios(rsaRatio[k]))
	}
	say("\n")
	return nil
}

// --- 2. cold start and size ------------------------------------------------------------------------

func coldStart(builds []build, kubectl string) error {
	say("## 2. Start-up, beside `kubectl version --client`\n\nEach run times ours and kubectl's back to back (alternating which goes first); the ratio is ours / kubectl's per pair, median and span over %d pairs. Goal: at most 0.5.\n\n| command | median | kubectl's median | ours / kubectl's (median, min - max) |\n|---|---|---|---|\n", *runs*3)
	for _, args := range [][]string{{"version"}, {"--help"}, {"certs", "--help"}, {"generate", "--help"}} {
		d := make([]durations, len(builds))
		var theirs durations
		r := make([][]float64, len(builds))
		for i := 0; i < *runs*3; i++ {
			err := interleave(builds, i, func(b build, k int) error {
				var ours, kube time.Duration
				var err error
				if i%2 == 0 {
					if ours, err = timeProcess(nil, b.plugin, args...); err == nil {
						kube, err = timeProcess(nil, kubectl, "version", "--client")
					}
				} else if kube, err = timeProcess(nil, kubectl, "version", "--client"); err == nil {
					ours, err = timeProcess(nil, b.plugin, args...)
				}
				d[k], theirs = append(d[k], ours), append(theirs, kube)
				r[k] = append(r[k], float64(ours)/float64(kube))
				return err
			})
			if err != nil {
				return err
			}
		}
		for k, b := range builds {
			say("| %s | %s | %s | %s |\n", b.name("`kubectl-kestra_tls "+strings.Join(args, " ")+"`"), d[k].median(), theirs.median(), ratios(r[k]))
		}
	}

	say("\nPackage initialization (`GODEBUG=inittrace=1`, the sum of every package's init clock; %d runs, min / median):\n\n| command | init |\n|---|---|\n", *runs*3)
	for _, args := range [][]string{{"version"}, {"certs", "--help"}} {
		sums := make([]durations, len(builds))
		for i := 0; i < *runs*3; i++ {
			err := interleave(builds, i, func(b build, k int) error {
				sum, err := initTrace(b.plugin, args...)
				sums[k] = append(sums[k], sum)
				return err
			})
			if err != nil {
				return err
			}
		}
		for k, b := range builds {
			say("| %s | %s / %s |\n", b.name("`kubectl-kestra_tls "+strings.Join(args, " ")+"`"), sums[k].sorted()[0], sums[k].median())
		}
	}
	theirs, _ := os.Stat(kubectl)
	say("\nBinary sizes (stripped, -trimpath; kubectl v1.37.2: %.1f MB):\n\n| build | files | total |\n|---|---|---|\n", float64(theirs.Size())/1e6)
	for _, b := range builds {
		files, total := binarySizes(filepath.Dir(b.plugin))
		label := b.label
		if label == "" {
			label = "this tree"
		}
		say("| %s | %s | %.1f MB |\n", label, files, total)
	}
	say("\n")
	return nil
}

// initTrace is the sum of the init clock the Go runtime reports for every package of one run.
func initTrace(binary string, args ...string) (time.Duration, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %v: %v", binary, args, err)
	}
	var sum float64
	for _, line := range strings.Split(stderr.String(), "\n") {
		// init internal/bytealg @0.007 ms, 0 ms clock, 0 bytes, 0 allocs
		fields := strings.Fields(line)
		if len(fields) >= 7 && fields[0] == "init" && fields[6] == "clock," {
			var ms float64
			fmt.Sscan(fields[4], &ms)
			sum += ms
		}
	}
	return time.Duration(sum * float64(time.Millisecond)), nil
}

// binarySizes lists the plugin's binaries in dir and their total size in MB.
func binarySizes(dir string) (string, float64) {
	var parts []string
	var total float64
	// An earlier build (-before) may have shipped more than one file.
	for _, name := range []string{"kubectl-kestra_tls", "kestra-tls-engine", "kestra-tls-compose"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
			mb := float64(info.Size()) / 1e6
			parts = append(parts, fmt.Sprintf("%s %.1f MB", name, mb))
			total += mb
		}
	}
	return strings.Join(parts, ", "), total
}

// --- 2b. over the official chart --------------------------------------------------------------------

// chartBase times generate over the official chart in distributed mode, rendered by the real helm, as a
// chart user runs it: the overlay over `helm template` output, and the helm values.
func chartBase(builds []build, work string) error {
	chart := filepath.Join(testutil.RepoRoot(), "..", "shared", "fixtures", "kestra-chart", "kestra")
	if _, err := os.Stat(filepath.Join(chart, "Chart.yaml")); err != nil {
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("the official Kestra chart is missing at %s", chart)
		}
		say("## 2b. Over the official chart\n\nSkipped: no chart at %s (../shared is only beside this team's clones).\n\n", chart)
		return nil
	}
	values := filepath.Join(work, "chart-values.yaml")
	distributed := `{"deployments":{"standalone":{"enabled":false},"webserver":{"enabled":true},"executor":{"enabled":true},"worker":{"enabled":true},"scheduler":{"enabled":true},"indexer":{"enabled":true}},` +
		`"configurations":{"application":` + testutil.ChartConfiguration + `}}`
	if err := os.WriteFile(values, []byte(distributed), 0o644); err != nil {
		return err
	}
	rendered, err := exec.Command(filepath.Join(testutil.BinDir(), "helm"), "template", "kestra", chart, "-n", "kestra", "-f", values).Output()
	if err != nil {
		return fmt.Errorf("helm template: %v", err)
	}
	base := filepath.Join(work, "kestra-distributed.yaml")
	if err := os.WriteFile(base, rendered, 0o644); err != nil {
		return err
	}
	say("## 2b. Over the official chart (distributed: webserver, executor, worker, scheduler, indexer)\n\n")
	cases := []struct {
		label string
		args  []string
	}{
		{"`generate --mode app --base kestra-distributed.yaml --outbound-trust` (first run: new CA and stores)", []string{"generate", "--mode", "app", "--host", "kestra.example.com", "--base", base, "--outbound-trust", "--ca-bundle", "/etc/ssl/certs/ca-certificates.crt"}},
		{"the same again (re-run over its own output)", nil},
		{"`generate --base kestra-distributed.yaml --self-signed` (ingress mode, re-run)", []string{"generate", "--host", "kestra.example.com", "--base", base, "--self-signed"}},
		{"`generate --target helm --mode app --chart-values chart-values.yaml` (re-run)", []string{"generate", "--target", "helm", "--mode", "app", "--host", "kestra.example.com", "--chart-values", values}},
	}
	if err := againstHelmAndKustomize(builds, chart, values, base, work); err != nil {
		return err
	}
	for i, c := range cases {
		d := make([]durations, len(builds))
		for run := 0; run < *runs; run++ {
			err := interleave(builds, run, func(b build, k int) error {
				args := c.args
				dir := filepath.Join(work, fmt.Sprintf("chart-%d-%d-%d", k, i, run))
				if args == nil { // the first case again, into its own finished output
					args, dir = cases[0].args, filepath.Join(work, fmt.Sprintf("chart-%d-0-%d", k, run))
				} else if i > 1 {
					// Re-runs: the first run made the material; time the second.
					if _, err := timeProcess(nil, b.plugin, append(args, "-o", dir)...); err != nil {
						return err
					}
				}
				t, err := timeProcess(nil, b.plugin, append(args, "-o", dir)...)
				d[k] = append(d[k], t)
				return err
			})
			if err != nil {
				return err
			}
		}
		for k, b := range builds {
			say("| %s | %s | %s |\n", b.name(c.label), d[k].median(), d[k].span())
		}
	}
	say("\n")
	return nil
}

// againstHelmAndKustomize times generate over the chart's output (ingress mode, re-run) against what a chart
// user runs anyway to get manifests out of the same chart and our overlay: `helm template` of the chart plus
// `kubectl kustomize` of the overlay. Goal: at most 0.5.
func againstHelmAndKustomize(builds []build, chart, values, base, work string) error {
	helm, kubectl := filepath.Join(testutil.BinDir(), "helm"), filepath.Join(testutil.BinDir(), "kubectl")
	args := []string{"generate", "--host", "kestra.example.com", "--base", base, "--self-signed"}
	d := make([]durations, len(builds))
	var theirs durations
	r := make([][]float64, len(builds))
	for run := 0; run < *runs; run++ {
		err := interleave(builds, run, func(b build, k int) error {
			dir := filepath.Join(work, fmt.Sprintf("vs-helm-%d-%d", k, run))
			if _, err := timeProcess(nil, b.plugin, append(args, "-o", dir)...); err != nil { // the material, outside the timing
				return err
			}
			ours, err := timeProcess(nil, b.plugin, append(args, "-o", dir)...)
			if err != nil {
				return err
			}
			h, err := timeProcess(nil, helm, "template", "kestra", chart, "-n", "kestra", "-f", values)
			if err != nil {
				return err
			}
			kz, err := timeProcess(nil, kubectl, "kustomize", dir)
			if err != nil {
				return err
			}
			d[k], theirs = append(d[k], ours), append(theirs, h+kz)
			r[k] = append(r[k], float64(ours)/float64(h+kz))
			return nil
		})
		if err != nil {
			return err
		}
	}
	say("`generate --base kestra-distributed.yaml --self-signed` (re-run) against `helm template` of the chart plus `kubectl kustomize` of the overlay, per run (goal: at most 0.5):\n\n| build | generate | helm template + kubectl kustomize | ours / theirs (median, min - max) |\n|---|---|---|---|\n")
	for k, b := range builds {
		label := b.label
		if label == "" {
			label = "this tree"
		}
		say("| %s | %s | %s | %s |\n", label, d[k].median(), theirs.median(), ratios(r[k]))
	}
	say("\n| command | median | min - max |\n|---|---|---|\n")
	return nil
}

// --- 3. on the control plane -----------------------------------------------------------------------

var certificatesGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}

func onCluster(builds []build, kubectl, work string) error {
	if !section("3") && !section("3b") && !section("3c") && !section("4") && !section("5") && !section("7") {
		return nil
	}
	plugin := builds[len(builds)-1].plugin // this tree's
	c, err := cluster.Start(true)
	if err != nil {
		return err
	}
	defer c.Stop()
	dns, err := acme.StartDNS()
	if err != nil {
		return err
	}
	defer dns.Stop()
	c.CertManagerArgs = []string{"--acme-http01-solver-nameservers", dns.Addr}
	if err := c.StartCertManager(); err != nil {
		return err
	}
	ctx := context.Background()
	seen := watchReady(ctx, c)
	overlay := filepath.Join(work, "overlay")
	caDir := filepath.Join(work, "ca")
	if _, err := runInProcess(nil, "generate", "-o", overlay, "--host", "kestra.example.com", "--self-signed", "--ca-dir", caDir); err != nil {
		return err
	}
	cache := filepath.Join(work, "discovery")
	kube := []string{"--kubeconfig", c.Kubeconfig, "--cache-dir", cache}
	// Warm both tools' discovery caches once, outside the timings.
	if _, err := runInProcess(nil, append([]string{"apply", overlay, "-n", "warm", "--create-namespace", "--timeout", "60s"}, kube...)...); err != nil {
		return err
	}

	// kubectl apply -k -n refuses an overlay that also holds cert-manager's CA Secret, so both tools get
	// overlays with their namespace set (generate -n), made outside the timings.
	overlayFor := func(ns string) (string, error) {
		dir := filepath.Join(work, "overlay-"+ns)
		_, err := runInProcess(nil, "generate", "-o", dir, "--host", "kestra.example.com", "--self-signed", "--ca-dir", caDir, "-n", ns)
		return dir, err
	}
	applyIn := func(b build, ns string, extraObjects int) (time.Duration, time.Time, error) {
		dir, err := overlayFor(ns)
		if err != nil {
			return 0, time.Time{}, err
		}
		if err := addConfigMaps(dir, extraObjects); err != nil {
			return 0, time.Time{}, err
		}
		c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		started := time.Now()
		if _, err := timeProcess(nil, b.plugin, append([]string{"apply", dir, "--timeout", "60s"}, kube...)...); err != nil {
			return 0, time.Time{}, err
		}
		ended := time.Now()
		return ended.Sub(started), ended, nil
	}
	if section("3") {
		ours, latencyOurs := make([]durations, len(builds)), make([]durations, len(builds))
		var theirs, latencyTheirs durations
		for i := 0; i < *runs; i++ {
			err := interleave(builds, i, func(b build, k int) error {
				ns := fmt.Sprintf("ours-%d-%d", k, i)
				took, ended, err := applyIn(b, ns, 0)
				ours[k] = append(ours[k], took)
				latencyOurs[k] = append(latencyOurs[k], ended.Sub(seen.wait(ns)))
				return err
			})
			if err != nil {
				return err
			}
			ns := fmt.Sprintf("theirs-%d", i)
			dir, err := overlayFor(ns)
			if err != nil {
				return err
			}
			c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
			started := time.Now()
			if err := kubectlApplyAndWait(kubectl, c.Kubeconfig, cache, dir, ns, "60s"); err != nil {
				return err
			}
			ended := time.Now()
			theirs = append(theirs, ended.Sub(started))
			latencyTheirs = append(latencyTheirs, ended.Sub(seen.wait(ns)))
		}
		say("## 3. Apply and wait, on a real kube-apiserver with the real cert-manager (ingress mode, our CA as a namespaced Issuer)\n\n")
		say("| command | median | min - max |\n|---|---|---|\n")
		for k, b := range builds {
			say("| %s | %s | %s |\n", b.name("`kubectl-kestra_tls apply DIR` (apply, then watch until Ready)"), ours[k].median(), ours[k].span())
		}
		say("| `kubectl apply -k DIR && kubectl wait --for=create certificate/kestra-tls -n NS && kubectl wait --for=condition=Ready certificate/kestra-tls -n NS` | %s | %s |\n", theirs.median(), theirs.span())
		for k, b := range builds {
			say("| %s | %.2f | |\n", b.name("ours / theirs"), float64(ours[k].median())/float64(theirs.median()))
		}
		say("\nReadiness latency, from the moment an independent watch in the benchmark sees the Certificate Ready to the command's exit:\n\n")
		say("| command | median | min - max |\n|---|---|---|\n")
		for k, b := range builds {
			say("| %s | %s | %s |\n", b.name("kubectl-kestra_tls apply"), latencyOurs[k].median(), latencyOurs[k].span())
		}
		say("| kubectl wait --for=condition=Ready | %s | %s |\n\n", latencyTheirs.median(), latencyTheirs.span())
	}
	if section("3c") {
		five, ten := make([]durations, len(builds)), make([]durations, len(builds))
		for i := 0; i < *runs; i++ {
			err := interleave(builds, i, func(b build, k int) error {
				took, _, err := applyIn(b, fmt.Sprintf("five-%d-%d", k, i), 0)
				five[k] = append(five[k], took)
				if err != nil {
					return err
				}
				took, _, err = applyIn(b, fmt.Sprintf("ten-%d-%d", k, i), 5)
				ten[k] = append(ten[k], took)
				return err
			})
			if err != nil {
				return err
			}
		}
		say("## 3c. Apply and wait: the benchmark's 5 objects, and the same with 5 ConfigMaps added to the overlay (10 objects)\n\n")
		say("| apply | 5 objects | 10 objects | 10 / 5 |\n|---|---|---|---|\n")
		for k, b := range builds {
			say("| %s | %s | %s | %.2f |\n", b.name("`kubectl-kestra_tls apply DIR`"), five[k].median(), ten[k].median(), float64(ten[k].median())/float64(five[k].median()))
		}
		say("\n")
	}
	if section("3b") {
		if err := throughACME(plugin, kubectl, work, c, dns, seen); err != nil {
			return err
		}
	}
	if section("4") {
		if err := roundTrips(c, overlay, work); err != nil {
			return err
		}
	}
	if section("5") {
		if err := scale(c, overlay, work); err != nil {
			return err
		}
	}
	if section("7") {
		installs, parallel := 1000, 20
		if *quick {
			installs, parallel = 20, 3
		}
		return fleet(c, plugin, work, installs, parallel)
	}
	return nil
}

// addConfigMaps adds n ConfigMaps to an overlay, as a user adds resources of their own.
func addConfigMaps(dir string, n int) error {
	if n == 0 {
		return nil
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-%d\ndata:\n  key: value-%d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	kustomization := filepath.Join(dir, "kustomization.yaml")
	data, err := os.ReadFile(kustomization)
	if err != nil {
		return err
	}
	return os.WriteFile(kustomization, []byte(strings.Replace(string(data), "resources:\n", "resources:\n  - extra.yaml\n", 1)), 0o644)
}

// roundTrips counts the HTTP requests of one apply (in-process, through a counting transport): into a new
// namespace with an empty discovery cache, into another with the cache filled, and that second one again.
func roundTrips(c *cluster.Cluster, overlay, work string) error {
	say("## 4. API requests of one apply\n\n| apply | writes (PATCH) | reads (GET, LIST) | watches | discovery | total |\n|---|---|---|---|---|---|\n")
	cache := filepath.Join(work, "discovery-roundtrips")
	for _, step := range []struct{ label, namespace string }{
		{"into a new namespace, empty discovery cache", "round-trips-cold"},
		{"into a new namespace, discovery cached", "round-trips-warm"},
		{"the same again: nothing changed", "round-trips-warm"},
	} {
		c.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: step.namespace}}, metav1.CreateOptions{})
		counts := &requestCounter{}
		if _, err := runInProcess(counts, "apply", overlay, "-n", step.namespace, "--kubeconfig", c.Kubeconfig, "--cache-dir", cache, "--timeout", "60s"); err != nil {
			return err
		}
		say("| %s | %d | %d | %d | %d | %d |\n", step.label, counts.get("write"), counts.get("read"), counts.get("watch"), counts.get("discovery"), counts.total())
	}
	built, err := runInProcess(nil, "generate", "-o", overlay, "--dry-run")
	if err != nil {
		return err
	}
	say("\nThe overlay holds %d objects, each written by one server-side apply request.\n\n", strings.Count("\n"+built, "\nkind: "))
	return nil
}

// scale applies N installs, each in its own namespace with its own Certificate, one after another.
func scale(c *cluster.Cluster, overlay, work string) error {
	say("## 5. Scale: N installs, each in its own namespace with its own Certificate\n\n")
	say("| installs | total | per install | API requests per install |\n|---|---|---|---|\n")
	cache := filepath.Join(work, "discovery-scale")
	var statusRows []string
	for _, field := range strings.Split(*sizes, ",") {
		var n int
		fmt.Sscan(field, &n)
		counts := &requestCounter{}
		started := time.Now()
		for i := 0; i < n; i++ {
			ns := fmt.Sprintf("scale-%d-%d", n, i)
			if _, err := runInProcess(counts, "apply", overlay, "-n", ns, "--create-namespace", "--kubeconfig", c.Kubeconfig, "--cache-dir", cache, "--timeout", "60s"); err != nil {
				return err
			}
		}
		total := time.Since(started)
		say("| %d | %s | %s | %.1f |\n", n, round(total), round(total/time.Duration(n)), float64(counts.total())/float64(n))
		row, err := statusRow(filepath.Join(testutil.BinDir(), "kubectl-kestra_tls"), c, work, n)
		if err != nil {
			return err
		}
		statusRows = append(statusRows, row)
	}
	say("\n## 6. `status -A` over the installs of the cluster (every install of the sections above is found too)\n\n")
	say("| installs found | API requests | median (whole process) | min - max |\n|---|---|---|---|\n%s\n", strings.Join(statusRows, ""))
	return nil
}

// --- helpers ---------------------------------------------------------------------------------------

// readyWatch records when an independent watch first sees each namespace's Certificate Ready.
type readyWatch struct {
	mu    sync.Mutex
	ready map[string]time.Time
	cond  *sync.Cond
}

func watchReady(ctx context.Context, c *cluster.Cluster) *readyWatch {
	w := &readyWatch{ready: map[string]time.Time{}}
	w.cond = sync.NewCond(&w.mu)
	go func() {
		for ctx.Err() == nil {
			watcher, err := c.Dynamic.Resource(certificatesGVR).Watch(ctx, metav1.ListOptions{})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for event := range watcher.ResultChan() {
				object, ok := event.Object.(*unstructured.Unstructured)
				if !ok || (event.Type != watch.Added && event.Type != watch.Modified) {
					continue
				}
				conditions, _, _ := unstructured.NestedSlice(object.Object, "status", "conditions")
				for _, raw := range conditions {
					condition, _ := raw.(map[string]any)
					if condition["type"] == "Ready" && condition["status"] == "True" {
						w.mu.Lock()
						if _, done := w.ready[object.GetNamespace()]; !done {
							w.ready[object.GetNamespace()] = time.Now()
							w.cond.Broadcast()
						}
						w.mu.Unlock()
					}
				}
			}
		}
	}()
	return w
}

func (w *readyWatch) wait(namespace string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if t, ok := w.ready[namespace]; ok {
			return t
		}
		w.cond.Wait()
	}
}

type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (r *requestCounter) wrap(config *rest.Config) *rest.Config {
	config.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			r.add(classify(req))
			return next.RoundTrip(req)
		})
	})
	return config
}

func classify(req *http.Request) string {
	path := req.URL.Path
	switch {
	case req.URL.Query().Get("watch") == "true":
		return "watch"
	case req.Method == http.MethodPatch || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodDelete:
		return "write"
	case path == "/api" || path == "/apis" || strings.HasPrefix(path, "/openapi") || (strings.Count(strings.Trim(path, "/"), "/") <= 2 && strings.HasPrefix(path, "/apis/")) || path == "/api/v1":
		return "discovery"
	}
	return "read"
}

func (r *requestCounter) add(kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[kind]++
}

func (r *requestCounter) get(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[kind]
}

func (r *requestCounter) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	sum := 0
	for _, n := range r.counts {
		sum += n
	}
	return sum
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// runInProcess runs the plugin's command tree in this process, optionally counting its API requests.
func runInProcess(counts *requestCounter, args ...string) (string, error) {
	if counts != nil {
		cli.SetConfigWrapper(counts.wrap)
		defer cli.SetConfigWrapper(nil)
	}
	var out, errOut bytes.Buffer
	cmd := cli.NewCmdKestraTLS(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		return out.String(), fmt.Errorf("kestra-tls %v: %w\n%s", args, err, errOut.String())
	}
	return out.String(), nil
}

// kubectlApplyAndWait is what users run today: kubectl apply -k, then kubectl wait for ingress-shim's (or
// gateway-shim's) Certificate to exist, then to be Ready.
func kubectlApplyAndWait(kubectl, kubeconfig, cache, dir, namespace, timeout string) error {
	for _, step := range [][]string{
		{"apply", "-k", dir},
		{"wait", "--for=create", "certificate/kestra-tls", "-n", namespace, "--timeout=" + timeout},
		{"wait", "--for=condition=Ready", "certificate/kestra-tls", "-n", namespace, "--timeout=" + timeout},
	} {
		if _, err := timeProcess(nil, kubectl, append(step, "--kubeconfig", kubeconfig, "--cache-dir", cache)...); err != nil {
			return err
		}
	}
	return nil
}

func timeProcess(env []string, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	err := cmd.Run()
	elapsed := time.Since(started)
	if err != nil {
		return 0, fmt.Errorf("%s %v: %v\n%s", filepath.Base(name), args, err, stderr.String())
	}
	return elapsed, nil
}

type durations []time.Duration

func (d durations) sorted() durations {
	s := append(durations{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func (d durations) median() time.Duration {
	s := d.sorted()
	if len(s)%2 == 1 {
		return round(s[len(s)/2])
	}
	return round((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

func (d durations) span() string {
	s := d.sorted()
	return fmt.Sprintf("%s - %s", round(s[0]), round(s[len(s)-1]))
}

func ratios(r []float64) string {
	s := append([]float64{}, r...)
	sort.Float64s(s)
	median := s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	format := "%.0fx (%.0fx - %.0fx)"
	switch {
	case s[len(s)-1] < 1:
		format = "%.2fx (%.2fx - %.2fx)"
	case s[0] < 10:
		format = "%.1fx (%.1fx - %.1fx)"
	}
	return fmt.Sprintf(format, median, s[0], s[len(s)-1])
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(10 * time.Millisecond)
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			return strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
		}
	}
	return "unknown CPU"
}
