package api

import (
	"context"
	"net/netip"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The answers of the routes: each reads its parameters, checks them once,
// and asks one of the questions (questions.go) or the store.

// ask answers a route with one of the questions (questions.go).
func ask[R any](h *handler, question func(context.Context, store.Questions, Params) (R, error)) func(context.Context, *query) (any, error) {
	return func(ctx context.Context, q *query) (any, error) {
		p := q.params()
		if q.err != nil {
			return nil, q.err
		}
		return done(question(ctx, h.st, p))
	}
}

// done returns v, or err when there is one.
func done[R any](v R, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// params reads the parameters of the questions; those a route does not
// accept were refused by newQuery, so they are absent and take their
// defaults.
func (q *query) params() Params {
	p := DefaultParams()
	p.Period, p.Top = q.period(), q.top()
	p.Sensors, p.Groups, p.Ports = q.list("sensor"), q.list("group"), q.list("port")
	p.Daily = q.bool("daily")
	if s := q.one("resolution"); s != "" {
		var err error
		if p.Resolution, err = store.ParseResolution(s); err != nil {
			q.fail("resolution", "%v", err)
		}
	}
	if s := q.one("by"); s != "" {
		var err error
		if p.By, err = store.ParseBy(s); err != nil {
			q.fail("by", "%v", err)
		}
	}
	if s := q.one("kind"); s != "" {
		var err error
		if p.Kind, err = store.ParseOriginKind(s); err != nil {
			q.fail("kind", "%v", err)
		}
	}
	p.Tag, p.Vendor, p.Bucket = q.one("tag"), q.one("vendor"), q.one("bucket")
	var err error
	if p.Verdict, err = store.ParseVerdict(q.one("verdict")); err != nil {
		q.failWith(err)
	}
	if p.Origin, err = store.ParseOriginFilter(q.one("country"), q.one("asn"), q.one("prefix"), q.one("scanner")); err != nil {
		q.failWith(err)
	}
	return p
}

func (h *handler) sensors(ctx context.Context, _ *query) (any, error) {
	return done(AskSensors(ctx, h.st))
}

func (h *handler) groups(ctx context.Context, _ *query) (any, error) {
	sensors, err := h.st.Sensors(ctx)
	return done(NewGroupsResponse(sensors), err)
}

// portSeries bounds the series before asking, and hides from anonymous
// visitors the groups too small for them.
func (h *handler) portSeries(ctx context.Context, q *query) (any, error) {
	p := q.params()
	h.checkSeries(ctx, q, seriesQuery(p))
	if q.err != nil {
		return nil, q.err
	}
	r, err := AskPortSeries(ctx, h.st, p)
	if err != nil {
		return nil, err
	}
	return done(h.hideSmallGroups(ctx, r))
}

// checkSeries checks what the store would refuse in a port series, and
// bounds its size: ports, hours, and series × buckets.
func (h *handler) checkSeries(ctx context.Context, q *query, sq store.PortSeriesQuery) {
	switch {
	case len(sq.Ports) == 0:
		q.fail("port", "give at least one port (port=23/TCP&port=ICMP)")
	case len(sq.Ports) > h.limits.MaxPorts:
		q.fail("port", "%d ports given, at most %d", len(sq.Ports), h.limits.MaxPorts)
	case len(sq.Sensors) > 0 && sq.By != store.BySensor:
		q.fail("sensor", "sensor= chooses sensors of by=sensor, not by=%s", sq.By)
	case len(sq.Groups) > 0 && sq.By != store.ByGroup:
		q.fail("group", "group= chooses groups of by=group, not by=%s", sq.By)
	case sq.Resolution == store.Hour && sq.Period.Duration() > h.limits.MaxHourly:
		q.fail("resolution", "hourly series cover at most %d days; %s is longer: choose resolution=day", int(h.limits.MaxHourly.Hours()/24), sq.Period)
	}
	for _, label := range sq.Ports {
		if _, err := portcount.ParseLabel(label); err != nil {
			q.fail("port", "%v", err)
		}
	}
	if q.err != nil {
		return
	}
	buckets, err := store.Buckets(sq.Period, sq.Resolution)
	if err != nil {
		q.fail("resolution", "%v", err)
		return
	}
	owners := 1
	switch {
	case len(sq.Sensors) > 0:
		owners = len(sq.Sensors)
	case len(sq.Groups) > 0:
		owners = len(sq.Groups)
	case sq.By != store.ByFleet:
		sensors, err := h.st.Sensors(ctx)
		if err != nil {
			q.err = err
			return
		}
		owners = len(sensors) // an upper bound of the groups
	}
	if points := owners * len(sq.Ports) * len(buckets); points > h.limits.MaxPoints {
		q.fail("port", "the series would hold %d numbers (%d series of %d buckets), more than %d: choose fewer ports, sensors or groups, a coarser resolution or a shorter period",
			points, owners*len(sq.Ports), len(buckets), h.limits.MaxPoints)
	}
}

func (h *handler) source(ctx context.Context, q *query) (any, error) {
	p, s := q.period(), q.path("ip")
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		q.fail("ip", "%q is not an IP address (want 192.0.2.1 or 2001:db8::1)", s)
	}
	if q.err != nil {
		return nil, q.err
	}
	q.fileTag = "-" + strings.ReplaceAll(ip.String(), ":", "_") + q.fileTag
	ans, err := h.st.SourceHistory(ctx, store.SourceHistoryQuery{Period: p, IP: ip})
	if err != nil {
		return nil, err
	}
	resp := SourceResponse{Period: p.String(), SourceHistory: ans, Evidence: []store.DeviceEvidence{}}
	dev, ev, ok, err := h.st.SourceDevice(ctx, ip)
	if ok {
		resp.Attribution, resp.Evidence = &dev, ev
	}
	return done(resp, err)
}
