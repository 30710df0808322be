package apply

import "strings"

// acmeHints turn what cert-manager and the ACME server report into what the user does next, naming our
// flags. The first matching hint wins; every needle is what the real programs say (see acme_test.go).
var acmeHints = []struct {
	needles []string
	hint    string
}{
	{[]string{"externalAccountRequired"}, "this ACME CA requires external account binding: pass --eab-kid and --eab-hmac-key-file, as your CA shows them"},
	{[]string{"ACME account", "x509:"}, "cert-manager does not trust the ACME server's HTTPS certificate: pass --acme-ca-bundle with the PEM of the CA that signs it (a private ACME server)"},
	{[]string{"ACME account", "connection refused"}, "cert-manager cannot reach the ACME server: check --acme-server, and that cert-manager's pods may connect to it (proxy, NetworkPolicy, egress firewall)"},
	{[]string{"ACME account", "no such host"}, "cert-manager cannot resolve the ACME server's name: check --acme-server"},
	{[]string{"ACME account", "timeout"}, "cert-manager cannot reach the ACME server in time: check --acme-server, and that cert-manager's pods may connect to it (proxy, NetworkPolicy, egress firewall)"},
	{[]string{"rejectedIdentifier"}, "the ACME server refuses to issue for this name (its policy or blocklist): use a name it accepts, or another issuer (--issuer-ref)"},
	{[]string{"rateLimited"}, "the ACME server's rate limit: wait until the time it names; try things out with --acme-staging, which has far higher limits"},
	// The full error type: a bare "caa" matches random tokens and keys quoted in other messages.
	{[]string{"urn:ietf:params:acme:error:caa"}, "a CAA record of the domain forbids this CA: add the CA to the domain's CAA records"},
	{[]string{"Waiting for HTTP-01 challenge propagation"}, "cert-manager's own check cannot fetch the challenge at http://HOST/.well-known/acme-challenge/: the host's DNS must point at the ingress controller, and port 80 must reach it"},
	{[]string{"acme:error:connection"}, "the ACME server could not connect to the host on port 80: its public DNS must point at the ingress controller, and port 80 must be open to the Internet"},
	{[]string{"acme:error:unauthorized"}, "the ACME server fetched the challenge but got another answer: something other than cert-manager's solver answers http://HOST/.well-known/acme-challenge/ (another ingress, a redirect, a CDN)"},
	{[]string{"acme:error:dns"}, "the ACME server cannot resolve the host: publish its DNS record"},
}

// acmeHint is the advice for a message, empty when none fits.
func acmeHint(message string) string {
	lower := strings.ToLower(message)
	for _, h := range acmeHints {
		matches := true
		for _, needle := range h.needles {
			matches = matches && strings.Contains(lower, strings.ToLower(needle))
		}
		if matches {
			return h.hint
		}
	}
	return ""
}
