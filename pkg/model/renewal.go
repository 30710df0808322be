package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// Renewal values (app.renewal).
const (
	// RenewalReload: Micronaut re-reads the keystore file on a schedule and serves a renewed certificate
	// without a restart.
	RenewalReload = "reload"
	// RenewalRestart: Micronaut reads the keystore once, at start; a renewal reaches Kestra by a restart.
	RenewalRestart = "restart"
)

// Annotations of the stores Secret that tell status and renew how the certificate reaches Kestra.
const (
	RenewalAnnotation        = "kestra-tls.io/renewal"
	ReloadIntervalAnnotation = "kestra-tls.io/reload-interval"
)

// CertificateProvider is the name of Micronaut's file certificate provider that holds Kestra's keystore.
const CertificateProvider = "kestra-tls"

// firstReloading is the first Kestra whose Micronaut (4.10, kestra-io/kestra#14778) has file certificate
// providers that reload: Kestra 1.3.
var firstReloading = kestraVersion{1, 3}

// Renewal is how a renewed certificate reaches Kestra's own HTTPS listener, decided from the Kestra version.
type Renewal struct {
	Reloads bool
	// Interval is how often Micronaut re-reads the keystore, as Micronaut reads durations (1m, 30s).
	Interval string
	// Why says which Kestra version decided it and where that came from, for generate's notes.
	Why string
}

type kestraVersion struct{ major, minor int }

func (v kestraVersion) atLeast(o kestraVersion) bool {
	return v.major > o.major || (v.major == o.major && v.minor >= o.minor)
}

var versionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// currentTags name the newest Kestra: the image's default and its variants (latest-full, develop-no-plugins).
var currentTags = regexp.MustCompile(`^(latest|develop|nightly)(-|$)`)

// imageTag is the tag of an image reference, empty when it has none (the registry's latest).
func imageTag(image string) string {
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndex(image, ":"); colon > strings.LastIndex(image, "/") {
		return image[colon+1:]
	}
	return ""
}

// decideRenewal reads the Kestra version from kestra.version, else from the image tag of Kestra's container
// (image empty: none known, as for the chart, whose image is its appVersion), and decides whether Micronaut
// reloads the keystore. A tag that names no version (a private build such as :prod) keeps the restart,
// which works with every Kestra.
func decideRenewal(v values.Values, image string) (Renewal, error) {
	r := Renewal{Interval: v.App.ReloadInterval}
	var version kestraVersion
	known, current := false, false
	source := ""
	switch {
	case v.Kestra.Version != "":
		source = "kestra.version (--kestra-version) " + v.Kestra.Version
		if currentTags.MatchString(v.Kestra.Version) {
			current = true
		} else if match := versionPattern.FindStringSubmatch(v.Kestra.Version); match != nil {
			version, known = parsed(match), true
		} else {
			return r, fmt.Errorf("--kestra-version %q is not a Kestra version: give it as 1.3, v1.3.2 or latest", v.Kestra.Version)
		}
	case image == "":
		source, current = "no Kestra image in the base, so the current Kestra", true
	default:
		tag := imageTag(image)
		source = "the image " + image
		switch {
		case tag == "" || currentTags.MatchString(tag):
			current = true
		case versionPattern.MatchString(tag):
			version, known = parsed(versionPattern.FindStringSubmatch(tag)), true
		}
	}
	reloads := current || (known && version.atLeast(firstReloading))
	switch v.App.Renewal {
	case RenewalRestart:
		r.Why = "app.renewal is restart: Kestra reads its keystore at start, and a renewal restarts it"
		return r, nil
	case RenewalReload:
		if known && !reloads {
			return r, fmt.Errorf("app.renewal is reload, but %s is older than Kestra 1.3, whose Micronaut (4.10) is the first to reload a keystore: leave app.renewal empty (Kestra then restarts on renewal) or give --kestra-version of the Kestra you run", source)
		}
		reloads = true
	}
	r.Reloads = reloads
	switch {
	case reloads:
		r.Why = fmt.Sprintf("Kestra re-reads its keystore every %s and serves a renewed certificate without a restart (Micronaut 4.10, Kestra 1.3 and later; from %s)", r.Interval, source)
	case known:
		r.Why = fmt.Sprintf("Kestra reads its keystore only at start (%s: before Kestra 1.3, Micronaut cannot reload it): a renewal restarts Kestra", source)
	default:
		r.Why = fmt.Sprintf("the Kestra version is unknown (%s names none): Kestra's keystore is read at start and a renewal restarts it; --kestra-version 1.3 (or later) lets it reload in place", source)
	}
	return r, nil
}

// firstSecurityHeaders is the first Kestra with kestra.webserver.security-headers (HSTS) and
// kestra.webserver.cookies.
var firstSecurityHeaders = kestraVersion{2, 0}

// knownKestraVersion is the version kestra.version or the image tag names, when one does (not latest, nor a
// private tag).
func knownKestraVersion(v values.Values, image string) (kestraVersion, bool) {
	given := v.Kestra.Version
	if given == "" {
		given = imageTag(image)
	}
	if match := versionPattern.FindStringSubmatch(given); match != nil {
		return parsed(match), true
	}
	return kestraVersion{}, false
}

func parsed(match []string) kestraVersion {
	major, _ := strconv.Atoi(match[1])
	minor, _ := strconv.Atoi(match[2])
	return kestraVersion{major, minor}
}
