package api

import (
	"context"
	"net/netip"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The answers of the routes: each reads its parameters, checks them once,
// asks the store and wraps its answer (responses.go).

// done returns v, or err when there is one.
func done(v any, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (h *handler) sensors(ctx context.Context, _ *query) (any, error) {
	sensors, err := h.st.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	health, err := h.st.Health(ctx)
	return done(NewSensorsResponse(sensors, health), err)
}

func (h *handler) groups(ctx context.Context, _ *query) (any, error) {
	sensors, err := h.st.Sensors(ctx)
	return done(NewGroupsResponse(sensors), err)
}

func (h *handler) topPorts(ctx context.Context, q *query) (any, error) {
	p, top, sensors := q.period(), q.top(), q.list("sensor")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.TopPorts(ctx, store.TopPortsQuery{Period: p, N: top, Sensors: sensors})
	return done(NewTopPortsResponse(p, ans), err)
}

func (h *handler) groupTopPorts(ctx context.Context, q *query) (any, error) {
	p, top, groups := q.period(), q.top(), q.list("group")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: top, Groups: groups})
	return done(NewGroupTopPortsResponse(p, ans), err)
}

func (h *handler) groupAverages(ctx context.Context, q *query) (any, error) {
	p, groups, daily := q.period(), q.list("group"), q.bool("daily")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.GroupAverages(ctx, store.GroupAveragesQuery{Period: p, Groups: groups})
	return done(NewGroupAveragesResponse(p, ans, daily), err)
}

func (h *handler) portSeries(ctx context.Context, q *query) (any, error) {
	sq := store.PortSeriesQuery{Period: q.period(), Resolution: store.Day, Ports: q.list("port"), By: store.BySensor,
		Sensors: q.list("sensor"), Groups: q.list("group")}
	if s := q.one("resolution"); s != "" {
		var err error
		if sq.Resolution, err = store.ParseResolution(s); err != nil {
			q.fail("resolution", "%v", err)
		}
	}
	if s := q.one("by"); s != "" {
		var err error
		if sq.By, err = store.ParseBy(s); err != nil {
			q.fail("by", "%v", err)
		}
	}
	h.checkSeries(ctx, q, sq)
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.PortSeries(ctx, sq)
	return done(NewPortSeriesResponse(sq.Period, sq.By, ans), err)
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

func (h *handler) topSources(ctx context.Context, q *query) (any, error) {
	p, top, sensors := q.period(), q.top(), q.list("sensor")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.TopSources(ctx, store.TopSourcesQuery{Period: p, N: top, Sensors: sensors})
	return done(NewTopSourcesResponse(p, ans), err)
}

func (h *handler) portSources(ctx context.Context, q *query) (any, error) {
	p, top, sensors := q.period(), q.top(), q.list("sensor")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.PortSources(ctx, store.PortSourcesQuery{Period: p, N: top, Sensors: sensors})
	return done(NewPortSourcesResponse(p, ans), err)
}

func (h *handler) tags(ctx context.Context, q *query) (any, error) {
	p, sensors := q.period(), q.list("sensor")
	if q.err != nil {
		return nil, q.err
	}
	ans, err := h.st.TagCounts(ctx, store.TagCountsQuery{Period: p, Sensors: sensors})
	return done(NewTagsResponse(p, ans), err)
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
	return done(SourceResponse{p.String(), ans}, err)
}
