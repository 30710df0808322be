// Package netpod plays a pod's network where no kubelet runs: a network namespace of its own, joined to
// the test's by a veth pair, with an address the test assigns from 10.213.0.0/16 (the project's own test
// hosts; nothing is sent to any other private address). The API server refuses loopback addresses in
// EndpointSlices, so a Service's endpoints are these pods, written as the endpoint controller would.
// Creating network namespaces needs root: under CI (CI=true) a test without it fails, elsewhere it skips.
package netpod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Pod is one network namespace with its address.
type Pod struct {
	// Netns is the namespace's name for ip netns exec.
	Netns string
	// IP is the pod's address; the test's side of the pair has HostIP.
	IP, HostIP string
	hostLink   string
}

var next atomic.Int32

// RequireRoot fails under CI and skips elsewhere when the test cannot make network namespaces.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs network namespaces (skipped by -short)")
	}
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the traffic tests need root (network namespaces, ports 80 and 443): run them as root")
	}
	t.Skip("the traffic tests need root (network namespaces, ports 80 and 443); skipped")
}

// New makes a pod's network; it is removed when the test ends.
func New(t testing.TB) *Pod {
	t.Helper()
	RequireRoot(t)
	pod, err := Create()
	if pod != nil {
		t.Cleanup(pod.Remove)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// Create makes a pod's network; Remove takes it away (also after an error).
func Create() (*Pod, error) {
	// The process id keeps two test binaries apart; the counter, the pods of one.
	n := int(next.Add(1))
	id := fmt.Sprintf("%x%x", os.Getpid()&0xfff, n)
	subnet := fmt.Sprintf("10.213.%d", (os.Getpid()*7+n)%250+1)
	pod := &Pod{Netns: "ktls-" + id, IP: subnet + ".2", HostIP: subnet + ".1", hostLink: "kth" + id}
	podLink := "ktp" + id
	// A pod's resolver is the cluster's DNS; here there is none, so that a lookup (the JDK's HTTPS server
	// looks up its peer's name) fails at once on the pod's own loopback instead of waiting on the host's
	// resolver, which the pod cannot reach. ip netns exec lays /etc/netns/NAME/ over /etc.
	if err := os.MkdirAll(filepath.Join("/etc/netns", pod.Netns), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join("/etc/netns", pod.Netns, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		return pod, err
	}
	for _, argv := range [][]string{
		{"ip", "netns", "add", pod.Netns},
		{"ip", "link", "add", pod.hostLink, "type", "veth", "peer", "name", podLink},
		{"ip", "link", "set", podLink, "netns", pod.Netns},
		{"ip", "addr", "add", pod.HostIP + "/30", "dev", pod.hostLink},
		{"ip", "link", "set", pod.hostLink, "up"},
		{"ip", "-n", pod.Netns, "addr", "add", pod.IP + "/30", "dev", podLink},
		{"ip", "-n", pod.Netns, "link", "set", podLink, "up"},
		{"ip", "-n", pod.Netns, "link", "set", "lo", "up"},
		{"ip", "-n", pod.Netns, "route", "add", "default", "via", pod.HostIP},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return pod, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	return pod, nil
}

// Remove deletes the namespace and its link.
func (p *Pod) Remove() {
	_ = exec.Command("ip", "link", "del", p.hostLink).Run()
	_ = exec.Command("ip", "netns", "del", p.Netns).Run()
	_ = os.RemoveAll(filepath.Join("/etc/netns", p.Netns))
}

// Port is one port of an EndpointSlice, named as the Service's port is.
type Port struct {
	Name string
	Port int32
}

// Endpoints writes the EndpointSlice the endpoint controller would write for the Service with these pods
// ready behind it; it goes with the test.
func Endpoints(t testing.TB, client kubernetes.Interface, namespace, service string, ports []Port, pods ...*Pod) {
	t.Helper()
	remove, err := WriteEndpoints(client, namespace, service, ports, pods...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remove)
}

// WriteEndpoints writes that EndpointSlice, and returns how to delete it.
func WriteEndpoints(client kubernetes.Interface, namespace, service string, ports []Port, pods ...*Pod) (func(), error) {
	slice := endpointSlice(namespace, service, ports, pods...)
	slices := client.DiscoveryV1().EndpointSlices(namespace)
	if _, err := slices.Create(context.Background(), slice, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("writing the EndpointSlice of service %s/%s: %v", namespace, service, err)
	}
	return func() { _ = slices.Delete(context.Background(), slice.Name, metav1.DeleteOptions{}) }, nil
}

func endpointSlice(namespace, service string, ports []Port, pods ...*Pod) *discoveryv1.EndpointSlice {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      service + "-netpod",
			Namespace: namespace,
			Labels:    map[string]string{discoveryv1.LabelServiceName: service, discoveryv1.LabelManagedBy: "netpod.test.kestra-tls.io"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, port := range ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(port.Name), Port: ptr.To(port.Port), Protocol: ptr.To(corev1.ProtocolTCP)})
	}
	for _, pod := range pods {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{pod.IP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true)}})
	}
	return slice
}
