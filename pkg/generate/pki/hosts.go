package pki

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
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
		name, err := NormalizeHost(value)
		if err != nil {
			return Hosts{}, err
		}
		if !seen[name] {
			seen[name] = true
			hosts.DNSNames = append(hosts.DNSNames, name)
		}
	}
	return hosts, nil
}

// NormalizeHosts normalizes every --host in order and refuses one given twice (after normalization: case,
// a final dot, punycode), which is a typo more often than not.
func NormalizeHosts(values []string) ([]string, error) {
	out := make([]string, 0, len(values))
	seen := map[string]string{}
	for _, raw := range values {
		host, err := NormalizeHost(raw)
		if err != nil {
			return nil, err
		}
		if first, ok := seen[host]; ok {
			return nil, fmt.Errorf("--host %s is given twice (as %q and %q): name each host once", host, first, raw)
		}
		seen[host] = raw
		out = append(out, host)
	}
	return out, nil
}

// NormalizeHost is a --host as certificates and Kubernetes name it: an IP address as written, a DNS name in
// lower case without its final dot, an internationalised name in its punycode (A-label) form, as browsers
// send it.
func NormalizeHost(raw string) (string, error) {
	value := strings.TrimSpace(raw)
	if net.ParseIP(value) != nil {
		return value, nil
	}
	name := strings.ToLower(strings.TrimSuffix(value, "."))
	if strings.ContainsFunc(name, func(r rune) bool { return r > unicode.MaxASCII }) {
		wildcard := strings.HasPrefix(name, "*.")
		ascii, err := idna.Lookup.ToASCII(strings.TrimPrefix(name, "*."))
		if err != nil {
			return "", fmt.Errorf("--host %q is not a valid internationalised domain name: %v", raw, err)
		}
		if name = ascii; wildcard {
			name = "*." + ascii
		}
	}
	if err := validateDNSName(name); err != nil {
		return "", fmt.Errorf("--host %q is not a valid DNS name or IP address: %v (use e.g. kestra.example.com, *.kestra.example.com or 10.0.0.5)", raw, err)
	}
	return name, nil
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

// MaxCommonName is RFC 5280's upper bound on a common name (ub-common-name).
const MaxCommonName = 64

// CommonName is the first host given that fits in a common name; clients ignore it when SANs exist, but
// humans read it. Where none fits it is empty, and the certificate names its hosts in its SANs alone.
func (h Hosts) CommonName() string {
	for _, host := range h.All() {
		if len(host) <= MaxCommonName {
			return host
		}
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
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("the last label %q is all digits, which no top-level domain is (an IP address is written in full, e.g. 10.0.0.5)", last)
	}
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
