package browser

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadTrustsOnlyTheCAGiven serves a page with httptest's certificate (for example.com) and loads it in
// Chromium trusting that certificate, then trusting another one: the first loads, the second is refused
// with Chromium's own net error.
func TestLoadTrustsOnlyTheCAGiven(t *testing.T) {
	Require(t)
	server := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Kestra</title></head><body><h1>served</h1></body></html>`)
	}))
	defer server.Close()
	// httptest's servers all share one certificate: another CA is made here.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, DNSNames: []string{"example.com"}}
	otherCA, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(server.Listener.Addr().String())
	url := "https://example.com:" + port + "/"
	hosts := map[string]string{"example.com": "127.0.0.1"}

	writeCA := func(der []byte) string {
		path := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	page, err := Load(t, url, writeCA(server.Certificate().Raw), hosts)
	if err != nil || !strings.Contains(page.DOM, "<h1>served</h1>") {
		t.Errorf("trusting the server's CA: %v\n%s", err, page.DOM)
	}
	if _, err := Load(t, url, writeCA(otherCA), hosts); err == nil || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Errorf("trusting another CA, the load = %v, want Chromium's ERR_CERT_AUTHORITY_INVALID", err)
	}
}
