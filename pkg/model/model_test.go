package model

import (
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

func TestKestraURL(t *testing.T) {
	tests := map[string]struct {
		v    values.Values
		want string
	}{
		"ingress mode uses the first host": {values.Values{Mode: "ingress", Hosts: []string{"a.example.com", "b.example.com"}}, "https://a.example.com/"},
		"app mode adds the HTTPS port":     {values.Values{Mode: "app", Hosts: []string{"a.example.com"}, App: values.App{Port: 8443}}, "https://a.example.com:8443/"},
		"app mode on 443 needs no port":    {values.Values{Mode: "app", Hosts: []string{"a.example.com"}, App: values.App{Port: 443}}, "https://a.example.com/"},
		"an IPv6 host is bracketed":        {values.Values{Mode: "app", Hosts: []string{"::1"}, App: values.App{Port: 8443}}, "https://[::1]:8443/"},
		"an explicit kestra.url wins":      {values.Values{Mode: "app", Hosts: []string{"a.example.com"}, Kestra: values.Kestra{URL: "https://kestra.corp/"}}, "https://kestra.corp/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := kestraURL(tc.v); got != tc.want {
				t.Errorf("kestraURL = %q, want %q", got, tc.want)
			}
		})
	}
}
