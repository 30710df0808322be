package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// ErrKeyPasswordNeeded means the key is encrypted and no password was given.
var ErrKeyPasswordNeeded = errors.New("the private key is encrypted: pass its password with --key-password-file")

// ParseCertificates reads every CERTIFICATE block in PEM data, in order.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d is not valid X.509: %v", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}

// ParsePrivateKey reads the first private key in PEM data: PKCS#8 (plain or encrypted, as openssl 3
// writes), PKCS#1 RSA or SEC 1 EC. The password is used only for encrypted keys.
func ParsePrivateKey(data []byte, password []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM private key block found")
		}
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			if len(password) == 0 {
				return nil, ErrKeyPasswordNeeded
			}
			key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, password)
			if err != nil {
				return nil, fmt.Errorf("cannot decrypt the private key (wrong password in --key-password-file?): %v", err)
			}
			return asSigner(key)
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the PKCS#8 private key is not valid: %v", err)
			}
			return asSigner(key)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if _, encrypted := block.Headers["Proc-Type"]; encrypted {
				return nil, errors.New("legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is insecure and not supported: convert the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`")
			}
			if block.Type == "RSA PRIVATE KEY" {
				return x509.ParsePKCS1PrivateKey(block.Bytes)
			}
			return x509.ParseECPrivateKey(block.Bytes)
		}
	}
}

func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return nil, errors.New("Ed25519 keys are not accepted by Java's TLS for PKCS#12 keystores: use an ECDSA or RSA key")
	}
	return nil, fmt.Errorf("unsupported private key type %T: use an ECDSA or RSA key", key)
}

// ParsePKCS12 reads a PKCS#12 bundle holding a key, its certificate and optionally the chain.
func ParsePKCS12(data []byte, password string) (crypto.Signer, []*x509.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, nil, errors.New("wrong password for the PKCS#12 file (check --key-password-file)")
		}
		return nil, nil, fmt.Errorf("not a PKCS#12 file holding a key and a certificate: %v", err)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, nil, err
	}
	return signer, append([]*x509.Certificate{leaf}, chain...), nil
}

// EncodeCertificates is PEM for the certificates, in order.
func EncodeCertificates(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, cert := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	}
	return out
}

// EncodePrivateKey is unencrypted PKCS#8 PEM, the form Kubernetes TLS Secrets, nginx and Java all read.
func EncodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
