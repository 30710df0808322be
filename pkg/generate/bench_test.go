package generate

import (
	"path/filepath"
	"testing"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// BenchmarkPlanFresh measures making everything from nothing: CA, server certificate and stores.
func BenchmarkPlanFresh(b *testing.B) {
	for _, algorithm := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.RSA2048, pki.RSA4096} {
		b.Run(string(algorithm), func(b *testing.B) {
			if testing.Short() && algorithm == pki.RSA4096 {
				b.Skip("RSA-4096 takes seconds per run")
			}
			for b.Loop() {
				req := benchRequest(b, filepath.Join(b.TempDir(), "out"))
				req.KeyAlgorithm = algorithm
				if _, err := Plan(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlanReuse measures a re-run over existing material, the common case of `generate` and `apply`.
func BenchmarkPlanReuse(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "out")
	req := benchRequest(b, dir)
	bundle, err := Plan(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bundle.Write(req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Plan(req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRequest(b *testing.B, dir string) Request {
	hosts, _ := pki.ParseHosts([]string{"kestra.example.com", "127.0.0.1"})
	return Request{Dir: dir, Hosts: hosts, KeyAlgorithm: pki.ECDSAP256, Days: pki.DefaultServerDays, CACommonName: pki.DefaultCACommonName}
}
