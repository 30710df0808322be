package pki

import (
	"fmt"
	"net"
	"sort"
	"strings"
)

// Hosts is the set of names a server certificate must answer to, sorted into the SAN types that
// TLS clients actually check: a hostname in an IP SAN (or an IP in a DNS SAN) matches nothing.
type Hosts struct {
	DNSNames []string
	IPs      []net.IP
}

// ParseHosts validates each --host value and sorts it into DNS or IP SANs, keeping the order given
// (the first host becomes the common name) and dropping repeats.
func ParseHosts(values []string) (Hosts, error) {
	var hosts Hosts
	seen := map[string]bool{}
	for _, raw := range values {
		value := strings.TrimSpace(raw)
		if ip := net.ParseIP(value); ip != nil {
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			if !seen[ip.String()] {
				seen[ip.String()] = true
				hosts.IPs = append(hosts.IPs, ip)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(value, "."))
		if err := validateDNSName(name); err != nil {
			return Hosts{}, fmt.Errorf("--host %q is not a valid DNS name or IP address: %v (use e.g. kestra.example.com, *.kestra.example.com or 10.0.0.5)", raw, err)
		}
		if !seen[name] {
			seen[name] = true
			hosts.DNSNames = append(hosts.DNSNames, name)
		}
	}
	return hosts, nil
}

// All returns the hosts as strings, DNS names first, in the order given.
func (h Hosts) All() []string {
	all := append([]string{}, h.DNSNames...)
	for _, ip := range h.IPs {
		all = append(all, ip.String())
	}
	return all
}

// Empty reports whether no host was given.
func (h Hosts) Empty() bool { return len(h.DNSNames) == 0 && len(h.IPs) == 0 }

// CommonName is the first host given; clients ignore it when SANs exist, but humans read it.
func (h Hosts) CommonName() string {
	if len(h.DNSNames) > 0 {
		return h.DNSNames[0]
	}
	if len(h.IPs) > 0 {
		return h.IPs[0].String()
	}
	return ""
}

// SameSet reports whether two host sets name the same SANs, whatever their order.
func (h Hosts) SameSet(other Hosts) bool {
	return equalSorted(h.All(), other.All())
}

func equalSorted(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]string{}, a...), append([]string{}, b...)
	sort.Strings(a)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func validateDNSName(name string) error {
	if name == "" {
		return fmt.Errorf("empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for i, label := range labels {
		if label == "*" {
			if i != 0 {
				return fmt.Errorf("a wildcard may only be the whole first label")
			}
			if len(labels) < 3 {
				return fmt.Errorf("a wildcard needs at least two labels after it")
			}
			continue
		}
		if label == "" {
			return fmt.Errorf("empty label")
		}
		if len(label) > 63 {
			return fmt.Errorf("label %q is longer than 63 characters", label)
		}
		for j, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			case c == '-' && j != 0 && j != len(label)-1:
			case c == '*':
				return fmt.Errorf("a wildcard may only be the whole first label")
			default:
				return fmt.Errorf("label %q has character %q", label, c)
			}
		}
	}
	return nil
}
