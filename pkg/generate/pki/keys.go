package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
)

// KeyAlgorithm names a private key type and size as users type it on the command line.
type KeyAlgorithm string

const (
	ECDSAP256 KeyAlgorithm = "ecdsa-p256"
	ECDSAP384 KeyAlgorithm = "ecdsa-p384"
	RSA2048   KeyAlgorithm = "rsa-2048"
	RSA3072   KeyAlgorithm = "rsa-3072"
	RSA4096   KeyAlgorithm = "rsa-4096"
)

// KeyAlgorithms lists every supported algorithm, the default first.
var KeyAlgorithms = []KeyAlgorithm{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// ParseKeyAlgorithm accepts one of KeyAlgorithms.
func ParseKeyAlgorithm(value string) (KeyAlgorithm, error) {
	for _, algorithm := range KeyAlgorithms {
		if strings.EqualFold(value, string(algorithm)) {
			return algorithm, nil
		}
	}
	names := make([]string, len(KeyAlgorithms))
	for i, a := range KeyAlgorithms {
		names[i] = string(a)
	}
	return "", fmt.Errorf("--key-algorithm %q is not supported (use one of %s)", value, strings.Join(names, ", "))
}

// GenerateKey makes a new private key of this algorithm.
func (a KeyAlgorithm) GenerateKey() (crypto.Signer, error) {
	switch a {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key algorithm %q", a)
}

// CertManager is the algorithm in the words of cert-manager's Certificate privateKey (and its
// cert-manager.io/private-key-* annotations): ECDSA or RSA, and the curve's or modulus's size.
func (a KeyAlgorithm) CertManager() (algorithm string, size int) {
	switch a {
	case ECDSAP384:
		return "ECDSA", 384
	case RSA2048:
		return "RSA", 2048
	case RSA3072:
		return "RSA", 3072
	case RSA4096:
		return "RSA", 4096
	}
	return "ECDSA", 256
}

// AlgorithmOf tells which KeyAlgorithm a public key is, or "" for anything else.
func AlgorithmOf(public crypto.PublicKey) KeyAlgorithm {
	switch key := public.(type) {
	case *ecdsa.PublicKey:
		switch key.Curve {
		case elliptic.P256():
			return ECDSAP256
		case elliptic.P384():
			return ECDSAP384
		}
	case *rsa.PublicKey:
		switch key.N.BitLen() {
		case 2048:
			return RSA2048
		case 3072:
			return RSA3072
		case 4096:
			return RSA4096
		}
	}
	return ""
}

// KeyMatches reports whether the private key belongs to the certificate's public key.
func KeyMatches(private crypto.Signer, public crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	own, ok := private.Public().(equaler)
	return ok && own.Equal(public)
}
