package report

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// extraRenderer builds the document of an extra issue in one language.
type extraRenderer struct {
	drawing
	x *Extra
}

// extraHoursShown bounds the table of the alert's hours: a longer alert
// shows its extraHoursShown hours of the highest observed value.
const extraHoursShown = 24

// renderExtra turns an extra issue into a document in lang, drawing its
// chart with charts.
func renderExtra(x *Extra, lang Lang, charts *charter) (*document, error) {
	r := &extraRenderer{drawing: drawing{l: newLocale(lang), charts: charts}, x: x}
	l, a := r.l, x.Alert
	doc := &document{Lang: lang, Title: l.T("x.title", r.subject(l), r.owner(l), l.Date(a.Start))}
	doc.Meta = []string{l.T("x.meta.alert", a.ID, l.Date(x.Generated)), l.T("x.meta.draft")}
	for _, build := range []func() (section, error){r.what, r.where, r.chart, r.sources} {
		s, err := build()
		if err != nil {
			return nil, err
		}
		s.Title = strconv.Itoa(len(doc.Sections)+1) + ". " + s.Title
		doc.Sections = append(doc.Sections, s)
	}
	return doc, nil
}

// has reports whether the catalogue has key (the descriptions of
// detectors and measures: an unknown one is shown as it is stored).
func (l locale) has(key string) bool { _, ok := l.msgs[key]; return ok }

// known is the message key when the catalogue has it, else text itself.
func (l locale) known(key, text string) string {
	if l.has(key) {
		return l.T(key)
	}
	return text
}

// subject is what changed: the port, the tag, or both (in l, for the
// charts' labels too).
func (r *extraRenderer) subject(l locale) string {
	sc := r.x.Alert.Scope
	switch {
	case sc.Port != "" && sc.Tag != "":
		return l.T("x.subject.tagport", sc.Tag, sc.Port)
	case sc.Port != "":
		return sc.Port
	case sc.Tag != "":
		return l.T("x.subject.tag", sc.Tag)
	}
	return l.T("x.subject.traffic")
}

// owner is where it changed: a sensor, a group or the fleet.
func (r *extraRenderer) owner(l locale) string {
	sc := r.x.Alert.Scope
	switch {
	case sc.Sensor != "":
		return l.T("x.owner.sensor", sc.Sensor)
	case sc.Group != "":
		return l.T("x.owner.group", sc.Group)
	}
	return l.T("x.owner.fleet")
}

func (r *extraRenderer) measure() string { return measureText(r.l, r.x.Alert.Evidence.Measure) }

// measureText names a measure of the evidence in l: those the catalogue
// has, a tag's packets per hour, else as the detector wrote it.
func measureText(l locale, m string) string {
	if tag, ok := strings.CutSuffix(m, " "+measurePackets); ok && !l.has("measure."+m) && !strings.Contains(tag, " ") {
		return l.T("measure.tag", tag)
	}
	return l.known("measure."+m, m)
}

// value formats a count, with one decimal when it has a fraction (a
// baseline, a partial hour scaled).
func (r *extraRenderer) value(v float64) string {
	if v == math.Trunc(v) && v >= 0 {
		return r.l.Int(uint64(v))
	}
	return r.l.Float(v, 1)
}

// 1. What changed, and since when.
func (r *extraRenderer) what() (section, error) {
	l, a, ev := r.l, r.x.Alert, r.x.Alert.Evidence
	sec := section{ID: "change", Title: l.T("x.what.title")}
	det := l.known("det."+a.Detector, a.Detector)
	if ev.Baseline == 0 && ev.Score == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("x.what.nobase", det, r.owner(l), r.value(ev.Observed), r.measure(), l.Time(ev.Hour))))
	} else {
		sec.Blocks = append(sec.Blocks, para(l.T("x.what.text", det, r.owner(l), r.value(ev.Observed), r.measure(), l.Time(ev.Hour),
			r.value(ev.Baseline), l.Float(ev.Score, 1))))
	}
	hours := int(r.x.Hours.Duration() / time.Hour)
	since := l.T("x.since", l.Time(a.Start), l.Time(a.LastSeen), l.N(hours, "hour"), l.known("state."+string(a.State), string(a.State)))
	if !a.Resolved.IsZero() {
		since += l.T("x.resolved", l.Time(a.Resolved))
	}
	if a.Reopened > 0 {
		since += l.T("x.reopened", l.Num(a.Reopened))
	}
	sec.Blocks = append(sec.Blocks, para(since))
	if a.Research {
		sec.Blocks = append(sec.Blocks, note(l.T("x.research")))
	}
	key := &table{Caption: l.T("x.key.caption", a.ID), Head: []string{l.T("sum.key.what"), l.T("x.key.value")}}
	add := func(what, v string) { key.Rows = append(key.Rows, []string{l.T(what), v}) }
	add("x.key.detector", a.Detector+" — "+det)
	add("x.key.scope", a.Scope.String())
	add("x.key.severity", l.known("sev."+string(a.Severity), string(a.Severity)))
	add("x.key.state", l.known("state."+string(a.State), string(a.State)))
	add("x.key.start", l.Time(a.Start))
	add("x.key.last", l.Time(a.LastSeen))
	add("x.key.peak", l.Time(ev.Hour))
	add("x.key.measure", r.measure())
	add("x.key.observed", r.value(ev.Observed))
	add("x.key.baseline", r.value(ev.Baseline))
	add("x.key.score", l.Float(ev.Score, 2))
	add("x.key.method", dash(ev.Method))
	if a.By != "" {
		add("x.key.by", strings.TrimSpace(a.By+" "+quoted(l, a.Note)))
	}
	add("x.key.link", dash(a.Link))
	sec.Blocks = append(sec.Blocks, block{Table: key}, note(l.T("x.key.note")))
	return sec, nil
}

func quoted(l locale, s string) string {
	if s == "" {
		return ""
	}
	return l.T("x.quote", s)
}

// 2. Where: which sensors and groups saw it, and which did not.
func (r *extraRenderer) where() (section, error) {
	l, x := r.l, r.x
	sc, port := x.Alert.Scope, x.Alert.Scope.Port
	sec := section{ID: "where", Title: l.T("x.where.title")}
	in, out := x.InScope(), x.OutOfScope()
	names := func(ss []ExtraSensor) string {
		var n []string
		for _, s := range ss {
			n = append(n, s.Name)
		}
		return strings.Join(n, l.T("list.sep"))
	}
	switch {
	case sc.Sensor != "":
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.sensor", sc.Sensor, in[0].Group, l.N(len(out), "sensor"), dash(names(out)))))
	case sc.Group != "":
		var others []string
		for _, g := range x.Groups {
			if g.Name != sc.Group {
				others = append(others, l.T("sum.group", g.Name, l.N(g.Sensors, "sensor")))
			}
		}
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.group", sc.Group, l.N(len(in), "sensor"), names(in), dash(strings.Join(others, l.T("list.sep"))))))
	default:
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.fleet", l.N(len(in), "sensor"), l.N(len(x.Groups), "group"))))
	}
	if p := r.highestPeer(); p != nil {
		name := p.Sensor
		if name == "" {
			name = l.T("x.owner.group", p.Group)
		}
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.peers", l.Num(len(x.Alert.Evidence.Others)), l.Float(p.Score, 2), name, l.Float(x.Alert.Evidence.Score, 2))))
	}
	all, toPort := x.ScopePackets()
	hours := l.Period(x.Hours)
	if port != "" && len(out) > 0 {
		var oAll, oPort uint64
		for _, s := range out {
			oAll, oPort = oAll+s.Packets, oPort+s.PortPackets
		}
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.port", hours, l.Int(toPort), port, l.Pct(share(toPort, all)), l.Int(all), l.Int(oPort), l.Pct(share(oPort, oAll)))))
	} else if port != "" {
		sec.Blocks = append(sec.Blocks, para(l.T("x.where.port.fleet", hours, l.Int(toPort), port, l.Pct(share(toPort, all)), l.Int(all))))
	}

	head := func(first ...string) ([]string, []bool) {
		h := append(first, l.T("x.col.in"), l.T("x.col.packets"))
		right := make([]bool, len(first))
		right = append(right, false, true)
		if port != "" {
			h, right = append(h, l.T("x.col.toport", port), l.T("x.col.portshare")), append(right, true, true)
		}
		return append(h, l.T("x.col.observed"), l.T("x.col.usual"), l.T("x.col.score")), append(right, true, true, true)
	}
	row := func(first []string, in string, packets, toPort uint64, peak *store.PeerChange) []string {
		cells := append(first, in, l.Int(packets))
		if port != "" {
			cells = append(cells, l.Int(toPort), pctOr(l, toPort, packets))
		}
		if peak == nil {
			return append(cells, "—", "—", "—")
		}
		return append(cells, r.value(peak.Observed), r.value(peak.Baseline), l.Float(peak.Score, 2))
	}
	yes := func(b bool) string {
		if b {
			return l.T("x.yes")
		}
		return "—"
	}
	st := &table{Caption: l.T("x.where.sensors.caption", hours)}
	st.Head, st.Right = head(l.T("col.sensor"), l.T("col.group"))
	for _, s := range x.Sensors {
		st.Rows = append(st.Rows, row([]string{s.Name, s.Group}, yes(s.InScope), s.Packets, s.PortPackets, s.Peak))
	}
	gt := &table{Caption: l.T("x.where.groups.caption", hours)}
	gt.Head, gt.Right = head(l.T("col.group"), l.T("x.col.sensors"))
	gt.Right[1] = true
	for _, g := range x.Groups {
		gt.Rows = append(gt.Rows, row([]string{g.Name, l.Num(g.Sensors)}, l.T("sum.key.of", l.Num(g.InScope), l.Num(g.Sensors)), g.Packets, g.PortPackets, g.Peak))
	}
	sec.Blocks = append(sec.Blocks, block{Table: st}, block{Table: gt}, note(l.T("x.where.note", l.Time(x.Alert.Evidence.Hour), r.measure())))
	return sec, nil
}

// highestPeer is the peer of the highest score the detector compared
// with, nil when it compared none.
func (r *extraRenderer) highestPeer() *store.PeerChange {
	others := r.x.Alert.Evidence.Others
	if len(others) == 0 {
		return nil
	}
	best := slices.MaxFunc(others, func(a, b store.PeerChange) int { return cmp.Compare(a.Score, b.Score) })
	return &best
}

func pctOr(l locale, part, all uint64) string {
	if all == 0 {
		return "—"
	}
	return l.Pct(share(part, all))
}

// 3. The chart of the port (or of the evidence) against its baseline,
// and the alert's hours.
func (r *extraRenderer) chart() (section, error) {
	l, x, c := r.l, r.x, r.x.Chart
	sec := section{ID: "chart", Title: l.T("x.chart.title", r.subject(l))}
	cl := r.charts.l
	ch := chart{YLabel: measureText(cl, c.Measure), XLabel: cl.T("x.chart.x")}
	for i, h := range c.Hours {
		ch.Categories = append(ch.Categories, l.Time(h))
		ch.Labels = append(ch.Labels, hourLabel(h, i, len(c.Hours)))
	}
	ch.Series = []series{{Name: cl.T("x.chart.observed"), Values: c.Observed}}
	if slices.ContainsFunc(c.Baseline, func(v float64) bool { return !math.IsNaN(v) }) {
		ch.Lines = []series{{Name: cl.T("x.chart.baseline"), Values: c.Baseline}}
	}
	if !ch.hasData() {
		sec.Blocks = append(sec.Blocks, para(l.T("x.chart.none", l.Period(c.Window))))
	} else {
		text := l.T("x.chart.text", measureText(l, c.Measure), r.subject(l), r.owner(l), l.Time(c.Window.Start), l.Time(c.Window.End))
		if ch.Lines != nil {
			text += l.T("x.chart.line")
		} else {
			text += l.T("x.chart.nobase", r.measure())
		}
		fig, err := r.figure("chart", l.T("x.chart.figure", r.subject(l), r.owner(l), l.Period(c.Window)), ch)
		if err != nil {
			return sec, err
		}
		sec.Blocks = append(sec.Blocks, para(text), fig)
	}
	series := x.Alert.Evidence.Series
	if len(series) == 0 {
		return sec, nil
	}
	shown := series
	if len(series) > extraHoursShown {
		shown = slices.Clone(series)
		slices.SortStableFunc(shown, func(a, b store.EvidencePoint) int { return cmp.Compare(b.Observed, a.Observed) })
		shown = shown[:extraHoursShown]
		slices.SortFunc(shown, func(a, b store.EvidencePoint) int { return a.Hour.Compare(b.Hour) })
	}
	t := &table{Caption: l.T("x.hours.caption", r.measure()), Head: []string{l.T("x.col.hour"), l.T("x.col.observed"), l.T("x.col.usual"), l.T("cmp.col.ratio")},
		Right: []bool{false, true, true, true}}
	for _, p := range shown {
		ratio := "—"
		if p.Baseline > 0 {
			ratio = "×" + l.Float(p.Observed/p.Baseline, 1)
		}
		t.Rows = append(t.Rows, []string{l.Time(p.Hour), r.value(p.Observed), r.value(p.Baseline), ratio})
	}
	sec.Blocks = append(sec.Blocks, block{Table: t})
	if len(shown) < len(series) {
		sec.Blocks = append(sec.Blocks, note(l.T("x.hours.more", extraHoursShown, l.Num(len(series)))))
	}
	sec.Blocks = append(sec.Blocks, note(l.T("x.hours.note")))
	return sec, nil
}

// hourLabel labels an hourly axis: every sixth hour for up to three
// days, the midnights for longer.
func hourLabel(h time.Time, i, n int) string {
	switch {
	case h.Hour() == 0:
		return h.Format("01-02")
	case n <= 72 && h.Hour()%6 == 0 || i == 0:
		return h.Format("15:04")
	}
	return ""
}

// 4. The top sources, their tags, countries and devices.
func (r *extraRenderer) sources() (section, error) {
	l, x, src := r.l, r.x, r.x.Sources
	port := x.Alert.Scope.Port
	sec := section{ID: "sources", Title: l.T("x.src.title")}
	when := l.Period(src.Period)
	if len(src.Top) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("x.src.none", when)))
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, para(l.T("x.src.text", len(src.Top), r.owner(l), when)))
	if src.Days {
		sec.Blocks = append(sec.Blocks, note(l.T("x.src.days", l.Period(x.Hours))))
	}
	withPort := port != "" && src.PortKnown
	countries := slices.ContainsFunc(src.Top, func(s ExtraSource) bool { return s.Country != "" })
	asns := slices.ContainsFunc(src.Top, func(s ExtraSource) bool { return s.ASN != 0 })
	devices := slices.ContainsFunc(src.Top, func(s ExtraSource) bool { return s.Device != nil })
	t := &table{Caption: l.T("x.src.caption", len(src.Top), r.owner(l), when)}
	col := func(on bool, head string, right bool) {
		if on {
			t.Head, t.Right = append(t.Head, head), append(t.Right, right)
		}
	}
	col(true, l.T("col.rank"), true)
	col(true, l.T("col.address"), false)
	col(true, l.T("col.packets"), true)
	col(withPort, l.T("x.col.toport", port), true)
	col(true, l.T("src.col.ports"), true)
	col(true, l.T("src.col.sensors"), true)
	col(true, l.T("src.col.tags"), false)
	col(countries, l.T("col.country"), false)
	col(asns, l.T("col.asn"), false)
	col(devices, l.T("x.col.device"), false)
	col(true, l.T("src.col.first"), false)
	col(true, l.T("src.col.last"), false)
	for i, s := range src.Top {
		ports := l.Int(s.Ports)
		if !s.PortsExact {
			ports = "≥" + ports
		}
		row := []string{"#" + strconv.Itoa(i+1), s.IP, l.Int(s.Packets)}
		if withPort {
			row = append(row, l.Int(s.ToPort))
		}
		row = append(row, ports, l.Num(s.Sensors), dash(strings.Join(s.Tags, ", ")))
		if countries {
			row = append(row, dash(s.Country))
		}
		if asns {
			row = append(row, asText(s.SourceOrigin))
		}
		if devices {
			row = append(row, deviceText(l, s.Device))
		}
		t.Rows = append(t.Rows, append(row, l.Time(s.FirstSeen), l.Time(s.LastSeen)))
	}
	sec.Blocks = append(sec.Blocks, block{Table: t})
	if port != "" && !src.PortKnown {
		sec.Blocks = append(sec.Blocks, note(l.T("x.src.noport", port)))
	}
	sec.Blocks = append(sec.Blocks, note(l.T("src.note")))

	sec.Blocks = append(sec.Blocks, sub(l.T("x.tags.title")))
	all, _ := x.ScopePackets()
	if len(x.Tags) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("x.tags.none", l.Period(x.Hours))))
	} else {
		tt := &table{Caption: l.T("x.tags.caption", r.owner(l), l.Period(x.Hours)), Head: []string{l.T("x.col.tag"), l.T("col.packets"), l.T("col.share")},
			Right: []bool{false, true, true}}
		for _, tp := range x.Tags {
			tt.Rows = append(tt.Rows, []string{tp.Tag, l.Int(tp.Packets), pctOr(l, tp.Packets, all)})
		}
		sec.Blocks = append(sec.Blocks, block{Table: tt})
	}

	sec.Blocks = append(sec.Blocks, sub(l.T("x.countries.title")))
	if x.Countries == nil {
		sec.Blocks = append(sec.Blocks, para(l.T("org.none")))
	} else {
		ct := &table{Caption: l.T("x.countries.caption", ExtraOriginsTopN, r.owner(l), when), Head: []string{l.T("col.rank"), l.T("col.country"), l.T("col.packets"), l.T("col.sources")},
			Right: []bool{true, false, true, true}}
		for _, o := range x.Countries {
			ct.Rows = append(ct.Rows, []string{"#" + strconv.Itoa(o.Rank), o.Key, l.Int(o.Packets), l.Int(o.Sources)})
		}
		sec.Blocks = append(sec.Blocks, block{Table: ct})
	}

	sec.Blocks = append(sec.Blocks, sub(l.T("dev.title")))
	dt := x.Devices
	if dt.Identified == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("x.dev.none", l.Int(dt.Sources))))
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, para(l.T("dev.share", l.Int(dt.Identified), l.Int(dt.Sources), l.Pct(share(dt.Identified, dt.Sources)), l.Int(dt.Conflicts))))
	d := &table{Caption: l.T("x.dev.caption", ExtraDevicesTopN, r.owner(l), when),
		Head:  []string{l.T("col.rank"), l.T("dev.col.vendor"), l.T("dev.col.model"), l.T("dev.col.kind"), l.T("col.sources"), l.T("col.packets")},
		Right: []bool{true, false, false, false, true, true}}
	for _, m := range dt.Models {
		d.Rows = append(d.Rows, []string{"#" + strconv.Itoa(m.Rank), m.Vendor, dash(m.Model), dash(m.Kind), l.Int(m.Sources), l.Int(m.Packets)})
	}
	sec.Blocks = append(sec.Blocks, block{Table: d})
	return sec, nil
}

// asText is a source's AS and its organisation: "AS64500 Example Net".
func asText(o store.SourceOrigin) string {
	if o.ASN == 0 {
		return "—"
	}
	return strings.TrimSpace("AS" + strconv.FormatUint(uint64(o.ASN), 10) + " " + o.Org)
}

// deviceText is a source's device: "TP-Link Archer AX3000", marked when
// its evidence conflicts.
func deviceText(l locale, d *store.DeviceLabel) string {
	if d == nil {
		return "—"
	}
	s := strings.TrimSpace(d.Vendor + " " + d.Model)
	if d.Conflict {
		s += l.T("x.device.conflict")
	}
	return s
}
