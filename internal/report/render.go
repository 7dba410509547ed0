package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// document is a rendered report, before its format: the Markdown and HTML
// writers lay out the same blocks.
type document struct {
	Lang     Lang
	Title    string
	Meta     []string // lines under the title
	Sections []section
}

// section is a numbered section of the report.
type section struct {
	ID     string // the HTML anchor: "summary", "fleet-top"...
	Title  string // with its number: "1. Summary"
	Blocks []block
}

// block is one of: a paragraph (Text), a note (Text, Note), a subheading
// (Text, Sub), a table or a figure.
type block struct {
	Text      string
	Note, Sub bool
	Table     *table
	Figure    *figure
}

// table is a table with a caption; Right marks the columns of numbers.
type table struct {
	Caption string
	Head    []string
	Rows    [][]string
	Right   []bool
}

// figure is a chart drawn as SVG and PNG. Name is the base of its files
// ("fig1-top-ports").
type figure struct {
	Number   int
	Name     string
	Caption  string
	SVG, PNG []byte
}

// renderer builds a document from Data in one language.
type renderer struct {
	drawing
	d   *Data
	doc *document
}

// drawing numbers and draws a document's figures, labelled in l.
type drawing struct {
	l       locale
	charts  *charter
	figures int
}

// renderDoc turns the report's data into a document in lang, drawing its
// figures with charts.
func renderDoc(d *Data, lang Lang, charts *charter) (*document, error) {
	r := &renderer{drawing: drawing{l: newLocale(lang), charts: charts}, d: d, doc: &document{Lang: lang}}
	l := r.l
	r.doc.Title = l.T("title", l.Period(d.Period))
	r.doc.Meta = []string{
		l.T("meta.period", l.Period(d.Period), l.PeriodShort(d.Previous)),
		l.T("meta.generated", l.Date(d.Generated)),
	}
	for _, build := range []func() (section, error){r.summary, r.fleetTop, r.monthly, r.sensorTop, r.comparison, r.mirai, r.origins, r.sources} {
		s, err := build()
		if err != nil {
			return nil, err
		}
		s.Title = strconv.Itoa(len(r.doc.Sections)+1) + ". " + s.Title
		r.doc.Sections = append(r.doc.Sections, s)
	}
	return r.doc, nil
}

func para(text string) block { return block{Text: text} }
func note(text string) block { return block{Text: text, Note: true} }
func sub(text string) block  { return block{Text: text, Sub: true} }

// figure draws a chart and numbers it.
func (r *drawing) figure(name string, caption string, c chart) (block, error) {
	r.figures++
	svg, png, err := r.charts.draw(c)
	if err != nil {
		return block{}, fmt.Errorf("figure %d (%s): %w", r.figures, name, err)
	}
	return block{Figure: &figure{Number: r.figures, Name: fmt.Sprintf("fig%d-%s", r.figures, name),
		Caption: r.l.T("figure", r.figures, caption), SVG: svg, PNG: png}}, nil
}

// prevName names the previous period in sentences: "the previous quarter
// (2024 Q2)".
func (r *renderer) prevName() string {
	kind := map[period.Kind]string{period.Quarter: "prev.quarter", period.Month: "prev.month", period.Year: "prev.year",
		period.Day: "prev.day", period.Custom: "prev.custom"}[r.d.Previous.Kind]
	return r.l.T(kind, r.l.PeriodShort(r.d.Previous))
}

func (r *renderer) noData() block { return para(r.l.T("nodata", r.l.Period(r.d.Period))) }

// hasData: the period has packets.
func (r *renderer) hasData() bool { return r.d.Summary.Current.Packets > 0 }

// 1. Summary.
func (r *renderer) summary() (section, error) {
	l, d, s := r.l, r.d, r.d.Summary
	sec := section{ID: "summary", Title: l.T("sum.title")}
	if s.Sensors == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("sum.nosensors")))
		return sec, nil
	}
	var groups []string
	for _, g := range d.Groups {
		groups = append(groups, l.T("sum.group", g.Name, l.N(len(g.Sensors), "sensor")))
	}
	cur, prev := s.Current, s.Previous
	if r.hasData() {
		sec.Blocks = append(sec.Blocks, para(l.T("sum.text", l.Period(d.Period), l.N(s.Sensors, "sensor"), l.N(s.Groups, "group"),
			strings.Join(groups, l.T("list.sep")), l.Int(cur.Packets), l.Int(cur.Sources), l.Avg(cur.PerSensorPerDay))))
		if prev.Packets > 0 {
			sec.Blocks = append(sec.Blocks, para(l.T("sum.change", r.prevName(), l.Change(float64(cur.Packets), float64(prev.Packets)),
				l.Change(float64(cur.Sources), float64(prev.Sources)))))
		} else {
			sec.Blocks = append(sec.Blocks, para(l.T("sum.noprev", r.prevName())))
		}
	} else {
		sec.Blocks = append(sec.Blocks, para(l.T("sum.sensors", l.N(s.Sensors, "sensor"), l.N(s.Groups, "group"), strings.Join(groups, l.T("list.sep")))), r.noData())
	}
	change := func(c, p float64) string {
		if prev.Packets == 0 {
			return "—"
		}
		return l.Change(c, p)
	}
	key := &table{Caption: l.T("sum.key.caption"), Head: []string{l.T("sum.key.what"), l.PeriodShort(d.Period), l.PeriodShort(d.Previous), l.T("col.change")},
		Right: []bool{false, true, true, true}}
	key.Rows = [][]string{
		{l.T("sum.key.packets"), l.Int(cur.Packets), l.Int(prev.Packets), change(float64(cur.Packets), float64(prev.Packets))},
		{l.T("sum.key.perday"), l.Avg(cur.PerSensorPerDay), l.Avg(prev.PerSensorPerDay), change(cur.PerSensorPerDay, prev.PerSensorPerDay)},
		{l.T("sum.key.sources"), l.Int(cur.Sources), l.Int(prev.Sources), change(float64(cur.Sources), float64(prev.Sources))},
		{l.T("sum.key.mirai"), l.Int(cur.MiraiSources), l.Int(prev.MiraiSources), change(float64(cur.MiraiSources), float64(prev.MiraiSources))},
		{l.T("sum.key.active"), l.T("sum.key.of", l.Num(cur.Active), l.Num(s.Sensors)), l.T("sum.key.of", l.Num(prev.Active), l.Num(s.Sensors)), ""},
	}
	sensors := &table{Caption: l.T("sum.sensors.caption"), Head: []string{l.T("col.sensor"), l.T("col.group"), l.T("col.country"), l.T("col.network"),
		l.T("col.packets"), l.T("col.share")}, Right: []bool{false, false, false, false, true, true}}
	for _, sen := range d.Sensors {
		share := "—"
		if cur.Packets > 0 {
			share = l.Pct(float64(sen.Packets) / float64(cur.Packets))
		}
		sensors.Rows = append(sensors.Rows, []string{sen.Name, sen.Group, dash(sen.Country), dash(sen.Description), l.Int(sen.Packets), share})
	}
	sec.Blocks = append(sec.Blocks, block{Table: key},
		note(l.T("sum.key.note", l.Float(cur.Days, 1), l.Float(prev.Days, 1))), block{Table: sensors})
	return sec, nil
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// 2. The fleet's top ports.
func (r *renderer) fleetTop() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "fleet-top", Title: l.T("top.title", FleetTopN)}
	if len(d.FleetTop) == 0 {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	prevData := d.Summary.Previous.Packets > 0
	sec.Blocks = append(sec.Blocks, para(l.T("top.text", l.Num(d.Summary.Sensors), r.prevName())))
	if !prevData {
		sec.Blocks = append(sec.Blocks, para(l.T("top.noprev", r.prevName())))
	}
	t := &table{Head: []string{l.T("col.rank"), l.T("col.port"), l.T("col.avg"), l.T("col.share"), l.T("col.prevrank"), l.T("col.rankchange"), l.T("col.avgchange")},
		Right:   []bool{true, false, true, true, true, false, true},
		Caption: l.T("top.caption", FleetTopN, l.PeriodShort(d.Period))}
	c := chart{YLabel: l.T("chart.avg"), XLabel: l.T("chart.port")}
	var this, before []float64
	for _, pc := range d.FleetTop {
		prevRank, rankChange, avgChange := "—", "—", "—"
		if prevData {
			prevRank, rankChange = r.rankChange(pc.Rank, pc.PreviousRank, FleetTopN)
			avgChange = l.Change(pc.AvgPacketsPerSensor, pc.PreviousAvg)
		}
		t.Rows = append(t.Rows, []string{"#" + strconv.Itoa(pc.Rank), pc.Port, l.Avg(pc.AvgPacketsPerSensor), l.Pct(pc.Share), prevRank, rankChange, avgChange})
		c.Categories = append(c.Categories, pc.Port)
		this, before = append(this, pc.AvgPacketsPerSensor), append(before, pc.PreviousAvg)
	}
	c.Series = []series{{Name: r.charts.l.PeriodShort(d.Period), Values: this}}
	if prevData {
		c.Series = append(c.Series, series{Name: r.charts.l.PeriodShort(d.Previous), Values: before})
	}
	fig, err := r.figure("top-ports", l.T("top.figure", FleetTopN, l.PeriodShort(d.Period)), c)
	if err != nil {
		return sec, err
	}
	sec.Blocks = append(sec.Blocks, block{Table: t}, note(l.T("top.note", FleetTopN)), fig)
	return sec, nil
}

// rankChange returns the previous rank and the change: "new" (no packets
// then), "▲2", "▼1", "=", and the mark of a port new to the top n.
func (r *renderer) rankChange(rank, prev, n int) (string, string) {
	l := r.l
	if prev == 0 {
		return "—", l.T("rank.new")
	}
	var ch string
	switch {
	case prev > rank:
		ch = "▲" + strconv.Itoa(prev-rank)
	case prev < rank:
		ch = "▼" + strconv.Itoa(rank-prev)
	default:
		ch = "="
	}
	if prev > n {
		ch += l.T("rank.entered", n)
	}
	return "#" + strconv.Itoa(prev), ch
}

// 3. Monthly averages per group.
func (r *renderer) monthly() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "monthly", Title: l.T("mon.title")}
	if !r.hasData() || len(d.Monthly) == 0 {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, para(l.T("mon.text")))
	months := d.Monthly[0].Months
	c := chart{YLabel: l.T("chart.avg"), XLabel: l.T("chart.month")}
	t := &table{Caption: l.T("mon.caption", l.PeriodShort(d.Period)), Head: []string{l.T("col.month")}, Right: []bool{false}}
	for _, m := range months {
		c.Categories = append(c.Categories, r.charts.l.MonthShort(monthStart(m.Month)))
	}
	for _, g := range d.Monthly {
		t.Head = append(t.Head, l.T("mon.col", g.Name, l.N(g.Sensors, "sensor")))
		t.Right = append(t.Right, true)
		s := series{Name: r.charts.l.T("mon.col", g.Name, r.charts.l.N(g.Sensors, "sensor"))}
		for _, m := range g.Months {
			s.Values = append(s.Values, m.AvgPacketsPerSensor)
		}
		c.Series = append(c.Series, s)
	}
	for i, m := range months {
		row := []string{l.Month(monthStart(m.Month))}
		for _, g := range d.Monthly {
			row = append(row, l.Avg(g.Months[i].AvgPacketsPerSensor))
		}
		t.Rows = append(t.Rows, row)
	}
	total := []string{l.T("mon.total")}
	for _, g := range d.Monthly {
		total = append(total, l.Avg(float64(g.Packets)/float64(max(g.Sensors, 1))))
	}
	t.Rows = append(t.Rows, total)
	fig, err := r.figure("monthly", l.T("mon.figure", l.PeriodShort(d.Period)), c)
	if err != nil {
		return sec, err
	}
	sec.Blocks = append(sec.Blocks, fig, block{Table: t})
	for _, g := range d.Monthly {
		if g.Sensors == 1 {
			sec.Blocks = append(sec.Blocks, note(l.T("mon.one", g.Name)))
		}
	}
	if d.Period.Kind == period.Custom {
		sec.Blocks = append(sec.Blocks, note(l.T("mon.clipped")))
	}
	return sec, nil
}

func monthStart(month string) time.Time {
	t, _ := time.Parse("2006-01", month) // the store's month names
	return t
}

// 4. Top 10 of every sensor, side by side (columns of at most
// sensorsPerTable sensors, so that tables fit a page).
const sensorsPerTable = 6

func (r *renderer) sensorTop() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "sensor-top", Title: l.T("sen.title", SensorTopN)}
	if !r.hasData() {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, para(l.T("sen.text", SensorTopN)))
	var quiet []string
	for start := 0; start < len(d.SensorTop); start += sensorsPerTable {
		cols := d.SensorTop[start:min(start+sensorsPerTable, len(d.SensorTop))]
		t := &table{Head: []string{l.T("col.rank")}, Right: []bool{true}, Caption: l.T("sen.caption", SensorTopN, l.PeriodShort(d.Period))}
		for _, sp := range cols {
			t.Head = append(t.Head, l.T("sen.col", sp.Sensor, sp.Group))
			t.Right = append(t.Right, false)
		}
		for i := range SensorTopN {
			row := []string{"#" + strconv.Itoa(i+1)}
			for _, sp := range cols {
				cell := "—"
				if i < len(sp.Ports) {
					cell = sp.Ports[i].Port
				}
				row = append(row, cell)
			}
			t.Rows = append(t.Rows, row)
		}
		packets := []string{l.T("col.packets")}
		for _, sp := range cols {
			packets = append(packets, l.Int(sp.Packets))
			if sp.Packets == 0 {
				quiet = append(quiet, sp.Sensor)
			}
		}
		t.Rows = append(t.Rows, packets)
		sec.Blocks = append(sec.Blocks, block{Table: t})
	}
	if len(quiet) > 0 {
		sec.Blocks = append(sec.Blocks, note(l.T("sen.quiet", strings.Join(quiet, l.T("list.sep")))))
	}
	return sec, nil
}

// 5. Ports in almost every sensor's top 10, and ports prominent at one.
func (r *renderer) comparison() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "comparison", Title: l.T("cmp.title")}
	if !r.hasData() {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	if d.Compared < MinCompared {
		sec.Blocks = append(sec.Blocks, para(l.T("cmp.few", l.Num(d.Compared), MinCompared)))
		return sec, nil
	}
	need := int(math.Ceil(CommonShare * float64(d.Compared)))
	sec.Blocks = append(sec.Blocks, para(l.T("cmp.def.common", SensorTopN, l.Pct(CommonShare), need, l.Num(d.Compared))),
		para(l.T("cmp.def.single", SensorTopN, l.Float(SingleRatio, 0))))

	sec.Blocks = append(sec.Blocks, sub(l.T("cmp.common.title", SensorTopN)))
	if len(d.Common) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("cmp.common.none", SensorTopN, need)))
	} else {
		t := &table{Caption: l.T("cmp.common.caption", SensorTopN, l.PeriodShort(d.Period)),
			Head:  []string{l.T("col.port"), l.T("cmp.col.in", SensorTopN), l.T("cmp.col.ranks"), l.T("cmp.col.missing", SensorTopN)},
			Right: []bool{false, true, true, false}}
		for _, cp := range d.Common {
			ranks := "#" + strconv.Itoa(cp.BestRank)
			if cp.WorstRank != cp.BestRank {
				ranks += "–#" + strconv.Itoa(cp.WorstRank)
			}
			missing := "—"
			if len(cp.Missing) > 0 {
				missing = strings.Join(cp.Missing, l.T("list.sep"))
			}
			t.Rows = append(t.Rows, []string{cp.Port, l.T("sum.key.of", l.Num(len(cp.In)), l.Num(d.Compared)), ranks, missing})
		}
		sec.Blocks = append(sec.Blocks, block{Table: t})
	}

	sec.Blocks = append(sec.Blocks, sub(l.T("cmp.single.title")))
	if len(d.Single) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("cmp.single.none")))
		return sec, nil
	}
	t := &table{Caption: l.T("cmp.single.caption", l.PeriodShort(d.Period)),
		Head:  []string{l.T("col.port"), l.T("col.sensor"), l.T("col.rank"), l.T("col.packets"), l.T("cmp.col.share"), l.T("cmp.col.other"), l.T("cmp.col.ratio")},
		Right: []bool{false, false, true, true, true, false, true}}
	for _, s := range d.Single {
		other, ratio := l.T("cmp.nowhere"), "—"
		if s.OtherSensor != "" {
			other = l.T("cmp.other", l.Pct(s.OtherShare), s.OtherSensor)
			ratio = "×" + l.Float(s.Ratio(), 1)
		}
		t.Rows = append(t.Rows, []string{s.Port, s.Sensor, "#" + strconv.Itoa(s.Rank), l.Int(s.Packets), l.Pct(s.Share), other, ratio})
	}
	sec.Blocks = append(sec.Blocks, block{Table: t})
	return sec, nil
}

// 6. Mirai-type activity.
func (r *renderer) mirai() (section, error) {
	l, d, m := r.l, r.d, r.d.Mirai
	sec := section{ID: "mirai", Title: l.T("mir.title")}
	if !r.hasData() {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	prev := d.Summary.Previous
	change := ""
	if prev.Packets > 0 {
		change = l.T("mir.prev", l.Int(prev.MiraiSources), r.prevName())
	}
	sec.Blocks = append(sec.Blocks, para(l.T("mir.text", l.Int(m.Packets), l.Pct(m.Share), l.Int(m.Sources), l.Pct(m.SourceShare), change)))
	if len(m.Ports) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("mir.none")))
		return sec, nil
	}
	t := &table{Caption: l.T("mir.caption", MiraiTopN, l.PeriodShort(d.Period)),
		Head:  []string{l.T("col.rank"), l.T("col.port"), l.T("col.packets"), l.T("mir.col.packets"), l.T("mir.col.share"), l.T("mir.col.sources")},
		Right: []bool{true, false, true, true, true, true}}
	c := chart{YLabel: l.T("chart.share"), XLabel: l.T("chart.port"), Percent: true}
	s := series{Name: r.charts.l.T("mir.series")}
	for _, mp := range m.Ports {
		t.Rows = append(t.Rows, []string{"#" + strconv.Itoa(mp.Rank), mp.Port, l.Int(mp.Packets), l.Int(mp.Mirai), l.Pct(mp.MiraiShare), l.Int(mp.Sources)})
		c.Categories = append(c.Categories, mp.Port)
		s.Values = append(s.Values, 100*mp.MiraiShare)
	}
	c.Series = []series{s}
	fig, err := r.figure("mirai", l.T("mir.figure", l.PeriodShort(d.Period)), c)
	if err != nil {
		return sec, err
	}
	sec.Blocks = append(sec.Blocks, block{Table: t}, note(l.T("mir.note")), fig)
	return sec, nil
}

// 7. Source countries and ASNs, per group, and research scanners.
func (r *renderer) origins() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "origins", Title: l.T("org.title")}
	if d.Origins == nil {
		sec.Blocks = append(sec.Blocks, para(l.T("org.none")))
		return sec, nil
	}
	o := d.Origins
	if o.Research.AllPackets == 0 {
		sec.Blocks = append(sec.Blocks, r.noData())
		return sec, nil
	}
	prevData := d.Summary.Previous.Packets > 0
	if !prevData {
		sec.Blocks = append(sec.Blocks, para(l.T("top.noprev", r.prevName())))
	}
	ranked := func(caption, col string, rows []store.RankedOrigin, withOrg bool) {
		if len(rows) == 0 {
			return
		}
		head := []string{l.T("col.rank"), col}
		right := []bool{true, false}
		if withOrg {
			head, right = append(head, l.T("col.name")), append(right, false)
		}
		t := &table{Caption: caption, Head: append(head, l.T("col.packets"), l.T("col.sources"), l.T("col.prevrank"), l.T("col.change")),
			Right: append(right, true, true, true, true)}
		for _, x := range rows {
			row := []string{"#" + strconv.Itoa(x.Rank), x.Key}
			if withOrg {
				row = append(row, dash(x.Org))
			}
			prev, change := "—", "—"
			if prevData {
				prev, change = l.T("change.new"), l.Change(float64(x.Packets), float64(x.PreviousPackets))
				if x.PreviousRank > 0 {
					prev = "#" + strconv.Itoa(x.PreviousRank)
				}
			}
			t.Rows = append(t.Rows, append(row, l.Int(x.Packets), l.Int(x.Sources), prev, change))
		}
		sec.Blocks = append(sec.Blocks, block{Table: t})
	}
	ranked(l.T("org.countries", OriginsTopN, l.PeriodShort(d.Period)), l.T("col.country"), o.Countries, false)
	ranked(l.T("org.asns", OriginsTopN, l.PeriodShort(d.Period)), l.T("col.asn"), o.ASNs, true)
	if len(o.Groups) > 1 {
		sec.Blocks = append(sec.Blocks, sub(l.T("org.groups.title")))
		for _, g := range o.Groups {
			ranked(l.T("org.group", GroupOriginsTopN, g.Group, l.Int(g.Packets)), l.T("col.country"), g.Countries, false)
		}
	}
	sec.Blocks = append(sec.Blocks, sub(l.T("org.research.title")))
	res := o.Research
	if len(res.Lists) == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("org.research.none")))
	} else {
		sec.Blocks = append(sec.Blocks, para(l.T("org.research.text", l.Int(res.Packets), l.Pct(share(res.Packets, res.AllPackets)),
			l.Int(res.Sources), l.Pct(share(res.Sources, res.AllSources)))))
		t := &table{Caption: l.T("org.research.caption", l.PeriodShort(d.Period)), Head: []string{l.T("org.col.lists"), l.T("col.packets"), l.T("col.sources")},
			Right: []bool{false, true, true}}
		for _, x := range res.Lists {
			t.Rows = append(t.Rows, []string{x.Key, l.Int(x.Packets), l.Int(x.Sources)})
		}
		sec.Blocks = append(sec.Blocks, block{Table: t})
	}
	sec.Blocks = append(sec.Blocks, note(l.T("org.note")))
	return sec, nil
}

// share is part/all, 0 when all is.
func share(part, all uint64) float64 {
	if all == 0 {
		return 0
	}
	return float64(part) / float64(all)
}

// 8. Notable sources and device models.
func (r *renderer) sources() (section, error) {
	l, d := r.l, r.d
	sec := section{ID: "sources", Title: l.T("src.title")}
	sec.Blocks = append(sec.Blocks, sub(l.T("src.top.title", SourcesTopN)))
	if len(d.Sources) == 0 {
		sec.Blocks = append(sec.Blocks, r.noData())
	} else {
		t := &table{Caption: l.T("src.caption", SourcesTopN, l.PeriodShort(d.Period)),
			Head:  []string{l.T("col.rank"), l.T("col.address"), l.T("col.packets"), l.T("src.col.ports"), l.T("src.col.sensors"), l.T("src.col.tags"), l.T("src.col.first"), l.T("src.col.last")},
			Right: []bool{true, false, true, true, true, false, false, false}}
		for i, s := range d.Sources {
			tags := "—"
			if len(s.Tags) > 0 {
				tags = strings.Join(s.Tags, ", ")
			}
			ports := l.Int(s.Ports)
			if !s.PortsExact {
				ports = "≥" + ports
			}
			t.Rows = append(t.Rows, []string{"#" + strconv.Itoa(i+1), s.IP, l.Int(s.Packets), ports, l.Num(s.Sensors), tags, l.Time(s.FirstSeen), l.Time(s.LastSeen)})
		}
		sec.Blocks = append(sec.Blocks, block{Table: t}, note(l.T("src.note")))
	}
	sec.Blocks = append(sec.Blocks, sub(l.T("dev.title")))
	dt := d.Devices
	if dt.Identified == 0 {
		sec.Blocks = append(sec.Blocks, para(l.T("dev.empty", l.Int(dt.Sources))))
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, para(l.T("dev.share", l.Int(dt.Identified), l.Int(dt.Sources), l.Pct(share(dt.Identified, dt.Sources)), l.Int(dt.Conflicts))))
	cutoff := time.Date(d.Period.Start.UTC().Year()-OldFirmwareYears, 1, 1, 0, 0, 0, 0, time.UTC)
	t := &table{Caption: l.T("dev.caption", DevicesTopN, l.PeriodShort(d.Period)),
		Head: []string{l.T("col.rank"), l.T("dev.col.vendor"), l.T("dev.col.model"), l.T("dev.col.kind"), l.T("col.sources"), l.T("col.packets"),
			l.T("dev.col.firmware"), l.T("dev.col.old", cutoff.Year()), l.T("src.col.first"), l.T("src.col.last")},
		Right: []bool{true, false, false, false, true, true, false, true, false, false}}
	for _, m := range dt.Models {
		var versions []string
		var old, dated uint64
		for _, f := range m.Firmware {
			v := f.Version
			if v == "" {
				v = l.T("dev.unknown")
			}
			if f.Released != nil {
				dated += f.Sources
				if f.Released.Before(cutoff) {
					old += f.Sources
				}
				v += " (" + l.Date(*f.Released) + ")"
			}
			versions = append(versions, v+" ×"+l.Int(f.Sources))
		}
		oldText := "—"
		if dated > 0 {
			oldText = l.Int(old) + " / " + l.Int(dated)
		}
		t.Rows = append(t.Rows, []string{"#" + strconv.Itoa(m.Rank), m.Vendor, dash(m.Model), dash(m.Kind), l.Int(m.Sources), l.Int(m.Packets),
			strings.Join(versions, "; "), oldText, l.Time(m.FirstSeen), l.Time(m.LastSeen)})
	}
	sec.Blocks = append(sec.Blocks, block{Table: t}, note(l.T("dev.note", cutoff.Year())))
	return sec, nil
}
