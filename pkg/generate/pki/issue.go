package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

const (
	// DefaultCACommonName differs from any server name on purpose: when a CA's subject equals its leaf's,
	// Go omits the authority key ID and OpenSSL/curl then take the leaf for self-signed.
	DefaultCACommonName = "Kestra TLS CA"
	DefaultServerDays   = 365
	// MaxServerDays is Apple's limit for TLS server certificates; longer ones are refused by Safari and macOS.
	MaxServerDays = 825
	DefaultCADays = 3650
	// clockSkew backdates certificates so a node whose clock runs a little behind accepts them at once.
	clockSkew = time.Hour
)

// Pair is a certificate with its private key.
type Pair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CARequest describes a CA to mint.
type CARequest struct {
	CommonName string
	Days       int
	Key        crypto.Signer
	Now        time.Time
}

// NewCA self-signs a root CA. Its path length of 1 lets it sign one name-constrained issuer for cert-manager
// (NewIssuer) and no deeper chain; its key stays with the operator.
func NewCA(req CARequest) (Pair, error) {
	skid, err := subjectKeyID(req.Key.Public())
	if err != nil {
		return Pair{}, err
	}
	template := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: req.CommonName, Organization: []string{"kubectl kestra-tls"}},
		NotBefore:             req.Now.Add(-clockSkew),
		NotAfter:              req.Now.Add(time.Duration(req.Days) * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          skid,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, req.Key.Public(), req.Key)
	if err != nil {
		return Pair{}, fmt.Errorf("signing the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Pair{}, err
	}
	return Pair{Cert: cert, Key: req.Key}, nil
}

// IssuerRequest describes the intermediate CA that the cluster's cert-manager signs with.
type IssuerRequest struct {
	CommonName string
	// Permitted are the names it may sign: DNS domains (each with its subdomains) and IP addresses.
	Permitted Hosts
	Days      int
	Key       crypto.Signer
	Now       time.Time
}

// NewIssuer signs an intermediate CA under root that may sign leaves for the permitted names only
// (critical X.509 name constraints) and no further CA. Its key is the one the cluster holds: if it leaks,
// it cannot be turned against any other name that people who imported the root trust. Verifiers enforce
// constraints on an intermediate (JDK 17's JSSE ignores them on a trust anchor, OpenSSL and Go do not).
func NewIssuer(root Pair, req IssuerRequest) (Pair, error) {
	if !CanSignIssuer(root.Cert) {
		return Pair{}, fmt.Errorf("the CA %q may only sign leaves (path length 0): it cannot sign a constrained issuer", root.Cert.Subject.CommonName)
	}
	skid, err := subjectKeyID(req.Key.Public())
	if err != nil {
		return Pair{}, err
	}
	var ranges []*net.IPNet
	for _, ip := range req.Permitted.IPs {
		bits := 8 * len(ip)
		ranges = append(ranges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	notAfter := req.Now.Add(time.Duration(req.Days) * 24 * time.Hour)
	if notAfter.After(root.Cert.NotAfter) {
		notAfter = root.Cert.NotAfter
	}
	template := &x509.Certificate{
		SerialNumber:                randomSerial(),
		Subject:                     pkix.Name{CommonName: req.CommonName, Organization: []string{"kubectl kestra-tls"}},
		NotBefore:                   req.Now.Add(-clockSkew),
		NotAfter:                    notAfter,
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		SubjectKeyId:                skid,
		AuthorityKeyId:              root.Cert.SubjectKeyId,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         PermittedDomains(req.Permitted),
		PermittedIPRanges:           ranges,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, root.Cert, req.Key.Public(), root.Key)
	if err != nil {
		return Pair{}, fmt.Errorf("signing the issuer certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Pair{}, err
	}
	return Pair{Cert: cert, Key: req.Key}, nil
}

// CanSignIssuer tells whether a CA may sign an intermediate: CAs minted before name constraints had path
// length 0.
func CanSignIssuer(ca *x509.Certificate) bool {
	return ca.IsCA && !(ca.MaxPathLenZero || (ca.BasicConstraintsValid && ca.MaxPathLen == 0))
}

// PermittedDomains are the DNS subtrees for the hosts: a name and its subdomains, a wildcard's parent; a
// name under another one adds nothing (a new subdomain host keeps the issuer as it is).
func PermittedDomains(hosts Hosts) []string {
	var domains []string
	for _, name := range hosts.DNSNames {
		domains = append(domains, strings.TrimPrefix(name, "*."))
	}
	var kept []string
	for _, domain := range domains {
		covered := slices.ContainsFunc(domains, func(other string) bool {
			return other != domain && strings.HasSuffix(domain, "."+other)
		})
		if !covered && !slices.Contains(kept, domain) {
			kept = append(kept, domain)
		}
	}
	return kept
}

// ServerRequest describes a server certificate to issue.
type ServerRequest struct {
	Hosts Hosts
	Days  int
	Key   crypto.Signer
	Now   time.Time
}

// IssueServer signs a TLS server certificate for the hosts with the CA.
func IssueServer(ca Pair, req ServerRequest) (*x509.Certificate, error) {
	if req.Hosts.Empty() {
		return nil, fmt.Errorf("a server certificate needs at least one --host")
	}
	if req.Hosts.CommonName() == ca.Cert.Subject.CommonName {
		return nil, fmt.Errorf("the CA's common name %q equals the server's first --host: TLS clients would take the server certificate for self-signed (set --ca-common-name to another name)", ca.Cert.Subject.CommonName)
	}
	skid, err := subjectKeyID(req.Key.Public())
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, isRSA := req.Key.Public().(*rsa.PublicKey); isRSA {
		// RSA key exchange (TLS 1.2 without ECDHE) encrypts to the server key; ECDSA keys can't.
		usage |= x509.KeyUsageKeyEncipherment
	}
	template := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: req.Hosts.CommonName()},
		NotBefore:    req.Now.Add(-clockSkew),
		NotAfter:     req.Now.Add(time.Duration(req.Days) * 24 * time.Hour),
		KeyUsage:     usage,
		// clientAuth too: the guide's Micronaut setting clientAuthentication: want lets the same identity
		// present itself as a client.
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		DNSNames:              req.Hosts.DNSNames,
		IPAddresses:           req.Hosts.IPs,
		SubjectKeyId:          skid,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, req.Key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing the server certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// ValidityDays is the lifetime the certificate was issued with, as requested in days.
func ValidityDays(cert *x509.Certificate) int {
	return int(cert.NotAfter.Sub(cert.NotBefore.Add(clockSkew)).Round(time.Hour) / (24 * time.Hour))
}

func randomSerial() *big.Int {
	limit := new(big.Int).Lsh(big.NewInt(1), 127)
	serial, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return serial.Add(serial, big.NewInt(1))
}

// subjectKeyID is RFC 5280's method 1: SHA-1 of the subjectPublicKey bit string.
func subjectKeyID(public crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, err
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// ClientRequest describes a client certificate to issue: a machine identity for Kestra's API.
type ClientRequest struct {
	Name string
	Days int
	Key  crypto.Signer
	Now  time.Time
}

// IssueClient signs a TLS client certificate for name with the CA: clientAuth only, so that it can never
// serve as a server's certificate.
func IssueClient(ca Pair, req ClientRequest) (*x509.Certificate, error) {
	if req.Name == "" {
		return nil, fmt.Errorf("a client certificate needs a name (--client NAME)")
	}
	skid, err := subjectKeyID(req.Key.Public())
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: req.Name},
		NotBefore:             req.Now.Add(-clockSkew),
		NotAfter:              req.Now.Add(time.Duration(req.Days) * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.Cert, req.Key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing the client certificate %s: %w", req.Name, err)
	}
	return x509.ParseCertificate(der)
}
