package report

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestNumbersMatchTruth checks every number of the 2024Q3 report of the
// fixture against the simulator's ground truth of the two quarters — and,
// where the truth has no such number (Mirai sources per port, distinct
// ports per source), against a count of the simulated packets decoded and
// tagged again. Section 5's lists are worked out from the truth with the
// definitions of the report (CommonShare, SingleRatio).
func TestNumbersMatchTruth(t *testing.T) {
	t.Parallel()
	st, q2, q3 := theFixture(t)
	p, _ := period.Parse("2024Q3")
	d, err := Build(t.Context(), st, p, generated)
	if err != nil {
		t.Fatal(err)
	}
	fl := q3.cfg.Fleet
	names := make([]string, len(fl.Sensors))
	for i, s := range fl.Sensors {
		names[i] = s.Name
	}

	t.Run("summary", func(t *testing.T) {
		var sensors []Sensor
		var groups []Group
		for _, s := range fl.Sensors {
			sensors = append(sensors, Sensor{Name: s.Name, Group: s.Group, Country: s.Country, Description: s.Description, Packets: q3.truth.Sensors[s.Name].Packets})
			i := slices.IndexFunc(groups, func(g Group) bool { return g.Name == s.Group })
			if i < 0 {
				i = len(groups)
				groups = append(groups, Group{Name: s.Group, Packets: q3.truth.Groups[s.Group].Packets})
			}
			groups[i].Sensors = append(groups[i].Sensors, s.Name)
		}
		if diff := gocmp.Diff(d.Sensors, sensors); diff != "" {
			t.Errorf("sensors (-report, +truth):\n%s", diff)
		}
		if diff := gocmp.Diff(d.Groups, groups); diff != "" {
			t.Errorf("groups (-report, +truth):\n%s", diff)
		}
		for _, g := range groups {
			if q3.truth.Groups[g.Name].Sensors != len(g.Sensors) {
				t.Errorf("group %s: %d sensors, truth %d", g.Name, len(g.Sensors), q3.truth.Groups[g.Name].Sensors)
			}
		}
		totals := func(q quarter, days float64) Totals {
			tt := Totals{Packets: q.truth.Packets, Days: days, Sources: uint64(len(q.truth.Sources))}
			tt.PerSensorPerDay = float64(tt.Packets) / 6 / days
			for _, src := range q.truth.Sources {
				if slices.Contains(src.Tags, "mirai") {
					tt.MiraiSources++
				}
			}
			for _, s := range q.truth.Sensors {
				if s.Packets > 0 {
					tt.Active++
				}
			}
			return tt
		}
		want := Summary{Sensors: 6, Groups: 2, Current: totals(q3, 92), Previous: totals(q2, 91)}
		if diff := gocmp.Diff(d.Summary, want); diff != "" {
			t.Errorf("summary (-report, +truth):\n%s", diff)
		}
	})

	t.Run("top ports of the fleet", func(t *testing.T) {
		cur, prev := fleetPorts(q3.truth), fleetPorts(q2.truth)
		ranked, prevRanked := rankedPorts(cur), rankedPorts(prev)
		var want []PortChange
		for i, c := range ranked[:FleetTopN] {
			want = append(want, PortChange{
				AvgRankedPort: store.AvgRankedPort{Rank: i + 1, Port: c.Port, Packets: c.Packets, AvgPacketsPerSensor: float64(c.Packets) / 6,
					PreviousRank: rankOf(prevRanked, c.Port)},
				Share:       float64(c.Packets) / float64(q3.truth.Packets),
				PreviousAvg: float64(prev[c.Port]) / 6,
			})
		}
		if diff := gocmp.Diff(d.FleetTop, want); diff != "" {
			t.Errorf("fleet's top ports (-report, +truth):\n%s", diff)
		}
	})

	t.Run("monthly averages per group", func(t *testing.T) {
		var want []store.GroupAverages
		for _, g := range d.Groups {
			ga := store.GroupAverages{Name: g.Name, Sensors: len(g.Sensors), Packets: q3.truth.Groups[g.Name].Packets}
			for _, m := range []string{"2024-07", "2024-08", "2024-09"} {
				var sum uint64
				for _, s := range g.Sensors {
					sum += q3.truth.Sensors[s].Months[m]
				}
				ga.Months = append(ga.Months, store.GroupMonth{Month: m, AvgPacketsPerSensor: float64(sum) / float64(len(g.Sensors))})
			}
			want = append(want, ga)
		}
		if diff := gocmp.Diff(d.Monthly, want); diff != "" {
			t.Errorf("monthly averages (-report, +truth):\n%s", diff)
		}
	})

	t.Run("top 10 of each sensor", func(t *testing.T) {
		var want []store.SensorPorts
		for _, s := range fl.Sensors {
			ranked := rankedPorts(q3.truth.Sensors[s.Name].Ports)
			prevRanked := rankedPorts(q2.truth.Sensors[s.Name].Ports)
			sp := store.SensorPorts{Sensor: s.Name, Group: s.Group, Packets: q3.truth.Sensors[s.Name].Packets}
			for i, c := range ranked[:min(SensorTopN, len(ranked))] {
				sp.Ports = append(sp.Ports, store.RankedPort{Rank: i + 1, Port: c.Port, Packets: c.Packets, PreviousRank: rankOf(prevRanked, c.Port)})
			}
			want = append(want, sp)
		}
		if diff := gocmp.Diff(d.SensorTop, want); diff != "" {
			t.Errorf("top 10 of each sensor (-report, +truth):\n%s", diff)
		}
	})

	t.Run("ports common to almost every sensor and prominent at one", func(t *testing.T) {
		common, single := comparisonFromTruth(q3.truth, names)
		if diff := gocmp.Diff(d.Common, common); diff != "" {
			t.Errorf("common ports (-report, +truth):\n%s", diff)
		}
		if diff := gocmp.Diff(d.Single, single); diff != "" {
			t.Errorf("ports prominent at one sensor (-report, +truth):\n%s", diff)
		}
		if len(common) == 0 || len(single) == 0 || d.Compared != 6 {
			t.Errorf("the fixture has %d common and %d single ports among %d sensors: the test checks too little", len(common), len(single), d.Compared)
		}
	})

	model := modelPackets(t, q3.cfg)
	t.Run("mirai", func(t *testing.T) {
		m := d.Mirai
		var sources uint64
		for _, src := range q3.truth.Sources {
			if slices.Contains(src.Tags, "mirai") {
				sources++
			}
		}
		if m.Packets != q3.truth.Tags["mirai"] || m.Share != float64(m.Packets)/float64(q3.truth.Packets) ||
			m.Sources != sources || m.SourceShare != float64(sources)/float64(len(q3.truth.Sources)) {
			t.Errorf("mirai: %d packets (%v), %d sources (%v); truth %d of %d packets, %d of %d sources", m.Packets, m.Share, m.Sources, m.SourceShare,
				q3.truth.Tags["mirai"], q3.truth.Packets, sources, len(q3.truth.Sources))
		}
		// Per port: packets from the truth, Mirai packets and sources from
		// the decoded packets.
		packets := fleetPorts(q3.truth)
		mirai := map[string]uint64{}
		miraiSrc := map[string]bool{}
		for _, pk := range model {
			if pk.tags.Has(record.TagMirai) {
				mirai[pk.port]++
				miraiSrc[pk.src] = true
			}
		}
		srcs := map[string]map[string]bool{}
		for _, pk := range model {
			if miraiSrc[pk.src] {
				if srcs[pk.port] == nil {
					srcs[pk.port] = map[string]bool{}
				}
				srcs[pk.port][pk.src] = true
			}
		}
		var want []store.MiraiPort
		ranked := rankedPorts(mirai)
		for i, c := range ranked[:min(MiraiTopN, len(ranked))] {
			want = append(want, store.MiraiPort{Rank: i + 1, Port: c.Port, Packets: packets[c.Port], Mirai: c.Packets,
				MiraiShare: float64(c.Packets) / float64(packets[c.Port]), Sources: uint64(len(srcs[c.Port]))})
		}
		if diff := gocmp.Diff(m.Ports, want); diff != "" {
			t.Errorf("mirai ports (-report, +truth and decoded packets):\n%s", diff)
		}
	})

	t.Run("notable sources", func(t *testing.T) {
		ports := map[string]map[string]bool{}
		for _, pk := range model {
			if ports[pk.src] == nil {
				ports[pk.src] = map[string]bool{}
			}
			ports[pk.src][pk.port] = true
		}
		type src struct {
			ip    string
			truth *simulate.SourceTruth
		}
		var all []src
		for ip, s := range q3.truth.Sources {
			all = append(all, src{ip, s})
		}
		slices.SortFunc(all, func(a, b src) int {
			return cmp.Or(cmp.Compare(b.truth.Packets, a.truth.Packets), netip.MustParseAddr(a.ip).Compare(netip.MustParseAddr(b.ip)))
		})
		type view struct {
			IP             string
			Packets, Ports uint64
			Tags           []string
			Sensors        int
		}
		var got, want []view
		for _, s := range d.Sources {
			got = append(got, view{s.IP, s.Packets, s.Ports, s.Tags, s.Sensors})
			if !s.PortsExact || s.FirstSeen.Before(p.Start) || !s.LastSeen.Before(p.End) || s.LastSeen.Before(s.FirstSeen) {
				t.Errorf("source %s: ports exact %v, first and last seen %s, %s", s.IP, s.PortsExact, s.FirstSeen, s.LastSeen)
			}
		}
		for _, s := range all[:SourcesTopN] {
			want = append(want, view{s.ip, s.truth.Packets, uint64(len(ports[s.ip])), s.truth.Tags, s.truth.Sensors})
		}
		if diff := gocmp.Diff(got, want); diff != "" {
			t.Errorf("notable sources (-report, +truth):\n%s", diff)
		}
		if d.Devices.Identified != 0 || len(d.Devices.Models) != 0 || d.Devices.Sources == 0 {
			t.Errorf("devices %+v: want the period's sources, none identified (no banner was imported)", d.Devices)
		}
	})
}

// fleetPorts sums the sensors' packets per port.
func fleetPorts(tr *simulate.Truth) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range tr.Sensors {
		for port, n := range s.Ports {
			out[port] += n
		}
	}
	return out
}

// rankedPorts ranks ports as the store does: packets descending, then
// label ascending.
func rankedPorts(counts map[string]uint64) []portcount.Count {
	var out []portcount.Count
	for port, n := range counts {
		out = append(out, portcount.Count{Port: port, Packets: n})
	}
	portcount.Sort(out)
	return out
}

func rankOf(ranked []portcount.Count, port string) int {
	return slices.IndexFunc(ranked, func(c portcount.Count) bool { return c.Port == port }) + 1
}

// comparisonFromTruth works section 5 out from the truth: every sensor of
// the fixture has packets.
func comparisonFromTruth(tr *simulate.Truth, sensors []string) ([]CommonPort, []SinglePort) {
	top := map[string][]portcount.Count{}
	for _, s := range sensors {
		top[s] = rankedPorts(tr.Sensors[s].Ports)[:SensorTopN]
	}
	need := int(math.Ceil(CommonShare * float64(len(sensors))))
	var common []CommonPort
	var single []SinglePort
	seen := map[string]bool{}
	for _, s := range sensors {
		for _, c := range top[s] {
			if seen[c.Port] {
				continue
			}
			seen[c.Port] = true
			cp := CommonPort{Port: c.Port, BestRank: math.MaxInt}
			for _, other := range sensors {
				if r := rankOf(top[other], c.Port); r > 0 {
					cp.In = append(cp.In, other)
					cp.BestRank, cp.WorstRank = min(cp.BestRank, r), max(cp.WorstRank, r)
				} else {
					cp.Missing = append(cp.Missing, other)
				}
			}
			if len(cp.In) >= need {
				common = append(common, cp)
			}
		}
	}
	slices.SortStableFunc(common, func(a, b CommonPort) int {
		return cmp.Or(cmp.Compare(len(b.In), len(a.In)), cmp.Compare(a.BestRank+a.WorstRank, b.BestRank+b.WorstRank), cmp.Compare(a.Port, b.Port))
	})
	for _, s := range sensors {
		for i, c := range top[s] {
			in := 0
			for _, other := range sensors {
				if rankOf(top[other], c.Port) > 0 {
					in++
				}
			}
			if in != 1 {
				continue
			}
			sp := SinglePort{Port: c.Port, Sensor: s, Rank: i + 1, Packets: c.Packets, Share: float64(c.Packets) / float64(tr.Sensors[s].Packets)}
			for _, other := range sensors {
				if other == s {
					continue
				}
				if share := float64(tr.Sensors[other].Ports[c.Port]) / float64(tr.Sensors[other].Packets); share > sp.OtherShare {
					sp.OtherSensor, sp.OtherShare = other, share
				}
			}
			if sp.OtherShare == 0 || sp.Share/sp.OtherShare >= SingleRatio {
				single = append(single, sp)
			}
		}
	}
	return common, single
}

// TestOriginsMatchGeography checks section 7 of the 2024Q3 report against
// the simulated packets placed by the simulator's geography (the fixture's
// database is built from it): the fleet's countries and networks, each
// group's countries, and the research scanners' packets and sources.
func TestOriginsMatchGeography(t *testing.T) {
	t.Parallel()
	st, q2, q3 := theFixture(t)
	p, _ := period.Parse("2024Q3")
	d, err := Build(t.Context(), st, p, generated)
	if err != nil {
		t.Fatal(err)
	}
	if d.Origins == nil {
		t.Fatal("section 7 is empty although the fixture was enriched")
	}
	group := map[string]string{}
	for _, s := range q3.cfg.Fleet.Sensors {
		group[s.Name] = s.Group
	}
	research := map[netip.Prefix]bool{}
	for _, n := range simulate.ResearchNetworks() {
		research[n] = true
	}
	type count struct{ packets, sources uint64 }
	tally := func(pkts []packet, key func(pk packet, o origins.Origin) string) map[string]count {
		out, seen := map[string]count{}, map[string]bool{}
		for _, pk := range pkts {
			k := key(pk, simulate.OriginOf(netip.MustParseAddr(pk.src)))
			if k == "" {
				continue
			}
			c := out[k]
			c.packets++
			if !seen[k+" "+pk.src] {
				seen[k+" "+pk.src] = true
				c.sources++
			}
			out[k] = c
		}
		return out
	}
	cur, prev := modelPackets(t, q3.cfg), modelPackets(t, q2.cfg)
	country := func(_ packet, o origins.Origin) string { return cmp.Or(o.Country, "unknown") }
	asn := func(_ packet, o origins.Origin) string {
		if o.ASN == 0 {
			return "unknown"
		}
		return "AS" + strconv.FormatUint(uint64(o.ASN), 10)
	}
	check := func(what string, got []store.RankedOrigin, want, before map[string]count, n int) {
		t.Helper()
		if len(got) != min(n, len(want)) {
			t.Errorf("%s: %d rows, want %d", what, len(got), min(n, len(want)))
		}
		for i, o := range got {
			w := want[o.Key]
			if o.Packets != w.packets || o.Sources != w.sources || o.PreviousPackets != before[o.Key].packets {
				t.Errorf("%s %s: %d packets, %d sources, %d before; geography %d, %d, %d", what, o.Key, o.Packets, o.Sources, o.PreviousPackets, w.packets, w.sources, before[o.Key].packets)
			}
			if i > 0 && got[i-1].Packets < o.Packets {
				t.Errorf("%s: not ranked by packets", what)
			}
		}
		for k, w := range want { // nothing above the last row was left out
			if last := got[len(got)-1]; w.packets > last.Packets && !slices.ContainsFunc(got, func(o store.RankedOrigin) bool { return o.Key == k }) {
				t.Errorf("%s: %s (%d packets) is missing", what, k, w.packets)
			}
		}
	}
	check("countries", d.Origins.Countries, tally(cur, country), tally(prev, country), OriginsTopN)
	check("networks", d.Origins.ASNs, tally(cur, asn), tally(prev, asn), OriginsTopN)
	if len(d.Origins.Groups) != 2 {
		t.Fatalf("%d groups in section 7, want 2", len(d.Origins.Groups))
	}
	for _, g := range d.Origins.Groups {
		inGroup := func(pk packet, o origins.Origin) string {
			if group[pk.sensor] != g.Group {
				return ""
			}
			return cmp.Or(o.Country, "unknown")
		}
		check("countries of "+g.Group, g.Countries, tally(cur, inGroup), tally(prev, inGroup), GroupOriginsTopN)
	}
	listed := tally(cur, func(pk packet, _ origins.Origin) string {
		a := netip.MustParseAddr(pk.src)
		for n := range research {
			if n.Contains(a) {
				return "sim-research"
			}
		}
		return ""
	})["sim-research"]
	if r := d.Origins.Research; r.Packets != listed.packets || r.Sources != listed.sources || r.AllPackets != uint64(len(cur)) || listed.packets == 0 {
		t.Errorf("research scanners: %d packets, %d sources of %d; geography %d, %d of %d", r.Packets, r.Sources, r.AllPackets, listed.packets, listed.sources, len(cur))
	}
}
