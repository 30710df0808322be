package status

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ParseURL checks --url: https, a host, an optional port.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("--url %q is not an https URL: give it as https://HOST[:PORT]", raw)
	}
	return u, nil
}

// checkServed dials --url and compares the leaf it serves with the install's Secret: the handshake skips
// verification on purpose, since the point is to see what is served, trusted or not.
func checkServed(ctx context.Context, report *Report, opts Options) error {
	u, err := ParseURL(opts.URL)
	if err != nil {
		return err
	}
	host := u.Hostname()
	install := installFor(report, host)
	if install == nil {
		var all []string
		for _, i := range report.Installs {
			all = append(all, i.Hosts...)
		}
		return fmt.Errorf("--url %s: no install found answers to %s (hosts found: %s); give a URL with one of them, or -n for the namespace of its install", opts.URL, host, strings.Join(all, ", "))
	}
	address := opts.ConnectTo
	if address == "" {
		port := u.Port()
		if port == "" {
			port = "443"
		}
		address = net.JoinHostPort(host, port)
	}
	served := &Served{URL: opts.URL, Address: address}
	install.Served = served
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config:    &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // we report what is served; trust is checked against the Secret
	}
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(dialCtx, "tcp", address)
	if err != nil {
		served.Error = err.Error()
		install.add(Broken, fmt.Sprintf("--url %s: no TLS handshake with %s: %v", opts.URL, address, err))
		return nil
	}
	defer conn.Close()
	peer := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(peer) == 0 {
		install.add(Broken, fmt.Sprintf("--url %s: %s served no certificate", opts.URL, address))
		return nil
	}
	served.Subject, served.Fingerprint = peer[0].Subject.CommonName, fingerprint(peer[0])
	want := install.Leaf()
	switch {
	case want == nil:
		install.add(Broken, fmt.Sprintf("--url %s: nothing in the cluster to compare the served certificate with", opts.URL))
	case want.Fingerprint == served.Fingerprint:
		served.MatchesSecret = true
	default:
		what := "restart Kestra (kubectl kestra-tls renew) if it is Kestra that serves it, or check what answers at " + address
		if install.Mode != "app" {
			what = "the Ingress controller or Gateway serves another certificate: check its class and that it reads Secret " + want.Secret
		}
		if k := install.Keystore; k != nil && k.Reloads() {
			for _, state := range k.Serving {
				if strings.HasPrefix(state, "reload due") {
					// The Secret changed moments ago: Kestra is to re-read it, not to be restarted.
					install.add(Warning, fmt.Sprintf("--url %s still serves the certificate from before Secret %s changed; Kestra re-reads it in place, %s", opts.URL, want.Secret, state))
					return nil
				}
			}
			what = "Kestra re-reads its keystore every " + k.ReloadInterval + " and should serve it by now: look for \"Failed to load certificate file\" in its log, or check what answers at " + address
		}
		install.add(Broken, fmt.Sprintf("--url %s serves a certificate (subject %q, sha256 %s...) that is not the one in Secret %s (sha256 %s...): %s", opts.URL, served.Subject, served.Fingerprint[:16], want.Secret, want.Fingerprint[:16], what))
	}
	return nil
}

// installFor is the install answering to host, or the only install.
func installFor(report *Report, host string) *Install {
	for i := range report.Installs {
		if slices.Contains(report.Installs[i].Hosts, host) {
			return &report.Installs[i]
		}
	}
	if len(report.Installs) == 1 {
		return &report.Installs[0]
	}
	return nil
}
