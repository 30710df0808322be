package apply

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestACMEHintsNameTheFlagToFix(t *testing.T) {
	for name, tc := range map[string]struct{ message, want string }{
		"an untrusted private ACME server":      {`Failed to register ACME account: Get "https://acme.corp/dir": tls: failed to verify certificate: x509: certificate signed by unknown authority`, "--acme-ca-bundle"},
		"a CA that requires EAB":                {"Failed to register ACME account: 403 urn:ietf:params:acme:error:externalAccountRequired: ...", "--eab-kid and --eab-hmac-key-file"},
		"an unreachable ACME server":            {`Failed to register ACME account: Get "https://127.0.0.1:1/dir": dial tcp 127.0.0.1:1: connect: connection refused`, "--acme-server"},
		"Let's Encrypt's rate limit":            {"Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates already issued", "--acme-staging"},
		"a refused name":                        {"Failed to create Order: 400 urn:ietf:params:acme:error:rejectedIdentifier: policy forbids issuing for name", "refuses to issue for this name"},
		"a self-check that cannot connect":      {"Waiting for HTTP-01 challenge propagation: failed to perform self check GET request", "port 80"},
		"a message we know nothing about":       {"Issuing certificate as Secret does not exist", ""},
		"a CAA refusal":                         {"403 urn:ietf:params:acme:error:caa: CAA record for example.com prevents issuance", "CAA record"},
		"a quoted key that happens to hold caa": {`acme: authorization error: 403 urn:ietf:params:acme:error:unauthorized: "xCAAb.k" != "y"`, "got another answer"},
	} {
		t.Run(name, func(t *testing.T) {
			got := acmeHint(tc.message)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("acmeHint(%q) = %q, want it to mention %q", tc.message, got, tc.want)
			}
		})
	}
}

func TestFailedSinceTellsAFailureOfThisWaitFromAnOlderOne(t *testing.T) {
	started := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	certificate := func(failure time.Time, issuing string) *unstructured.Unstructured {
		status := map[string]any{"failedIssuanceAttempts": int64(1), "conditions": []any{map[string]any{"type": "Issuing", "status": issuing}}}
		if !failure.IsZero() {
			status["lastFailureTime"] = failure.Format(time.RFC3339)
		}
		return &unstructured.Unstructured{Object: map[string]any{"status": status}}
	}
	for name, tc := range map[string]struct {
		object *unstructured.Unstructured
		want   bool
	}{
		"a failure during the wait":                       {certificate(started.Add(10*time.Second), "False"), true},
		"a failure a moment before, within clock skew":    {certificate(started.Add(-2*time.Second), "False"), true},
		"a failure of an earlier run":                     {certificate(started.Add(-time.Hour), "False"), false},
		"a failure followed by a new attempt that issues": {certificate(started.Add(10*time.Second), "True"), false},
		"no failure at all":                               {certificate(time.Time{}, "True"), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := failedSince(tc.object, started) != nil; got != tc.want {
				t.Errorf("failedSince = %v, want %v", got, tc.want)
			}
		})
	}
}
