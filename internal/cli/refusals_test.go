package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serviceBase is a Kestra whose container declares 8080 and 8081, behind a Service with the given ports.
func serviceBase(ports string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: kestra}
spec:
  selector: {matchLabels: {app: kestra}}
  template:
    metadata: {labels: {app: kestra}}
    spec:
      containers:
      - {name: kestra, image: kestra/kestra:latest, ports: [{name: http, containerPort: 8080}, {name: management, containerPort: 8081}]}
---
apiVersion: v1
kind: Service
metadata: {name: kestra}
spec:
  selector: {app: kestra}
  ports: ` + ports + "\n"
}

// TestGenerateRefusesWhatTheAPIServerOrABrowserWould: inputs the old code accepted and turned into objects
// the API server refuses, routes to the wrong port, or certificates clients reject. Each is refused at
// generate, naming the flag or the base object, and writes nothing.
func TestGenerateRefusesWhatTheAPIServerOrABrowserWould(t *testing.T) {
	weak := weakCertificate(t)
	manyHosts := []string{"generate", "--email", "ops@example.com"}
	for i := range 101 {
		manyHosts = append(manyHosts, "--host", fmt.Sprintf("h%d.example.com", i))
	}
	cases := []struct {
		name string
		base string
		args []string
		want []string
	}{
		{"a base Service that already has a port named https", serviceBase(`[{name: http, port: 8080, targetPort: http}, {name: https, port: 443, targetPort: 8443}]`),
			[]string{"--mode", "app", "--host", "kestra.example.com"}, []string{"Service kestra already has a port named https (443)", "--port 443"}},
		{"Service ports {management 8081->8081, web 80->9999}", serviceBase(`[{name: management, port: 8081, targetPort: 8081}, {name: web, port: 80, targetPort: 9999}]`),
			[]string{"--host", "kestra.example.com", "--self-signed"}, []string{"Service kestra has no port that reaches Kestra's HTTP port 8080", "management (8081) -> 8081 (Kestra's management port", "web (80) -> 9999 (no container"}},
		{"a targetPort that names no container port", serviceBase(`[{name: http, port: 80, targetPort: web}]`),
			[]string{"--host", "kestra.example.com", "--self-signed"}, []string{"http (80) -> web (no container of Deployment kestra declares that port)"}},
		{"a wildcard first host", "", []string{"--host", "*.example.com", "--self-signed"}, []string{"--host *.example.com comes first", "kestra.url", "--host kestra.example.com --host *.example.com"}},
		{"the unspecified address 0.0.0.0", "", []string{"--mode", "app", "--host", "0.0.0.0"}, []string{"--host 0.0.0.0 is the unspecified address"}},
		{"a CA common name over 64 characters", "", []string{"--mode", "app", "--host", "kestra.example.com", "--ca-common-name", strings.Repeat("c", 65)},
			[]string{"--ca-common-name is 65 characters", "at most 64 (RFC 5280)"}},
		{"101 hosts for Let's Encrypt", "", manyHosts[1:], []string{"101 --host names", "at most 100 names"}},
		{"a supplied RSA-1024 certificate", "", []string{"--mode", "app", "--host", "kestra.example.com", "--cert", weak.cert, "--key", weak.key, "--ca", weak.cert},
			[]string{"RSA key of 1024 bits", "2048"}},
		{"--set ingress.pathType=Bogus", "", []string{"--host", "kestra.example.com", "--self-signed", "--set", "ingress.pathType=Bogus"}, []string{`ingress.pathType "Bogus"`, "Prefix"}},
		{"--set a Secret name in upper case", "", []string{"--host", "kestra.example.com", "--self-signed", "--set", "ingress.tlsSecretName=Kestra-TLS"},
			[]string{`ingress.tlsSecretName "Kestra-TLS" is not a valid object name`, "lower case"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := append([]string{"generate", "-o", out}, c.args...)
			if c.base != "" {
				writeFiles(t, dir, map[string]string{"kestra.yaml": c.base})
				args = append(args, "--base", filepath.Join(dir, "kestra.yaml"))
			}
			_, _, err := runCmd(t, args...)
			for _, want := range c.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("generate: %v\nwant it to say %q", err, want)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused run left its folder")
			}
		})
	}
}

// TestALongFirstHostStaysOutOfTheCommonName: a 70-character DNS name is a valid --host, but no common name
// (RFC 5280: at most 64): the certificate names it in its SANs and takes the next host that fits as CN.
func TestALongFirstHostStaysOutOfTheCommonName(t *testing.T) {
	long := strings.Repeat("k", 60) + ".example.com"
	out := filepath.Join(t.TempDir(), "out")
	if _, stderr, err := runCmd(t, "generate", "--mode", "app", "--host", long, "--host", "kestra.example.com", "-o", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "certs", "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "kestra.example.com" || cert.DNSNames[0] != long {
		t.Errorf("CN %q, SANs %v: want CN kestra.example.com and the long name first among the SANs", cert.Subject.CommonName, cert.DNSNames)
	}
}

type pemFiles struct{ cert, key string }

// weakCertificate is a self-signed server certificate for kestra.example.com with an RSA-1024 key.
func weakCertificate(t *testing.T) pemFiles {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kestra.example.com"}, DNSNames: []string{"kestra.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := pemFiles{cert: filepath.Join(dir, "weak.pem"), key: filepath.Join(dir, "weak.key")}
	os.WriteFile(files.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(files.key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return files
}
