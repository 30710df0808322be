package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// plantedSecret is in every password file of the sweep: no message may print it.
const plantedSecret = "s3cr3t-Planted-Pa55"

// TestBadInputSweep runs the real binary, built from the code under test, on wrong inputs across every
// command, each under a memory limit (2 GiB) and a time limit (30 s). Each must exit 1 with one line that
// names the flag or file, no stack trace, nothing written to -o, and no secret printed.
func TestBadInputSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary (skipped by -short)")
	}
	plugin := testutil.Plugin(t)
	f := newFixtures(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	certPEM, _ := os.ReadFile(f.certPEM)
	keyPEM, _ := os.ReadFile(f.keyPEM)
	key, err := pki.ParsePrivateKey(keyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := pki.ParseCertificates(certPEM)
	p12, err := pkcs12.Modern2023.Encode(key, leaf[0], nil, "right-password")
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	bomb, _ := os.ReadFile("testdata/bases/alias-bomb.yaml")
	huge := bytes.Repeat([]byte("# padding to make an oversized file\n"), 17<<20/36+1)
	files := map[string]string{
		"malformed.yaml":    write("malformed.yaml", []byte("ingress: [unclosed\n")),
		"malformed-base":    write("malformed-base.yaml", []byte("apiVersion: v1\nkind: [Service\n")),
		"bomb":              write("bomb.yaml", bomb),
		"huge":              write("huge.yaml", huge),
		"empty.pem":         write("empty.pem", nil),
		"binary.pem":        write("binary.pem", garbage),
		"truncated.pem":     write("truncated.pem", certPEM[:len(certPEM)/2]),
		"empty.p12":         write("empty.p12", nil),
		"truncated.p12":     write("truncated.p12", p12[:len(p12)/2]),
		"server.p12":        write("server.p12", p12),
		"wrong-password":    write("wrong-password", []byte(plantedSecret+"\n")),
		"empty-password":    write("empty-password", []byte("\n")),
		"a-file":            write("a-file", []byte("not a folder")),
		"bad-template/":     filepath.Join(dir, "templates"),
		"missing.kubecfg":   filepath.Join(dir, "no-such-kubeconfig"),
		"other-ca.pem":      write("other-ca.pem", otherCA(t)),
		"values-folder":     t.TempDir(),
		"kubeconfig":        write("kubeconfig", []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n")),
		"long-host":         strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61) + ".com",
		"ca-bundle-garbage": write("ca-bundle.bin", garbage),
		"hmac-not-base64":   write("hmac-not-base64", []byte(plantedSecret+" with spaces\n")),
		"hmac-short":        write("hmac-short", []byte("c2hvcnQ\n")),
		"solver-both":       write("solver-both.yaml", []byte("- http01: {ingress: {}}\n  dns01: {webhook: {groupName: x, solverName: y}}\n")),
		"solver-empty":      write("solver-empty.yaml", []byte("[]\n")),
		"solver-http":       write("solver-http.yaml", []byte("http01: {ingress: {ingressClassName: nginx}}\n")),
		"compose-none":      write("compose-none.yaml", []byte("services:\n  web:\n    image: nginx\n")),
		"compose-two":       write("compose-two.yaml", []byte("services:\n  a:\n    image: kestra/kestra:latest\n  b:\n    image: kestra/kestra:latest\n")),
		"compose-malformed": write("compose-malformed.yaml", []byte("services:\n  kestra:\n    image: [kestra\n")),
	}
	os.MkdirAll(files["bad-template/"], 0o755)
	os.WriteFile(filepath.Join(files["bad-template/"], "ingress.yaml.tpl"), []byte("{{ .Values.nope.deeper }"), 0o644)
	host := []string{"--host", "kestra.example.com"}
	app := append([]string{"generate", "--mode", "app"}, host...)
	ingress := append(append([]string{"generate"}, host...), "--self-signed")
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	acmeIngress := append(append([]string{"generate"}, host...), "--email", "ops@example.com")
	gen := append([]string{"generate"}, host...)
	// An overlay whose certificate an issuer of the user's signs: its CA is not ours to rotate.
	issuerRefOverlay := filepath.Join(dir, "issuer-ref-overlay")
	if out, err := exec.Command(plugin, append(append([]string{}, gen...), "--issuer-ref", "corp-ca", "-o", issuerRefOverlay)...).CombinedOutput(); err != nil {
		t.Fatalf("generating the issuer-ref overlay: %v\n%s", err, out)
	}

	tests := map[string]struct {
		args []string
		want []string
	}{
		"malformed YAML in -f":                                               {with(ingress, "-f", files["malformed.yaml"]), []string{"-f " + files["malformed.yaml"], "not valid YAML"}},
		"malformed YAML in --base":                                           {with(ingress, "--base", files["malformed-base"]), []string{"--base " + files["malformed-base"]}},
		"an alias bomb in -f":                                                {with(ingress, "-f", files["bomb"]), []string{"-f " + files["bomb"], "aliasing"}},
		"an alias bomb in --base":                                            {with(ingress, "--base", files["bomb"]), []string{"--base " + files["bomb"], "aliasing"}},
		"an alias bomb in --chart-values":                                    {with(ingress, "--target", "helm", "--chart-values", files["bomb"]), []string{"--chart-values " + files["bomb"], "aliasing"}},
		"an oversized -f":                                                    {with(ingress, "-f", files["huge"]), []string{"-f " + files["huge"], "MiB"}},
		"an oversized --base":                                                {with(ingress, "--base", files["huge"]), []string{"--base " + files["huge"], "MiB"}},
		"-f naming a folder":                                                 {with(ingress, "-f", files["values-folder"]), []string{"-f " + files["values-folder"], "folder"}},
		"--set with a mistyped value":                                        {with(app, "--set", "app.port=https"), []string{"--set app.port=https", "number"}},
		"--set on an unknown key":                                            {with(ingress, "--set", "ingress.clasName=x"), []string{"--set ingress.clasName=x", "unknown key"}},
		"--set without a value":                                              {with(ingress, "--set", "ingress.className"), []string{"--set ingress.className"}},
		"a control character in --set":                                       {with(ingress, "--set", "ingress.className=ng\x7finx"), []string{"--set ingress.className=", "control character U+007F"}},
		"a host with a space":                                                {with([]string{"generate", "--self-signed"}, "--host", "bü cher.example.com"), []string{`--host "bü cher.example.com"`}},
		"a 254-byte host":                                                    {with([]string{"generate", "--self-signed"}, "--host", files["long-host"]), []string{"--host", "253"}},
		"an all-numeric top-level domain":                                    {with([]string{"generate", "--self-signed"}, "--host", "kestra.123"), []string{`--host "kestra.123"`, "all digits"}},
		"the same host twice":                                                {with(ingress, "--host", "KESTRA.example.com."), []string{"--host", "twice"}},
		"a port of 0":                                                        {with(app, "--port", "0"), []string{"--port 0", "1 to 65535"}},
		"a port over 65535":                                                  {with(app, "--port", "70000"), []string{"--port 70000", "1 to 65535"}},
		"an empty PEM certificate":                                           {with(app, "--cert", files["empty.pem"], "--key", f.keyPEM), []string{"--cert " + files["empty.pem"]}},
		"a binary file as certificate":                                       {with(app, "--cert", files["binary.pem"], "--key", f.keyPEM), []string{"--cert " + files["binary.pem"]}},
		"a truncated PEM certificate":                                        {with(app, "--cert", files["truncated.pem"], "--key", f.keyPEM), []string{"--cert " + files["truncated.pem"]}},
		"a binary file as key":                                               {with(app, "--cert", f.certPEM, "--key", files["binary.pem"]), []string{"--key " + files["binary.pem"]}},
		"an empty PKCS#12":                                                   {with(app, "--pkcs12", files["empty.p12"], "--key-password-file", files["wrong-password"], "--ca", f.caPEM), []string{"--pkcs12 " + files["empty.p12"]}},
		"a truncated PKCS#12":                                                {with(app, "--pkcs12", files["truncated.p12"], "--key-password-file", files["wrong-password"], "--ca", f.caPEM), []string{"--pkcs12 " + files["truncated.p12"]}},
		"a PKCS#12 with the wrong password":                                  {with(app, "--pkcs12", files["server.p12"], "--key-password-file", files["wrong-password"], "--ca", f.caPEM), []string{"--pkcs12 " + files["server.p12"], "password"}},
		"an expired supplied certificate":                                    {with(app, "--cert", f.expiredCertPEM, "--key", f.keyPEM, "--ca", f.caPEM), []string{"--cert " + f.expiredCertPEM, "expired"}},
		"a key that does not match":                                          {with(app, "--cert", f.certPEM, "--key", f.otherKeyPEM, "--ca", f.caPEM), []string{"--key " + f.otherKeyPEM}},
		"a chain that does not verify":                                       {with(app, "--cert", f.certPEM, "--key", f.keyPEM, "--ca", files["other-ca.pem"]), []string{"--ca " + files["other-ca.pem"], "does not verify"}},
		"an empty store password file":                                       {with(app, "--store-password-file", files["empty-password"]), []string{"--store-password-file " + files["empty-password"], "empty"}},
		"a Service without ports":                                            {with(ingress, "--base", "testdata/bases/externalname/kestra.yaml"), []string{"Service kestra has no ports"}},
		"a base without Kestra":                                              {with(ingress, "--base", "testdata/bases/no-kestra"), []string{"--base testdata/bases/no-kestra", "--deployment"}},
		"an unwritable -o":                                                   {with(ingress, "-o", "/proc/kestra-tls-overlay"), []string{"/proc/kestra-tls-overlay"}},
		"-o naming a file":                                                   {with(ingress, "-o", files["a-file"]), []string{files["a-file"]}},
		"an unknown --mode":                                                  {with(ingress, "--mode", "sidecar"), []string{`--mode "sidecar"`}},
		"an unknown --target":                                                {with(ingress, "--target", "terraform"), []string{`--target "terraform"`}},
		"--target helm with --base":                                          {with(ingress, "--target", "helm", "--base", "testdata/bases/chart"), []string{"--base", "--chart-values"}},
		"--chart-values without --target helm":                               {with(ingress, "--chart-values", files["malformed.yaml"]), []string{"--chart-values", "--target helm"}},
		"an unknown --issuer":                                                {with(append([]string{"generate"}, host...), "--issuer", "zerossl"), []string{`--issuer "zerossl"`}},
		"an email that is not one":                                           {with(append([]string{"generate"}, host...), "--email", "ops at example"), []string{`--email "ops at example"`}},
		"a plain-HTTP ACME server":                                           {with(append([]string{"generate"}, host...), "--email", "ops@example.com", "--acme-server", "http://acme.example.com/dir"), []string{"--acme-server", "https://"}},
		"--eab-kid without its key file":                                     {with(acmeIngress, "--eab-kid", "kid"), []string{"--eab-kid and --eab-hmac-key-file"}},
		"an EAB key that is not base64url":                                   {with(acmeIngress, "--eab-kid", "kid", "--eab-hmac-key-file", files["hmac-not-base64"]), []string{"--eab-hmac-key-file " + files["hmac-not-base64"], "base64url"}},
		"an EAB key too short for HMAC":                                      {with(acmeIngress, "--eab-kid", "kid", "--eab-hmac-key-file", files["hmac-short"]), []string{"--eab-hmac-key-file " + files["hmac-short"], "too short"}},
		"a binary --acme-ca-bundle":                                          {with(acmeIngress, "--acme-ca-bundle", files["binary.pem"]), []string{"--acme-ca-bundle " + files["binary.pem"]}},
		"a solver with both http01 and dns01":                                {with(acmeIngress, "--solver-file", files["solver-both"]), []string{"--solver-file " + files["solver-both"], "exactly one of http01 and dns01"}},
		"a solver file without solvers":                                      {with(acmeIngress, "--solver-file", files["solver-empty"]), []string{"--solver-file " + files["solver-empty"], "no solver"}},
		"a wildcard with only an HTTP-01 solver":                             {with(acmeIngress, "--host", "*.kestra.example.com", "--solver-file", files["solver-http"]), []string{"--host *.kestra.example.com", "no dns01 solver"}},
		"a wildcard without a solver file":                                   {with(acmeIngress, "--host", "*.kestra.example.com"), []string{"--host *.kestra.example.com", "--solver-file"}},
		"--acme-staging with another server":                                 {with(acmeIngress, "--acme-staging", "--acme-server", "https://acme.example.com/dir"), []string{"--acme-staging", "--acme-server https://acme.example.com/dir"}},
		"--solver-file with --self-signed":                                   {with(ingress, "--solver-file", files["solver-http"]), []string{"--solver-file", "--self-signed"}},
		"a Compose file without Kestra":                                      {with(gen, "--target", "compose", "--compose-file", files["compose-none"]), []string{"--compose-file " + files["compose-none"], "--service"}},
		"a Compose file with two Kestras":                                    {with(gen, "--target", "compose", "--compose-file", files["compose-two"]), []string{"--compose-file " + files["compose-two"], "a, b", "--service"}},
		"a malformed Compose file":                                           {with(gen, "--target", "compose", "--compose-file", files["compose-malformed"]), []string{"--compose-file " + files["compose-malformed"]}},
		"a Compose service that does not exist":                              {with(gen, "--target", "compose", "--compose-file", files["compose-two"], "--service", "c"), []string{`no service "c"`}},
		"--target compose without a Compose file":                            {with(gen, "--target", "compose"), []string{"--compose-file"}},
		"--target compose with --mode ingress":                               {with(gen, "--target", "compose", "--mode", "ingress", "--compose-file", files["compose-two"]), []string{"--target compose", "--mode"}},
		"--compose-file without --target compose":                            {with(gen, "--compose-file", files["compose-two"], "--self-signed"), []string{"--compose-file needs --target compose"}},
		"--mode gateway without a Gateway":                                   {with(gen, "--mode", "gateway", "--self-signed"), []string{"--gateway-class", "--gateway NAMESPACE/NAME"}},
		"a --gateway without a namespace":                                    {with(gen, "--mode", "gateway", "--gateway", "public"), []string{`--gateway "public"`, "NAMESPACE/NAME"}},
		"--gateway-class with --gateway":                                     {with(gen, "--mode", "gateway", "--gateway", "infra/public", "--gateway-class", "eg"), []string{"--gateway-class", "--gateway infra/public"}},
		"--backend-tls without --mode gateway":                               {with(gen, "--backend-tls", "--self-signed"), []string{"--backend-tls goes with --mode gateway"}},
		"--backend-tls without a namespace":                                  {with(gen, "--mode", "gateway", "--gateway-class", "eg", "--backend-tls", "--self-signed"), []string{"--backend-tls needs Kestra's namespace", "-n NAMESPACE"}},
		"--backend-tls with --no-cert-manager":                               {with(gen, "--mode", "gateway", "--gateway-class", "eg", "--backend-tls", "--self-signed", "--no-cert-manager", "-n", "k"), []string{"--backend-tls", "--no-cert-manager"}},
		"--mode gateway with --target helm":                                  {with(gen, "--mode", "gateway", "--gateway-class", "eg", "--target", "helm", "--self-signed"), []string{"--mode gateway", "--target kustomize"}},
		"an IP host in gateway mode":                                         {with([]string{"generate"}, "--mode", "gateway", "--gateway-class", "eg", "--host", "10.0.0.5", "--self-signed"), []string{"--host 10.0.0.5", "HTTPRoute"}},
		"a template that does not parse":                                     {with(ingress, "--templates", files["bad-template/"]), []string{"ingress.yaml.tpl"}},
		"--templates naming a file":                                          {with(ingress, "--templates", files["a-file"]), []string{"--templates " + files["a-file"]}},
		"a binary --ca-bundle":                                               {with(app, "--outbound-trust", "--ca-bundle", files["ca-bundle-garbage"]), []string{"--ca-bundle " + files["ca-bundle-garbage"]}},
		"--force with supplied material":                                     {with(app, "--cert", f.certPEM, "--key", f.keyPEM, "--force"), []string{"--force"}},
		"certs with an unknown key algorithm":                                {[]string{"certs", "--host", "a.example.com", "--key-algorithm", "dsa"}, []string{"--key-algorithm", "dsa"}},
		"certs with 0 days":                                                  {[]string{"certs", "--host", "a.example.com", "--days", "0"}, []string{"--days"}},
		"certs with --cert but no --key":                                     {[]string{"certs", "--host", "a.example.com", "--cert", f.certPEM}, []string{"--cert and --key"}},
		"apply with a kubeconfig that is absent":                             {[]string{"apply", "--kubeconfig", files["missing.kubecfg"], "--host", "a.example.com", "--self-signed", "--dry-run=server"}, []string{files["missing.kubecfg"]}},
		"apply with a context that is absent":                                {[]string{"apply", "--kubeconfig", files["kubeconfig"], "--context", "nope", "--host", "a.example.com", "--self-signed"}, []string{"--context nope", "get-contexts"}},
		"apply with an unknown --dry-run":                                    {[]string{"apply", "--dry-run=later"}, []string{"--dry-run=later"}},
		"apply with an unknown -o":                                           {[]string{"apply", "-o", "xml"}, []string{"-o xml"}},
		"wait with a negative --timeout":                                     {[]string{"wait", "--timeout", "-5s"}, []string{"--timeout -5s"}},
		"status with an unknown -o":                                          {[]string{"status", "-o", "xml"}, []string{`--output "xml"`, "table, yaml or json"}},
		"status with a --warn-within of no unit":                             {[]string{"status", "--warn-within", "soon"}, []string{`--warn-within "soon"`, "30d"}},
		"status with a plain-HTTP --url":                                     {[]string{"status", "--url", "http://kestra.example.com"}, []string{`--url "http://kestra.example.com"`, "https://HOST"}},
		"status with --connect-to but no --url":                              {[]string{"status", "--connect-to", "10.0.0.1:8443"}, []string{"--connect-to needs --url"}},
		"status against an API server that is down":                          {[]string{"status"}, []string{"127.0.0.1:1", "reachable"}},
		"renew of a folder that is no overlay":                               {[]string{"renew", files["values-folder"]}, []string{files["values-folder"], "not an overlay folder"}},
		"renew with a zero --timeout":                                        {[]string{"renew", "--timeout", "0s"}, []string{"--timeout 0s"}},
		"rotate-ca of a folder that is no overlay":                           {[]string{"rotate-ca", files["values-folder"]}, []string{files["values-folder"], "not an overlay folder"}},
		"diff of a folder that is no overlay":                                {[]string{"diff", files["values-folder"]}, []string{files["values-folder"], "not an overlay folder"}},
		"uninstall of a folder that is no overlay":                           {[]string{"uninstall", files["values-folder"], "--yes"}, []string{files["values-folder"], "not an overlay folder"}},
		"an unknown --app-issuer":                                            {with(app, "--app-issuer", "vault"), []string{`--app-issuer "vault"`, "local", "cert-manager"}},
		"--gitops with --target helm":                                        {with(app, "--gitops", "--self-signed", "-n", "kestra", "--target", "helm"), []string{"--gitops", "--target helm"}},
		"--gitops with a certificate you supply":                             {with(app, "--gitops", "--cert", f.certPEM, "--key", f.keyPEM), []string{"--gitops", "key in git", "--seal-with", "--issuer-ref"}},
		"--hsts in ingress mode":                                             {with(ingress, "--hsts"), []string{"--hsts", "ingress mode", "--mode app"}},
		"--hsts that is no number of seconds":                                {with(app, "--hsts=1y"), []string{`--hsts "1y"`, "31536000"}},
		"--hsts with its max-age after a space":                              {with(app, "--hsts", "600"), []string{"--hsts=600"}},
		"--client-auth in ingress mode":                                      {with(ingress, "--client-auth", "need"), []string{"--client-auth need", "ingress mode", "--mode app"}},
		"--trust-manager without cert-manager's stores":                      {with(app, "--outbound-trust", "--trust-manager"), []string{"--trust-manager", "--gitops or --app-issuer cert-manager"}},
		"--client-auth in gateway mode":                                      {with(ingress, "--mode", "gateway", "--gateway-class", "eg", "--client-auth", "need"), []string{"--client-auth need", "gateway mode", "--ingress-class traefik"}},
		"--client-auth for Traefik without a namespace":                      {with(ingress, "--self-signed", "--ingress-class", "traefik", "--client-auth", "need"), []string{"--client-auth need", "-n NAMESPACE"}},
		"--client-auth for Traefik with Let's Encrypt":                       {append(append([]string{"generate"}, host...), "--ingress-class", "traefik", "--client-auth", "need", "-n", "kestra"), []string{"--client-auth need", "--client-ca FILE"}},
		"--client-auth that is neither need nor want":                        {with(app, "--client-auth", "require"), []string{`"require"`, "want", "need"}},
		"--client-ca without --client-auth":                                  {with(app, "--client-ca", f.caPEM), []string{"--client-ca", "--client-auth need"}},
		"--client-ca that is no CA certificate":                              {with(app, "--client-auth", "need", "--client-ca", f.certPEM), []string{"--client-ca " + f.certPEM, "not a CA certificate"}},
		"--client-auth on a keystore from the user's issuer, no --client-ca": {with(app, "--issuer-ref", "ClusterIssuer/corp", "--app-issuer", "cert-manager", "-n", "kestra", "--client-auth", "need"), []string{"--client-auth need", "every public CA", "--client-ca FILE"}},
		"--client-auth on a class of another name, whose controller values do not say": {with(ingress, "--self-signed", "--ingress-class", "public", "--client-auth", "need", "-n", "kestra"), []string{"--client-auth need", "--set ingress.controller=nginx"}},
		"--client-auth for ingress-nginx without a namespace":                          {with(ingress, "--self-signed", "--ingress-class", "nginx", "--client-auth", "want"), []string{"--client-auth want", "-n NAMESPACE"}},
		"certs --client with no CA to sign with":                                       {[]string{"certs", "--client", "ci-bot"}, []string{"no CA", "--client-ca"}},
		"certs --client-ca without its key":                                            {[]string{"certs", "--client", "ci-bot", "--client-ca", f.caPEM}, []string{"--client-ca", "--client-ca-key"}},
		"certs --client with a name that is no file name":                              {[]string{"certs", "--client", "../x", "--client-ca", f.caPEM, "--client-ca-key", f.keyPEM}, []string{`--client "../x"`, "letters"}},
		"certs --client-password-file without --client":                                {[]string{"certs", "--host", "a.example.com", "--client-password-file", f.caPEM}, []string{"--client-password-file", "--client NAME"}},
		"--seal-with without --gitops":                                                 {with(app, "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--seal-with", f.caPEM), []string{"--seal-with", "--gitops"}},
		"--seal-with without a certificate to seal":                                    {with(app, "--gitops", "--self-signed", "-n", "kestra", "--seal-with", f.caPEM), []string{"--seal-with", "--cert"}},
		"--seal-with a file that is no certificate":                                    {with(app, "--gitops", "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--seal-with", f.keyPEM), []string{"--seal-with " + f.keyPEM, "kubeseal --fetch-cert"}},
		"--sops-age that is no age public key":                                         {with(app, "--gitops", "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--sops-age", "AGE-SECRET-KEY-1XYZ"), []string{"--sops-age", "age-keygen -y"}},
		"--sops-age and --seal-with together":                                          {with(app, "--gitops", "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--seal-with", f.caPEM, "--sops-age", "age1xyz"), []string{"--seal-with", "--sops-age", "keep the one"}},
		"--seal-with a certificate that is not the controller's":                       {with(app, "--gitops", "--cert", f.certPEM, "--key", f.keyPEM, "--ca", f.caPEM, "--seal-with", f.caPEM), []string{"--seal-with " + f.caPEM, "not RSA"}},
		"--gitops with --no-cert-manager":                                              {with(ingress, "--gitops", "--no-cert-manager"), []string{"--gitops", "--no-cert-manager"}},
		"--gitops in app mode with Let's Encrypt":                                      {with(app, "--gitops", "-n", "kestra"), []string{"--gitops", "--self-signed", "--issuer-ref"}},
		"--gitops with --app-issuer local":                                             {with(app, "--gitops", "--self-signed", "-n", "kestra", "--app-issuer", "local"), []string{"--gitops", "--app-issuer local"}},
		"--proxy without a port":                                                       {with(app, "--proxy", "http://proxy.corp.example"), []string{`--proxy "http://proxy.corp.example"`, "http://proxy.corp.example:PORT"}},
		"--proxy that is no URL":                                                       {with(app, "--proxy", "proxy.corp.example:3128"), []string{"--proxy", "http://host:port"}},
		"--proxy with credentials":                                                     {with(app, "--proxy", "http://user:"+plantedSecret+"@proxy.corp.example:3128"), []string{"--proxy", "credentials", "REDACTED"}},
		"--no-proxy without --proxy":                                                   {with(app, "--no-proxy", "build.corp.example"), []string{"--no-proxy", "--proxy"}},
		"--proxy in ingress mode":                                                      {with(ingress, "--proxy", "http://proxy.corp.example:3128"), []string{"--proxy", "--mode app"}},
		"--registry without --outbound-trust":                                          {with(app, "--registry", "registry.corp.example:5000"), []string{"--registry registry.corp.example:5000", "--outbound-trust"}},
		"--registry as a URL":                                                          {with(app, "--outbound-trust", "--registry", "https://registry.corp.example/v2"), []string{`--registry "https://registry.corp.example/v2"`, "host:port"}},
		"--trust-ca without --outbound-trust":                                          {with(app, "--trust-ca", f.certPEM), []string{"--trust-ca", "--outbound-trust"}},
		"a --trust-ca that holds no certificate":                                       {with(app, "--outbound-trust", "--trust-ca", files["ca-bundle-garbage"]), []string{"--trust-ca " + files["ca-bundle-garbage"]}},
		"a --kestra-version that is no version":                                        {with(app, "--kestra-version", "prod"), []string{`--kestra-version "prod"`, "1.3", "latest"}},
		"an unknown app.renewal":                                                       {with(app, "--set", "app.renewal=hot"), []string{`app.renewal="hot"`, "reload", "restart"}},
		"app.renewal reload for Kestra 1.2":                                            {with(app, "--set", "app.renewal=reload", "--kestra-version", "1.2"), []string{"app.renewal is reload", "older than Kestra 1.3", "--kestra-version"}},
		"a reload interval that is no duration":                                        {with(app, "--set", "app.reloadInterval=0s"), []string{`app.reloadInterval="0s"`, "30s", "1m"}},
		"--app-issuer cert-manager with Let's Encrypt":                                 {with(app, "--app-issuer", "cert-manager", "--email", "ops@example.com"), []string{"--app-issuer cert-manager", "--issuer-ref", "--self-signed"}},
		"--app-issuer cert-manager without a namespace":                                {with(app, "--app-issuer", "cert-manager", "--self-signed"), []string{"--app-issuer cert-manager needs Kestra's namespace", "-n NAMESPACE"}},
		"--app-issuer cert-manager with --target helm":                                 {with(app, "--app-issuer", "cert-manager", "--self-signed", "--target", "helm"), []string{"--app-issuer cert-manager", "--target kustomize"}},
		"--restart-on-renewal without cert-manager":                                    {with(app, "--restart-on-renewal", "reloader"), []string{"--restart-on-renewal reloader", "--app-issuer cert-manager"}},
		"an unknown --restart-on-renewal":                                              {with(app, "--issuer-ref", "corp-ca", "--restart-on-renewal", "kured"), []string{`--restart-on-renewal "kured"`, "reloader"}},
		"a rotation step set by hand":                                                  {with(app, "--set", "certificates.rotation=later"), []string{`certificates.rotation "later"`, "rotate-ca"}},
		"rotate-ca of an overlay another issuer signs for":                             {[]string{"rotate-ca", issuerRefOverlay}, []string{issuerRefOverlay, "rotate-ca replaces our CA", "another issuer"}},
		"a rotation step with Let's Encrypt":                                           {with(acmeIngress, "--set", "certificates.rotation=trust"), []string{`certificates.rotation "trust"`, `set it back to ""`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := tc.args
			if !containsFlag(args, "-o") && (args[0] == "generate" || args[0] == "certs") {
				args = append(args, "-o", out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -v 2097152; exec "$@"`, "sh", plugin}, args...)...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+files["kubeconfig"])
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still running after 30 s")
			}
			var exit *exec.ExitError
			wantCode := 1
			if args[0] == "diff" {
				wantCode = 2 // kubectl diff's: 1 means differences
			}
			if !errors.As(err, &exit) || exit.ExitCode() != wantCode {
				t.Fatalf("exit = %v, want %d\nstdout: %s\nstderr: %s", err, wantCode, stdout.String(), stderr.String())
			}
			message := stderr.String()
			lines := strings.Split(strings.TrimSpace(message), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") {
				t.Errorf("want one error line, got:\n%s", message)
			}
			for _, want := range tc.want {
				if !strings.Contains(message, want) {
					t.Errorf("the error does not name %q:\n%s", want, message)
				}
			}
			for _, never := range []string{"goroutine ", "panic:", plantedSecret} {
				if strings.Contains(message+stdout.String(), never) {
					t.Errorf("the output holds %q:\n%s", never, message)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("wrote %s despite the error", out)
			}
		})
	}
	if len(tests) < 40 {
		t.Errorf("the sweep has %d cases, the issue asks for at least 40", len(tests))
	}
}

func containsFlag(args []string, flag string) bool {
	for _, arg := range args {
		if arg == flag {
			return true
		}
	}
	return false
}

// otherCA is a CA that signed none of the fixtures.
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, _ := pki.ECDSAP256.GenerateKey()
	ca, err := pki.NewCA(pki.CARequest{CommonName: "Other CA", Days: 10, Key: key, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return pki.EncodeCertificates(ca.Cert)
}
