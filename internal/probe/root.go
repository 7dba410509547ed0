package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/clock"
)

// Source is the banner.Record Source of what the probe fetched.
const Source = "probe"

// Deps are what a Prober takes from its caller.
type Deps struct {
	// Clock stamps the records and the request log (nil: the wall clock).
	// Pacing and timeouts run on the runtime's own time.
	Clock clock.Clock
	// Dial opens the TCP connections (nil: a net.Dialer). Tests record
	// and route connections through it.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Version is Nightjar's version, in the User-Agent ("dev" when empty).
	Version string
	// AllowNonGlobal lets tests probe loopback and network-namespace
	// addresses (198.18.0.0/15). No configuration file can set it.
	AllowNonGlobal bool
}

// Prober fetches banners from the targets of a run.
type Prober struct {
	logger    *slog.Logger
	cfg       Config
	deps      Deps
	excludes  []netip.Prefix
	userAgent string
}

// ErrDisabled is New's error for a configuration that has not opted in.
var ErrDisabled = errors.New("probing is disabled: it connects to hosts you do not own; " +
	"to opt in, set enabled: true and contact: <a URL or mailto: where their operators can reach you> in the probe configuration")

// New returns a Prober for cfg, which must be valid and enabled, logging
// to logger (nil: nowhere). It does no I/O.
func New(logger *slog.Logger, cfg Config, deps Deps) (*Prober, error) {
	if !cfg.Enabled {
		return nil, ErrDisabled
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("probe configuration: %w", err)
	}
	excludes, err := cfg.excludes()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if deps.Clock == nil {
		deps.Clock = clock.System
	}
	if deps.Dial == nil {
		deps.Dial = (&net.Dialer{}).DialContext
	}
	if deps.Version == "" {
		deps.Version = "dev"
	}
	return &Prober{logger: logger, cfg: cfg, deps: deps, excludes: excludes, userAgent: userAgent(deps.Version, cfg.Contact)}, nil
}

// UserAgent is the User-Agent of every request.
func (p *Prober) UserAgent() string { return p.userAgent }

// Stats counts what a run did. Every target given is in exactly one of
// Duplicates, NotGlobal, Excluded, OverLimit and Probed.
type Stats struct {
	Targets    int // addresses given to Run
	Duplicates int // given more than once: probed once
	NotGlobal  int // not contacted: not a global address
	Excluded   int // not contacted: in the exclude list
	OverLimit  int // not contacted: past max_targets
	Probed     int // admitted: contacted unless the run was cancelled first
	Requests   int // connections opened (or tried)
	// Outcomes counts the requests by how they ended.
	Outcomes map[Outcome]int
	Records  int // records emitted
}

// Run probes targets, in order, up to max_targets, and calls emit with the
// record of each port that answered (HTTP, or a TLS certificate), from one
// goroutine at a time. It returns when every request has ended, when emit
// or the request log fails (that error), or soon after ctx is cancelled
// (ctx's error); the Stats count what was done either way.
func (p *Prober) Run(ctx context.Context, targets []netip.Addr, emit func(*banner.Record) error) (Stats, error) {
	if p == nil || !p.cfg.Enabled {
		return Stats{}, ErrDisabled
	}
	r := &run{Prober: p, clock: p.deps.Clock, dial: p.deps.Dial, pacer: newPacer(p.cfg.Rate), emit: emit,
		stats: Stats{Targets: len(targets), Outcomes: map[Outcome]int{}}}
	var logFile *os.File
	if p.cfg.RequestLog != "" {
		f, err := os.OpenFile(p.cfg.RequestLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return r.stats, fmt.Errorf("open the request log: %w", err)
		}
		logFile = f
		r.log = newRequestLog(p.logger, f)
	} else {
		r.log = newRequestLog(p.logger, nil)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	err := r.probe(ctx, r.admit(targets))
	if logFile != nil {
		if cerr := logFile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the request log: %w", cerr)
		}
	}
	return r.stats, err
}

// run is the state of one Run.
type run struct {
	*Prober
	clock  clock.Clock
	dial   func(ctx context.Context, network, address string) (net.Conn, error)
	pacer  *pacer
	log    *requestLog
	cancel context.CancelCauseFunc

	mu    sync.Mutex // guards stats and emit
	stats Stats
	emit  func(*banner.Record) error
}

// admit returns the targets to contact, logging and counting the others.
func (r *run) admit(targets []netip.Addr) []netip.Addr {
	seen := make(map[netip.Addr]bool, len(targets))
	var admitted []netip.Addr
	for _, t := range targets {
		t = t.Unmap()
		reason := ""
		switch {
		case seen[t]:
			reason, r.stats.Duplicates = ReasonDuplicate, r.stats.Duplicates+1
		case !connectable(t) || (!r.deps.AllowNonGlobal && !globalAddr(t)):
			reason, r.stats.NotGlobal = ReasonNotGlobal, r.stats.NotGlobal+1
		case r.excluded(t):
			reason, r.stats.Excluded = ReasonExcluded, r.stats.Excluded+1
		case len(admitted) == r.cfg.MaxTargets:
			reason, r.stats.OverLimit = ReasonOverLimit, r.stats.OverLimit+1
		default:
			admitted = append(admitted, t)
		}
		seen[t] = true
		if reason != "" {
			r.record(Request{Time: r.clock(), Target: t, Outcome: OutcomeExcluded, Reason: reason})
		}
	}
	r.stats.Probed = len(admitted)
	return admitted
}

func (r *run) excluded(a netip.Addr) bool {
	for _, p := range r.excludes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// probe runs the workers over every port of every target.
func (r *run) probe(ctx context.Context, targets []netip.Addr) error {
	jobs := make(chan service)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			for s := range jobs {
				r.service(ctx, s)
			}
		})
	}
feed:
	for _, t := range targets {
		for _, s := range r.services(t) {
			select {
			case jobs <- s:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// record logs a request; a run whose request log fails stops, since its
// requests would go unrecorded.
func (r *run) record(req Request) {
	r.log.add(req)
	if err := r.log.failed(); err != nil {
		r.cancel(err)
	}
}

// services lists the ports of a target, HTTP first.
func (r *run) services(a netip.Addr) []service {
	var ss []service
	for _, p := range r.cfg.HTTPPorts {
		ss = append(ss, service{netip.AddrPortFrom(a, p), "http"})
	}
	for _, p := range r.cfg.HTTPSPorts {
		ss = append(ss, service{netip.AddrPortFrom(a, p), "https"})
	}
	return ss
}

// service probes one port: GET /, then, if that answered HTTP, GET
// /favicon.ico on the same origin — nothing more, and never where a
// redirect points.
func (r *run) service(ctx context.Context, s service) {
	if ctx.Err() != nil {
		return
	}
	rec := &banner.Record{Addr: s.addr.Addr(), Port: s.addr.Port(), Transport: banner.TCP, Time: r.clock(), Source: Source}
	page := r.fetch(ctx, s, "/")
	if page.cert != nil {
		rec.TLS = certEvidence(page.cert)
	}
	if page.status != 0 {
		pageEvidence(&rec.HTTP, page.status, page.header, page.body)
		if icon := r.fetch(ctx, s, "/favicon.ico"); icon.status == 200 && icon.complete && len(icon.body) > 0 {
			faviconEvidence(&rec.HTTP, icon.body)
		}
	}
	if rec.HTTP.Status == 0 && rec.TLS.SHA256 == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	if err := r.emit(rec); err != nil {
		r.cancel(fmt.Errorf("emit the record of %s: %w", s.addr, err))
		return
	}
	r.stats.Records++
}

// count updates the stats under the lock.
func (r *run) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}
