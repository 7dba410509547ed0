package probe

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// pipeFleet serves an answering router on port 80 of n addresses from
// 198.18.0.1 up, in memory, and returns their addresses and what each saw.
func pipeFleet(t *testing.T, pn *pipeNet, n int, b behaviour) ([]netip.Addr, []*seen) {
	var addrs []netip.Addr
	var seens []*seen
	a := netip.MustParseAddr("198.18.0.1")
	for range n {
		s := &seen{}
		serve(t, pn.Listen(netip.AddrPortFrom(a, 80)), b, s)
		addrs, seens = append(addrs, a), append(seens, s)
		a = a.Next()
	}
	return addrs, seens
}

var router = behaviour{handler: routes(map[string]reply{"/": {status: 200, body: archerAX50Page}})}

// TestRateLimit: 20 requests at 10 a second start 100 ms apart, whatever
// the number of workers, so they take 1.9 s (synctest's clock: exact).
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		targets, _ := pipeFleet(t, pn, 10, router) // 10 × (/ and /favicon.ico)
		cfg := testConfig([]uint16{80}, nil)
		cfg.Rate, cfg.Workers = 10, 8
		dials := &dialLog{t: t, dial: pn.Dial, allowed: func(ap netip.AddrPort) bool { return slices.Contains(targets, ap.Addr()) }}
		p, err := New(discard, cfg, Deps{Dial: dials.Dial, AllowNonGlobal: true})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		stats, err := p.Run(t.Context(), targets, func(*banner.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		d := dials.snapshot()
		if len(d) != 20 || stats.Requests != 20 {
			t.Fatalf("%d dials, %d requests, want 20", len(d), stats.Requests)
		}
		var gaps []time.Duration
		for i := 1; i < len(d); i++ {
			gaps = append(gaps, d[i].At.Sub(d[i-1].At))
		}
		want := slices.Repeat([]time.Duration{100 * time.Millisecond}, 19)
		if diff := gocmp.Diff(gaps, want); diff != "" {
			t.Errorf("gaps between connection starts (-got, +want):\n%s", diff)
		}
		if first, total := d[0].At.Sub(start), d[19].At.Sub(d[0].At); first != 0 || total != 1900*time.Millisecond {
			t.Errorf("first connection after %v, the 20th %v after it; want at once (a burst of one), then 1.9s", first, total)
		}
	})
}

// TestRateLimitRealClock measures the pacing of real connections with the
// wall clock: 10 requests at 20 a second span at least 450 ms.
func TestRateLimitRealClock(t *testing.T) {
	t.Parallel()
	base := netip.MustParseAddr("127.0.0.40")
	port := freePort(t, base)
	var targets []netip.Addr
	for a := base; len(targets) < 5; a = a.Next() {
		serve(t, listenTCP(t, netip.AddrPortFrom(a, port)), router, &seen{})
		targets = append(targets, a)
	}
	cfg := testConfig([]uint16{port}, nil)
	cfg.Rate = 20
	dials := &dialLog{t: t, dial: netDial, allowed: func(ap netip.AddrPort) bool { return slices.Contains(targets, ap.Addr()) }}
	p, err := New(discard, cfg, Deps{Dial: dials.Dial, AllowNonGlobal: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(t.Context(), targets, func(*banner.Record) error { return nil }); err != nil {
		t.Fatal(err)
	}
	d := dials.snapshot()
	if len(d) != 10 {
		t.Fatalf("%d dials, want 10", len(d))
	}
	// Each start is a reserved slot 50 ms after the previous one; a start
	// can only come late, so the first may shorten the span by its delay
	// (a few ms at most).
	if span := d[9].At.Sub(d[0].At); span < 445*time.Millisecond {
		t.Errorf("10 connections at 20/s spanned %v, want at least 450 ms", span)
	}
	t.Logf("10 connections at 20/s spanned %v", d[9].At.Sub(d[0].At))
}

// TestAdmission: duplicates, non-global addresses, excluded networks and
// targets past max_targets are counted, logged and never dialled.
func TestAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		targets, seens := pipeFleet(t, pn, 6, router) // 198.18.0.1–6
		cfg := testConfig([]uint16{80}, nil)
		cfg.MaxTargets = 3
		cfg.Exclude = []string{"198.18.0.2", "198.18.0.4/31"} // .2, .4, .5
		dials := &dialLog{t: t, dial: pn.Dial, allowed: func(ap netip.AddrPort) bool { return slices.Contains(targets, ap.Addr()) }}
		p, err := New(discard, cfg, Deps{Dial: dials.Dial, AllowNonGlobal: true})
		if err != nil {
			t.Fatal(err)
		}
		given := append(slices.Clone(targets), netip.MustParseAddr("::ffff:198.18.0.1"), targets[2], targets[0], netip.MustParseAddr("224.0.0.1"), netip.IPv4Unspecified())
		given = append(given, netip.MustParseAddr("198.18.0.7"), netip.MustParseAddr("198.18.0.8")) // nobody there: refused
		stats, err := p.Run(t.Context(), given, func(*banner.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		// Admitted in order: .1, .3, .6 (.2, .4, .5 excluded); .7 and .8
		// come past max_targets.
		want := Stats{Targets: 13, Duplicates: 3, NotGlobal: 2, Excluded: 3, OverLimit: 2, Probed: 3, Requests: 6, Records: 3,
			Outcomes: map[Outcome]int{OutcomeStatus: 6}}
		if diff := gocmp.Diff(stats, want); diff != "" {
			t.Errorf("Run() stats (-got, +want):\n%s", diff)
		}
		var accepts []int
		for _, s := range seens {
			n, _ := s.snapshot()
			accepts = append(accepts, n)
		}
		if diff := gocmp.Diff(accepts, []int{2, 0, 2, 0, 0, 2}); diff != "" {
			t.Errorf("connections per device 198.18.0.1–6 (-got, +want):\n%s", diff)
		}
	})
}

// TestNonGlobalNeverDialled: without the test-only option, a special-purpose
// address is never dialled, whatever the exclude list says.
func TestNonGlobalNeverDialled(t *testing.T) {
	var given []netip.Addr
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.1.1",
		"198.18.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1", "224.0.0.1", "255.255.255.255", "240.0.0.1", "0.0.0.0",
		"::1", "::", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1", "::ffff:10.9.9.9"} {
		given = append(given, netip.MustParseAddr(s))
	}
	dials := &dialLog{t: t, allowed: func(netip.AddrPort) bool { return false }}
	p, err := New(discard, testConfig([]uint16{80}, []uint16{443}), Deps{Dial: dials.Dial})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := p.Run(t.Context(), given, func(*banner.Record) error { t.Error("a record from nowhere"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(stats, Stats{Targets: len(given), NotGlobal: len(given), Outcomes: map[Outcome]int{}}); diff != "" {
		t.Errorf("Run() stats (-got, +want):\n%s", diff)
	}
}

func TestGlobalAddr(t *testing.T) {
	for s, want := range map[string]bool{
		"1.1.1.1": true, "8.8.8.8": true, "2606:4700::1111": true, "::ffff:1.1.1.1": true,
		"223.255.255.255": true, "100.128.0.1": true, "172.32.0.1": true,
		"10.0.0.1": false, "100.64.0.1": false, "127.0.0.1": false, "169.254.0.1": false, "172.31.255.255": false,
		"192.0.0.8": false, "192.0.2.1": false, "192.88.99.1": false, "192.168.0.1": false, "198.18.0.1": false,
		"198.19.255.255": false, "198.51.100.1": false, "203.0.113.1": false, "224.0.0.1": false, "240.0.0.1": false,
		"255.255.255.255": false, "0.1.2.3": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd00::1": false, "ff02::1": false,
		"2001:db8::1": false, "2001::1": false, "2002:a00:1::1": false, "3fff::1": false, "64:ff9b:1::1": false, "100::1": false,
	} {
		if got := globalAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("globalAddr(%s) = %v, want %v", s, got, want)
		}
	}
}

// TestCancel: a run against silent hosts ends soon after its context is
// cancelled, not after the timeouts.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		targets, _ := pipeFleet(t, pn, 20, behaviour{silent: true})
		cfg := testConfig([]uint16{80}, nil)
		cfg.Rate, cfg.Timeout = 100, 30*time.Second
		p, err := New(discard, cfg, Deps{Dial: pn.Dial, AllowNonGlobal: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		stats, err := p.Run(ctx, targets, func(*banner.Record) error { return nil })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run() = %v, want the context's error", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Run() returned %v after the start, want 1s, when the context ended", d)
		}
		if stats.Outcomes[OutcomeCancelled] != cfg.Workers || stats.Requests != cfg.Workers {
			t.Errorf("Run() stats %+v, want the %d requests in flight cancelled", stats, cfg.Workers)
		}
	})
}

// TestEmitError: a failing emit stops the run with its error.
func TestEmitError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pn := newPipeNet()
		targets, _ := pipeFleet(t, pn, 10, router)
		cfg := testConfig([]uint16{80}, nil)
		cfg.Workers = 1
		p, err := New(discard, cfg, Deps{Dial: pn.Dial, AllowNonGlobal: true})
		if err != nil {
			t.Fatal(err)
		}
		full := errors.New("disk full")
		stats, err := p.Run(t.Context(), targets, func(*banner.Record) error { return full })
		if !errors.Is(err, full) || !strings.Contains(err.Error(), "198.18.0.1:80") {
			t.Errorf("Run() = %v, want the emit error, naming the service", err)
		}
		if stats.Records != 0 || stats.Requests > 3 {
			t.Errorf("Run() stats %+v: the run went on after emit failed", stats)
		}
	})
}
