package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The sizes of the extra issue's tables and the span of its chart.
const (
	// ExtraSourcesTopN sources of the alert's sensors in its hours.
	ExtraSourcesTopN = 10
	// ExtraOriginsTopN countries and ExtraDevicesTopN device models.
	ExtraOriginsTopN = 5
	ExtraDevicesTopN = 5
	// ExtraBefore and ExtraAfter: the chart shows the hours from this
	// long before the alert's start to this long after its last hour
	// (not past the generation time), at most ExtraMaxSpan in all.
	ExtraBefore  = 48 * time.Hour
	ExtraAfter   = 24 * time.Hour
	ExtraMaxSpan = 14 * 24 * time.Hour
)

// Extra is the extra issue of one alert: the alert, and what the store
// says of its sensors and hours. BuildExtra computes it; WriteExtra
// renders it.
type Extra struct {
	Alert     store.Alert
	Generated time.Time
	// Hours are the alert's hours: from the start of its first to the
	// end of its last.
	Hours period.Period
	// Sensors are every sensor of the store, in the store's order;
	// Groups every group, in the order of store.GroupsOf.
	Sensors []ExtraSensor
	Groups  []ExtraGroup
	Chart   HourlyChart
	Sources ExtraSources
	// Tags are the packets per fingerprint tag of the alert's sensors in
	// its hours, most first, tags without packets left out.
	Tags []TagPackets
	// Countries are the top countries of the sources of the alert's
	// sensors in its hours; nil when no GeoIP database placed them.
	Countries []store.RankedOrigin
	// Devices are the device models behind those sources.
	Devices store.DeviceTable
}

// ExtraSensor is a sensor in the alert's hours: all its packets, those to
// the alert's port (0 when the alert has none), and what the detector
// compared at the peak hour (nil when the evidence does not list it).
type ExtraSensor struct {
	Name, Group          string
	InScope              bool
	Packets, PortPackets uint64
	Peak                 *store.PeerChange
}

// ExtraGroup is a group's sensors, how many of them are in the alert's
// scope, their packets as ExtraSensor's, and the detector's figures at
// the peak hour when it compared the group.
type ExtraGroup struct {
	Name                 string
	Sensors, InScope     int
	Packets, PortPackets uint64
	Peak                 *store.PeerChange
}

// HourlyChart is the chart of the alert: every hour of Window, the
// alert's sensors' Measure in it (the alert's port's packets, sources or
// Mirai-tagged packets; its tag's packets; or all their packets), summed
// over the sensors as the detectors sum them, and the evidence's
// baseline in the hours the evidence has one, when it is of the same
// measure (NaN in the other hours).
type HourlyChart struct {
	Window   period.Period
	Hours    []time.Time
	Observed []float64
	Baseline []float64
	Measure  string
}

// ExtraSources are the top sources of the packets the alert's sensors
// received in Period: the alert's hours, or the whole UTC days around
// them (Days) when the raw records of the hours are no longer retained.
// ToPort counts each source's packets to the alert's port, from the raw
// records, when PortKnown.
type ExtraSources struct {
	Period    period.Period
	Days      bool
	Top       []ExtraSource
	PortKnown bool
}

// ExtraSource is a top source and its packets to the alert's port.
type ExtraSource struct {
	store.Source
	ToPort uint64
}

// TagPackets is a tag's packets.
type TagPackets struct {
	Tag     string
	Packets uint64
}

// BuildExtra asks the store what the extra issue of a shows. now is the
// draft's generation time: the chart ends at its hour at the latest.
func BuildExtra(ctx context.Context, st Store, a store.Alert, now time.Time) (*Extra, error) {
	if a.Start.IsZero() || a.LastSeen.Before(a.Start) {
		return nil, fmt.Errorf("alert %d: no hours (start %s, last seen %s)", a.ID, a.Start.Format(time.RFC3339), a.LastSeen.Format(time.RFC3339))
	}
	x := &Extra{Alert: a, Generated: now.UTC()}
	x.Hours = period.Period{Start: a.Start.UTC().Truncate(time.Hour), End: a.LastSeen.UTC().Truncate(time.Hour).Add(time.Hour), Kind: period.Custom}
	sensors, err := st.Sensors(ctx)
	if err != nil {
		return nil, fmt.Errorf("extra issue: sensors: %w", err)
	}
	if err := x.placeSensors(sensors); err != nil {
		return nil, fmt.Errorf("extra issue of alert %d: %w", a.ID, err)
	}
	scope := x.scopeSensors()
	for _, step := range []struct {
		what string
		ask  func() error
	}{
		{"packets of the sensors", func() error { return x.buildPackets(ctx, st) }},
		{"chart", func() error { return x.buildChart(ctx, st, sensors) }},
		{"top sources", func() error { return x.buildSources(ctx, st, scope) }},
		{"tags", func() error { return x.buildTags(ctx, st, scope) }},
		{"source countries", func() error { return x.buildCountries(ctx, st) }},
	} {
		if err := step.ask(); err != nil {
			return nil, fmt.Errorf("extra issue of alert %d: %s: %w", a.ID, step.what, err)
		}
	}
	if x.Devices, err = st.Devices(ctx, store.DevicesQuery{Period: x.Sources.Period, N: ExtraDevicesTopN, Sensors: scope}); err != nil {
		return nil, fmt.Errorf("extra issue of alert %d: device models: %w", a.ID, err)
	}
	return x, nil
}

// placeSensors lists the sensors and groups, marks those of the alert's
// scope and gives each the detector's figures at the peak hour: the
// evidence's own for the scope's owner, its Others for the peers.
func (x *Extra) placeSensors(sensors []store.Sensor) error {
	sc, ev := x.Alert.Scope, x.Alert.Evidence
	own := &store.PeerChange{Sensor: sc.Sensor, Group: sc.Group, Observed: ev.Observed, Baseline: ev.Baseline, Score: ev.Score}
	peer := func(sensor, group string) *store.PeerChange {
		i := slices.IndexFunc(ev.Others, func(p store.PeerChange) bool { return p.Sensor == sensor && p.Group == group })
		if i < 0 {
			return nil
		}
		return &ev.Others[i]
	}
	for _, g := range store.GroupsOf(sensors) {
		xg := ExtraGroup{Name: g.Name, Sensors: len(g.Sensors), Peak: peer("", g.Name)}
		if sc.Sensor == "" && sc.Group == g.Name {
			xg.Peak = own
		}
		x.Groups = append(x.Groups, xg)
	}
	for _, s := range sensors {
		in := x.inScope(s.Name, s.Group)
		xs := ExtraSensor{Name: s.Name, Group: s.Group, InScope: in, Peak: peer(s.Name, "")}
		if sc.Sensor == s.Name {
			xs.Peak = own
		}
		x.Sensors = append(x.Sensors, xs)
		if in {
			x.group(s.Group).InScope++
		}
	}
	switch {
	case len(sensors) == 0:
		return errors.New("the store has no sensors")
	case sc.Sensor != "" && !slices.ContainsFunc(x.Sensors, func(s ExtraSensor) bool { return s.Name == sc.Sensor }):
		return fmt.Errorf("its sensor %q is not in the store", sc.Sensor)
	case sc.Group != "" && !slices.ContainsFunc(x.Groups, func(g ExtraGroup) bool { return g.Name == sc.Group }):
		return fmt.Errorf("its group %q is not in the store", sc.Group)
	}
	return nil
}

// inScope reports whether the sensor is one of the alert's: its sensor,
// a sensor of its group, or any for the fleet.
func (x *Extra) inScope(sensor, group string) bool {
	sc := x.Alert.Scope
	return sc.Sensor == sensor || sc.Sensor == "" && (sc.Group == "" || sc.Group == group)
}

func (x *Extra) group(name string) *ExtraGroup {
	return &x.Groups[slices.IndexFunc(x.Groups, func(g ExtraGroup) bool { return g.Name == name })]
}

// scopeSensors names the sensors of the alert's scope; nil for the fleet
// (every sensor: the store's questions take none as all).
func (x *Extra) scopeSensors() []string {
	if x.Alert.Scope.Sensor == "" && x.Alert.Scope.Group == "" {
		return nil
	}
	var out []string
	for _, s := range x.Sensors {
		if s.InScope {
			out = append(out, s.Name)
		}
	}
	return out
}

// InScope returns the sensors of the alert's scope.
func (x *Extra) InScope() []ExtraSensor {
	return slices.DeleteFunc(slices.Clone(x.Sensors), func(s ExtraSensor) bool { return !s.InScope })
}

// OutOfScope returns the other sensors: those that did not see it.
func (x *Extra) OutOfScope() []ExtraSensor {
	return slices.DeleteFunc(slices.Clone(x.Sensors), func(s ExtraSensor) bool { return s.InScope })
}

// ScopePackets is the packets of the alert's sensors in its hours, all
// ports and those to its port.
func (x *Extra) ScopePackets() (all, port uint64) {
	for _, s := range x.InScope() {
		all, port = all+s.Packets, port+s.PortPackets
	}
	return all, port
}

// buildPackets gives every sensor (and group) its packets in the alert's
// hours, and those to the alert's port.
func (x *Extra) buildPackets(ctx context.Context, st Store) error {
	top, err := st.TopPorts(ctx, store.TopPortsQuery{Period: x.Hours, N: 1})
	if err != nil {
		return err
	}
	ports := map[string]uint64{}
	if port := x.Alert.Scope.Port; port != "" {
		ps, err := st.PortSeries(ctx, store.PortSeriesQuery{Period: x.Hours, Resolution: store.Hour, Ports: []string{port}, By: store.BySensor})
		if err != nil {
			return err
		}
		for _, s := range ps.Series {
			for _, n := range s.Packets {
				ports[s.Sensor] += n
			}
		}
	}
	for i := range x.Sensors {
		s := &x.Sensors[i]
		if j := slices.IndexFunc(top, func(sp store.SensorPorts) bool { return sp.Sensor == s.Name }); j >= 0 {
			s.Packets = top[j].Packets
		}
		s.PortPackets = ports[s.Name]
		g := x.group(s.Group)
		g.Packets += s.Packets
		g.PortPackets += s.PortPackets
	}
	return nil
}

// chartWindow is the chart's span: ExtraBefore the alert to ExtraAfter
// it, not past now's hour, at most ExtraMaxSpan (its end kept).
func (x *Extra) chartWindow() period.Period {
	w := period.Period{Start: x.Hours.Start.Add(-ExtraBefore), End: x.Hours.End.Add(ExtraAfter), Kind: period.Custom}
	if now := x.Generated.Truncate(time.Hour); now.Before(w.End) {
		w.End = now
		if w.End.Before(x.Hours.End) {
			w.End = x.Hours.End
		}
	}
	if w.End.Sub(w.Start) > ExtraMaxSpan {
		w.Start = w.End.Add(-ExtraMaxSpan)
	}
	return w
}

// buildChart fills the chart from the store's hourly counts of the
// alert's sensors around the alert (the activity questions, which the
// detectors read too): its port's, its tag's, or all their packets.
func (x *Extra) buildChart(ctx context.Context, st Store, sensors []store.Sensor) error {
	c, sc := &x.Chart, x.Alert.Scope
	c.Window = x.chartWindow()
	for t := c.Window.Start; t.Before(c.Window.End); t = t.Add(time.Hour) {
		c.Hours = append(c.Hours, t)
		c.Baseline = append(c.Baseline, math.NaN())
	}
	c.Observed = make([]float64, len(c.Hours))
	in := map[int32]bool{}
	for _, sen := range sensors {
		if x.inScope(sen.Name, sen.Group) {
			in[sen.ID] = true
		}
	}
	at := func(t time.Time) int { return int(t.Sub(c.Window.Start) / time.Hour) }
	var err error
	switch c.Measure = chartMeasure(x.Alert); {
	case sc.Port != "":
		slot, perr := portcount.ParseLabel(sc.Port)
		if perr != nil {
			return fmt.Errorf("the alert's port: %w", perr)
		}
		value := func(h store.PortHour) uint64 { return h.Packets }
		switch c.Measure {
		case measureSources:
			value = func(h store.PortHour) uint64 { return h.Sources }
		case measureMirai:
			value = func(h store.PortHour) uint64 { return h.Mirai }
		}
		err = st.PortHours(ctx, c.Window.Start, c.Window.End, func(h store.PortHour) error {
			if in[h.Sensor] && uint32(h.Slot) == slot {
				c.Observed[at(h.Hour)] += float64(value(h))
			}
			return nil
		})
	case sc.Tag != "":
		err = st.TagHours(ctx, c.Window.Start, c.Window.End, func(h store.TagHour) error {
			if in[h.Sensor] && h.Tag == sc.Tag {
				c.Observed[at(h.Hour)] += float64(h.Packets)
			}
			return nil
		})
	default:
		err = st.PortHours(ctx, c.Window.Start, c.Window.End, func(h store.PortHour) error {
			if in[h.Sensor] {
				c.Observed[at(h.Hour)] += float64(h.Packets)
			}
			return nil
		})
	}
	if err != nil {
		return err
	}
	if ev := x.Alert.Evidence; ev.Measure == c.Measure {
		for _, p := range ev.Series {
			if i := at(p.Hour.UTC().Truncate(time.Hour)); i >= 0 && i < len(c.Hours) {
				c.Baseline[i] = p.Baseline
			}
		}
	}
	return nil
}

// The measures of the detectors' evidence that the chart draws.
const (
	measurePackets = "packets per hour"
	measureSources = "sources per hour"
	measureMirai   = "mirai-tagged packets per hour"
)

// chartMeasure is what the chart counts per hour: the evidence's measure
// when the hourly counts have it, else packets (of the port, the tag or
// the sensors).
func chartMeasure(a store.Alert) string {
	m := a.Evidence.Measure
	switch {
	case a.Scope.Port != "" && (m == measurePackets || m == measureSources || m == measureMirai):
		return m
	case a.Scope.Port == "" && a.Scope.Tag != "":
		return a.Scope.Tag + " " + measurePackets
	}
	return measurePackets
}

// buildSources asks for the top sources of the alert's sensors in its
// hours; when those hours' raw records are gone (no source, although
// the sensors had packets), in the whole days around them, which the
// daily rollups keep.
func (x *Extra) buildSources(ctx context.Context, st Store, scope []string) error {
	src := &x.Sources
	src.Period = x.Hours
	top, err := st.TopSources(ctx, store.TopSourcesQuery{Period: src.Period, N: ExtraSourcesTopN, Sensors: scope})
	if err != nil {
		return err
	}
	if all, _ := x.ScopePackets(); len(top) == 0 && all > 0 {
		src.Days = true
		src.Period = period.Period{Start: period.Of(period.Day, x.Hours.Start).Start,
			End: period.Of(period.Day, x.Hours.End.Add(-time.Nanosecond)).End, Kind: period.Custom}
		if top, err = st.TopSources(ctx, store.TopSourcesQuery{Period: src.Period, N: ExtraSourcesTopN, Sensors: scope}); err != nil {
			return err
		}
	}
	for _, s := range top {
		src.Top = append(src.Top, ExtraSource{Source: s})
	}
	if x.Alert.Scope.Port == "" || len(top) == 0 {
		return nil
	}
	return x.sourcesToPort(ctx, st, scope)
}

// sourcesToPort counts each top source's packets to the alert's port at
// its sensors, from the raw records (the events of the sources'
// addresses). Records no longer retained leave PortKnown false.
func (x *Extra) sourcesToPort(ctx context.Context, st Store, scope []string) error {
	src := &x.Sources
	slot, err := portcount.ParseLabel(x.Alert.Scope.Port)
	if err != nil {
		return fmt.Errorf("alert's port: %w", err)
	}
	var nets []netip.Prefix
	for _, s := range src.Top {
		addr, err := netip.ParseAddr(s.IP)
		if err != nil {
			return fmt.Errorf("source %q: %w", s.IP, err)
		}
		nets = append(nets, netip.PrefixFrom(addr, addr.BitLen()))
	}
	events, err := st.Events(ctx, store.EventsQuery{Period: src.Period, Prefixes: nets})
	if errors.Is(err, store.ErrPruned) {
		return nil
	}
	if err != nil {
		return err
	}
	toPort := map[string]uint64{}
	for _, e := range events {
		proto := e.Protocol == record.ProtoTCP || e.Protocol == record.ProtoUDP
		key := record.PortKey{Protocol: e.Protocol, HasPort: proto}
		if proto {
			key.Port = e.DstPort
		}
		if portcount.Slot(key) == slot && (scope == nil || slices.Contains(scope, e.Sensor)) {
			toPort[e.Src.String()] += e.Packets
		}
	}
	for i := range src.Top {
		src.Top[i].ToPort = toPort[src.Top[i].IP]
	}
	src.PortKnown = true
	return nil
}

// buildTags counts the tags of the alert's sensors in its hours.
func (x *Extra) buildTags(ctx context.Context, st Store, scope []string) error {
	tc, err := st.TagCounts(ctx, store.TagCountsQuery{Period: x.Hours, Sensors: scope})
	if err != nil {
		return err
	}
	for tag, n := range tc.Tags {
		if n > 0 {
			x.Tags = append(x.Tags, TagPackets{tag, n})
		}
	}
	slices.SortFunc(x.Tags, func(a, b TagPackets) int { return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.Tag, b.Tag)) })
	return nil
}

// buildCountries ranks the countries of the sources of the alert's
// owner (its sensor, its group or the fleet) in the sources' period.
func (x *Extra) buildCountries(ctx context.Context, st Store) error {
	q := store.OriginsQuery{Period: x.Sources.Period, Kind: store.ByCountry, N: ExtraOriginsTopN, By: store.ByFleet}
	switch sc := x.Alert.Scope; {
	case sc.Sensor != "":
		q.By, q.Sensors = store.BySensor, []string{sc.Sensor}
	case sc.Group != "":
		q.By, q.Groups = store.ByGroup, []string{sc.Group}
	}
	o, err := st.Origins(ctx, q)
	if err != nil {
		return err
	}
	if len(o.Tables) > 0 && placed(o.Tables[0].Origins) {
		x.Countries = o.Tables[0].Origins
	}
	return nil
}
