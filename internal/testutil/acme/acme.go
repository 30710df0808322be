// Package acme is the ACME test ground: pebble (Let's Encrypt's own ACME test server, built into bin/ by
// the tools module) on 127.0.0.1 and a DNS server that resolves test hosts to loopback: those under
// TraefikDomain to the real Traefik of the traffic tests, where cert-manager's own solver Ingress or
// HTTPRoute and acmesolver pods answer the challenges (netpod.PlaySolverPods), the others to 127.0.0.1. There,
// on port 80, Solver injects the one fault a real solver cannot make: a challenge answered wrongly to the ACME
// server (and rightly to cert-manager's self-check), so that validation itself fails.
package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kestra-tls/kubectl-kestra-tls/internal/testutil"
	"github.com/kestra-tls/kubectl-kestra-tls/pkg/generate/pki"
)

// WrongKeyPrefix marks hosts whose challenge the HTTP server answers wrongly to the ACME server (but
// rightly to cert-manager's self-check), so that validation itself fails.
const WrongKeyPrefix = "wrong-key."

// TraefikDomain's hosts resolve to TraefikIP, where the traffic tests' real Traefik listens, so that
// pebble's validation and cert-manager's self-check go through it to cert-manager's solver.
const (
	TraefikDomain = "traefik.test"
	TraefikIP     = "127.0.0.2"
)

// DNS answers every A question with 127.0.0.1 (TraefikIP under TraefikDomain), and every other question
// with no record, over UDP (Go's resolver, which cert-manager's self-check uses) and TCP (pebble's DNS
// client) on the same port.
type DNS struct {
	Addr string
	conn net.PacketConn
	tcp  net.Listener
}

// StartDNS listens on a free port of 127.0.0.1.
func StartDNS() (*DNS, error) {
	for attempt := 0; ; attempt++ {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		tcp, err := net.Listen("tcp", conn.LocalAddr().String())
		if err != nil {
			conn.Close()
			if attempt < 10 {
				continue // that port is taken over TCP: another
			}
			return nil, err
		}
		d := &DNS{Addr: conn.LocalAddr().String(), conn: conn, tcp: tcp}
		go d.serveUDP()
		go d.serveTCP()
		return d, nil
	}
}

func (d *DNS) serveUDP() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if reply, err := answer(buf[:n]); err == nil {
			_, _ = d.conn.WriteTo(reply, from)
		}
	}
}

// serveTCP speaks DNS over TCP: each message carries a two-byte length before it.
func (d *DNS) serveTCP() {
	for {
		conn, err := d.tcp.Accept()
		if err != nil {
			return // closed
		}
		go func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			for {
				var length [2]byte
				if _, err := io.ReadFull(conn, length[:]); err != nil {
					return
				}
				query := make([]byte, binary.BigEndian.Uint16(length[:]))
				if _, err := io.ReadFull(conn, query); err != nil {
					return
				}
				reply, err := answer(query)
				if err != nil {
					return
				}
				if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...)); err != nil {
					return
				}
			}
		}()
	}
}

func answer(query []byte) ([]byte, error) {
	var parser dnsmessage.Parser
	header, err := parser.Start(query)
	if err != nil {
		return nil, err
	}
	question, err := parser.Question()
	if err != nil {
		return nil, err
	}
	builder := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: header.ID, Response: true, Authoritative: true, RecursionDesired: header.RecursionDesired, RecursionAvailable: true})
	builder.EnableCompression()
	if err := builder.StartQuestions(); err != nil {
		return nil, err
	}
	if err := builder.Question(question); err != nil {
		return nil, err
	}
	if err := builder.StartAnswers(); err != nil {
		return nil, err
	}
	if question.Type == dnsmessage.TypeA {
		resource := dnsmessage.ResourceHeader{Name: question.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5}
		address := [4]byte{127, 0, 0, 1}
		if name := strings.TrimSuffix(question.Name.String(), "."); name == TraefikDomain || strings.HasSuffix(name, "."+TraefikDomain) {
			address = [4]byte(net.ParseIP(TraefikIP).To4())
		}
		if err := builder.AResource(resource, dnsmessage.AResource{A: address}); err != nil {
			return nil, err
		}
	}
	return builder.Finish()
}

// Stop closes the sockets.
func (d *DNS) Stop() {
	d.conn.Close()
	d.tcp.Close()
}

var challengesGVR = schema.GroupVersionResource{Group: "acme.cert-manager.io", Version: "v1", Resource: "challenges"}

// Solver is the HTTP server on 127.0.0.1:80.
type Solver struct {
	server *http.Server
	// Requests counts the answers given, by User-Agent kind ("self-check", "validation").
	Requests chan string
}

// StartSolver serves the HTTP-01 challenges of the hosts outside TraefikDomain, for the failure tests. Port
// 80 is where cert-manager's self-check and the ACME server both connect: binding it takes root (or
// CAP_NET_BIND_SERVICE).
func StartSolver(client dynamic.Interface) (*Solver, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:80")
	if err != nil {
		return nil, fmt.Errorf("the HTTP-01 solver needs 127.0.0.1:80 (run the tests as root, or grant CAP_NET_BIND_SERVICE): %w", err)
	}
	s := &Solver{Requests: make(chan string, 1000)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/acme-challenge/{token}", func(w http.ResponseWriter, r *http.Request) {
		key, err := keyFor(r.Context(), client, r.PathValue("token"), hostOnly(r.Host))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		validation := strings.HasPrefix(r.UserAgent(), "LetsEncrypt-Pebble-VA")
		if validation && strings.HasPrefix(hostOnly(r.Host), WrongKeyPrefix) {
			key = "not-the-key-" + key
		}
		select {
		case s.Requests <- map[bool]string{true: "validation", false: "self-check"}[validation]:
		default:
		}
		io.WriteString(w, key)
	})
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.server.Serve(listener)
	return s, nil
}

func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// keyFor finds the Challenge with this token for this host, as the solver pod's arguments would carry it.
func keyFor(ctx context.Context, client dynamic.Interface, token, host string) (string, error) {
	list, err := client.Resource(challengesGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, challenge := range list.Items {
		if field(challenge, "token") == token && field(challenge, "dnsName") == host {
			return field(challenge, "key"), nil
		}
	}
	return "", fmt.Errorf("no challenge for token %s on %s", token, host)
}

func field(u unstructured.Unstructured, name string) string {
	value, _, _ := unstructured.NestedString(u.Object, "spec", name)
	return value
}

// Stop closes the server.
func (s *Solver) Stop() { s.server.Close() }

// Pebble is a running pebble.
type Pebble struct {
	// Directory is the ACME directory URL; CAFile is the PEM of the CA of its HTTPS certificate.
	Directory, CAFile string
	management        string
	cmd               *exec.Cmd
	client            *http.Client
	Logs              *testutil.SyncBuffer
	dir               string
}

// PebbleOptions configure one pebble.
type PebbleOptions struct {
	DNS string
	// EABKeys maps key IDs to base64url HMAC keys; when set, pebble requires external account binding.
	EABKeys map[string]string
	// Blocked domains are refused with rejectedIdentifier.
	Blocked []string
}

// StartPebble runs pebble on free ports of 127.0.0.1, validating HTTP-01 on port 80, and waits until its
// directory answers. PEBBLE_VA_NOSLEEP and PEBBLE_WFE_NONCEREJECT=0 take out its random delays and
// rejected nonces, PEBBLE_AUTHZREUSE=0 its random reuse of valid authorizations (every issuance is
// validated); validation itself is real (PEBBLE_VA_ALWAYS_VALID is not set).
func StartPebble(opts PebbleOptions) (*Pebble, error) {
	binary := filepath.Join(testutil.BinDir(), "pebble")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("%s is missing: run `make tools`", binary)
	}
	dir, err := os.MkdirTemp("", "kestra-tls-pebble-")
	if err != nil {
		return nil, err
	}
	p := &Pebble{dir: dir, Logs: &testutil.SyncBuffer{}}
	fail := func(err error) (*Pebble, error) { p.Stop(); return nil, err }
	ca, err := p.writeTLS()
	if err != nil {
		return fail(err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return fail(err)
	}
	listen, management := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	config := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": management,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": 80, "tlsPort": ports[2],
		"externalAccountBindingRequired": len(opts.EABKeys) > 0, "externalAccountMACKeys": opts.EABKeys,
		"domainBlocklist": opts.Blocked,
		"retryAfter":      map[string]int{"authz": 1, "order": 1},
		"profiles":        map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	data, _ := json.Marshal(config)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		return fail(err)
	}
	p.cmd = exec.Command(binary, "-config", filepath.Join(dir, "config.json"), "-dnsserver", opts.DNS)
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	if err := p.cmd.Start(); err != nil {
		return fail(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	p.Directory, p.management, p.CAFile = "https://"+listen+"/dir", "https://"+management, filepath.Join(dir, "ca.pem")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := p.client.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("pebble did not answer in 30s: %v\n%s", err, p.Logs.Tail(20)))
		}
	}
}

// writeTLS gives pebble an HTTPS certificate for 127.0.0.1 from a CA of the test's own.
func (p *Pebble) writeTLS() (*x509.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca, err := pki.NewCA(pki.CARequest{CommonName: "pebble test CA", Days: 2, Key: caKey, Now: now})
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	hosts, err := pki.ParseHosts([]string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	cert, err := pki.IssueServer(ca, pki.ServerRequest{Hosts: hosts, Days: 2, Key: key, Now: now})
	if err != nil {
		return nil, err
	}
	keyPEM, err := pki.EncodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{"ca.pem": pki.EncodeCertificates(ca.Cert), "cert.pem": pki.EncodeCertificates(cert), "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return ca.Cert, nil
}

// IssuingCAs are the root and intermediate pebble signs with (generated anew at each start).
func (p *Pebble) IssuingCAs() (root, intermediate *x509.Certificate, err error) {
	get := func(path string) (*x509.Certificate, error) {
		resp, err := p.client.Get(p.management + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		certs, err := pki.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return certs[0], nil
	}
	if root, err = get("/roots/0"); err != nil {
		return nil, nil, err
	}
	intermediate, err = get("/intermediates/0")
	return root, intermediate, err
}

// Stop ends pebble by its PID and removes its files.
func (p *Pebble) Stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	os.RemoveAll(p.dir)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
