package pki

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHosts(t *testing.T) {
	tests := map[string]struct {
		hosts   []string
		wantDNS []string
		wantIPs []string
		wantErr string
	}{
		"DNS names keep their order and lose case and a trailing dot": {
			hosts: []string{"Kestra.Example.com.", "kestra.internal"}, wantDNS: []string{"kestra.example.com", "kestra.internal"},
		},
		"an internationalised name becomes its punycode form, as browsers send it": {
			hosts: []string{"Bücher.example.com", "*.kestra.bücher.example"}, wantDNS: []string{"xn--bcher-kva.example.com", "*.kestra.xn--bcher-kva.example"},
		},
		"an all-numeric top-level domain is refused": {
			hosts: []string{"kestra.123"}, wantErr: "all digits",
		},
		"a wildcard is a DNS name": {
			hosts: []string{"*.kestra.example.com"}, wantDNS: []string{"*.kestra.example.com"},
		},
		"IPv4 and IPv6 addresses become IP SANs, not DNS names": {
			hosts: []string{"10.0.0.5", "::1", "kestra.example.com"}, wantDNS: []string{"kestra.example.com"}, wantIPs: []string{"10.0.0.5", "::1"},
		},
		"repeats are dropped": {
			hosts: []string{"a.example.com", "A.example.com", "127.0.0.1", "127.0.0.1"}, wantDNS: []string{"a.example.com"}, wantIPs: []string{"127.0.0.1"},
		},
		"localhost is only there when asked": {
			hosts: []string{"kestra.example.com"}, wantDNS: []string{"kestra.example.com"},
		},
		"an underscore is refused and the flag named": {
			hosts: []string{"kestra_ui.example.com"}, wantErr: `--host "kestra_ui.example.com" is not a valid DNS name`,
		},
		"a wildcard in the middle is refused": {
			hosts: []string{"kestra.*.example.com"}, wantErr: "a wildcard may only be the whole first label",
		},
		"a wildcard over a top-level domain is refused": {
			hosts: []string{"*.com"}, wantErr: "a wildcard needs at least two labels after it",
		},
		"an empty host is refused": {
			hosts: []string{""}, wantErr: "empty",
		},
		"a URL is refused": {
			hosts: []string{"https://kestra.example.com"}, wantErr: "is not a valid DNS name or IP address",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseHosts(tc.hosts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseHosts(%q) error = %v, want it to contain %q", tc.hosts, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ips []string
			for _, ip := range got.IPs {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tc.wantDNS, got.DNSNames); diff != "" {
				t.Errorf("DNS names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantIPs, ips); diff != "" {
				t.Errorf("IPs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKeyAlgorithmNamesTheFlagAndTheChoices(t *testing.T) {
	_, err := ParseKeyAlgorithm("dsa-1024")
	if err == nil || !strings.Contains(err.Error(), "--key-algorithm") || !strings.Contains(err.Error(), "rsa-4096") {
		t.Fatalf("error = %v, want it to name --key-algorithm and list the choices", err)
	}
	for _, algorithm := range KeyAlgorithms {
		if got, err := ParseKeyAlgorithm(strings.ToUpper(string(algorithm))); err != nil || got != algorithm {
			t.Errorf("ParseKeyAlgorithm(%q) = %q, %v", algorithm, got, err)
		}
	}
}
