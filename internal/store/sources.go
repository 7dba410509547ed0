package store

import (
	"net/netip"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// SourceHistoryQuery asks for the history of one source address.
type SourceHistoryQuery struct {
	Period period.Period
	// IP is the source address. An IPv4-mapped IPv6 address
	// (::ffff:192.0.2.1) is an IPv6 source, as its packets were.
	IP netip.Addr
}

// SourceHistory is one source address's activity in a period: its totals,
// shaped like a Source of TopSources, and its UTC days with packets. An
// address that sent nothing in the period has zero totals, no first or
// last seen (nil) and no days (empty, not null).
//
// Ports counts the distinct destination ports (portcount slots) over the
// whole period, exact on the same terms as Source.Ports.
type SourceHistory struct {
	IP         string   `json:"ip"`
	Packets    uint64   `json:"packets"`
	Ports      uint64   `json:"ports"`
	PortsExact bool     `json:"ports_exact"`
	Tags       []string `json:"tags"`    // tag names, in record.AllTags order; empty, not null
	Sensors    int      `json:"sensors"` // sensors reached
	// SensorNames are the sensors reached, in ID order; empty, not null.
	SensorNames []string   `json:"sensor_names"`
	FirstSeen   *time.Time `json:"first_seen"`
	LastSeen    *time.Time `json:"last_seen"`
	// Days are the UTC days of the period on which the source sent
	// packets, in order; the first and last are clipped to the period.
	Days []SourceDay `json:"days"`
	// SourceOrigin is the origin of its last packet of the period.
	SourceOrigin
	// Device is the device model behind the address, nil when none is
	// attributed (devices.go).
	Device *DeviceLabel `json:"device"`
}

// SourceOrigin is a source's origin as the databases gave it when its
// packets were observed ("" and 0 when unknown); Scanner is the
// comma-joined labels of the research-scanner lists that held it.
type SourceOrigin struct {
	Country string `json:"country"`
	ASN     uint32 `json:"asn"`
	Org     string `json:"org"`
	Scanner string `json:"scanner"`
}

// SourceDay is a source's activity in one UTC day ("2024-07-15"): packets,
// distinct destination ports, sensors reached, the union of its packets'
// tags, and its first and last packets of the day.
type SourceDay struct {
	Day       string    `json:"day"`
	Packets   uint64    `json:"packets"`
	Ports     uint64    `json:"ports"`
	Sensors   int       `json:"sensors"`
	Tags      []string  `json:"tags"` // empty, not null
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	SourceOrigin
}
