package alerts

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Finding is what a detector saw in one hour: the makings of an alert.
type Finding struct {
	Detector string
	Scope    store.Scope
	Hour     time.Time
	Severity store.Severity
	Research bool
	Summary  string
	Evidence store.Evidence
	// FewSources: a port's packets rose and its sources did not — one
	// scanner hammering it. Such a finding is kept only when it is the
	// research scanners' (Deps.Research): a survey adding a port is
	// worth showing, one bot's burst is not an unusual change.
	FewSources bool
}

// owner is what a series belongs to: one sensor, a group, or the fleet,
// with the IDs of its sensors and when the first of them began (hours
// before it are no baseline: they are not zeros, they are before).
type owner struct {
	scope  store.Scope
	ids    []int32
	since  time.Time
	sensor bool
	group  string // the sensor's group, or the group's name
}

// width is the owner's number of sensors: its sources are summed over
// them (a source seen at each of n sensors counts n times), so the
// thresholds of sources scale with it.
func (o *owner) width() uint64 { return uint64(len(o.ids)) }

func (o *owner) name() string {
	switch {
	case o.scope.Sensor != "":
		return o.scope.Sensor
	case o.scope.Group != "":
		return "group " + o.scope.Group
	}
	return "the fleet"
}

// detector evaluates hours over a Window for a fleet.
type detector struct {
	cfg     *Config
	win     *Window
	owners  []*owner // sensors in ID order, then groups, then the fleet
	sensors []*owner
	groups  []*owner
	fleet   *owner
	// sums caches the ports of groups and of the fleet per hour.
	sums map[sumKey]map[int32]counts
	// alerted is the last hour each slot had a port finding.
	alerted map[int32]time.Time
	// runs are the changes of ports going on, by owner and slot.
	runs map[runKey]run
	// frac is the share of the hour being evaluated that has passed: 1
	// for a whole hour; live, the current hour is looked at before it
	// ends, against its baseline scaled by frac.
	frac float64
}

type sumKey struct {
	hour  int64
	owner *owner
}

func newDetector(cfg *Config, win *Window, sensors []store.Sensor) *detector {
	d := &detector{cfg: cfg, win: win, sums: map[sumKey]map[int32]counts{}, alerted: map[int32]time.Time{}, runs: map[runKey]run{}, frac: 1}
	var all []int32
	var fleetSince time.Time
	for _, g := range store.GroupsOf(sensors) {
		gr := &owner{scope: store.Scope{Group: g.Name}, group: g.Name}
		for _, sen := range g.Sensors {
			o := &owner{scope: store.Scope{Sensor: sen.Name}, ids: []int32{sen.ID}, since: since(sen), sensor: true, group: g.Name}
			d.sensors = append(d.sensors, o)
			gr.ids = append(gr.ids, sen.ID)
			gr.since = earliest(gr.since, o.since)
		}
		d.groups = append(d.groups, gr)
		all = append(all, gr.ids...)
		fleetSince = earliest(fleetSince, gr.since)
	}
	slices.SortFunc(d.sensors, func(a, b *owner) int { return cmp.Compare(a.ids[0], b.ids[0]) })
	d.fleet = &owner{ids: all, since: fleetSince}
	d.owners = append(append(append([]*owner{}, d.sensors...), d.groups...), d.fleet)
	return d
}

// since is when a sensor's data begins: the hour of its first packet; a
// sensor with none yet has no history.
func since(sen store.Sensor) time.Time {
	if sen.FirstSeen.IsZero() {
		return time.Unix(math.MaxInt32, 0)
	}
	return sen.FirstSeen.UTC().Truncate(time.Hour)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// ports returns an owner's packets per slot in the hour that starts at t
// (nil when the window does not hold it).
func (d *detector) ports(o *owner, t time.Time) map[int32]counts {
	h := d.win.at(t)
	if h == nil {
		return nil
	}
	if o.sensor {
		return h.ports[o.ids[0]]
	}
	k := sumKey{hourKey(t), o}
	if m, ok := d.sums[k]; ok {
		return m
	}
	m := map[int32]counts{}
	for _, id := range o.ids {
		for slot, c := range h.ports[id] {
			s := m[slot]
			s.add(c)
			m[slot] = s
		}
	}
	d.sums[k] = m
	return m
}

// total returns an owner's sums over its ports in the hour t, and
// whether the window holds the hour.
func (d *detector) total(o *owner, t time.Time) (counts, bool) {
	h := d.win.at(t)
	if h == nil {
		return counts{}, false
	}
	var c counts
	for _, id := range o.ids {
		c.add(h.total[id])
	}
	return c, true
}

// relative returns the baseline of a series for the hour h brought to
// the owner's volume at h: each sample hour's value times the ratio of
// the owner's other traffic (all of it but this series) at h to its
// other traffic then. A port's change is then a change of the port, not
// of the owner's whole volume — a sensor whose prefix grew, an upstream
// that stopped filtering, the hour so far (live), a demo whose live rate
// is not its history's. The Poisson floor of the spread is taken at the
// sample hours' volume and brought along: a port with no packets in
// hours a hundredth of this one's says only that it had under a hundred
// now. A sample hour when the owner received nothing else says nothing.
func (d *detector) relative(o *owner, h time.Time, x float64, value, total func(t time.Time) (float64, bool)) (baseline, bool) {
	now, _ := total(h)
	var raw, scales []float64
	for _, t := range d.sampleHours(o, h) {
		v, ok := value(t)
		n, _ := total(t)
		if ok && n > v {
			raw = append(raw, v)
			scales = append(scales, max(now-x, 0)/(n-v))
		}
	}
	if len(raw) < minSamples {
		return baseline{}, false
	}
	samples := make([]float64, len(raw))
	for i := range raw {
		samples[i] = raw[i] * scales[i]
	}
	b, _ := newBaseline(samples)
	b.spread = max(b.spread, math.Sqrt(median(raw)+1)*median(scales))
	return b, true
}

// volume is how many times its baseline the owner's whole traffic (its
// sources summed over ports) is at h, at least 1: a new campaign must
// stand out of the owner's volume, so that a telescope that grew (or a
// demo whose live rate is not its history's) does not see a campaign on
// every port its tail of single probes touches.
func (d *detector) volume(o *owner, h time.Time) float64 {
	now, _ := d.total(o, h)
	var before []float64
	for _, t := range d.sampleHours(o, h) {
		if c, ok := d.total(o, t); ok {
			before = append(before, float64(c.sources)*d.frac)
		}
	}
	if len(before) == 0 {
		return 1
	}
	return max(1, float64(now.sources)/max(median(before), 1))
}

// refresh drops the sums of the hours from t on: the Window read them
// again (the hour so far, live), and the sums of before are stale.
func (d *detector) refresh(t time.Time) {
	for k := range d.sums {
		if k.hour >= hourKey(t) {
			delete(d.sums, k)
		}
	}
}

// forget drops the sums of hours before t.
func (d *detector) forget(t time.Time) {
	for k := range d.sums {
		if k.hour < hourKey(t) {
			delete(d.sums, k)
		}
	}
}

// weekly returns the samples of a series for the whole hour h: its
// value at each of sampleHours.
func (d *detector) weekly(o *owner, h time.Time, value func(t time.Time) (float64, bool)) []float64 {
	var out []float64
	for _, t := range d.sampleHours(o, h) {
		if v, ok := value(t); ok {
			out = append(out, v)
		}
	}
	return out
}

// sampleHours are the hours a baseline for h is made of: the same hour of
// each of the previous weeks the owner has data for; when it has under
// two weeks yet, the same hour of the previous days.
func (d *detector) sampleHours(o *owner, h time.Time) []time.Time {
	collect := func(step time.Duration, n int) []time.Time {
		var out []time.Time
		for k := 1; k <= n; k++ {
			t := h.Add(-time.Duration(k) * step)
			if t.Before(o.since) {
				break
			}
			if d.win.at(t) != nil {
				out = append(out, t)
			}
		}
		return out
	}
	if out := collect(7*24*time.Hour, d.cfg.Weeks); len(out) >= minSamples {
		return out
	}
	return collect(24*time.Hour, 6)
}

// measured is one series' hour against its baseline.
type measured struct {
	measure        string // "packets" or "sources"
	observed       float64
	base           baseline
	score, ratio   float64
	fired, newPort bool
	// fewSources: the packets rose, the sources did not (one scanner
	// hammering a port).
	fewSources bool
}

func (m measured) evidence(h time.Time, method string) store.Evidence {
	return store.Evidence{Measure: m.measure + " per hour", Hour: h, Observed: m.observed, Baseline: m.base.median,
		Spread: m.base.spread, Score: round2(m.score), Method: method}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

const weeklyMethod = "median of the same hour of the previous weeks (of days, while under two weeks of data), each brought to this hour's volume of the owner's other traffic; spread: scaled MAD, at least the square root of the median"

// portChange measures an owner's port in hour h, in packets and in
// sources, and says which fired; the measure returned is the one that
// fired with the higher score (or the higher score when neither did).
func (d *detector) portChange(o *owner, slot int32, h time.Time, th Thresholds) measured {
	cur := d.ports(o, h)[slot]
	valueOf := func(get func(counts) uint64) func(t time.Time) (float64, bool) {
		return func(t time.Time) (float64, bool) {
			m := d.ports(o, t)
			if m == nil && d.win.at(t) == nil {
				return 0, false
			}
			return float64(get(m[slot])), true
		}
	}
	totalOf := func(get func(counts) uint64) func(t time.Time) (float64, bool) {
		return func(t time.Time) (float64, bool) {
			c, ok := d.total(o, t)
			return float64(get(c)), ok
		}
	}
	var best, bySources measured
	for _, ms := range []struct {
		name string
		get  func(counts) uint64
		min  float64
	}{
		// The least packets and sources scale with the part of the hour
		// that passed, down to half (and those of a new campaign do not):
		// in an hour's first minutes a handful of packets on a quiet
		// port is far above its baseline, and means nothing.
		{"packets", func(c counts) uint64 { return c.packets }, float64(th.MinPackets) * max(d.frac, minimumsFrac)},
		{"sources", func(c counts) uint64 { return c.sources }, float64(th.MinSources*o.width()) * max(d.frac, minimumsFrac)},
	} {
		x := float64(ms.get(cur))
		b, ok := d.relative(o, h, x, valueOf(ms.get), totalOf(ms.get))
		if !ok {
			continue
		}
		m := measured{measure: ms.name, observed: x, base: b, score: b.score(x), ratio: b.ratio(x)}
		m.fired = x >= ms.min && m.score >= th.MinScore && m.ratio >= th.MinRatio
		if ms.name == "sources" {
			bySources = m
		}
		if (m.fired && !best.fired) || (m.fired == best.fired && m.score > best.score) || best.measure == "" {
			best = m
		}
	}
	// A new campaign: CampaignSources on a port that had at most
	// QuietSources in every hour of the week before the change began —
	// the week is its baseline, however few the sources.
	campaign := bySources.measure != "" && float64(cur.sources) >= float64(th.CampaignSources*o.width())*d.volume(o, h)
	if best.fired || campaign {
		if campaign && d.quietWeek(o, slot, d.runStart(o, slot, h), th.QuietSources*o.width()) {
			if !bySources.fired {
				best = bySources
			}
			best.fired, best.newPort = true, true
		} else if best.fired {
			d.runStart(o, slot, h)
		}
	}
	best.fewSources = best.fired && !best.newPort && !bySources.fired
	return best
}

// runStart returns the first hour of the change of an owner's port that
// fired at h: the change goes on while it fires at least every
// ResolveAfter, so that it stays "new" for as long as it lasts.
func (d *detector) runStart(o *owner, slot int32, h time.Time) time.Time {
	k := runKey{o, slot}
	r, ok := d.runs[k]
	if !ok || h.Sub(r.last) > d.cfg.ResolveAfter || h.Before(r.start) {
		r.start = h
	}
	r.last = h
	d.runs[k] = r
	return r.start
}

type runKey struct {
	owner *owner
	slot  int32
}

type run struct{ start, last time.Time }

// quietWeek reports whether no hour of the week before h had more than
// quiet sources on the port at the owner (and the owner had a week).
func (d *detector) quietWeek(o *owner, slot int32, h time.Time, quiet uint64) bool {
	if h.Add(-7 * 24 * time.Hour).Before(o.since) {
		return false
	}
	for k := 1; k <= 7*24; k++ {
		if d.ports(o, h.Add(-time.Duration(k)*time.Hour))[slot].sources > quiet {
			return false
		}
	}
	return true
}

// minimumsFrac is the least share of their hourly values the minimums
// of a look at part of an hour are.
const minimumsFrac = 0.5

// evaluatePart runs the detectors over part of an hour (Window.part),
// of which the share frac has passed.
func (d *detector) evaluatePart(part *hour, frac float64) []Finding {
	k := hourKey(part.start)
	drop := func() {
		for sk := range d.sums {
			if sk.hour == k {
				delete(d.sums, sk)
			}
		}
	}
	drop()
	d.win.over = part
	defer func() { d.win.over = nil; drop() }()
	return d.evaluate(part.start, frac)
}

// evaluate runs every detector over the hour that starts at h, of which
// the share frac has passed (1: a whole hour). A sensor's silence and the
// day's top are decided on whole hours only.
func (d *detector) evaluate(h time.Time, frac float64) []Finding {
	d.forget(h.Add(-time.Duration(d.cfg.Weeks)*7*24*time.Hour - time.Hour))
	d.frac = frac
	var out []Finding
	silent := map[string]bool{}
	if frac == 1 {
		silent = d.silentSensors(h, &out)
	}
	out = append(out, d.portFindings(h, silent)...)
	out = append(out, d.miraiSpread(h, silent)...)
	out = append(out, d.tagSurges(h, silent)...)
	if h.Hour() == 23 && frac == 1 {
		out = append(out, d.topEntries(h)...)
	}
	return out
}

// candidates are the slots of hour h that could fire at some owner: a
// slot under every minimum at the fleet is under them everywhere.
func (d *detector) candidates(h time.Time) []int32 {
	var out []int32
	for slot, c := range d.ports(d.fleet, h) {
		if float64(max(c.packets, c.sources)) >= float64(portMinimum(d.cfg, DetectPortSurge))*max(d.frac, minimumsFrac) {
			out = append(out, slot)
		}
	}
	slices.Sort(out)
	return out
}

// portMinimum is the lowest MinPackets or MinSources of the defaults and
// of the overrides of a detector, so that an override that lowers one
// still sees its ports.
func portMinimum(cfg *Config, detector string) uint64 {
	m := min(cfg.Thresholds.MinPackets, cfg.Thresholds.MinSources)
	for _, o := range cfg.Overrides {
		if o.Detector == "" || o.Detector == detector {
			if p := o.Thresholds.MinPackets; p != nil {
				m = min(m, *p)
			}
			if p := o.Thresholds.MinSources; p != nil {
				m = min(m, *p)
			}
		}
	}
	return m
}

// portFindings measures every candidate port at every owner and places
// each change (place).
func (d *detector) portFindings(h time.Time, silent map[string]bool) []Finding {
	var out []Finding
	for _, slot := range d.candidates(h) {
		port := portcount.Key(uint32(slot)).Label()
		byOwner := map[*owner]measured{}
		for _, o := range d.owners {
			if silent[o.scope.Sensor] {
				continue
			}
			sc := o.scope
			sc.Port = port
			th, on := d.cfg.thresholds(DetectPortSurge, sc)
			if !on {
				continue
			}
			byOwner[o] = d.portChange(o, slot, h, th)
		}
		found := d.place(h, port, byOwner, func(o *owner, m measured, local bool) Finding {
			det, what := DetectPortSurge, "surge"
			if m.newPort {
				det, what = DetectNewCampaign, "new campaign"
			}
			if local {
				det = DetectLocalChange
			}
			sc := o.scope
			sc.Port = port
			return Finding{Detector: det, Scope: sc, Hour: h, Severity: severity(m, d.cfg.Thresholds), FewSources: m.fewSources,
				Summary: fmt.Sprintf("%s at %s (%s): %s %s in the hour against %s usually", port, o.name(), what,
					count(m.observed), m.measure, count(m.base.median)),
				Evidence: m.evidence(h, weeklyMethod)}
		})
		if slices.ContainsFunc(found, func(f Finding) bool { return !f.FewSources }) {
			d.alerted[slot] = h
		}
		out = append(out, found...)
	}
	return out
}

func count(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func severity(m measured, th Thresholds) store.Severity {
	if m.score >= 4*th.MinScore && m.ratio >= 10 {
		return store.SeverityCritical
	}
	return store.SeverityWarning
}

// place decides where a change is, from its measures at every owner. A
// sensor "moved" when its score is at least PeerScore, fired or not:
//   - moved at FleetShare of the sensors (and two), in more than one
//     group, or the fleet fired and no sensor moved: one finding for the
//     fleet, the sensors' figures as evidence;
//   - moved only in one group, where two sensors fired (or the group
//     did): a local change of the group, the other groups as evidence;
//   - fired at a sensor, no other sensor moved: a local change of the
//     sensor; when some other sensor moved too (under the fleet's share),
//     the sensor's own change, not local.
func (d *detector) place(h time.Time, key string, at map[*owner]measured, finding func(o *owner, m measured, local bool) Finding) []Finding {
	th := d.cfg.Thresholds
	var fired, moved []*owner
	groups := map[string]bool{}
	for _, o := range d.sensors {
		if m := at[o]; m.fired || m.measure != "" && m.score >= th.PeerScore {
			moved = append(moved, o)
			groups[o.group] = true
			if m.fired {
				fired = append(fired, o)
			}
		}
	}
	groupFired := slices.ContainsFunc(d.groups, func(g *owner) bool { return at[g].fired })
	if len(fired) == 0 && !at[d.fleet].fired && !groupFired {
		return nil
	}
	wide := len(moved) >= 2 && float64(len(moved)) >= th.FleetShare*float64(len(d.sensors)) && (len(groups) > 1 || len(d.groups) == 1)
	if wide || len(moved) == 0 && !groupFired {
		m := at[d.fleet]
		if !m.fired {
			m = strongest(append(slices.Clone(fired), d.groups...), at)
		}
		f := finding(d.fleet, m, false)
		f.Evidence.Others = peers(d.sensors, at)
		return []Finding{f}
	}
	if len(groups) <= 1 && len(d.groups) > 1 {
		for _, g := range d.groups {
			inGroup := func(o *owner) bool { return o.group == g.group }
			if len(g.ids) < 2 || len(moved) > 0 && !inGroup(moved[0]) || !(countIf(fired, inGroup) >= 2 || at[g].fired && len(fired) == 0) {
				continue
			}
			m := at[g]
			if !m.fired {
				m = strongest(fired, at)
			}
			f := finding(g, m, true)
			f.Evidence.Others = peers(d.othersThan(g.group), at)
			return []Finding{f}
		}
	}
	var out []Finding
	for _, o := range fired {
		others := slices.DeleteFunc(slices.Clone(d.sensors), func(p *owner) bool { return p == o })
		f := finding(o, at[o], len(d.sensors) > 1 && len(moved) == 1)
		f.Evidence.Others = peers(others, at)
		out = append(out, f)
	}
	return out
}

func countIf(os []*owner, f func(*owner) bool) int {
	n := 0
	for _, o := range os {
		if f(o) {
			n++
		}
	}
	return n
}

// strongest returns the measure of the highest score among the owners
// that fired.
func strongest(os []*owner, at map[*owner]measured) measured {
	var best measured
	for _, o := range os {
		if m := at[o]; m.fired && (!best.fired || m.score > best.score) {
			best = m
		}
	}
	return best
}

// othersThan returns the groups but one.
func (d *detector) othersThan(group string) []*owner {
	return slices.DeleteFunc(slices.Clone(d.groups), func(g *owner) bool { return g.group == group })
}

func peers(os []*owner, at map[*owner]measured) []store.PeerChange {
	var out []store.PeerChange
	for _, o := range os {
		m, ok := at[o]
		if !ok || m.measure == "" {
			continue
		}
		out = append(out, store.PeerChange{Sensor: o.scope.Sensor, Group: o.scope.Group, Observed: m.observed, Baseline: m.base.median, Score: round2(m.score)})
	}
	return out
}

// miraiSpread finds the mirai tag on a port where the owner's previous
// week had next to none of it (at most a twentieth of this hour's).
func (d *detector) miraiSpread(h time.Time, silent map[string]bool) []Finding {
	var out []Finding
	for _, slot := range d.miraiSlots(d.ports(d.fleet, h)) {
		port := portcount.Key(uint32(slot)).Label()
		at := map[*owner]measured{}
		for _, o := range d.owners {
			if silent[o.scope.Sensor] {
				continue
			}
			sc := o.scope
			sc.Port, sc.Tag = port, "mirai"
			th, on := d.cfg.thresholds(DetectTagSpread, sc)
			x := d.ports(o, h)[slot].mirai
			if !on || h.Add(-7*24*time.Hour).Before(o.since) {
				continue
			}
			// The most of any hour of the week before, as a share of the
			// owner's mirai-tagged packets then, brought to this hour's.
			var before float64
			for k := 1; k <= 7*24; k++ {
				t := h.Add(-time.Duration(k) * time.Hour)
				if all, _ := d.total(o, t); all.mirai > 0 {
					before = max(before, float64(d.ports(o, t)[slot].mirai)/float64(all.mirai))
				}
			}
			now, _ := d.total(o, h)
			before *= float64(now.mirai)
			b := baseline{median: before, spread: math.Sqrt(before + 1)}
			m := measured{measure: "mirai-tagged packets", observed: float64(x), base: b, score: b.score(float64(x)), ratio: b.ratio(float64(x))}
			m.fired = float64(x) >= float64(th.MinMirai)*max(d.frac, minimumsFrac) && before*20 <= float64(x)
			at[o] = m
		}
		out = append(out, d.place(h, port, at, func(o *owner, m measured, local bool) Finding {
			sc := o.scope
			sc.Port, sc.Tag = port, "mirai"
			return Finding{Detector: DetectTagSpread, Scope: sc, Hour: h, Severity: store.SeverityWarning,
				Summary: fmt.Sprintf("mirai spreading to %s at %s: %s tagged packets in the hour, at most %s an hour in the week before",
					port, o.name(), count(m.observed), count(m.base.median)),
				Evidence: m.evidence(h, "the most of any hour of the previous week")}
		})...)
	}
	return out
}

// miraiSlots are the slots of m with half the least mirai-tagged packets
// of a spread or more, in order: the only ones miraiSpread measures.
func (d *detector) miraiSlots(m map[int32]counts) []int32 {
	out := make([]int32, 0, len(m))
	for s, c := range m {
		if c.mirai >= d.cfg.Thresholds.MinMirai/2 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// tagSurges compares each tag's packets at every owner with its weekly
// baseline; backscatter has a detector of its own (a DoS victim).
func (d *detector) tagSurges(h time.Time, silent map[string]bool) []Finding {
	hr := d.win.at(h)
	if hr == nil {
		return nil
	}
	tags := map[string]bool{}
	for _, m := range hr.tags {
		for t := range m {
			tags[t] = true
		}
	}
	var out []Finding
	for _, tag := range slices.Sorted(maps.Keys(tags)) {
		if tag != "backscatter" && !slices.Contains(d.cfg.SurgeTags, tag) {
			continue
		}
		det := DetectTagSurge
		if tag == "backscatter" {
			det = DetectBackscatter
		}
		at := map[*owner]measured{}
		for _, o := range d.owners {
			// Without its sources, a tag's surge at one sensor is as
			// likely one host's as a change: only backscatter (one
			// victim's replies by nature) is measured per sensor.
			if silent[o.scope.Sensor] || o.sensor && det != DetectBackscatter {
				continue
			}
			sc := o.scope
			sc.Tag = tag
			th, on := d.cfg.thresholds(det, sc)
			if !on {
				continue
			}
			value := func(t time.Time) (float64, bool) {
				hh := d.win.at(t)
				if hh == nil {
					return 0, false
				}
				var n uint64
				for _, id := range o.ids {
					n += hh.tags[id][tag]
				}
				return float64(n), true
			}
			x, _ := value(h)
			packets := func(t time.Time) (float64, bool) { c, ok := d.total(o, t); return float64(c.packets), ok }
			b, ok := d.relative(o, h, x, value, packets)
			if !ok {
				continue
			}
			m := measured{measure: tag + " packets", observed: x, base: b, score: b.score(x), ratio: b.ratio(x)}
			m.fired = x >= float64(th.MinTagPackets)*max(d.frac, minimumsFrac) && m.score >= th.MinScore && m.ratio >= th.MinRatio
			at[o] = m
		}
		out = append(out, d.place(h, tag, at, func(o *owner, m measured, local bool) Finding {
			sc := o.scope
			sc.Tag = tag
			what := "surge of " + tag
			if det == DetectBackscatter {
				what = "backscatter burst (a DoS victim's replies)"
			}
			return Finding{Detector: det, Scope: sc, Hour: h, Severity: severity(m, d.cfg.Thresholds),
				Summary:  fmt.Sprintf("%s at %s: %s packets in the hour against %s usually", what, o.name(), count(m.observed), count(m.base.median)),
				Evidence: m.evidence(h, weeklyMethod)}
		})...)
	}
	return out
}

// silentSensors finds the sensors whose hour had under SilentShare of
// their baseline, and adds a finding for
// each — or one for the fleet when at least FleetShare of the sensors
// (and two) are silent at once: the collector or its store, not the
// sensors. Their other changes are not measured that hour.
func (d *detector) silentSensors(h time.Time, out *[]Finding) map[string]bool {
	silent := map[string]bool{}
	hr := d.win.at(h)
	if hr == nil {
		return silent
	}
	for _, o := range d.sensors {
		th, on := d.cfg.thresholds(DetectSensorSilent, o.scope)
		if !on {
			continue
		}
		value := func(t time.Time) (float64, bool) {
			hh := d.win.at(t)
			if hh == nil {
				return 0, false
			}
			return float64(hh.total[o.ids[0]].packets), true
		}
		x, _ := value(h)
		b, ok := newBaseline(d.weekly(o, h, value))
		if !ok || b.median < th.SilentBaseline || x >= th.SilentShare*b.median {
			continue
		}
		silent[o.scope.Sensor] = true
		*out = append(*out, Finding{Detector: DetectSensorSilent, Scope: o.scope, Hour: h, Severity: store.SeverityCritical,
			Summary: fmt.Sprintf("%s is silent: %s packets in the hour against %s usually", o.name(), count(x), count(b.median)),
			Evidence: store.Evidence{Measure: "packets per hour", Hour: h, Observed: x, Baseline: b.median, Spread: b.spread,
				Score: round2(b.score(x)), Method: weeklyMethod}})
	}
	if n := len(silent); n >= 2 && float64(n) >= d.cfg.Thresholds.FleetShare*float64(len(d.sensors)) {
		found := (*out)[len(*out)-n:]
		var peers []store.PeerChange
		for _, f := range found {
			peers = append(peers, store.PeerChange{Sensor: f.Scope.Sensor, Observed: f.Evidence.Observed, Baseline: f.Evidence.Baseline, Score: f.Evidence.Score})
		}
		*out = append((*out)[:len(*out)-n], Finding{Detector: DetectSensorSilent, Hour: h, Severity: store.SeverityCritical,
			Summary:  fmt.Sprintf("%d of %d sensors are silent at once: the collector or its store rather than the sensors", n, len(d.sensors)),
			Evidence: store.Evidence{Measure: "sensors silent", Hour: h, Observed: float64(n), Baseline: 0, Method: weeklyMethod, Others: peers}})
	}
	return silent
}

// topEntries, at the last hour of a day, finds the ports in an owner's
// top N of the day that were not in its top 2N on any of the seven days
// before, with CampaignSources in some hour: a port entering the top, not
// one moving within it, nor one scanner's day. A port
// another detector alerted on that day is left to that alert; each entry
// is placed as any change.
func (d *detector) topEntries(h time.Time) []Finding {
	day := h.Truncate(24 * time.Hour)
	type entry struct {
		rank    int
		packets uint64
	}
	entries := map[int32]map[*owner]entry{}
	for _, o := range d.owners {
		if day.Add(-7 * 24 * time.Hour).Before(o.since) {
			continue
		}
		th, on := d.cfg.thresholds(DetectTopEntry, o.scope)
		if !on || o.sensor && !th.TopEntrySensors {
			continue
		}
		today := d.dayTotals(o, day)
		before := map[int32]bool{}
		for k := 1; k <= 7; k++ {
			for _, s := range ranked(d.dayTotals(o, day.Add(-time.Duration(k)*24*time.Hour)), 2*th.TopN) {
				before[s] = true
			}
		}
		for rank, slot := range ranked(today, th.TopN) {
			sc := o.scope
			sc.Port = portcount.Key(uint32(slot)).Label()
			if _, on := d.cfg.thresholds(DetectTopEntry, sc); !on || before[slot] || today[slot] < th.MinPackets*24/10 || d.alerted[slot].After(day) ||
				d.peakSources(o, slot, day) < th.CampaignSources*o.width() {
				continue
			}
			if entries[slot] == nil {
				entries[slot] = map[*owner]entry{}
			}
			entries[slot][o] = entry{rank + 1, today[slot]}
		}
	}
	var out []Finding
	for _, slot := range slices.Sorted(maps.Keys(entries)) {
		port := portcount.Key(uint32(slot)).Label()
		at := map[*owner]measured{}
		for _, o := range d.owners {
			e, in := entries[slot][o]
			if in { // a score above PeerScore: the owner moved
				at[o] = measured{measure: "packets", observed: float64(e.packets), fired: true, score: d.cfg.Thresholds.PeerScore + 1}
			}
		}
		out = append(out, d.place(h, port, at, func(o *owner, m measured, local bool) Finding {
			sc := o.scope
			sc.Port = port
			e := entries[slot][o]
			th, _ := d.cfg.thresholds(DetectTopEntry, sc)
			return Finding{Detector: DetectTopEntry, Scope: sc, Hour: h, Severity: store.SeverityWarning,
				Summary: fmt.Sprintf("%s entered the top %d of %s on %s at rank %d, with %s packets; it was not in the top %d on any of the 7 days before",
					port, th.TopN, o.name(), day.Format(time.DateOnly), e.rank, count(float64(e.packets)), 2*th.TopN),
				Evidence: store.Evidence{Measure: "packets per day", Hour: day, Observed: float64(e.packets), Method: "rank among the day's ports against the 7 days before"}}
		})...)
	}
	return out
}

// peakSources is the most sources of any hour of the day at the port.
func (d *detector) peakSources(o *owner, slot int32, day time.Time) uint64 {
	var peak uint64
	for k := 0; k < 24; k++ {
		peak = max(peak, d.ports(o, day.Add(time.Duration(k)*time.Hour))[slot].sources)
	}
	return peak
}

func (d *detector) dayTotals(o *owner, day time.Time) map[int32]uint64 {
	out := map[int32]uint64{}
	for k := 0; k < 24; k++ {
		for slot, c := range d.ports(o, day.Add(time.Duration(k)*time.Hour)) {
			out[slot] += c.packets
		}
	}
	return out
}

// ranked returns the n slots with the most packets, most first (ties by
// slot).
func ranked(totals map[int32]uint64, n int) []int32 {
	slots := slices.Collect(maps.Keys(totals))
	slices.SortFunc(slots, func(a, b int32) int {
		if c := cmp.Compare(totals[b], totals[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return slots[:min(n, len(slots))]
}

// Link is the dashboard view of an alert: the port graphs of its port
// around it, by the hour, or the sensors page for a sensor's health.
func Link(a store.Alert) string {
	from := a.Start.Add(-48 * time.Hour).UTC().Format(time.DateOnly)
	to := a.LastSeen.Add(24 * time.Hour).UTC().Format(time.DateOnly)
	switch {
	case a.Scope.Port != "":
		q := url.Values{"port": {a.Scope.Port}, "from": {from}, "to": {to}, "resolution": {"hour"}}
		return "/ports?" + q.Encode()
	case strings.HasPrefix(a.Detector, "sensor-") || a.Detector == DetectSpoolBacklog:
		return "/sensors"
	case a.Scope.Country != "" || a.Scope.ASN != 0:
		return "/origins?" + url.Values{"from": {from}, "to": {to}}.Encode()
	case a.Scope.Device != "":
		return "/devices?" + url.Values{"from": {from}, "to": {to}}.Encode()
	}
	q := url.Values{"from": {from}, "to": {to}}
	return "/sources?" + q.Encode()
}
