package api

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The answers of the API, shared with `nightjar query`: the same JSON and
// the same CSV (the methods CSV) from both. Each wraps a store answer with
// the period it is about ("2024Q3", or "2024-07-01T00:00:00Z/..." for a
// custom range) and, where ports are ranked against the previous period,
// that period.

// Table is an answer that is also a table (format=csv).
type Table interface {
	// CSV returns the header row and the rows.
	CSV() (header []string, rows [][]string)
}

// TopPortsResponse answers /api/v1/top-ports and `query top-ports`.
type TopPortsResponse struct {
	Period   string              `json:"period"`
	Previous string              `json:"previous_period"`
	Sensors  []store.SensorPorts `json:"sensors"`
}

// NewTopPortsResponse wraps the top ports of p.
func NewTopPortsResponse(p period.Period, ans []store.SensorPorts) TopPortsResponse {
	return TopPortsResponse{p.String(), p.Previous().String(), ans}
}

// CSV is a row per sensor and rank.
func (r TopPortsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, s := range r.Sensors {
		for _, rp := range s.Ports {
			rows = append(rows, []string{s.Sensor, s.Group, strconv.Itoa(rp.Rank), rp.Port, u64(rp.Packets), strconv.Itoa(rp.PreviousRank)})
		}
	}
	return []string{"sensor", "group", "rank", "port", "packets", "previous_rank"}, rows
}

// GroupTopPortsResponse answers /api/v1/group-top-ports and `query
// group-top-ports`.
type GroupTopPortsResponse struct {
	Period   string `json:"period"`
	Previous string `json:"previous_period"`
	store.GroupTopPorts
}

// NewGroupTopPortsResponse wraps the groups' top ports of p.
func NewGroupTopPortsResponse(p period.Period, ans store.GroupTopPorts) GroupTopPortsResponse {
	return GroupTopPortsResponse{p.String(), p.Previous().String(), ans}
}

// All returns the groups, then the fleet.
func (r GroupTopPortsResponse) All() []store.GroupPorts {
	return append(slices.Clone(r.Groups), r.Fleet)
}

// GroupName is the name of a group in tables: the fleet is "fleet".
func GroupName(g store.GroupPorts) string {
	if g.Group == "" {
		return "fleet"
	}
	return g.Group
}

// CSV is a row per group (then the fleet) and rank.
func (r GroupTopPortsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, g := range r.All() {
		for _, rp := range g.Ports {
			rows = append(rows, []string{GroupName(g), strconv.Itoa(g.Sensors), strconv.Itoa(rp.Rank), rp.Port, u64(rp.Packets), f64(rp.AvgPacketsPerSensor), strconv.Itoa(rp.PreviousRank)})
		}
	}
	return []string{"group", "sensors", "rank", "port", "packets", "avg_packets_per_sensor", "previous_rank"}, rows
}

// GroupAveragesResponse answers /api/v1/group-averages and `query
// group-averages`. The JSON holds the months and the days; the CSV the
// months, or the days when Daily.
type GroupAveragesResponse struct {
	Period string                `json:"period"`
	Groups []store.GroupAverages `json:"groups"`
	Daily  bool                  `json:"-"`
}

// NewGroupAveragesResponse wraps the group averages of p.
func NewGroupAveragesResponse(p period.Period, ans []store.GroupAverages, daily bool) GroupAveragesResponse {
	return GroupAveragesResponse{p.String(), ans, daily}
}

// Columns returns the labels of the months (or days) and each group's
// averages in them.
func (r GroupAveragesResponse) Columns() (labels []string, values [][]float64) {
	values = make([][]float64, len(r.Groups))
	for gi, g := range r.Groups {
		if r.Daily {
			for _, d := range g.Days {
				values[gi] = append(values[gi], d.AvgPacketsPerSensor)
			}
		} else {
			for _, m := range g.Months {
				values[gi] = append(values[gi], m.AvgPacketsPerSensor)
			}
		}
	}
	if len(r.Groups) > 0 && r.Daily {
		for _, d := range r.Groups[0].Days {
			labels = append(labels, d.Day)
		}
	} else if len(r.Groups) > 0 {
		for _, m := range r.Groups[0].Months {
			labels = append(labels, m.Month)
		}
	}
	return labels, values
}

// Unit is "day" when Daily, else "month".
func (r GroupAveragesResponse) Unit() string {
	if r.Daily {
		return "day"
	}
	return "month"
}

// CSV is a row per group and month (or day).
func (r GroupAveragesResponse) CSV() ([]string, [][]string) {
	labels, values := r.Columns()
	var rows [][]string
	for gi, g := range r.Groups {
		for i, v := range values[gi] {
			rows = append(rows, []string{g.Name, strconv.Itoa(g.Sensors), labels[i], f64(v)})
		}
	}
	return []string{"group", "sensors", r.Unit(), "avg_packets_per_sensor"}, rows
}

// PortSeriesResponse answers /api/v1/port-series and `query port-series`.
type PortSeriesResponse struct {
	Period string `json:"period"`
	By     string `json:"by"`
	store.PortSeries
}

// NewPortSeriesResponse wraps the port series of p.
func NewPortSeriesResponse(p period.Period, by store.By, ans store.PortSeries) PortSeriesResponse {
	return PortSeriesResponse{p.String(), by.String(), ans}
}

// Owner names the owner of a series: its sensor, its group, or "fleet".
func (r PortSeriesResponse) Owner(s store.Series) string {
	switch r.By {
	case store.BySensor.String():
		return s.Sensor
	case store.ByGroup.String():
		return s.Group
	}
	return "fleet"
}

// CSV is a row per series and bucket.
func (r PortSeriesResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, s := range r.Series {
		for i, n := range s.Packets {
			rows = append(rows, []string{rfc(r.Buckets[i]), r.By, r.Owner(s), s.Port, u64(n)})
		}
	}
	return []string{"start", "by", "name", "port", "packets"}, rows
}

// TopSourcesResponse answers /api/v1/top-sources and `query top-sources`.
type TopSourcesResponse struct {
	Period  string         `json:"period"`
	Sources []store.Source `json:"sources"`
}

// NewTopSourcesResponse wraps the top sources of p.
func NewTopSourcesResponse(p period.Period, ans []store.Source) TopSourcesResponse {
	return TopSourcesResponse{p.String(), ans}
}

// CSV is a row per source, tags separated by spaces.
func (r TopSourcesResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for i, s := range r.Sources {
		rows = append(rows, []string{strconv.Itoa(i + 1), s.IP, u64(s.Packets), u64(s.Ports), strconv.FormatBool(s.PortsExact),
			strconv.Itoa(s.Sensors), strings.Join(s.Tags, " "), rfc(s.FirstSeen), rfc(s.LastSeen),
			s.Country, asn(s.ASN), s.Org, s.Scanner, s.Verdict, s.Reason})
	}
	return []string{"rank", "ip", "packets", "ports", "ports_exact", "sensors", "tags", "first_seen", "last_seen",
		"country", "asn", "org", "scanner", "verdict", "reason"}, rows
}

// asn is an AS number for CSV: "" when unknown.
func asn(n uint32) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(n), 10)
}

// OriginsResponse answers /api/v1/origins and `query origins`.
type OriginsResponse struct {
	Period string `json:"period"`
	store.Origins
}

// Name names the sensor, the group or "fleet" of a table.
func (r OriginsResponse) Name(t store.OriginTable) string {
	switch r.By {
	case store.BySensor.String():
		return t.Sensor
	case store.ByGroup.String():
		return t.Group
	}
	return "fleet"
}

// CSV is a row per table and origin; change is empty when the origin
// sent nothing in the previous period.
func (r OriginsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, t := range r.Tables {
		for _, o := range t.Origins {
			change := ""
			if o.Change != nil {
				change = f64(*o.Change)
			}
			rows = append(rows, []string{r.By, r.Name(t), strconv.Itoa(o.Rank), o.Key, o.Country, asn(o.ASN), o.Org,
				u64(o.Packets), u64(o.Sources), strconv.Itoa(o.PreviousRank), u64(o.PreviousPackets), change})
		}
	}
	return []string{"by", "name", "rank", "key", "country", "asn", "org", "packets", "sources", "previous_rank", "previous_packets", "change"}, rows
}

// OriginPortsResponse answers /api/v1/origin-ports and `query
// origin-ports`.
type OriginPortsResponse struct {
	Period string             `json:"period"`
	Origin string             `json:"origin"`
	Ports  []store.OriginPort `json:"ports"`
}

// CSV is a row per port.
func (r OriginPortsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, p := range r.Ports {
		rows = append(rows, []string{strconv.Itoa(p.Rank), p.Port, u64(p.Sources)})
	}
	return []string{"rank", "port", "sources"}, rows
}

// PortSourcesResponse answers /api/v1/port-sources and `query
// port-sources`.
type PortSourcesResponse struct {
	Period string              `json:"period"`
	Ports  []store.PortSources `json:"ports"`
}

// NewPortSourcesResponse wraps the ports and sources of p.
func NewPortSourcesResponse(p period.Period, ans []store.PortSources) PortSourcesResponse {
	return PortSourcesResponse{p.String(), ans}
}

// CSV is a row per port.
func (r PortSourcesResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, ps := range r.Ports {
		rows = append(rows, []string{strconv.Itoa(ps.Rank), ps.Port, u64(ps.Packets), u64(ps.Sources), strconv.FormatBool(ps.SourcesExact), u64(ps.Mirai), f64(ps.MiraiShare)})
	}
	return []string{"rank", "port", "packets", "sources", "sources_exact", "mirai_packets", "mirai_share"}, rows
}

// TagsResponse answers /api/v1/tags and `query tags`.
type TagsResponse struct {
	Period string `json:"period"`
	store.TagCounts
}

// NewTagsResponse wraps the tag counts of p.
func NewTagsResponse(p period.Period, ans store.TagCounts) TagsResponse {
	return TagsResponse{p.String(), ans}
}

// TagNames are the names of every tag, in record.AllTags order.
func TagNames() []string {
	var tags []string
	for _, t := range record.AllTags() {
		tags = append(tags, t.String())
	}
	return tags
}

// CSV is a row per sensor and tag (zeros included).
func (r TagsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, s := range r.Sensors {
		for _, tag := range TagNames() {
			rows = append(rows, []string{s.Sensor, s.Group, tag, u64(s.Tags[tag])})
		}
	}
	return []string{"sensor", "group", "tag", "packets"}, rows
}

// SensorsResponse answers /api/v1/sensors and `query sensors`.
type SensorsResponse struct {
	Sensors []Sensor `json:"sensors"`
}

// Sensor is a sensor with the times of its first and last stored packets
// (null when it has none) and its latest health report (null when it never
// sent one: a sensor only imported from captures).
type Sensor struct {
	Name        string        `json:"name"`
	Group       string        `json:"group"`
	Country     string        `json:"country"`
	Description string        `json:"description"`
	Addresses   []string      `json:"addresses"`
	FirstPacket *time.Time    `json:"first_packet"`
	LastPacket  *time.Time    `json:"last_packet"`
	Health      *store.Health `json:"health"`
}

// NewSensorsResponse joins the sensors (in ID order) with their health.
func NewSensorsResponse(sensors []store.Sensor, health []store.Health) SensorsResponse {
	byID := map[int32]*store.Health{}
	for i := range health {
		byID[health[i].SensorID] = &health[i]
	}
	out := SensorsResponse{Sensors: make([]Sensor, len(sensors))}
	for i, s := range sensors {
		addrs := s.Addresses
		if addrs == nil {
			addrs = []string{}
		}
		out.Sensors[i] = Sensor{Name: s.Name, Group: s.Group, Country: s.Country, Description: s.Description, Addresses: addrs, Health: byID[s.ID]}
		if !s.FirstSeen.IsZero() {
			first, last := s.FirstSeen, s.LastSeen
			out.Sensors[i].FirstPacket, out.Sensors[i].LastPacket = &first, &last
		}
	}
	return out
}

// Cells returns the sensor's row of a table (the columns of CSV): last_report is "never", an
// RFC 3339 time when now is zero, or else how long before now.
func (s Sensor) Cells(now time.Time) []string {
	out := []string{s.Name, s.Group, s.Country, strings.Join(s.Addresses, " ")}
	h := s.Health
	if h == nil {
		return append(out, "never", "", "", "", "", "", "", "", "", "", "")
	}
	last := rfc(h.Received)
	if !now.IsZero() {
		last = now.Sub(h.Received).Round(time.Second).String() + " ago"
	}
	return append(out, last, h.Version, h.Uptime.Round(time.Second).String(), h.Lag.Round(time.Millisecond).String(),
		u64(h.PacketsSeen), u64(h.PacketsIgnored), u64(h.PacketsExcluded), u64(h.PacketsSkipped),
		u64(h.KernelDrops), u64(h.SpoolBatches), u64(h.DroppedRecords))
}

// CSV is a row per sensor.
func (r SensorsResponse) CSV() ([]string, [][]string) {
	rows := make([][]string, len(r.Sensors))
	for i, s := range r.Sensors {
		rows[i] = s.Cells(time.Time{})
	}
	return []string{"sensor", "group", "country", "addresses", "last_report", "version", "uptime", "lag",
		"packets_seen", "ignored", "excluded", "undecodable", "kernel_drops", "spool_batches", "dropped_records"}, rows
}

// GroupsResponse answers /api/v1/groups: the groups in the order in which
// they first appear among the sensors (ordered by ID), with the names of
// their sensors in that order.
type GroupsResponse struct {
	Groups []Group `json:"groups"`
}

// Group is a group and its sensors.
type Group struct {
	Name    string   `json:"name"`
	Sensors []string `json:"sensors"`
}

// NewGroupsResponse groups sensors (in ID order).
func NewGroupsResponse(sensors []store.Sensor) GroupsResponse {
	out := GroupsResponse{Groups: []Group{}}
	for _, s := range sensors {
		i := slices.IndexFunc(out.Groups, func(g Group) bool { return g.Name == s.Group })
		if i < 0 {
			i = len(out.Groups)
			out.Groups = append(out.Groups, Group{Name: s.Group})
		}
		out.Groups[i].Sensors = append(out.Groups[i].Sensors, s.Name)
	}
	return out
}

// CSV is a row per group and sensor.
func (r GroupsResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, g := range r.Groups {
		for _, s := range g.Sensors {
			rows = append(rows, []string{g.Name, s})
		}
	}
	return []string{"group", "sensor"}, rows
}

// SourceResponse answers /api/v1/sources/{ip}.
type SourceResponse struct {
	Period string `json:"period"`
	store.SourceHistory
	// Attribution is the device model behind the address (nil: none),
	// and Evidence the banners that named it, with the rule that matched
	// each (empty, not null).
	Attribution *store.Device          `json:"attribution"`
	Evidence    []store.DeviceEvidence `json:"evidence"`
}

// CSV is a row per day with packets.
func (r SourceResponse) CSV() ([]string, [][]string) {
	rows := make([][]string, len(r.Days))
	for i, d := range r.Days {
		rows[i] = []string{r.IP, d.Day, u64(d.Packets), u64(d.Ports), strconv.Itoa(d.Sensors), strings.Join(d.Tags, " "), rfc(d.FirstSeen), rfc(d.LastSeen)}
	}
	return []string{"ip", "day", "packets", "ports", "sensors", "tags", "first_seen", "last_seen"}, rows
}

func u64(n uint64) string    { return strconv.FormatUint(n, 10) }
func f64(x float64) string   { return strconv.FormatFloat(x, 'f', -1, 64) }
func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// DevicesResponse answers /api/v1/devices and `query devices`.
type DevicesResponse struct {
	Period string `json:"period"`
	store.DeviceTable
}

// CSV is a row per model: its firmware versions as "version (sources)",
// its top ports and countries likewise, space-separated.
func (r DevicesResponse) CSV() ([]string, [][]string) {
	rows := make([][]string, len(r.Models))
	for i, m := range r.Models {
		var fw, ports, countries []string
		for _, f := range m.Firmware {
			fw = append(fw, fmt.Sprintf("%s(%d)", cmp.Or(f.Version, "unknown"), f.Sources))
		}
		for _, p := range m.Ports {
			ports = append(ports, fmt.Sprintf("%s(%d)", p.Port, p.Sources))
		}
		for _, c := range m.Countries {
			countries = append(countries, fmt.Sprintf("%s(%d)", cmp.Or(c.Country, "unknown"), c.Sources))
		}
		rows[i] = []string{strconv.Itoa(m.Rank), m.Vendor, m.Model, m.Kind, u64(m.Sources), u64(m.Packets),
			strings.Join(fw, " "), strings.Join(ports, " "), strings.Join(countries, " "), rfc(m.FirstSeen), rfc(m.LastSeen)}
	}
	return []string{"rank", "vendor", "model", "kind", "sources", "packets", "firmware", "ports", "countries", "first_seen", "last_seen"}, rows
}

// DeviceSeriesResponse answers /api/v1/device-series.
type DeviceSeriesResponse struct {
	Period string `json:"period"`
	store.DeviceSeries
}

// CSV is a row per model and bucket.
func (r DeviceSeriesResponse) CSV() ([]string, [][]string) {
	var rows [][]string
	for _, m := range r.Models {
		for i, b := range r.Buckets {
			rows = append(rows, []string{rfc(b), m.Vendor, m.Model, m.Kind, u64(m.Sources[i])})
		}
	}
	return []string{"bucket", "vendor", "model", "kind", "sources"}, rows
}
