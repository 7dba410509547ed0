package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Store is what a report reads: the store's questions and its sensors.
type Store interface {
	store.Questions
	Sensors(ctx context.Context) ([]store.Sensor, error)
}

// Origins is section 7: where the period's sources come from, as the
// GeoIP/ASN databases and the research-scanner lists placed them when
// their packets arrived.
type Origins struct {
	// Countries and ASNs are the fleet's top OriginsTopN, with their
	// ranks and change against the previous period.
	Countries, ASNs []store.RankedOrigin
	// Groups are each group's top GroupOriginsTopN countries: domestic
	// and overseas sensors see different origins.
	Groups []GroupOrigins
	// Research is what the sources on research-scanner lists sent.
	Research Research
}

// GroupOrigins is one group's top countries.
type GroupOrigins struct {
	Group            string
	Packets, Sources uint64
	Countries        []store.RankedOrigin
}

// Research is the packets and distinct sources of the sources on
// research-scanner lists, of All (the fleet's), and its top lists.
type Research struct {
	Packets, Sources       uint64
	AllPackets, AllSources uint64
	Lists                  []store.RankedOrigin
}

// The sizes and thresholds of the report's sections.
const (
	// FleetTopN ports of the fleet (section 2).
	FleetTopN = 5
	// SensorTopN ports per sensor (sections 4 and 5).
	SensorTopN = 10
	// CommonShare: a port is in "almost every" sensor's top 10 when it is
	// in the top 10 of at least this share of the sensors with packets,
	// rounded up (5 of 6, 4 of 5, 3 of 3, 2 of 2).
	CommonShare = 0.8
	// SingleRatio: a port is "prominent at only one sensor" when it is in
	// the top 10 of that sensor and of no other, and its share of that
	// sensor's packets is at least this many times its share of the
	// packets of every other sensor with packets.
	SingleRatio = 5.0
	// MinCompared is the number of sensors with packets section 5 needs.
	MinCompared = 2
	// MiraiTopN ports by Mirai-tagged packets (section 6).
	MiraiTopN = 10
	// SourcesTopN notable sources (section 8); OriginsTopN countries and
	// ASNs (section 7); DevicesTopN device models (section 8).
	SourcesTopN = 10
	OriginsTopN = 10
	DevicesTopN = 10
	// OldFirmwareYears: section 8 counts the sources whose firmware was
	// released before 1 January of the year this many years before the
	// period's ("firmware older than 2023" in a report of 2024).
	OldFirmwareYears = 1
	// GroupOriginsTopN countries per group (section 7).
	GroupOriginsTopN = 5
	// researchListsTopN bounds the research-scanner lists asked about
	// (the report shows them all; a telescope uses a few dozen).
	researchListsTopN = 1000
)

// Data is everything a report shows, computed from the store for a period
// and the previous period of the same kind; Write renders it.
type Data struct {
	Period, Previous period.Period
	Generated        time.Time

	Sensors []Sensor // in the store's order
	Groups  []Group  // in the store's order
	Summary Summary  // section 1

	FleetTop []PortChange          // section 2
	Monthly  []store.GroupAverages // section 3: each group's months (Days left out)

	SensorTop []store.SensorPorts // section 4: top SensorTopN of every sensor
	Common    []CommonPort        // section 5
	Single    []SinglePort
	// Compared is the number of sensors with packets that section 5
	// compares; below MinCompared it compares none.
	Compared int

	Mirai Mirai // section 6

	// Origins is section 7; nil when no source of the period has a
	// country, a network or a scanner label (no database was given).
	Origins *Origins

	Sources []store.Source // section 8: the top SourcesTopN sources
	// Devices is section 8's table of the device models behind the
	// period's sources, with how many of them were identified.
	Devices store.DeviceTable
}

// Sensor is a sensor and its packets in the period.
type Sensor struct {
	Name, Group, Country, Description string
	Packets                           uint64
}

// Group is a group of sensors (names in the store's order).
type Group struct {
	Name    string
	Sensors []string
	Packets uint64
}

// Summary holds section 1's figures for the period and the previous one.
type Summary struct {
	Sensors, Groups   int
	Current, Previous Totals
}

// Totals are a period's figures for the fleet.
type Totals struct {
	Packets uint64
	// Days is the length of the period in days; PerSensorPerDay is Packets
	// divided by every sensor of the fleet (quiet ones included) and by
	// Days.
	Days            float64
	PerSensorPerDay float64
	// Sources are the distinct source addresses; MiraiSources those with
	// the mirai tag.
	Sources, MiraiSources uint64
	// Active is the number of sensors with packets.
	Active int
}

// PortChange is a port of the fleet's top 5, with its average packets per
// sensor in the previous period (the same divisor: every sensor).
type PortChange struct {
	store.AvgRankedPort
	Share       float64 // of the fleet's packets
	PreviousAvg float64
}

// CommonPort is a port in the top 10 of almost every sensor.
type CommonPort struct {
	Port string
	// In are the sensors with it in their top 10; Missing the other
	// sensors with packets. BestRank and WorstRank are its ranks at In.
	In, Missing         []string
	BestRank, WorstRank int
}

// SinglePort is a port prominent at one sensor only: Share is its share of
// Sensor's packets, OtherShare the highest share of another sensor's
// packets (at OtherSensor; "" when no other sensor saw it).
type SinglePort struct {
	Port, Sensor string
	Rank         int
	Packets      uint64
	Share        float64
	OtherSensor  string
	OtherShare   float64
}

// Ratio is Share / OtherShare (+Inf when no other sensor saw the port).
func (s SinglePort) Ratio() float64 {
	if s.OtherShare == 0 {
		return math.Inf(1)
	}
	return s.Share / s.OtherShare
}

// Mirai is section 6: the packets with the Mirai fingerprint and their
// sources.
type Mirai struct {
	Packets uint64  // tagged mirai
	Share   float64 // of all packets
	// Sources is Summary.Current.MiraiSources; SourceShare its share of all
	// sources.
	Sources     uint64
	SourceShare float64
	Ports       []store.MiraiPort // the top MiraiTopN
}

// Build asks the store everything the report of p shows. now is the
// report's generation time.
func Build(ctx context.Context, st Store, p period.Period, now time.Time) (*Data, error) {
	d := &Data{Period: p, Previous: p.Previous(), Generated: now.UTC()}
	sensors, err := st.Sensors(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: sensors: %w", err)
	}
	if err := d.buildSummary(ctx, st, sensors); err != nil {
		return nil, fmt.Errorf("report: summary: %w", err)
	}
	if err := d.buildFleetTop(ctx, st); err != nil {
		return nil, fmt.Errorf("report: top ports of the fleet: %w", err)
	}
	avgs, err := st.GroupAverages(ctx, store.GroupAveragesQuery{Period: p})
	if err != nil {
		return nil, fmt.Errorf("report: monthly averages: %w", err)
	}
	for i := range avgs {
		avgs[i].Days = nil
	}
	d.Monthly = avgs
	if err := d.buildComparison(ctx, st); err != nil {
		return nil, fmt.Errorf("report: sensors compared: %w", err)
	}
	if err := d.buildMirai(ctx, st); err != nil {
		return nil, fmt.Errorf("report: mirai: %w", err)
	}
	if d.Sources, err = st.TopSources(ctx, store.TopSourcesQuery{Period: p, N: SourcesTopN}); err != nil {
		return nil, fmt.Errorf("report: top sources: %w", err)
	}
	if d.Origins, err = buildOrigins(ctx, st, p); err != nil {
		return nil, fmt.Errorf("report: source origins: %w", err)
	}
	if d.Devices, err = st.Devices(ctx, store.DevicesQuery{Period: p, N: DevicesTopN}); err != nil {
		return nil, fmt.Errorf("report: device models: %w", err)
	}
	return d, nil
}

// buildSummary fills the sensors, groups, summary and section 4 (the top
// ports of each sensor, which also give each sensor's packets).
func (d *Data) buildSummary(ctx context.Context, st Store, sensors []store.Sensor) error {
	top, err := st.TopPorts(ctx, store.TopPortsQuery{Period: d.Period, N: SensorTopN})
	if err != nil {
		return err
	}
	d.SensorTop = top
	prev, err := st.TopPorts(ctx, store.TopPortsQuery{Period: d.Previous, N: 1})
	if err != nil {
		return err
	}
	packets := map[string]uint64{}
	for _, sp := range top {
		packets[sp.Sensor] = sp.Packets
	}
	for _, sen := range sensors {
		d.Sensors = append(d.Sensors, Sensor{Name: sen.Name, Group: sen.Group, Country: sen.Country, Description: sen.Description, Packets: packets[sen.Name]})
		i := slices.IndexFunc(d.Groups, func(g Group) bool { return g.Name == sen.Group })
		if i < 0 {
			i = len(d.Groups)
			d.Groups = append(d.Groups, Group{Name: sen.Group})
		}
		d.Groups[i].Sensors = append(d.Groups[i].Sensors, sen.Name)
		d.Groups[i].Packets += packets[sen.Name]
	}
	d.Summary.Sensors, d.Summary.Groups = len(d.Sensors), len(d.Groups)
	for _, per := range []struct {
		p     period.Period
		ports []store.SensorPorts
		out   *Totals
	}{{d.Period, top, &d.Summary.Current}, {d.Previous, prev, &d.Summary.Previous}} {
		t := per.out
		for _, sp := range per.ports {
			t.Packets += sp.Packets
			if sp.Packets > 0 {
				t.Active++
			}
		}
		t.Days = Days(per.p)
		if n := len(sensors); n > 0 {
			t.PerSensorPerDay = float64(t.Packets) / float64(n) / t.Days
		}
		counts, err := st.SourceCounts(ctx, store.SourceCountsQuery{Period: per.p})
		if err != nil {
			return err
		}
		t.Sources, t.MiraiSources = counts.Sources, counts.Tags["mirai"]
	}
	return nil
}

// buildFleetTop fills section 2: the fleet's top ports, and their average
// packets per sensor in the previous period.
func (d *Data) buildFleetTop(ctx context.Context, st Store) error {
	gt, err := st.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: d.Period, N: FleetTopN})
	if err != nil {
		return err
	}
	fleet := gt.Fleet
	if len(fleet.Ports) == 0 {
		return nil
	}
	ports := make([]string, len(fleet.Ports))
	for i, rp := range fleet.Ports {
		ports[i] = rp.Port
	}
	prev, err := portTotals(ctx, st, d.Previous, ports, store.ByFleet)
	if err != nil {
		return err
	}
	for _, rp := range fleet.Ports {
		pc := PortChange{AvgRankedPort: rp, Share: float64(rp.Packets) / float64(fleet.Packets)}
		if fleet.Sensors > 0 {
			pc.PreviousAvg = float64(prev[owned{"", rp.Port}]) / float64(fleet.Sensors)
		}
		d.FleetTop = append(d.FleetTop, pc)
	}
	return nil
}

// owned is a port of a sensor (or of the fleet: "").
type owned struct{ owner, port string }

// portTotals returns the packets of ports in p per sensor (by BySensor) or
// for the fleet (ByFleet, owner ""), from the store's port series by month.
func portTotals(ctx context.Context, st Store, p period.Period, ports []string, by store.By) (map[owned]uint64, error) {
	ps, err := st.PortSeries(ctx, store.PortSeriesQuery{Period: p, Resolution: store.Month, Ports: ports, By: by})
	if err != nil {
		return nil, err
	}
	out := map[owned]uint64{}
	for _, s := range ps.Series {
		for _, n := range s.Packets {
			out[owned{s.Sensor, s.Port}] += n
		}
	}
	return out, nil
}

// buildComparison fills section 5 from section 4's rankings: the ports in
// the top 10 of almost every sensor with packets, and those prominent at
// only one (see CommonShare and SingleRatio).
func (d *Data) buildComparison(ctx context.Context, st Store) error {
	var active []store.SensorPorts
	for _, sp := range d.SensorTop {
		if sp.Packets > 0 {
			active = append(active, sp)
		}
	}
	d.Compared = len(active)
	if len(active) < MinCompared {
		return nil
	}
	type place struct {
		sensor string
		rank   int
	}
	places := map[string][]place{}
	var order []string // ports in order of first appearance
	for _, sp := range active {
		for _, rp := range sp.Ports {
			if places[rp.Port] == nil {
				order = append(order, rp.Port)
			}
			places[rp.Port] = append(places[rp.Port], place{sp.Sensor, rp.Rank})
		}
	}
	need := int(math.Ceil(CommonShare * float64(len(active))))
	var singles []string
	for _, port := range order {
		pl := places[port]
		switch {
		case len(pl) >= need:
			cp := CommonPort{Port: port, BestRank: pl[0].rank, WorstRank: pl[0].rank}
			for _, sp := range active {
				i := slices.IndexFunc(pl, func(x place) bool { return x.sensor == sp.Sensor })
				if i < 0 {
					cp.Missing = append(cp.Missing, sp.Sensor)
					continue
				}
				cp.In = append(cp.In, sp.Sensor)
				cp.BestRank, cp.WorstRank = min(cp.BestRank, pl[i].rank), max(cp.WorstRank, pl[i].rank)
			}
			d.Common = append(d.Common, cp)
		case len(pl) == 1:
			singles = append(singles, port)
		}
	}
	slices.SortStableFunc(d.Common, func(a, b CommonPort) int {
		return cmp.Or(cmp.Compare(len(b.In), len(a.In)), cmp.Compare(a.BestRank+a.WorstRank, b.BestRank+b.WorstRank), cmp.Compare(a.Port, b.Port))
	})
	if len(singles) == 0 {
		return nil
	}
	// The candidates' packets at every sensor.
	counts, err := portTotals(ctx, st, d.Period, singles, store.BySensor)
	if err != nil {
		return err
	}
	for _, sp := range active {
		for _, rp := range sp.Ports {
			if !slices.Contains(singles, rp.Port) {
				continue
			}
			s := SinglePort{Port: rp.Port, Sensor: sp.Sensor, Rank: rp.Rank, Packets: rp.Packets, Share: float64(rp.Packets) / float64(sp.Packets)}
			for _, other := range active {
				if other.Sensor == sp.Sensor {
					continue
				}
				share := float64(counts[owned{other.Sensor, rp.Port}]) / float64(other.Packets)
				if share > s.OtherShare {
					s.OtherSensor, s.OtherShare = other.Sensor, share
				}
			}
			if s.Ratio() >= SingleRatio {
				d.Single = append(d.Single, s)
			}
		}
	}
	return nil
}

// buildMirai fills section 6.
func (d *Data) buildMirai(ctx context.Context, st Store) error {
	tags, err := st.TagCounts(ctx, store.TagCountsQuery{Period: d.Period})
	if err != nil {
		return err
	}
	m := &d.Mirai
	m.Packets = tags.Tags["mirai"]
	cur := d.Summary.Current
	if cur.Packets > 0 {
		m.Share = float64(m.Packets) / float64(cur.Packets)
	}
	m.Sources = cur.MiraiSources
	if cur.Sources > 0 {
		m.SourceShare = float64(m.Sources) / float64(cur.Sources)
	}
	m.Ports, err = st.MiraiPorts(ctx, store.MiraiPortsQuery{Period: d.Period, N: MiraiTopN})
	return err
}

// buildOrigins asks section 7's questions; nil when the sources of p
// have no origin (with Research.AllPackets 0 when p has no packet).
func buildOrigins(ctx context.Context, st Store, p period.Period) (*Origins, error) {
	ask := func(kind store.OriginKind, by store.By, n int) ([]store.OriginTable, error) {
		ans, err := st.Origins(ctx, store.OriginsQuery{Period: p, Kind: kind, N: n, By: by})
		return ans.Tables, err
	}
	countries, err := ask(store.ByCountry, store.ByFleet, OriginsTopN)
	if err != nil {
		return nil, err
	}
	asns, err := ask(store.ByAS, store.ByFleet, OriginsTopN)
	if err != nil {
		return nil, err
	}
	lists, err := ask(store.ByScanner, store.ByFleet, researchListsTopN)
	if err != nil {
		return nil, err
	}
	listed, err := st.SourceCounts(ctx, store.SourceCountsQuery{Period: p, Origin: store.OriginFilter{Scanner: "*"}})
	if err != nil {
		return nil, err
	}
	groups, err := ask(store.ByCountry, store.ByGroup, GroupOriginsTopN)
	if err != nil {
		return nil, err
	}
	o := &Origins{Countries: countries[0].Origins, ASNs: asns[0].Origins}
	// The lists' packets add up (a packet has one set of labels); a
	// source may have had two over the period, so the sources are
	// counted once, apart.
	o.Research = Research{AllPackets: lists[0].Packets, AllSources: lists[0].Sources, Sources: listed.Sources}
	for _, l := range lists[0].Origins {
		if l.Key == "none" {
			continue
		}
		o.Research.Packets += l.Packets
		o.Research.Lists = append(o.Research.Lists, l)
	}
	if o.Research.AllPackets > 0 && !placed(o.Countries) && !placed(o.ASNs) && len(o.Research.Lists) == 0 {
		return nil, nil // packets, but no origin: no database was given
	}
	for _, g := range groups {
		o.Groups = append(o.Groups, GroupOrigins{Group: g.Group, Packets: g.Packets, Sources: g.Sources, Countries: g.Origins})
	}
	return o, nil
}

// placed reports whether a database placed one of the origins.
func placed(origins []store.RankedOrigin) bool {
	return slices.ContainsFunc(origins, func(o store.RankedOrigin) bool { return o.Key != "unknown" })
}
