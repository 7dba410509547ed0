package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// service is one port of one target and how to speak to it.
type service struct {
	addr   netip.AddrPort
	scheme string // "http" or "https"
}

// answer is what one request learnt: the certificate when the TLS
// handshake completed, the HTTP response when one came (status 0: none).
type answer struct {
	cert      *x509.Certificate
	status    int
	header    http.Header
	body      []byte
	truncated bool // the body was longer than max_body_bytes
	complete  bool // the body was read to its end
}

// fetch makes one request of path on its own connection: it waits for the
// rate limit, then dials, shakes hands (https), sends the GET and reads the
// response within the timeout. It logs the request and counts its outcome.
func (r *run) fetch(ctx context.Context, s service, path string) answer {
	if err := r.pacer.wait(ctx); err != nil {
		return answer{}
	}
	req := Request{Time: r.clock(), Target: s.addr.Addr(), Port: s.addr.Port(), Scheme: s.scheme, Path: path}
	start := time.Now()
	var received atomic.Int64
	a, err := r.exchange(ctx, s, path, &received)
	req.Seconds = time.Since(start).Seconds()
	req.Bytes = received.Load()
	// A status with an error: the body did not come to its end.
	req.Status, req.Outcome = a.status, OutcomeStatus
	if err != nil {
		req.Outcome, req.Error = classify(ctx, err), err.Error()
	}
	if a.status >= 300 && a.status < 400 {
		req.Location = a.header.Get("Location")
	}
	r.count(func(st *Stats) { st.Requests++; st.Outcomes[req.Outcome]++ })
	r.record(req)
	return a
}

// exchange is fetch's network part. The answer holds what came before an
// error: a certificate without HTTP, a status without the whole body.
func (r *run) exchange(ctx context.Context, s service, path string, received *atomic.Int64) (answer, error) {
	deadline := time.Now().Add(r.cfg.Timeout)
	dialCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := r.dial(dialCtx, "tcp", s.addr.String())
	if err != nil {
		return answer{}, err
	}
	defer raw.Close()
	// The deadline bounds the handshake, the request and the response;
	// closing on cancellation stops them at once when the run ends.
	if err := raw.SetDeadline(deadline); err != nil {
		return answer{}, err
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	var conn net.Conn = &countingConn{Conn: raw, n: received}
	var a answer
	if s.scheme == "https" {
		tc := tls.Client(conn, identifyTLS())
		if err := tc.HandshakeContext(ctx); err != nil {
			return a, fmt.Errorf("tls handshake: %w", err)
		}
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			a.cert = certs[0]
		}
		conn = tc
	}
	req := r.request(s, path)
	if err := req.Write(conn); err != nil {
		return a, fmt.Errorf("send request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return a, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	a.body, err = io.ReadAll(io.LimitReader(resp.Body, int64(r.cfg.MaxBodyBytes)+1))
	if len(a.body) > r.cfg.MaxBodyBytes {
		a.body, a.truncated = a.body[:r.cfg.MaxBodyBytes], true
	}
	if err != nil {
		return a, fmt.Errorf("read body: %w", err)
	}
	a.complete = !a.truncated
	return a, nil
}

// request is the only request the probe sends: a GET with the fixed
// User-Agent and nothing else a server could take for credentials — no
// Authorization, no Cookie — on a connection it closes after.
func (r *run) request(s service, path string) *http.Request {
	host := s.addr.String()
	if (s.scheme == "http" && s.addr.Port() == 80) || (s.scheme == "https" && s.addr.Port() == 443) {
		host = s.addr.Addr().String()
		if s.addr.Addr().Is6() {
			host = "[" + host + "]"
		}
	}
	return &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Scheme: s.scheme, Host: host, Path: path},
		Proto:  "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"User-Agent": {r.userAgent}},
		Host:   host,
		Close:  true,
	}
}

// identifyTLS is the client configuration of a probe: it identifies, it
// does not trust, so it verifies nothing, and it offers the old versions
// and cipher suites that embedded devices still run (Go's defaults would
// fail the handshake before the certificate is seen).
func identifyTLS() *tls.Config {
	var suites []uint16
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		suites = append(suites, cs.ID)
	}
	return &tls.Config{
		InsecureSkipVerify: true, //nolint:gosec // the certificate is evidence, not trust
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       suites,
	}
}

// classify names how a request failed.
func classify(ctx context.Context, err error) Outcome {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return OutcomeCancelled
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	}
	return OutcomeError
}

// countingConn counts the bytes a connection receives.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// userAgent is the fixed User-Agent of every request.
func userAgent(version, contact string) string {
	return "Nightjar-probe/" + version + " (+" + contact + ")"
}
