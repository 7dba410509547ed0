package analyze

import (
	"cmp"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Report is the result of an analysis; its JSON form is the
// `nightjar analyze --format json` output.
type Report struct {
	Files     []FileResult      `json:"files"`
	Frames    uint64            `json:"frames"`    // frames read from the captures
	Packets   uint64            `json:"packets"`   // records counted for a sensor
	Unmatched uint64            `json:"unmatched"` // records whose destination is no sensor's
	Skipped   map[string]uint64 `json:"skipped"`   // frames that produced no record, by reason
	First     *time.Time        `json:"first,omitempty"`
	Last      *time.Time        `json:"last,omitempty"`
	Months    []string          `json:"months"` // UTC months with packets, in order
	Sensors   []SensorReport    `json:"sensors"`
	Groups    []GroupReport     `json:"groups"`
	Tags      map[string]uint64 `json:"tags"` // packets per tag, whole fleet
	Sources   []SourceReport    `json:"sources"`
	Distinct  int               `json:"distinct_sources"`
}

// FileResult says how reading one capture went.
type FileResult struct {
	Path   string `json:"path"`
	Frames uint64 `json:"frames"`
	Error  string `json:"error,omitempty"` // names the byte offset for corrupt files
}

// SensorReport is one sensor's column of the report.
type SensorReport struct {
	Name     string            `json:"name"`
	Group    string            `json:"group"`
	Packets  uint64            `json:"packets"`
	TopPorts []PortCount       `json:"top_ports"`
	Months   []MonthCount      `json:"months"`
	Tags     map[string]uint64 `json:"tags"`
}

// PortCount is a port label ("23/TCP") and its packets.
type PortCount = portcount.Count

// MonthCount is a UTC month ("2024-07") and its packets.
type MonthCount struct {
	Month   string `json:"month"`
	Packets uint64 `json:"packets"`
}

// GroupReport compares a group of sensors month by month.
type GroupReport struct {
	Name    string       `json:"name"`
	Sensors int          `json:"sensors"`
	Packets uint64       `json:"packets"`
	Months  []GroupMonth `json:"months"`
}

// GroupMonth is the average packets per sensor of a group in one month:
// the group's packets divided by its number of sensors (all of them, quiet
// ones included — TSUBAME's "average per sensor").
type GroupMonth struct {
	Month               string  `json:"month"`
	AvgPacketsPerSensor float64 `json:"avg_packets_per_sensor"`
}

// SourceReport is one of the top sources.
type SourceReport struct {
	IP        string    `json:"ip"`
	Packets   uint64    `json:"packets"`
	Tags      []string  `json:"tags"`              // earned by the evidence rules (fingerprint.SourceTags)
	Sensors   int       `json:"sensors,omitempty"` // sensors reached; omitted for fleets over 64 sensors
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Report builds the report of everything added so far.
func (a *Analyzer) Report() *Report {
	a.flush() // records added since the last full batch
	stats := a.path.Stats()
	rep := &Report{
		Files:     slices.Clone(a.files),
		Frames:    stats.Frames,
		Packets:   a.packets,
		Unmatched: stats.Unmatched,
		Skipped:   map[string]uint64{},
		Tags:      map[string]uint64{},
		Distinct:  len(a.sources),
	}
	for code, n := range stats.Skipped {
		if n > 0 && decode.Reason(code) != decode.UnsupportedLinkType {
			rep.Skipped[decode.Reason(code).String()] += n
		}
	}
	for link, n := range stats.Links {
		rep.Skipped[decode.UnsupportedLinkType.String()+": "+link.String()] += n
	}
	if a.packets > 0 {
		f, l := time.Unix(0, a.first).UTC(), time.Unix(0, a.last).UTC()
		rep.First, rep.Last = &f, &l
	}

	// Months in calendar order; order[i] is the index into a.months.
	order := make([]int, len(a.months))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		if a.months[x].less(a.months[y]) {
			return -1
		}
		return 1
	})
	for _, i := range order {
		rep.Months = append(rep.Months, a.months[i].String())
	}

	for i := range a.sensors {
		s := &a.sensors[i]
		sr := SensorReport{Name: s.name, Group: s.group, Packets: s.packets, Tags: tagMap(&s.tags)}
		for t, n := range s.tags {
			if n > 0 {
				rep.Tags[record.Tags(1<<t).String()] += n
			}
		}
		sr.TopPorts = s.topPorts(a.cfg.Top)
		sr.Months = []MonthCount{}
		for _, mi := range order {
			var n uint64
			if mi < len(s.months) {
				n = s.months[mi]
			}
			sr.Months = append(sr.Months, MonthCount{Month: a.months[mi].String(), Packets: n})
		}
		rep.Sensors = append(rep.Sensors, sr)
	}
	for _, t := range record.AllTags() {
		if _, ok := rep.Tags[t.String()]; !ok {
			rep.Tags[t.String()] = 0
		}
	}
	rep.Groups = a.groups(rep)
	rep.Sources = a.topSources()
	return rep
}

func tagMap(counts *[16]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for _, t := range record.AllTags() {
		m[t.String()] = counts[t.Index()]
	}
	return m
}

// topPorts ranks by packets descending, then label ascending. Labels are
// built only for the ports that can make the top n: those with at least the
// n-th largest count.
func (s *sensorStats) topPorts(n int) []PortCount {
	type slotCount struct {
		key     record.PortKey
		packets uint64
	}
	var all []slotCount
	s.ports.Each(func(k record.PortKey, p uint64) { all = append(all, slotCount{k, p}) })
	if len(all) > n {
		slices.SortFunc(all, func(x, y slotCount) int { return cmp.Compare(y.packets, x.packets) })
		threshold := all[n-1].packets
		cut := n
		for cut < len(all) && all[cut].packets == threshold {
			cut++
		}
		all = all[:cut]
	}
	top := make([]PortCount, len(all))
	for i, c := range all {
		top[i] = PortCount{Port: c.key.Label(), Packets: c.packets}
	}
	SortPorts(top)
	return top[:min(n, len(top))]
}

// SortPorts orders port counts the way every Nightjar ranking does:
// packets descending, then label ascending.
func SortPorts(p []PortCount) { portcount.Sort(p) }

func (a *Analyzer) groups(rep *Report) []GroupReport {
	var out []GroupReport
	index := map[string]int{}
	for _, s := range rep.Sensors {
		gi, ok := index[s.Group]
		if !ok {
			gi = len(out)
			index[s.Group] = gi
			out = append(out, GroupReport{Name: s.Group})
			for _, m := range rep.Months {
				out[gi].Months = append(out[gi].Months, GroupMonth{Month: m})
			}
		}
		g := &out[gi]
		g.Sensors++
		g.Packets += s.Packets
		for mi, m := range s.Months {
			g.Months[mi].AvgPacketsPerSensor += float64(m.Packets)
		}
	}
	for gi := range out {
		for mi := range out[gi].Months {
			out[gi].Months[mi].AvgPacketsPerSensor /= float64(out[gi].Sensors)
		}
	}
	return out
}

// topSources ranks sources by packets descending, then address ascending.
func (a *Analyzer) topSources() []SourceReport {
	n := min(a.cfg.Sources, len(a.sources))
	idx := make([]int, len(a.sources))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int {
		if c := cmp.Compare(a.sources[y].packets, a.sources[x].packets); c != 0 {
			return c
		}
		return a.sourceAddrs[x].Compare(a.sourceAddrs[y])
	})
	out := make([]SourceReport, 0, n)
	for _, i := range idx[:n] {
		s := &a.sources[i]
		sr := SourceReport{
			IP:        a.sourceAddrs[i].String(),
			Packets:   s.packets,
			Tags:      sourceTags(s.packets, s.tags, a.sourceHits(s)).Names(),
			FirstSeen: time.Unix(0, s.first).UTC(),
			LastSeen:  time.Unix(0, s.last).UTC(),
		}
		if sr.Tags == nil {
			sr.Tags = []string{}
		}
		if len(a.sensors) <= 64 {
			sr.Sensors = popcount(s.sensors)
		}
		out = append(out, sr)
	}
	return out
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
