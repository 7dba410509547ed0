package web

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// DefaultListen is where the UI listens unless told otherwise: loopback
// only, so that nothing is exposed by accident.
const DefaultListen = "127.0.0.1:8080"

// ErrInsecureListen is returned by CheckListen for a non-loopback address
// without TLS or an explicit opt-in.
var ErrInsecureListen = errors.New("refusing to serve the web UI on a non-loopback address without TLS")

// CheckListen enforces the listening rule: a loopback address (127.0.0.0/8,
// ::1, localhost) is always allowed; any other address (including ":8080"
// and 0.0.0.0, every interface) needs TLS, or insecure set by an explicit
// flag whose help says that passwords and session cookies then cross the
// network in clear text.
func CheckListen(addr string, tls, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if IsLoopback(host) || tls || insecure {
		return nil
	}
	return fmt.Errorf("%w: %s is reachable from other machines; give --tls-cert and --tls-key, or --insecure-listen to accept that passwords and sessions cross the network in clear text", ErrInsecureListen, addr)
}

// IsLoopback reports whether a listening host reaches only this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// Timeouts bound how long a client may hold a connection of the UI's
// server, so that slow clients (a body sent a byte at a time, an idle
// keep-alive) cannot pile up connections. Zero fields take the defaults of
// DefaultTimeouts.
type Timeouts struct {
	// ReadHeader bounds the TLS handshake and the request's header.
	ReadHeader time.Duration
	// Read bounds the whole request, body included: forms are small
	// (64 KiB at most) and nothing is uploaded.
	Read time.Duration
	// Write bounds the answer, from the end of the request's header: the
	// heaviest API query (ten years, top=1000) and its writing included.
	Write time.Duration
	// Idle bounds a keep-alive connection between requests.
	Idle time.Duration
}

// DefaultTimeouts are the UI server's timeouts.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 5 * time.Minute, Idle: 2 * time.Minute}
}

// Apply sets the timeouts of srv, defaults where t has none.
func (t Timeouts) Apply(srv *http.Server) {
	d := DefaultTimeouts()
	srv.ReadHeaderTimeout = cmp.Or(t.ReadHeader, d.ReadHeader)
	srv.ReadTimeout = cmp.Or(t.Read, d.Read)
	srv.WriteTimeout = cmp.Or(t.Write, d.Write)
	srv.IdleTimeout = cmp.Or(t.Idle, d.Idle)
}
