// Package browser loads a page in a real browser: Debian's Chromium, headless, with a fresh profile whose
// NSS database trusts only the CA the test gives (added with certutil), and host names mapped to the
// addresses the test serves them on (no DNS). A certificate the browser refuses fails with its net error.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
)

// Require fails under CI and skips elsewhere, saying how to install them, when Chromium or certutil is
// missing.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Chromium (skipped by -short)")
	}
	if err := Available(); err != nil {
		testutil.Unavailable(t, "%v", err)
	}
}

// Available says how to install what is missing.
func Available() error {
	for _, program := range []string{"chromium", "certutil"} {
		if _, err := exec.LookPath(program); err != nil {
			return fmt.Errorf("the browser check needs Debian's chromium and libnss3-tools (%s is missing): apt-get install chromium libnss3-tools", program)
		}
	}
	return nil
}

// Page is what the browser loaded.
type Page struct {
	DOM string
}

// netError is how Chromium names a failed load on its error page.
var netError = regexp.MustCompile(`(?:net::)?ERR_[A-Z_]+`)

// Load opens url in headless Chromium trusting caFile, with each host resolved as hosts maps it
// ("kestra.example.com" -> "127.0.0.2"), and returns the page's DOM; a load the browser refused (an
// untrusted certificate, a wrong name) is an error naming Chromium's net error.
func Load(t testing.TB, url, caFile string, hosts map[string]string) (Page, error) {
	t.Helper()
	Require(t)
	return LoadIn(t.TempDir(), url, caFile, hosts)
}

// LoadIn is Load with the browser's home (its profile and NSS database) in a folder of the caller's.
func LoadIn(home, url, caFile string, hosts map[string]string) (Page, error) {
	return load(home, url, caFile, hosts, nil)
}

// ClientCert is a PKCS#12 a user imports into the browser, to present to a server that asks for one.
type ClientCert struct {
	P12, Password string
}

// LoadWithClientCert is Load with the client certificate imported into the browser's NSS database (as a
// user imports a .p12) and Chromium's AutoSelectCertificateForUrls policy choosing it when a server asks,
// since a headless browser shows no dialog. The policy is a file under /etc/chromium/policies/managed,
// which only this browser sees: a mount namespace of its own lays it there.
func LoadWithClientCert(t testing.TB, url, caFile string, hosts map[string]string, client ClientCert) (Page, error) {
	t.Helper()
	Require(t)
	return load(t.TempDir(), url, caFile, hosts, &client)
}

func load(home, url, caFile string, hosts map[string]string, client *ClientCert) (Page, error) {
	nssdb := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		return Page{}, err
	}
	steps := [][]string{
		{"certutil", "-d", nssdb, "-N", "--empty-password"},
		{"certutil", "-d", nssdb, "-A", "-t", "C,,", "-n", "kestra-tls test CA", "-i", caFile},
	}
	if client != nil {
		passwordFile := filepath.Join(home, "p12-password")
		if err := os.WriteFile(passwordFile, []byte(client.Password), 0o600); err != nil {
			return Page{}, err
		}
		steps = append(steps, []string{"pk12util", "-d", nssdb, "-i", client.P12, "-w", passwordFile})
	}
	for _, argv := range steps {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return Page{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	var rules []string
	for host, address := range hosts {
		rules = append(rules, "MAP "+host+" "+address)
	}
	var page Page
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		page, err = run(home, url, rules, client)
		// Chromium drops a load when the machine's network changes, which another test's network
		// namespace does on this machine: that says nothing about the page, so load it again.
		if err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") {
			break
		}
	}
	return page, err
}

// run is one headless Chromium loading url with the profile in home.
func run(home, url string, rules []string, client *ClientCert) (Page, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	argv := []string{"chromium",
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(home, "profile"),
		"--host-resolver-rules=" + strings.Join(rules, ", "),
		"--virtual-time-budget=5000",
		"--dump-dom", url}
	if client != nil {
		policies := filepath.Join(home, "etc-chromium")
		if err := os.MkdirAll(filepath.Join(policies, "policies", "managed"), 0o755); err != nil {
			return Page{}, err
		}
		policy := `{"AutoSelectCertificateForUrls": ["{\"pattern\":\"*\",\"filter\":{}}"]}`
		if err := os.WriteFile(filepath.Join(policies, "policies", "managed", "kestra-tls-test.json"), []byte(policy), 0o644); err != nil {
			return Page{}, err
		}
		quoted := make([]string, len(argv))
		for i, arg := range argv {
			quoted[i] = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
		}
		argv = []string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			"mount --bind '" + policies + "' /etc/chromium && exec " + strings.Join(quoted, " ")}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dom := string(out)
	if err != nil {
		return Page{DOM: dom}, fmt.Errorf("chromium: %v\n%s", err, stderr.String())
	}
	if strings.Contains(dom, "neterror") || strings.Contains(dom, "interstitial") || !strings.Contains(dom, "</html>") {
		name := netError.FindString(dom + stderr.String())
		if name == "" {
			name = "an error page"
		}
		return Page{DOM: dom}, fmt.Errorf("chromium refused %s: %s", url, name)
	}
	return Page{DOM: dom}, nil
}
