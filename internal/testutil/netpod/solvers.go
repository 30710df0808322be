package netpod

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// solverLabel marks the pods cert-manager creates to answer HTTP-01 challenges.
const solverLabel = "acme.cert-manager.io/http01-solver=true"

// SolverPods plays the kubelet for cert-manager's HTTP-01 solver pods in one namespace: each solver pod
// cert-manager creates runs, with the pod's own arguments, as cert-manager's acmesolver in a pod network,
// and the Service cert-manager made for it gets that pod as its endpoint. It stops with the test.
type SolverPods struct {
	mu      sync.Mutex
	started int
	errs    []string
	logs    []*testutil.SyncBuffer
}

// PlaySolverPods starts playing them until the test ends.
func PlaySolverPods(t testing.TB, client kubernetes.Interface, namespace string) *SolverPods {
	t.Helper()
	RequireRoot(t)
	s, stop := StartSolverPods(client, namespace)
	t.Cleanup(stop)
	return s
}

// StartSolverPods starts playing them, and returns how to stop (every solver and its network goes).
func StartSolverPods(client kubernetes.Interface, namespace string) (*SolverPods, func()) {
	binary := filepath.Join(testutil.BinDir(), "acmesolver")
	ctx, cancel := context.WithCancel(context.Background())
	s := &SolverPods{}
	var wg sync.WaitGroup
	var cleanups []func()
	wg.Add(1)
	go func() {
		defer wg.Done()
		played := map[string]bool{}
		for ctx.Err() == nil {
			pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: solverLabel})
			if err == nil {
				for _, pod := range pods.Items {
					if played[pod.Name] || pod.DeletionTimestamp != nil {
						continue
					}
					cleanup, err := s.play(ctx, client, binary, pod)
					if errors.Is(err, errNoServiceYet) {
						continue // cert-manager makes the Service a moment after the pod
					}
					played[pod.Name] = true
					s.mu.Lock()
					cleanups = append(cleanups, cleanup)
					if err != nil {
						s.errs = append(s.errs, err.Error())
					} else {
						s.started++
					}
					s.mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return s, func() {
		cancel()
		wg.Wait()
		for _, cleanup := range cleanups {
			cleanup()
		}
	}
}

// Played is how many solver pods ran, and what went wrong with the others.
func (s *SolverPods) Played() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, append([]string(nil), s.errs...)
}

// Answered counts the challenge requests the solvers answered with the key, from their own log lines
// (cert-manager's self-check and the ACME server's validation each make one).
func (s *SolverPods) Answered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	answered := 0
	for _, logs := range s.logs {
		answered += strings.Count(logs.String(), "got successful challenge request")
	}
	return answered
}

var errNoServiceYet = errors.New("no Service selects the solver pod yet")

func (s *SolverPods) play(ctx context.Context, client kubernetes.Interface, binary string, pod corev1.Pod) (func(), error) {
	services, err := client.CoreV1().Services(pod.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return func() {}, err
	}
	var selecting *corev1.Service
	for i, service := range services.Items {
		if len(service.Spec.Selector) > 0 && labels.SelectorFromSet(service.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			selecting = &services.Items[i]
		}
	}
	if selecting == nil {
		return func() {}, errNoServiceYet
	}
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	network, err := Create()
	if network != nil {
		stops = append(stops, network.Remove)
	}
	if err != nil {
		return cleanup, err
	}
	container := pod.Spec.Containers[0]
	cmd := exec.Command("ip", append([]string{"netns", "exec", network.Netns, binary}, container.Args...)...)
	logs := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	s.mu.Lock()
	s.logs = append(s.logs, logs)
	s.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return cleanup, err
	}
	stops = append(stops, func() { cmd.Process.Kill(); cmd.Wait() })
	var ports []Port
	for _, port := range selecting.Spec.Ports {
		ports = append(ports, Port{Name: port.Name, Port: int32(port.TargetPort.IntValue())})
	}
	slice := endpointSlice(pod.Namespace, selecting.Name, ports, network)
	slices := client.DiscoveryV1().EndpointSlices(pod.Namespace)
	if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return cleanup, fmt.Errorf("endpoints of solver service %s: %v", selecting.Name, err)
	}
	stops = append(stops, func() { _ = slices.Delete(context.Background(), slice.Name, metav1.DeleteOptions{}) })
	return cleanup, nil
}
