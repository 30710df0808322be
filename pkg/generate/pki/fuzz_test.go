package pki

import (
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func FuzzParsePEMInput(f *testing.F) {
	key, _ := ECDSAP256.GenerateKey()
	ca, _ := NewCA(CARequest{CommonName: "fuzz CA", Days: 1, Key: key, Now: time.Now()})
	keyPEM, _ := EncodePrivateKey(key)
	f.Add(EncodeCertificates(ca.Cert), []byte(""))
	f.Add(keyPEM, []byte("changeit"))
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"), []byte("changeit"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), []byte(""))
	f.Fuzz(func(t *testing.T, data, password []byte) {
		// Garbage must give an error, never a panic.
		if certs, err := ParseCertificates(data); err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		if signer, err := ParsePrivateKey(data, password); err == nil && signer == nil {
			t.Fatal("no error and no key")
		}
	})
}

func FuzzParsePKCS12(f *testing.F) {
	// A real bundle as a seed, so mutations reach the decoder's inner layers.
	key, _ := ECDSAP256.GenerateKey()
	ca, _ := NewCA(CARequest{CommonName: "fuzz CA", Days: 1, Key: key, Now: time.Now()})
	if bundle, err := pkcs12.Modern2023.Encode(key, ca.Cert, nil, "changeit"); err == nil {
		f.Add(bundle, "changeit")
		f.Add(bundle, "wrong")
	}
	f.Add([]byte{0x30, 0x82, 0x01, 0x00}, "changeit")
	f.Add([]byte("not a pkcs12 file"), "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if signer, certs, err := ParsePKCS12(data, password); err == nil && (signer == nil || len(certs) == 0) {
			t.Fatal("no error and nothing decoded")
		}
	})
}
