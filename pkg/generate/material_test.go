package generate

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

func request(t *testing.T, dir string, hosts ...string) Request {
	t.Helper()
	h, err := pki.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	return Request{Dir: dir, Hosts: h, KeyAlgorithm: pki.ECDSAP256, Days: pki.DefaultServerDays, CACommonName: pki.DefaultCACommonName, Now: time.Now()}
}

func run(t *testing.T, req Request) *Bundle {
	t.Helper()
	bundle, err := Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Write(req); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := entry.Info()
		files[entry.Name()] = info.Mode().Perm().String() + " " + string(data)
	}
	return files
}

func TestSecondRunWithTheSameInputChangesNoByte(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	req := request(t, dir, "kestra.example.com")
	run(t, req)
	before := snapshot(t, dir)
	req.Now = req.Now.Add(time.Hour)
	second := run(t, req)
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("files changed on a re-run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"store password", "CA from " + dir, "server certificate"}, second.Reused); diff != "" {
		t.Errorf("reused (-want +got):\n%s", diff)
	}
}

func TestFilesHaveTheirModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	run(t, request(t, dir, "kestra.example.com"))
	want := map[string]os.FileMode{
		CACertFile: 0o644, CAKeyFile: 0o600, ServerCertFile: 0o644, ServerKeyFile: 0o600,
		KeystoreFile: 0o644, TruststoreFile: 0o644, TruststoreP12File: 0o644, StorePasswordFile: 0o600,
	}
	got := map[string]os.FileMode{}
	entries, _ := os.ReadDir(dir)
	for _, entry := range entries {
		info, _ := entry.Info()
		got[entry.Name()] = info.Mode().Perm()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("file modes (-want +got):\n%s", diff)
	}
	info, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, want 0700", info.Mode().Perm())
	}
}

func TestChangedHostsReissueTheServerButKeepTheCA(t *testing.T) {
	dir := t.TempDir()
	first := run(t, request(t, dir, "kestra.example.com"))
	second := run(t, request(t, dir, "kestra.example.com", "10.0.0.5"))
	if !first.CA.Equal(second.CA) {
		t.Error("a new host minted a new CA")
	}
	if first.Server.Cert.Equal(second.Server.Cert) {
		t.Error("the server certificate was not reissued for the new host")
	}
	if err := second.Server.Cert.VerifyHostname("10.0.0.5"); err != nil {
		t.Error(err)
	}
}

func TestChangedKeyAlgorithmOrDaysReissueTheServer(t *testing.T) {
	dir := t.TempDir()
	first := run(t, request(t, dir, "kestra.example.com"))
	req := request(t, dir, "kestra.example.com")
	req.KeyAlgorithm = pki.ECDSAP384
	second := run(t, req)
	if pki.AlgorithmOf(second.Server.Cert.PublicKey) != pki.ECDSAP384 || first.Server.Cert.Equal(second.Server.Cert) {
		t.Error("a new --key-algorithm did not reissue")
	}
	req.Days = 90
	third := run(t, req)
	if pki.ValidityDays(third.Server.Cert) != 90 {
		t.Errorf("validity = %d days, want 90", pki.ValidityDays(third.Server.Cert))
	}
}

func TestForceMintsANewCA(t *testing.T) {
	dir := t.TempDir()
	first := run(t, request(t, dir, "kestra.example.com"))
	req := request(t, dir, "kestra.example.com")
	req.Force = true
	second := run(t, req)
	if first.CA.Equal(second.CA) {
		t.Error("--force kept the CA")
	}
	if first.Password != second.Password {
		t.Error("--force changed the store password; only the CA and certificate should change")
	}
}

func TestSharedCADirIsReusedAcrossOutputs(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	one, two := t.TempDir(), t.TempDir()
	reqOne := request(t, one, "a.example.com")
	reqOne.CADir = caDir
	reqTwo := request(t, two, "b.example.com")
	reqTwo.CADir = caDir
	first, second := run(t, reqOne), run(t, reqTwo)
	if !first.CA.Equal(second.CA) {
		t.Error("the second output minted its own CA instead of reusing --ca-dir")
	}
	if _, err := os.Stat(filepath.Join(one, CAKeyFile)); !os.IsNotExist(err) {
		t.Errorf("the CA key was copied into the output: %v", err)
	}
	if _, err := os.Stat(filepath.Join(caDir, CAKeyFile)); err != nil {
		t.Error(err)
	}
}

func TestACAWithoutItsKeyIsAnErrorNotANewCA(t *testing.T) {
	dir := t.TempDir()
	run(t, request(t, dir, "kestra.example.com"))
	os.Remove(filepath.Join(dir, CAKeyFile))
	_, err := Plan(request(t, dir, "kestra.example.com"))
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error = %v, want one pointing to --force", err)
	}
}

func TestRequestValidation(t *testing.T) {
	tests := map[string]struct {
		edit    func(*Request)
		wantErr string
	}{
		"no host":                               {func(r *Request) { r.Hosts = pki.Hosts{} }, "--host"},
		"a lifetime over Apple's limit":         {func(r *Request) { r.Days = 900 }, "--days 900"},
		"a zero lifetime":                       {func(r *Request) { r.Days = 0 }, "--days 0"},
		"a CA named like the server":            {func(r *Request) { r.CACommonName = "kestra.example.com" }, "--ca-common-name"},
		"a store password keytool would refuse": {func(r *Request) { r.Password = "abc" }, "at least 6 characters"},
		"no output directory":                   {func(r *Request) { r.Dir = "" }, "-o DIR"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := request(t, t.TempDir(), "kestra.example.com")
			tc.edit(&req)
			if err := req.Validate(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestGivenPasswordIsUsedAndChangeitWarns(t *testing.T) {
	req := request(t, t.TempDir(), "kestra.example.com")
	req.Password = "changeit"
	bundle := run(t, req)
	if bundle.Password != "changeit" || len(bundle.Warnings) == 0 {
		t.Errorf("password %q warnings %q", bundle.Password, bundle.Warnings)
	}
	fresh := run(t, request(t, t.TempDir(), "kestra.example.com"))
	if fresh.Password == "changeit" || len(fresh.Password) < 32 {
		t.Errorf("the default password must be random and long, got %d characters", len(fresh.Password))
	}
}

// TestCARotationMovesCertManagersIssuerAtStepTwo: where cert-manager issues from our CA, the issuer it
// holds stays the current CA's while clients learn the next CA, moves to the next CA at step 2, and stays
// put when the rotation finishes.
func TestCARotationMovesCertManagersIssuerAtStepTwo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	req := request(t, dir, "kestra.example.com")
	req.CAOnly = true
	first := run(t, req)
	issuerSignedBy := func(b *Bundle, ca *x509.Certificate) bool { return b.Issuer.CheckSignatureFrom(ca) == nil }

	req.Rotation = RotationTrust
	trust := run(t, req)
	if trust.NextCA == nil || !issuerSignedBy(trust, first.CA) || !trust.Issuer.Equal(first.Issuer) {
		t.Fatalf("step 1: next CA %v, the issuer must stay the current CA's, unchanged", trust.NextCA != nil)
	}
	req.Rotation = RotationIssue
	issue := run(t, req)
	if !issuerSignedBy(issue, trust.NextCA) || issuerSignedBy(issue, first.CA) {
		t.Fatal("step 2: the issuer is not the next CA's")
	}
	chain, err := os.ReadFile(filepath.Join(dir, IssuerCertFile))
	if err != nil {
		t.Fatal(err)
	}
	if certs, err := pki.ParseCertificates(chain); err != nil || len(certs) != 2 || !certs[1].Equal(trust.NextCA) {
		t.Errorf("step 2: %s must hold the issuer and the next CA above it (%v)", IssuerCertFile, err)
	}
	again := run(t, req)
	if !again.Issuer.Equal(issue.Issuer) {
		t.Error("step 2 again minted another issuer")
	}
	if _, err := FinishRotation(dir, req.Now); err != nil {
		t.Fatal(err)
	}
	req.Rotation = ""
	finished := run(t, req)
	if !finished.CA.Equal(trust.NextCA) || !finished.Issuer.Equal(issue.Issuer) {
		t.Error("after the rotation the CA must be the former next CA, and the issuer step 2's")
	}
}
