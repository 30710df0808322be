package pki

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

func mustHosts(t testing.TB, hosts ...string) Hosts {
	t.Helper()
	h, err := ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newTestCA(t testing.TB, algorithm KeyAlgorithm, now time.Time) Pair {
	t.Helper()
	key, err := algorithm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := NewCA(CARequest{CommonName: DefaultCACommonName, Days: DefaultCADays, Key: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestIssuedServerCertificateVerifiesForEveryHost(t *testing.T) {
	now := time.Now()
	for _, algorithm := range []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048} {
		t.Run(string(algorithm), func(t *testing.T) {
			ca := newTestCA(t, algorithm, now)
			key, err := algorithm.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			hosts := mustHosts(t, "kestra.example.com", "*.kestra.example.com", "10.0.0.5")
			leaf, err := IssueServer(ca, ServerRequest{Hosts: hosts, Days: DefaultServerDays, Key: key, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca.Cert)
			for _, name := range []string{"kestra.example.com", "ui.kestra.example.com"} {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
					t.Errorf("verify for %s: %v", name, err)
				}
			}
			if err := leaf.VerifyHostname("10.0.0.5"); err != nil {
				t.Errorf("IP SAN: %v", err)
			}
			if !leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) || len(leaf.DNSNames) != 2 {
				t.Errorf("SANs sorted wrongly: DNS %v IP %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if leaf.Subject.CommonName != "kestra.example.com" {
				t.Errorf("CN = %q, want the first host", leaf.Subject.CommonName)
			}
			if !bytes.Equal(leaf.AuthorityKeyId, ca.Cert.SubjectKeyId) || len(leaf.SubjectKeyId) == 0 {
				t.Errorf("key IDs: AKID %x, CA SKID %x, SKID %x", leaf.AuthorityKeyId, ca.Cert.SubjectKeyId, leaf.SubjectKeyId)
			}
			wantUsage := x509.KeyUsageDigitalSignature
			if _, isRSA := key.Public().(*rsa.PublicKey); isRSA {
				wantUsage |= x509.KeyUsageKeyEncipherment
			}
			if leaf.KeyUsage != wantUsage {
				t.Errorf("key usage = %b, want %b", leaf.KeyUsage, wantUsage)
			}
			if len(leaf.ExtKeyUsage) != 2 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
				t.Errorf("ext key usage = %v, want serverAuth and clientAuth", leaf.ExtKeyUsage)
			}
			if leaf.IsCA {
				t.Error("server certificate must not be a CA")
			}
			if got := ValidityDays(leaf); got != DefaultServerDays {
				t.Errorf("ValidityDays = %d, want %d", got, DefaultServerDays)
			}
		})
	}
}

func TestCAIsDistinctAndCanOnlySignLeaves(t *testing.T) {
	ca := newTestCA(t, ECDSAP256, time.Now())
	if !ca.Cert.IsCA || ca.Cert.MaxPathLenZero || ca.Cert.MaxPathLen != 1 {
		t.Errorf("IsCA %v MaxPathLenZero %v MaxPathLen %d", ca.Cert.IsCA, ca.Cert.MaxPathLenZero, ca.Cert.MaxPathLen)
	}
	if len(ca.Cert.SubjectKeyId) == 0 {
		t.Error("CA has no subject key ID")
	}
	if ca.Cert.Subject.CommonName != DefaultCACommonName {
		t.Errorf("CN = %q", ca.Cert.Subject.CommonName)
	}
}

func TestIssueServerRefusesTheGuidesSameSubjectMistake(t *testing.T) {
	key, _ := ECDSAP256.GenerateKey()
	ca, err := NewCA(CARequest{CommonName: "example.kestra.com", Days: 10, Key: key, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = IssueServer(ca, ServerRequest{Hosts: mustHosts(t, "example.kestra.com"), Days: 10, Key: key, Now: time.Now()})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("--ca-common-name")) {
		t.Fatalf("error = %v, want one naming --ca-common-name", err)
	}
}

func TestCheckServerChain(t *testing.T) {
	now := time.Now()
	ca := newTestCA(t, ECDSAP256, now)
	otherCA := newTestCA(t, ECDSAP256, now)
	key, _ := ECDSAP256.GenerateKey()
	otherKey, _ := ECDSAP256.GenerateKey()
	issue := func(days int, at time.Time) *x509.Certificate {
		leaf, err := IssueServer(ca, ServerRequest{Hosts: mustHosts(t, "kestra.example.com"), Days: days, Key: key, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return leaf
	}
	good := issue(365, now)
	tests := map[string]struct {
		pair     Pair
		ca       *x509.Certificate
		hosts    Hosts
		at       time.Time
		wantErr  string
		wantWarn bool
	}{
		"a matching chain passes":                  {pair: Pair{good, key}, ca: ca.Cert, hosts: mustHosts(t, "kestra.example.com"), at: now},
		"a key of another certificate fails":       {pair: Pair{good, otherKey}, ca: ca.Cert, at: now, wantErr: "does not belong to the certificate"},
		"another CA fails":                         {pair: Pair{good, key}, ca: otherCA.Cert, at: now, wantErr: "does not verify against the CA"},
		"a host outside the SANs fails":            {pair: Pair{good, key}, ca: ca.Cert, hosts: mustHosts(t, "other.example.com"), at: now, wantErr: "does not cover --host other.example.com"},
		"an expired certificate fails":             {pair: Pair{issue(1, now.AddDate(0, 0, -10)), key}, ca: ca.Cert, at: now, wantErr: "expired"},
		"a not yet valid certificate fails":        {pair: Pair{issue(10, now.AddDate(0, 0, 5)), key}, ca: ca.Cert, at: now, wantErr: "is not valid before"},
		"under 30 days left passes with a warning": {pair: Pair{issue(20, now), key}, ca: ca.Cert, at: now, wantWarn: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			warnings, err := CheckServerChain(tc.pair, nil, tc.ca, tc.hosts, tc.at)
			if tc.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (len(warnings) > 0) != tc.wantWarn {
				t.Errorf("warnings = %q, want some: %v", warnings, tc.wantWarn)
			}
		})
	}
}
