package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Config is the probe's configuration (YAML).
type Config struct {
	// Enabled opts in to probing. Probing connects to hosts Nightjar does
	// not own, so it is off by default and New refuses to build a prober
	// until it is set.
	Enabled bool `yaml:"enabled"`
	// HTTPPorts are the ports fetched over plain HTTP (default 80, 8080).
	HTTPPorts []uint16 `yaml:"http_ports"`
	// HTTPSPorts are the ports fetched over TLS, whose certificate is
	// recorded even when the service does not speak HTTP (default 443,
	// 8443). A port is in at most one of the two lists.
	HTTPSPorts []uint16 `yaml:"https_ports"`
	// MaxTargets is the most addresses one run contacts (default 100);
	// the targets past it are not contacted, and counted.
	MaxTargets int `yaml:"max_targets"`
	// Rate is the most connections per second the whole run opens, across
	// workers, with a burst of one (default 5, at most 100).
	Rate float64 `yaml:"rate"`
	// Workers is the number of connections that may be open at once
	// (default 4, at most 32): enough that a silent host does not stall
	// the run, few enough to stay polite.
	Workers int `yaml:"workers"`
	// Timeout bounds each connection: connect, TLS handshake and the
	// whole response (default 5s, at most 1m).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes is the most bytes of a response body read (default
	// 64 KiB): a page's title and hash are taken from them, the record
	// keeps the first banner.MaxBody. A favicon larger than this gets no
	// hash.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// Contact is the URL (https://, http:// or mailto:) that the
	// User-Agent, "Nightjar-probe/<version> (+<contact>)", gives the
	// operators of the probed hosts. Required when Enabled.
	Contact string `yaml:"contact"`
	// Exclude lists the networks never contacted ("192.0.2.0/24",
	// "2001:db8::/32", or an address): the hosts whose owners asked not
	// to be probed. Non-global addresses (private, loopback, link-local,
	// documentation, benchmarking, multicast, reserved) are always
	// excluded.
	Exclude []string `yaml:"exclude"`
	// RequestLog is a file to which every request and every skipped
	// target is appended, one JSON object a line ("": none).
	RequestLog string `yaml:"request_log"`
}

// DefaultConfig returns the defaults: disabled, ports 80 and 8080 over
// HTTP and 443 and 8443 over HTTPS, 100 targets, 5 connections a second.
func DefaultConfig() Config {
	return Config{
		HTTPPorts:    []uint16{80, 8080},
		HTTPSPorts:   []uint16{443, 8443},
		MaxTargets:   100,
		Rate:         5,
		Workers:      4,
		Timeout:      5 * time.Second,
		MaxBodyBytes: 64 << 10,
	}
}

// Limits of the configuration: beyond them a run stops being polite or
// bounded.
const (
	maxRate         = 100
	maxWorkers      = 32
	maxTimeout      = time.Minute
	maxBodyBytesCap = 16 << 20
)

// Validate reports the first problem of the configuration. A disabled
// configuration needs no contact; everything else is checked either way.
func (c Config) Validate() error {
	if err := checkPorts(c.HTTPPorts, c.HTTPSPorts); err != nil {
		return err
	}
	switch {
	case c.MaxTargets < 1:
		return fmt.Errorf("max_targets is %d: want at least 1", c.MaxTargets)
	case !(c.Rate > 0 && c.Rate <= maxRate): // also refuses NaN
		return fmt.Errorf("rate is %v connections per second: want more than 0 and at most %d", c.Rate, maxRate)
	case c.Workers < 1 || c.Workers > maxWorkers:
		return fmt.Errorf("workers is %d: want 1 to %d", c.Workers, maxWorkers)
	case c.Timeout <= 0 || c.Timeout > maxTimeout:
		return fmt.Errorf("timeout is %v: want more than 0 and at most %v", c.Timeout, maxTimeout)
	case c.MaxBodyBytes < banner.MaxBody || c.MaxBodyBytes > maxBodyBytesCap:
		return fmt.Errorf("max_body_bytes is %d: want %d to %d", c.MaxBodyBytes, banner.MaxBody, maxBodyBytesCap)
	}
	if c.Enabled || c.Contact != "" {
		if err := checkContact(c.Contact); err != nil {
			return err
		}
	}
	_, err := c.excludes()
	return err
}

func checkPorts(httpPorts, httpsPorts []uint16) error {
	if len(httpPorts)+len(httpsPorts) == 0 {
		return errors.New("http_ports and https_ports are both empty: name at least one port")
	}
	seen := map[uint16]string{}
	for _, l := range []struct {
		key   string
		ports []uint16
	}{{"http_ports", httpPorts}, {"https_ports", httpsPorts}} {
		for _, p := range l.ports {
			if p == 0 {
				return fmt.Errorf("%s: port 0 is not a port", l.key)
			}
			if prev, dup := seen[p]; dup {
				return fmt.Errorf("%s: port %d is already in %s", l.key, p, prev)
			}
			seen[p] = l.key
		}
	}
	return nil
}

// checkContact accepts an absolute http(s) URL with a host, or a mailto:
// address, written in printable ASCII: it goes into a request header.
func checkContact(s string) error {
	if s == "" {
		return errors.New("contact is empty: probing needs a URL (https://… or mailto:…) where the probed hosts' operators can reach you")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("contact %q: only printable ASCII without spaces (percent-encode the rest)", s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("contact %q: %w", s, err)
	}
	switch {
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
	case u.Scheme == "mailto" && u.Opaque != "":
	default:
		return fmt.Errorf("contact %q: want an https://, http:// or mailto: URL", s)
	}
	return nil
}

// excludes parses Exclude.
func (c Config) excludes() ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(c.Exclude))
	for _, s := range c.Exclude {
		p, err := record.ParseNetwork(s)
		if err != nil {
			return nil, fmt.Errorf("exclude %q: %w", s, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}
