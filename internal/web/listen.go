package web

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
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
