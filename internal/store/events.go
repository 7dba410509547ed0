package store

import (
	"net/netip"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// EventsQuery asks for the darknet events of a period whose sources are
// in one of ASNs or Prefixes (the networks of the owners that `nightjar
// notify` reports to): at least one must be given.
type EventsQuery struct {
	Period   period.Period
	ASNs     []uint32
	Prefixes []netip.Prefix
}

// Event is the packets of one source to one sensor address and one
// destination port (the protocol alone for ICMP and others) in one UTC
// hour. Tags are the source's, by evidence over the whole period;
// Country and ASN its origin when the packets were observed (the last
// packet's in the hour).
type Event struct {
	Hour     time.Time
	Protocol uint8
	Src, Dst netip.Addr
	DstPort  uint16 // 0 for protocols without ports
	Sensor   string
	Country  string
	ASN      uint32
	Tags     []string
	Packets  uint64
	// DeviceVendor and DeviceModel are the source's attributed device
	// ("" when none; devices.go).
	DeviceVendor, DeviceModel string
}
