// Package keystore writes the Java stores Kestra's Micronaut server loads: a PKCS#12 keystore with the
// server key and chain, and truststores (JKS and PKCS#12) with trusted certificates; and reads them back.
package keystore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"

	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// encoder is named explicitly: LegacyRC2 (the package default) does not load in OpenSSL 3, and
// Modern2026's PBMAC1 does not load on JDK 17, the runtime of Kestra's images.
var encoder = pkcs12.Modern2023

// TrustedEntry is one certificate in a truststore under its alias.
type TrustedEntry struct {
	Alias string
	Cert  *x509.Certificate
}

// PKCS12 encodes the key and its chain (leaf first) as a password-protected PKCS#12 keystore.
func PKCS12(key crypto.Signer, chain []*x509.Certificate, password string) ([]byte, error) {
	data, err := encoder.Encode(key, chain[0], chain[1:], password)
	if err != nil {
		return nil, fmt.Errorf("encoding keystore.p12: %w", err)
	}
	return data, nil
}

// PKCS12Truststore encodes trusted certificates as a PKCS#12 truststore Java recognises as trusted entries.
func PKCS12Truststore(entries []TrustedEntry, password string) ([]byte, error) {
	p12Entries := make([]pkcs12.TrustStoreEntry, len(entries))
	for i, entry := range entries {
		p12Entries[i] = pkcs12.TrustStoreEntry{Cert: entry.Cert, FriendlyName: entry.Alias}
	}
	data, err := encoder.EncodeTrustStoreEntries(p12Entries, password)
	if err != nil {
		return nil, fmt.Errorf("encoding truststore.p12: %w", err)
	}
	return data, nil
}

// JKS encodes trusted certificates as a JKS truststore. JKS has no salt, and the creation time of each
// entry is the certificate's NotBefore, so the same entries always give the same bytes.
func JKS(entries []TrustedEntry, password string) ([]byte, error) {
	store := jks.New(jks.WithOrderedAliases())
	for _, entry := range entries {
		err := store.SetTrustedCertificateEntry(entry.Alias, jks.TrustedCertificateEntry{
			CreationTime: entry.Cert.NotBefore,
			Certificate:  jks.Certificate{Type: "X509", Content: entry.Cert.Raw},
		})
		if err != nil {
			return nil, fmt.Errorf("adding %q to truststore.jks: %w", entry.Alias, err)
		}
	}
	var out bytes.Buffer
	if err := store.Store(&out, []byte(password)); err != nil {
		return nil, fmt.Errorf("encoding truststore.jks: %w", err)
	}
	return out.Bytes(), nil
}

// PKCS12Holds reports whether data is a PKCS#12 keystore that opens with password and holds exactly
// this key and chain; callers keep such a file rather than re-encrypt it with a fresh salt.
func PKCS12Holds(data []byte, password string, key crypto.Signer, chain []*x509.Certificate) bool {
	gotKey, leaf, rest, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return false
	}
	signer, ok := gotKey.(crypto.Signer)
	if !ok || !sameKey(signer, key) {
		return false
	}
	return sameCerts(append([]*x509.Certificate{leaf}, rest...), chain)
}

// PKCS12TruststoreHolds reports whether data is a PKCS#12 truststore that opens with password and holds
// exactly these certificates.
func PKCS12TruststoreHolds(data []byte, password string, entries []TrustedEntry) bool {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err != nil {
		return false
	}
	want := make([]*x509.Certificate, len(entries))
	for i, entry := range entries {
		want[i] = entry.Cert
	}
	return sameCerts(certs, want)
}

func sameKey(a, b crypto.Signer) bool {
	derA, errA := x509.MarshalPKCS8PrivateKey(a)
	derB, errB := x509.MarshalPKCS8PrivateKey(b)
	return errA == nil && errB == nil && bytes.Equal(derA, derB)
}

func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

// TrustedInJKS opens a JKS store with its password (which checks its integrity) and returns its trusted
// certificates; a keystore's private-key entries are skipped.
func TrustedInJKS(data []byte, password string) ([]*x509.Certificate, error) {
	store := jks.New()
	if err := store.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, alias := range store.Aliases() {
		entry, err := store.GetTrustedCertificateEntry(alias)
		if err != nil {
			continue
		}
		cert, err := x509.ParseCertificate(entry.Certificate.Content)
		if err != nil {
			return nil, fmt.Errorf("alias %q: %v", alias, err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}
