// Package proxy is the test ground's forward proxy: an HTTP proxy on loopback that tunnels CONNECT requests,
// as a corporate proxy does for HTTPS, resolving every name it is asked for to loopback (its own DNS, in
// the test), and records each tunnel. It is test ground, never product code.
package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Proxy is a running forward proxy.
type Proxy struct {
	Port    int
	mu      sync.Mutex
	tunnels []string
}

// Start runs a proxy until the test ends.
func Start(t testing.TB) *Proxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Port: listener.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		listener.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := listener.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(client)
			}()
		}
	}()
	return p
}

// Tunnels are the host:port of every CONNECT the proxy served, in order.
func (p *Proxy) Tunnels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.tunnels...)
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	client.SetDeadline(time.Now().Add(time.Minute))
	reader := bufio.NewReader(client)
	request, err := http.ReadRequest(reader)
	if err != nil {
		return
	}
	if request.Method != http.MethodConnect {
		io.WriteString(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	_, port, err := net.SplitHostPort(request.Host)
	if err != nil {
		io.WriteString(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		return
	}
	server, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 10*time.Second)
	if err != nil {
		io.WriteString(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer server.Close()
	p.mu.Lock()
	p.tunnels = append(p.tunnels, request.Host)
	p.mu.Unlock()
	io.WriteString(client, "HTTP/1.1 200 Connection Established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { io.Copy(server, reader); done <- struct{}{} }()
	go func() { io.Copy(client, server); done <- struct{}{} }()
	<-done
}
