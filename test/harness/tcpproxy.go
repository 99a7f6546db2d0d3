package harness

import (
	"io"
	"net"
	"sync"
)

// TCPProxy stands in for a Service in front of several gitgate replicas:
// each new connection goes to the next backend, round robin, skipping
// backends that refuse it. TLS passes through untouched.
type TCPProxy struct {
	l        net.Listener
	mu       sync.Mutex
	backends []string
	next     int
	wg       sync.WaitGroup
}

// StartTCPProxy listens on a free loopback port.
func StartTCPProxy() (*TCPProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &TCPProxy{l: l}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is host:port of the proxy.
func (p *TCPProxy) Addr() string { return p.l.Addr().String() }

// SetBackends replaces the backends; open connections stay where they are.
func (p *TCPProxy) SetBackends(addrs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = append([]string(nil), addrs...)
}

// Close stops accepting; open connections end when either side closes.
func (p *TCPProxy) Close() {
	_ = p.l.Close()
	p.wg.Wait()
}

func (p *TCPProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *TCPProxy) handle(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	backends := append([]string(nil), p.backends...)
	start := p.next
	p.next++
	p.mu.Unlock()
	var b net.Conn
	for i := range backends {
		var err error
		if b, err = net.Dial("tcp", backends[(start+i)%len(backends)]); err == nil {
			break
		}
	}
	if b == nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
	<-done
}
