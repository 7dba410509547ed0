package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// counts are one sensor's (or owner's) packets, distinct sources and
// mirai-tagged packets to one port in one hour. Sources of a group or of
// the fleet are the sum of its sensors' (a source seen at two sensors
// counts twice), which is what a surge of sources needs.
type counts struct{ packets, sources, mirai uint64 }

func (c *counts) add(o counts) {
	c.packets += o.packets
	c.sources += o.sources
	c.mirai += o.mirai
}

// hour is one UTC hour of the whole fleet: per sensor ID, the ports
// (portcount slots) and the tags that had packets.
type hour struct {
	start time.Time
	ports map[int32]map[int32]counts
	tags  map[int32]map[string]uint64
	// total is per sensor the sum over its ports: packets, sources (a
	// source counted once per port) and mirai-tagged packets.
	total map[int32]counts
}

func (h *hour) addPort(ph store.PortHour) {
	m := h.ports[ph.Sensor]
	if m == nil {
		m = map[int32]counts{}
		h.ports[ph.Sensor] = m
	}
	c := counts{ph.Packets, ph.Sources, ph.Mirai}
	old := m[ph.Slot]
	old.add(c)
	m[ph.Slot] = old
	t := h.total[ph.Sensor]
	t.add(c)
	h.total[ph.Sensor] = t
}

func (h *hour) addTag(th store.TagHour) {
	m := h.tags[th.Sensor]
	if m == nil {
		m = map[string]uint64{}
		h.tags[th.Sensor] = m
	}
	m[th.Tag] += th.Packets
}

func newHour(start time.Time) *hour {
	return &hour{start: start, ports: map[int32]map[int32]counts{}, tags: map[int32]map[string]uint64{}, total: map[int32]counts{}}
}

// Activity is what the Window reads: store.ActivityQuestions.
type Activity interface {
	PortHours(ctx context.Context, from, to time.Time, fn func(store.PortHour) error) error
	TagHours(ctx context.Context, from, to time.Time, fn func(store.TagHour) error) error
	PartHour(ctx context.Context, from, to time.Time, ports func(store.PortHour) error, tags func(store.TagHour) error) error
}

// Window keeps the last Span of hours read from the store, so that each
// evaluation reads only the hours it has not seen (one hour when live).
type Window struct {
	src   Activity
	span  int // hours kept
	hours map[int64]*hour
	last  time.Time // the end of the last Load
	// over stands in for its hour while a look at part of it runs.
	over *hour
}

// reread is how far back Load reads again hours it holds.
const reread = 2 * time.Hour

// NewWindow keeps span hours of src; it reads nothing until Load.
func NewWindow(src Activity, span time.Duration) *Window {
	return &Window{src: src, span: int(span / time.Hour), hours: map[int64]*hour{}}
}

func hourKey(t time.Time) int64 { return t.Unix() / 3600 }

// Load makes the hours of [from, to) (truncated to hours) available,
// reading those not yet held in one pass, and forgets the hours before
// to − span.
func (w *Window) Load(ctx context.Context, from, to time.Time) error {
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	if lo := to.Add(-time.Duration(w.span) * time.Hour); from.Before(lo) {
		from = lo
	}
	for k := range w.hours {
		if k < hourKey(from) {
			delete(w.hours, k)
		}
	}
	// Read from the first hour not held, and again the last hours
	// read: live data still arrives in them (a sensor's spool, the
	// store's rollup lag).
	first := from
	for first.Before(to) && w.hours[hourKey(first)] != nil {
		first = first.Add(time.Hour)
	}
	if again := w.last.Add(-reread); again.Before(first) && !again.Before(from) {
		first = again
	}
	if !first.Before(to) {
		return nil
	}
	for t := first; t.Before(to); t = t.Add(time.Hour) {
		w.hours[hourKey(t)] = newHour(t)
	}
	err := w.src.PortHours(ctx, first, to, func(ph store.PortHour) error {
		h := w.hours[hourKey(ph.Hour)]
		if h == nil {
			return fmt.Errorf("port hours: the store answered hour %s outside [%s, %s)", ph.Hour.UTC().Format(time.RFC3339), first.Format(time.RFC3339), to.Format(time.RFC3339))
		}
		h.addPort(ph)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the hours from %s: %w", first.Format(time.RFC3339), err)
	}
	err = w.src.TagHours(ctx, first, to, func(th store.TagHour) error {
		h := w.hours[hourKey(th.Hour)]
		if h == nil {
			return fmt.Errorf("tag hours: the store answered hour %s outside [%s, %s)", th.Hour.UTC().Format(time.RFC3339), first.Format(time.RFC3339), to.Format(time.RFC3339))
		}
		h.addTag(th)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the tag hours from %s: %w", first.Format(time.RFC3339), err)
	}
	if to.After(w.last) {
		w.last = to
	}
	return nil
}

// at returns the hour that starts at t, nil when it is not held.
func (w *Window) at(t time.Time) *hour {
	if w.over != nil && w.over.start.Equal(t) {
		return w.over
	}
	return w.hours[hourKey(t)]
}

// part reads the part [from, to) of an hour from the raw records, for a
// look at the hour so far; the Window does not keep it.
func (w *Window) part(ctx context.Context, from, to time.Time) (*hour, error) {
	h := newHour(from.UTC().Truncate(time.Hour))
	if err := w.src.PartHour(ctx, from, to, func(p store.PortHour) error { h.addPort(p); return nil },
		func(t store.TagHour) error { h.addTag(t); return nil }); err != nil {
		return nil, err
	}
	return h, nil
}
