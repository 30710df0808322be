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
	nssdb := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		return Page{}, err
	}
	for _, argv := range [][]string{
		{"certutil", "-d", nssdb, "-N", "--empty-password"},
		{"certutil", "-d", nssdb, "-A", "-t", "C,,", "-n", "kestra-tls test CA", "-i", caFile},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return Page{}, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	var rules []string
	for host, address := range hosts {
		rules = append(rules, "MAP "+host+" "+address)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chromium",
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"),
		"--host-resolver-rules="+strings.Join(rules, ", "),
		"--virtual-time-budget=5000",
		"--dump-dom", url)
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
