package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A behaviour is what a fake device's port does with a connection.
type behaviour struct {
	handler http.Handler     // answers HTTP
	cert    *tls.Certificate // shakes hands in TLS first
	silent  bool             // then says nothing, and never reads
}

// seen is what a fake device's port saw: connections and requests.
type seen struct {
	mu       sync.Mutex
	accepts  int
	requests []seenRequest
}

type seenRequest struct {
	Method, Path, Host string
	Header             http.Header
}

func (s *seen) accepted() {
	s.mu.Lock()
	s.accepts++
	s.mu.Unlock()
}

func (s *seen) snapshot() (int, []seenRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts, slices.Clone(s.requests)
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	seen *seen
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.seen.accepted()
	}
	return c, err
}

// serve runs behaviour b on l until the test ends; what it sees goes to s.
func serve(t testing.TB, l net.Listener, b behaviour, s *seen) {
	l = countingListener{l, s}
	if b.cert != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*b.cert}})
	}
	if b.silent {
		done := make(chan struct{})
		var wg sync.WaitGroup
		t.Cleanup(func() { close(done); l.Close(); wg.Wait() })
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					defer c.Close()
					if tc, ok := c.(*tls.Conn); ok {
						tc.Handshake() //nolint:errcheck // the client's failure is what the test sees
					}
					<-done
				})
			}
		})
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, seenRequest{r.Method, r.URL.Path, r.Host, r.Header.Clone()})
		s.mu.Unlock()
		b.handler.ServeHTTP(w, r)
	})}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) }) //nolint:errcheck // ErrServerClosed at the end
	t.Cleanup(func() { srv.Close(); wg.Wait() })
}

// pipeNet is an in-memory network for tests under testing/synctest:
// listeners are keyed by address and port, a dial to anything else is
// refused, and nothing leaves the process.
type pipeNet struct {
	mu        sync.Mutex
	listeners map[netip.AddrPort]*pipeListener
}

func newPipeNet() *pipeNet { return &pipeNet{listeners: map[netip.AddrPort]*pipeListener{}} }

func (n *pipeNet) Listen(ap netip.AddrPort) net.Listener {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := &pipeListener{addr: ap, conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[ap] = l
	return l
}

func (n *pipeNet) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	l := n.listeners[ap]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeListener struct {
	addr  netip.AddrPort
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(l.addr) }

// dialLog wraps a Dial and records every address dialled; a dial to an
// address not in allowed fails the test and is refused, never made.
type dialLog struct {
	t       testing.TB
	allowed func(netip.AddrPort) bool
	dial    func(ctx context.Context, network, address string) (net.Conn, error)

	mu    sync.Mutex
	dials []dialed
}

type dialed struct {
	At   time.Time
	Addr netip.AddrPort
}

func (d *dialLog) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !d.allowed(ap) {
		d.t.Errorf("the prober dialled %s %q, which is not a test address", network, address)
		return nil, fmt.Errorf("test refuses to dial %q", address)
	}
	d.mu.Lock()
	d.dials = append(d.dials, dialed{time.Now(), ap})
	d.mu.Unlock()
	return d.dial(ctx, network, address)
}

func (d *dialLog) snapshot() []dialed {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dials)
}
