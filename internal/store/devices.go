package store

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// DeviceStore keeps the device model behind source addresses: the
// evidence (banner matches, as `nightjar devices import` and `devices
// probe` find them) and each address's attribution, decided from all of
// its evidence by package devices. Attributions are kept per address, not
// per period: a question of a period (DeviceQuestions) joins them with
// the sources that scanned in it.
type DeviceStore interface {
	// PutDeviceEvidence stores evidence, at once (not at the next
	// Flush); evidence already stored — the same address, port,
	// transport, source, time and rule — is not stored twice. It returns
	// how many rows were new.
	PutDeviceEvidence(ctx context.Context, ev []DeviceEvidence) (int, error)
	// DeviceEvidence returns the stored evidence of addresses, ordered by
	// address, then time, port and rule.
	DeviceEvidence(ctx context.Context, addrs []netip.Addr) ([]DeviceEvidence, error)
	// PutDevices stores attributions, replacing those of the same
	// addresses; one with an empty Vendor deletes the address's.
	PutDevices(ctx context.Context, devs []Device) error
}

// DeviceQuestions are the questions of device attribution, part of
// Questions.
type DeviceQuestions interface {
	// Devices answers DevicesQuery: the device models seen scanning in a
	// period.
	Devices(ctx context.Context, q DevicesQuery) (DeviceTable, error)
	// DeviceSeries gives the distinct sources of the top device models
	// per day (or month) of a period.
	DeviceSeries(ctx context.Context, q DeviceSeriesQuery) (DeviceSeries, error)
	// SourceDevice returns an address's attribution and its evidence;
	// ok is false when it has none.
	SourceDevice(ctx context.Context, addr netip.Addr) (dev Device, evidence []DeviceEvidence, ok bool, err error)
}

// DeviceEvidence is one banner's match of one signature rule: what an
// address answered on a port, when, from which scan, and what the rule
// made of it.
type DeviceEvidence struct {
	Addr      netip.Addr `json:"address"`
	Port      uint16     `json:"port"`
	Transport string     `json:"transport"` // "tcp" or "udp"
	// Seen is when the scan saw the banner (zero when it does not say).
	Seen time.Time `json:"seen"`
	// Source is the banner's format ("shodan", "probe", ...), File the
	// imported file's name ("" for the probe).
	Source string `json:"source"`
	File   string `json:"file"`
	// Rule is the signature's id; Field and Value what it matched
	// ("http.title", "Archer AX50").
	Rule     string `json:"rule"`
	Field    string `json:"field"`
	Value    string `json:"value"`
	Vendor   string `json:"vendor"`
	Model    string `json:"model"`
	Kind     string `json:"kind"`
	Firmware string `json:"firmware"`
	// Confidence is the rule's, 0 to 1.
	Confidence float64   `json:"confidence"`
	Imported   time.Time `json:"imported"`
}

// Device is an address's attribution: the device model its evidence
// names. Model is "" when the evidence names only the vendor; Firmware ""
// when no banner carried a version (never guessed), and Released the
// zero Time when its release date is not known. Conflict: the evidence
// names two models (a NAT'd address, or two devices over time);
// Alternatives lists the others ("MikroTik RouterOS").
type Device struct {
	Addr         netip.Addr `json:"address"`
	Vendor       string     `json:"vendor"`
	Model        string     `json:"model"`
	Kind         string     `json:"kind"`
	Firmware     string     `json:"firmware"`
	Released     time.Time  `json:"firmware_released"`
	Confidence   float64    `json:"confidence"`
	Rule         string     `json:"rule"`
	Conflict     bool       `json:"conflict"`
	Alternatives []string   `json:"alternatives"` // empty, not null
	Evidence     int        `json:"evidence"`     // stored evidence rows
	Attributed   time.Time  `json:"attributed"`
}

// DeviceLabel is the device of a source row: vendor and model, with the
// attribution's conflict flag.
type DeviceLabel struct {
	Vendor   string `json:"vendor"`
	Model    string `json:"model"`
	Kind     string `json:"kind"`
	Firmware string `json:"firmware"`
	Conflict bool   `json:"conflict"`
}

// DevicesQuery asks for the device models of the sources of a period.
type DevicesQuery struct {
	Period period.Period
	// N models at most, by sources.
	N int
	// Sensors and Groups limit the sources to those these sensors (or the
	// sensors of these groups) saw; empty means all.
	Sensors, Groups []string
	// Tag limits them to the sources that earned a tag ("mirai").
	Tag string
	// Vendor limits the models to one vendor (any spelling's case).
	Vendor string
}

// DeviceTable is the device models of a period's sources. Sources counts
// every distinct source the filters take (sensor, group, tag; not the
// vendor), Identified those with an attribution, Conflicts those whose
// attribution is a conflict. Models rank by sources descending, then
// packets, vendor and model.
type DeviceTable struct {
	Sources    uint64        `json:"sources"`
	Identified uint64        `json:"identified"`
	Conflicts  uint64        `json:"conflicts"`
	Models     []DeviceModel `json:"models"`
}

// DeviceModel is one model's sources in a period: how many scanned, with
// what packets, to which ports (the top ports by its sources), from which
// countries, on which firmware, first and last seen.
type DeviceModel struct {
	Rank      int               `json:"rank"`
	Vendor    string            `json:"vendor"`
	Model     string            `json:"model"`
	Kind      string            `json:"kind"`
	Sources   uint64            `json:"sources"`
	Packets   uint64            `json:"packets"`
	Firmware  []FirmwareCount   `json:"firmware"`
	Ports     []PortSourceCount `json:"ports"`
	Countries []CountrySources  `json:"countries"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
}

// FirmwareCount is the sources of a model on one firmware version (""
// unknown), with its release date when known (nil otherwise).
type FirmwareCount struct {
	Version  string     `json:"version"`
	Released *time.Time `json:"released"`
	Sources  uint64     `json:"sources"`
}

// PortSourceCount is a port ("23/TCP") and how many of a model's sources
// sent to it.
type PortSourceCount struct {
	Port    string `json:"port"`
	Sources uint64 `json:"sources"`
}

// CountrySources is a country ("" unknown) and how many sources were in it.
type CountrySources struct {
	Country string `json:"country"`
	Sources uint64 `json:"sources"`
}

// DeviceSeriesQuery asks for the sources of the top N models per bucket.
type DeviceSeriesQuery struct {
	Period period.Period
	N      int
	// Bucket is "day" or "month" ("" chooses: days up to 92 of them).
	Bucket  string
	Sensors []string
	Groups  []string
	Tag     string
	Vendor  string
}

// DeviceSeries is the distinct sources of each of the top models (the
// models of Devices over the whole period) per bucket, zero-filled.
type DeviceSeries struct {
	Bucket  string        `json:"bucket"`
	Buckets []time.Time   `json:"buckets"`
	Models  []ModelSeries `json:"models"`
}

// ModelSeries is one model's sources per bucket.
type ModelSeries struct {
	Vendor  string   `json:"vendor"`
	Model   string   `json:"model"`
	Kind    string   `json:"kind"`
	Sources []uint64 `json:"sources"`
}

// Devices limits of the questions.
const (
	// DevicePorts and DeviceCountries are the most ports and countries a
	// DeviceModel lists.
	DevicePorts     = 5
	DeviceCountries = 5
)

// RankDeviceModels orders models as DeviceTable does and numbers them.
func RankDeviceModels(models []DeviceModel) {
	slices.SortFunc(models, func(a, b DeviceModel) int {
		return cmp.Or(cmp.Compare(b.Sources, a.Sources), cmp.Compare(b.Packets, a.Packets),
			strings.Compare(a.Vendor, b.Vendor), strings.Compare(a.Model, b.Model), strings.Compare(a.Kind, b.Kind))
	})
	for i := range models {
		models[i].Rank = i + 1
	}
}

// MaxDeviceDays is the most days a series has by day; longer periods go by
// month when the bucket is not given.
const MaxDeviceDays = 92

// DeviceBucket checks a series' bucket, choosing one when it is "".
func DeviceBucket(p period.Period, bucket string) (string, error) {
	switch bucket {
	case "day", "month":
		return bucket, nil
	case "":
		if p.End.Sub(p.Start) <= MaxDeviceDays*24*time.Hour {
			return "day", nil
		}
		return "month", nil
	}
	return "", paramErr("bucket", "device series: unknown bucket %q (want day or month)", bucket)
}

// NewDeviceSeries returns the zero-filled series of models over the UTC
// days (or months) that p overlaps.
func NewDeviceSeries(p period.Period, bucket string, models []DeviceModel) DeviceSeries {
	out := DeviceSeries{Bucket: bucket, Buckets: []time.Time{}, Models: make([]ModelSeries, len(models))}
	start := p.Start.UTC().Truncate(24 * time.Hour)
	next := func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	if bucket == "month" {
		start = time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	}
	for t := start; t.Before(p.End); t = next(t) {
		out.Buckets = append(out.Buckets, t)
	}
	for i, m := range models {
		out.Models[i] = ModelSeries{Vendor: m.Vendor, Model: m.Model, Kind: m.Kind, Sources: make([]uint64, len(out.Buckets))}
	}
	return out
}

// Add sets the sources of a model in the bucket that starts at t; a
// model or bucket the series does not hold is ignored.
func (s *DeviceSeries) Add(t time.Time, vendor, model, kind string, sources uint64) {
	b, ok := slices.BinarySearchFunc(s.Buckets, t, time.Time.Compare)
	if !ok {
		return
	}
	for i := range s.Models {
		if m := &s.Models[i]; m.Vendor == vendor && m.Model == model && m.Kind == kind {
			m.Sources[b] += sources
		}
	}
}

// Label is how a table names a model: "TP-Link Archer AX50", or the vendor
// alone when the model is not known.
func (m DeviceModel) Label() string { return ModelLabel(m.Vendor, m.Model) }

// ModelLabel names a vendor's model.
func ModelLabel(vendor, model string) string {
	if model == "" {
		return vendor
	}
	return fmt.Sprintf("%s %s", vendor, model)
}

// Label is the device of a source row.
func (d Device) Label() *DeviceLabel {
	return &DeviceLabel{Vendor: d.Vendor, Model: d.Model, Kind: d.Kind, Firmware: d.Firmware, Conflict: d.Conflict}
}
