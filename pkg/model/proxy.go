package model

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/kestra-tls/kubectl-kestra-tls/pkg/values"
)

// clusterNoProxy are the addresses tasks reach inside the pod and the cluster: never through the proxy.
var clusterNoProxy = []string{"localhost", "127.0.0.1", "::1", ".svc", ".cluster.local"}

// ProxyVariables are what processes read their proxy from; curl reads only the lower-case http_proxy, and
// other tools only the upper-case ones, so both are set.
var ProxyVariables = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

// proxySettings are the JVM flags and the variables for app.proxy, empty without one.
func proxySettings(v values.Values) (string, []EnvVar, error) {
	if v.App.Proxy == "" {
		if len(v.App.NoProxy) > 0 {
			return "", nil, fmt.Errorf("--no-proxy lists hosts to reach without the proxy: it goes with --proxy")
		}
		return "", nil, nil
	}
	if v.Mode != "app" {
		return "", nil, fmt.Errorf("--proxy is for the calls Kestra's tasks make, set on Kestra's workloads in app mode (--mode app); in %s mode the overlay does not change Kestra's environment", v.Mode)
	}
	u, err := url.Parse(v.App.Proxy)
	switch {
	case err != nil || u.Scheme != "http" || u.Hostname() == "" || (u.Path != "" && u.Path != "/"):
		return "", nil, fmt.Errorf("--proxy %q: give the proxy as http://host:port (an intercepting proxy's CA goes to --trust-ca)", v.App.Proxy)
	case u.Port() == "":
		return "", nil, fmt.Errorf("--proxy %q names no port: give it as http://%s:PORT", v.App.Proxy, u.Hostname())
	case u.User != nil:
		return "", nil, fmt.Errorf("--proxy %q holds credentials, which would be in plain text in Kestra's environment: give a proxy that needs none, or set its credentials yourself from a Secret", redacted(u))
	}
	noProxy := append(append([]string{}, clusterNoProxy...), v.App.NoProxy...)
	var jvm []string
	for _, host := range noProxy {
		host = strings.TrimSpace(host)
		switch {
		case host == "":
			continue
		case strings.HasPrefix(host, "."):
			jvm = append(jvm, "*"+host)
		case net.ParseIP(host) != nil && strings.Contains(host, ":"):
			jvm = append(jvm, "["+host+"]")
		default:
			jvm = append(jvm, host)
		}
	}
	address := "http://" + u.Host
	flags := fmt.Sprintf("-Dhttps.proxyHost=%s -Dhttps.proxyPort=%s -Dhttp.proxyHost=%s -Dhttp.proxyPort=%s -Dhttp.nonProxyHosts=%s",
		u.Hostname(), u.Port(), u.Hostname(), u.Port(), strings.Join(jvm, "|"))
	direct := strings.Join(noProxy, ",")
	env := []EnvVar{{"HTTPS_PROXY", address}, {"https_proxy", address}, {"HTTP_PROXY", address}, {"http_proxy", address}, {"NO_PROXY", direct}, {"no_proxy", direct}}
	return flags, env, nil
}

func redacted(u *url.URL) string {
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}
