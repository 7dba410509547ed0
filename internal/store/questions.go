package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// Questions are what a monitoring team asks of the store, for any period
// (see package period). Every question has a conformance test in
// store/storetest and a `nightjar query` subcommand.
//
// Groups are those of the sensors as stored now, listed in the order in
// which they first appear among the sensors ordered by ID; a group's
// "average packets per sensor" divides by all of its sensors, quiet ones
// included (TSUBAME's measure, and `nightjar analyze`'s).
type Questions interface {
	// TopPorts ranks, for each sensor, the destination ports of a period,
	// with each port's rank in the previous period of the same kind.
	TopPorts(ctx context.Context, q TopPortsQuery) ([]SensorPorts, error)
	// GroupTopPorts ranks the destination ports of groups of sensors and of
	// the whole fleet by average packets per sensor, with each port's rank
	// in the previous period of the same kind.
	GroupTopPorts(ctx context.Context, q GroupTopPortsQuery) (GroupTopPorts, error)
	// GroupAverages gives each group's average packets per sensor for every
	// month and every day of a period.
	GroupAverages(ctx context.Context, q GroupAveragesQuery) ([]GroupAverages, error)
	// PortSeries gives packets per port over time, per sensor, per group or
	// for the whole fleet, with every bucket of the period (zero-filled).
	PortSeries(ctx context.Context, q PortSeriesQuery) (PortSeries, error)
	// TopSources ranks the source addresses of a period by packets.
	TopSources(ctx context.Context, q TopSourcesQuery) ([]Source, error)
	// PortSources ranks the destination ports of a period by packets, with
	// their distinct sources and the share of their packets tagged mirai.
	PortSources(ctx context.Context, q PortSourcesQuery) ([]PortSources, error)
	// TagCounts counts the packets of a period per fingerprint tag, for the
	// fleet and per sensor.
	TagCounts(ctx context.Context, q TagCountsQuery) (TagCounts, error)
	// SourceHistory gives one source address's packets, distinct ports,
	// sensors reached and tags per UTC day of a period, with its totals
	// (sources.go).
	SourceHistory(ctx context.Context, q SourceHistoryQuery) (SourceHistory, error)
	// SourceCounts counts the distinct source addresses of a period, in
	// all and per fingerprint tag (counts.go).
	SourceCounts(ctx context.Context, q SourceCountsQuery) (SourceCounts, error)
	// MiraiPorts ranks the ports of a period by packets tagged mirai, with
	// their share of the port's packets and the Mirai-tagged sources that
	// sent to the port (counts.go).
	MiraiPorts(ctx context.Context, q MiraiPortsQuery) ([]MiraiPort, error)
	// Origins ranks the countries or networks (ASes) of a period's
	// sources, for the fleet, each group or each sensor, with each one's
	// place in the previous period (origins.go).
	Origins(ctx context.Context, q OriginsQuery) (Origins, error)
	// OriginPorts ranks the ports the sources of one origin (a country,
	// an AS, a prefix, a scanner list) sent to in a period, by sources.
	OriginPorts(ctx context.Context, q OriginPortsQuery) ([]OriginPort, error)
	// Events gives the packets of the sources of some networks per hour,
	// source, destination and port (events.go), from the raw records:
	// the period's must be retained.
	Events(ctx context.Context, q EventsQuery) ([]Event, error)
	// DeviceQuestions: the device models behind the sources (devices.go).
	DeviceQuestions
	// ActivityQuestions: the hourly counts the alert detectors read
	// (alerts.go).
	ActivityQuestions
}

// TopPortsQuery asks for the top N ports per sensor of a period.
type TopPortsQuery struct {
	Period period.Period
	N      int
	// Sensors limits the answer to these sensor names; empty means all.
	Sensors []string
}

// SensorPorts is one sensor's column of the side-by-side table.
type SensorPorts struct {
	Sensor  string       `json:"sensor"`
	Group   string       `json:"group"`
	Packets uint64       `json:"packets"`
	Ports   []RankedPort `json:"top_ports"`
}

// RankedPort is a port's place in a period. PreviousRank is its rank among
// all the ports of the previous period, 0 when it had no packets then.
// Ranks order by packets descending, then label ascending.
type RankedPort struct {
	Rank         int    `json:"rank"`
	Port         string `json:"port"`
	Packets      uint64 `json:"packets"`
	PreviousRank int    `json:"previous_rank"`
}

// GroupTopPortsQuery asks for the top N ports of groups and of the fleet.
type GroupTopPortsQuery struct {
	Period period.Period
	N      int
	// Groups limits the answer to these groups; empty means all. The
	// fleet is always answered.
	Groups []string
}

// GroupTopPorts answers GroupTopPortsQuery.
type GroupTopPorts struct {
	Groups []GroupPorts `json:"groups"`
	// Fleet is every sensor as one group, named "".
	Fleet GroupPorts `json:"fleet"`
}

// GroupPorts is one group's ranking. Ranking by average packets per sensor
// is ranking by packets: every port of a group has the same divisor.
type GroupPorts struct {
	Group               string          `json:"group"`
	Sensors             int             `json:"sensors"`
	Packets             uint64          `json:"packets"`
	AvgPacketsPerSensor float64         `json:"avg_packets_per_sensor"`
	Ports               []AvgRankedPort `json:"top_ports"`
}

// AvgRankedPort is a port's place in a group's ranking: Packets is the
// group's total, AvgPacketsPerSensor that divided by the group's sensors.
// PreviousRank is as in RankedPort.
type AvgRankedPort struct {
	Rank                int     `json:"rank"`
	Port                string  `json:"port"`
	Packets             uint64  `json:"packets"`
	AvgPacketsPerSensor float64 `json:"avg_packets_per_sensor"`
	PreviousRank        int     `json:"previous_rank"`
}

// GroupAveragesQuery asks for the monthly and daily averages of groups.
type GroupAveragesQuery struct {
	Period period.Period
	// Groups limits the answer to these groups; empty means all.
	Groups []string
}

// GroupAverages is one group's averages, shaped like a group of
// `nightjar analyze` (whose months are those of the capture; here they are
// the months of the period, each clipped to it, zeros included).
type GroupAverages struct {
	Name    string       `json:"name"`
	Sensors int          `json:"sensors"`
	Packets uint64       `json:"packets"`
	Months  []GroupMonth `json:"months"`
	Days    []GroupDay   `json:"days"`
}

// GroupMonth is the average packets per sensor of a group in one UTC month
// ("2024-07").
type GroupMonth struct {
	Month               string  `json:"month"`
	AvgPacketsPerSensor float64 `json:"avg_packets_per_sensor"`
}

// GroupDay is the average packets per sensor of a group in one UTC day
// ("2024-07-15").
type GroupDay struct {
	Day                 string  `json:"day"`
	AvgPacketsPerSensor float64 `json:"avg_packets_per_sensor"`
}

// Resolution is the width of the buckets of a time series.
type Resolution uint8

// The resolutions.
const (
	Hour Resolution = iota + 1
	Day
	Month
)

// Resolutions names the resolutions ParseResolution accepts.
var Resolutions = []string{"hour", "day", "month"}

func (r Resolution) String() string {
	if r >= Hour && r <= Month {
		return Resolutions[r-1]
	}
	return fmt.Sprintf("resolution(%d)", uint8(r))
}

// ParseResolution reads "hour", "day" or "month".
func ParseResolution(s string) (Resolution, error) {
	if i := slices.Index(Resolutions, strings.ToLower(strings.TrimSpace(s))); i >= 0 {
		return Resolution(i + 1), nil
	}
	return 0, fmt.Errorf("unknown resolution %q (want one of %s)", s, strings.Join(Resolutions, ", "))
}

// MaxBuckets bounds the length of a time series (eleven years of hours).
const MaxBuckets = 100_000

// Buckets splits p into UTC hours, days or months, the first and last
// clipped to p.
func Buckets(p period.Period, r Resolution) ([]period.Period, error) {
	var next func(time.Time) time.Time
	start := p.Start.UTC()
	switch r {
	case Hour:
		start = start.Truncate(time.Hour)
		next = func(t time.Time) time.Time { return t.Add(time.Hour) }
	case Day:
		start = period.Of(period.Day, start).Start
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case Month:
		start = period.Of(period.Month, start).Start
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	default:
		return nil, fmt.Errorf("unknown resolution %d (want one of %s)", r, strings.Join(Resolutions, ", "))
	}
	var out []period.Period
	for t := start; t.Before(p.End); t = next(t) {
		if len(out) == MaxBuckets {
			return nil, fmt.Errorf("%s at %s resolution has over %d buckets: choose a coarser resolution", p, r, MaxBuckets)
		}
		b := period.Period{Start: t, End: next(t), Kind: period.Custom}
		if b.Start.Before(p.Start) {
			b.Start = p.Start
		}
		if b.End.After(p.End) {
			b.End = p.End
		}
		out = append(out, b)
	}
	return out, nil
}

// BucketOf returns the index of the bucket that contains t, or -1.
func BucketOf(buckets []period.Period, t time.Time) int {
	i, found := slices.BinarySearchFunc(buckets, t, func(b period.Period, t time.Time) int { return b.Start.Compare(t) })
	if !found {
		i--
	}
	if i < 0 || !buckets[i].Contains(t) {
		return -1
	}
	return i
}

// By says how PortSeries splits its answer.
type By uint8

// The splits of PortSeries.
const (
	BySensor By = iota + 1
	ByGroup
	ByFleet
)

// Bys names the splits ParseBy accepts.
var Bys = []string{"sensor", "group", "fleet"}

func (b By) String() string {
	if b >= BySensor && b <= ByFleet {
		return Bys[b-1]
	}
	return fmt.Sprintf("by(%d)", uint8(b))
}

// ParseBy reads "sensor", "group" or "fleet".
func ParseBy(s string) (By, error) {
	if i := slices.Index(Bys, strings.ToLower(strings.TrimSpace(s))); i >= 0 {
		return By(i + 1), nil
	}
	return 0, fmt.Errorf("unknown split %q (want one of %s)", s, strings.Join(Bys, ", "))
}

// PortSeriesQuery asks for packets per port over time.
type PortSeriesQuery struct {
	Period     period.Period
	Resolution Resolution
	// Ports are port labels ("23/TCP", "ICMP"; see portcount.ParseLabel);
	// at least one.
	Ports []string
	By    By
	// Sensors (By sensor) or Groups (By group) limit the answer; empty
	// means all.
	Sensors, Groups []string
}

// PortSeries answers PortSeriesQuery. Series[i].Packets[j] counts the
// packets of bucket j, which starts at Buckets[j].
type PortSeries struct {
	Resolution string      `json:"resolution"`
	Buckets    []time.Time `json:"buckets"`
	Series     []Series    `json:"series"`
}

// Series is the packets to one port of one sensor, one group (all its
// sensors' packets, not an average) or the fleet, per bucket. Series come
// per sensor or group in their order, then per port in the query's order.
type Series struct {
	Sensor  string   `json:"sensor,omitempty"`
	Group   string   `json:"group,omitempty"` // the sensor's group when By sensor
	Port    string   `json:"port"`
	Packets []uint64 `json:"packets"`
}

// TopSourcesQuery asks for the top N source addresses of a period.
type TopSourcesQuery struct {
	Period period.Period
	N      int
	// Sensors limits the answer to the packets these sensors saw; empty
	// means all.
	Sensors []string
	// Origin limits the answer to the sources of a country, an AS, a
	// prefix or a scanner list.
	Origin OriginFilter
	// Verdict limits it to the sources of one verdict (verdict.go); ""
	// takes every source.
	Verdict string
	// Port limits the answer to the packets to one port ("23/TCP"):
	// each source's packets, ports (1), sensors, tags and times are those
	// of its packets to it. It is answered from the raw records, so the
	// period's must be retained.
	Port string
}

// Source is one of the top sources, shaped like a source of `nightjar
// analyze`. Sources rank by packets descending, then address ascending
// (IPv4 before IPv6).
//
// Ports counts the distinct destination ports (portcount slots) the source
// sent to. It is exact when PortsExact; otherwise it is a lower bound. (The
// DuckDB backend keeps each source's ports per day in its rollups, so its
// counts are exact, also after the raw records are pruned.)
type Source struct {
	IP         string    `json:"ip"`
	Packets    uint64    `json:"packets"`
	Ports      uint64    `json:"ports"`
	PortsExact bool      `json:"ports_exact"`
	Tags       []string  `json:"tags"`    // tag names, in record.AllTags order; empty, not null
	Sensors    int       `json:"sensors"` // sensors reached
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	// SourceOrigin is the origin of its last packet of the period.
	SourceOrigin
	// Verdict is benign, malicious or unknown (verdict.go), and Reason
	// why ("" for unknown).
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Device is the device model behind the address, nil when none is
	// attributed (devices.go).
	Device *DeviceLabel `json:"device"`
}

// PortSourcesQuery asks for the top N ports of a period with their sources.
type PortSourcesQuery struct {
	Period period.Period
	N      int
	// Sensors limits the answer to the packets these sensors saw; empty
	// means all.
	Sensors []string
}

// PortSources is a port's packets, its distinct source addresses over the
// whole period (counted once however many hours and sensors they reached)
// and its packets tagged mirai. Sources is exact when SourcesExact: the
// raw records of the port in the period are all retained; otherwise it is
// a lower bound (the largest of the hourly counts and the distinct count of
// the records still retained). Ports rank by packets descending, then
// label ascending.
type PortSources struct {
	Rank         int     `json:"rank"`
	Port         string  `json:"port"`
	Packets      uint64  `json:"packets"`
	Sources      uint64  `json:"sources"`
	SourcesExact bool    `json:"sources_exact"`
	Mirai        uint64  `json:"mirai_packets"`
	MiraiShare   float64 `json:"mirai_share"` // Mirai / Packets
}

// TagCountsQuery asks for the packets per tag of a period.
type TagCountsQuery struct {
	Period period.Period
	// Sensors limits the answer to these sensors; empty means all.
	Sensors []string
}

// TagCounts counts packets per tag name (every tag of record.AllTags,
// zeros included), shaped like the "tags" of `nightjar analyze`. A packet
// with several tags counts once for each.
type TagCounts struct {
	Tags    map[string]uint64 `json:"tags"`
	Sensors []SensorTags      `json:"sensors"`
}

// SensorTags is one sensor's packets per tag.
type SensorTags struct {
	Sensor string            `json:"sensor"`
	Group  string            `json:"group"`
	Tags   map[string]uint64 `json:"tags"`
}
