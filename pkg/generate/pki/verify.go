package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

// ExpiryWarningWindow is how close to expiry a supplied certificate may be before we warn.
const ExpiryWarningWindow = 30 * 24 * time.Hour

// CheckServerChain verifies that key and chain form a usable TLS server identity for every host,
// issued by ca, valid at now. It returns warnings that do not stop the work.
func CheckServerChain(key Pair, intermediates []*x509.Certificate, ca *x509.Certificate, hosts Hosts, now time.Time) (warnings []string, err error) {
	leaf := key.Cert
	if !KeyMatches(key.Key, leaf.PublicKey) {
		return nil, fmt.Errorf("the private key does not belong to the certificate (subject %q): pass the matching --key", leaf.Subject.CommonName)
	}
	if err := checkKeyStrength(leaf); err != nil {
		return nil, err
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("the certificate (subject %q) is not valid before %s: check the clock or the certificate", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("the certificate (subject %q) expired on %s: renew it", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pool := x509.NewCertPool()
	for _, cert := range intermediates {
		pool.AddCert(cert)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, fmt.Errorf("the certificate (subject %q) does not verify against the CA (subject %q): %v", leaf.Subject.CommonName, ca.Subject.CommonName, err)
	}
	for _, host := range hosts.All() {
		if err := leaf.VerifyHostname(host); err != nil {
			return nil, fmt.Errorf("the certificate does not cover --host %s (its names: %v): issue one that does, or drop that --host", host, SANs(leaf))
		}
	}
	if left := leaf.NotAfter.Sub(now); left < ExpiryWarningWindow {
		warnings = append(warnings, fmt.Sprintf("the certificate (subject %q) expires in %d days, on %s", leaf.Subject.CommonName, int(left.Hours()/24), leaf.NotAfter.UTC().Format("2006-01-02")))
	}
	return warnings, nil
}

// checkKeyStrength refuses what browsers and Java refuse or deprecate: RSA under 2048 bits (Java's
// jdk.certpath.disabledAlgorithms names RSA keySize < 1024 and CAs stop at 2048), ECDSA under P-256.
func checkKeyStrength(cert *x509.Certificate) error {
	switch key := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := key.N.BitLen(); bits < 2048 {
			return fmt.Errorf("the certificate (subject %q) has an RSA key of %d bits: browsers and Java refuse or deprecate keys under 2048 bits; issue one with an RSA-2048 (or larger) or ECDSA P-256 key", cert.Subject.CommonName, bits)
		}
	case *ecdsa.PublicKey:
		if bits := key.Curve.Params().BitSize; bits < 256 {
			return fmt.Errorf("the certificate (subject %q) has an ECDSA key of %d bits: use P-256 or larger", cert.Subject.CommonName, bits)
		}
	}
	return nil
}

// SANs lists a certificate's DNS and IP subject alternative names.
func SANs(cert *x509.Certificate) []string {
	names := append([]string{}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// HostsOf returns the certificate's SANs as Hosts.
func HostsOf(cert *x509.Certificate) Hosts {
	return Hosts{DNSNames: append([]string{}, cert.DNSNames...), IPs: append(cert.IPAddresses[:0:0], cert.IPAddresses...)}
}
