// Package notify owns the reports for network owners: the darknet events
// whose sources lie in an owner's networks, one file per owner and
// period, mailed to the owner's contacts, as Shadowserver's daily
// "Darknet Events" report (event4_honeypot_darknet) does for the networks
// it watches.
//
// An owner subscribes by AS number or by prefix in a YAML file (Load). An
// event belongs to every owner whose ASNs hold its source AS or whose
// prefixes hold its source address, so overlapping owners (a transit AS
// and its customer's prefix) each receive it. Plan splits a period's
// events into one Report per owner; WriteDir writes them, WriteCSV and
// WriteJSON are the formats; a Mailer sends the files over SMTP.
//
// The columns keep the names and the order of Shadowserver's darknet
// report, so that tools that read it (IntelMQ's Shadowserver parser, for
// one) read these too. Of Shadowserver's columns Nightjar fills:
//
//	timestamp      the UTC hour the packets were counted in ("2024-07-15 13:00:00")
//	protocol       tcp, udp, icmp, icmpv6, ...
//	src_ip         the source address
//	src_port       0: Nightjar counts per source and destination port, not per source port
//	src_asn        the source's AS as recorded at ingest; empty when unknown
//	src_geo        the source's country (ISO 3166-1 alpha-2) as recorded at ingest
//	device_vendor  the vendor of the device attributed to the source (nightjar devices import); empty when none
//	device_model   its model; empty when none, or known by vendor only
//	dst_ip         the sensor's address, only for an owner whose entry has
//	               disclose_destinations: true; empty otherwise
//	dst_port       the destination port (0 for ICMP)
//	tag            the source's tags, comma-joined ("mirai", "zmap,spoofed")
//	count          packets
//
// It leaves out the columns Nightjar has no data for (src_region,
// src_city, src_hostname, src_naics, src_sector, device_type, severity,
// dst_asn, dst_geo and the other dst_* columns, public_source, infection,
// family, application, version, event_id).
//
// Sensor addresses are what keeps a darknet useful: a scanner that learns
// them can avoid them. So an owner without disclose_destinations never
// sees one, in no column: Plan drops them from its events and merges the
// events that differed only by their destination, and the writers write
// dst_ip for disclosing owners only.
package notify

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// Event is the packets of one source to one destination port (and, where
// kept, one sensor address) in one hour. Field by field it is a row of
// the report; see the package documentation for what each holds.
type Event struct {
	Timestamp    time.Time // the hour, UTC
	Protocol     string
	SrcIP        netip.Addr
	SrcPort      uint16
	SrcASN       uint32 // 0: unknown
	SrcGeo       string
	DeviceVendor string
	DeviceModel  string
	DstIP        netip.Addr
	DstPort      uint16
	Tag          string
	Count        uint64
}

// Report is the events of one owner, sorted (see Plan).
type Report struct {
	Owner  *Owner
	Events []Event
}

// Packets returns the sum of the events' counts.
func (r Report) Packets() uint64 {
	var n uint64
	for _, e := range r.Events {
		n += e.Count
	}
	return n
}

// Plan returns one report per owner of subs, in the file's order, each
// with the events that are the owner's (possibly none). Events are sorted
// by timestamp, source address, destination port, protocol and then the
// other columns, so that a report is the same for the same events in any
// order. For an owner without disclose_destinations, destinations are
// dropped and events that then agree in every column but count are
// merged into one, their counts added. The caller picks the period's
// events; Plan does not look at their time.
func Plan(subs *Subscriptions, events []Event) []Report {
	reports := make([]Report, len(subs.owners))
	for i, o := range subs.owners {
		reports[i].Owner = o
	}
	var owners []int
	for _, e := range events {
		e.Timestamp = e.Timestamp.UTC()
		owners = subs.index.lookup(owners[:0], e.SrcIP, e.SrcASN)
		for _, i := range owners {
			kept := e
			if !reports[i].Owner.DiscloseDestinations {
				kept.DstIP = netip.Addr{}
			}
			reports[i].Events = append(reports[i].Events, kept)
		}
	}
	for i := range reports {
		reports[i].Events = sortMerge(reports[i].Events)
	}
	return reports
}

// sortMerge sorts events and merges those equal but for their count.
func sortMerge(events []Event) []Event {
	slices.SortFunc(events, compareEvents)
	out := events[:0]
	for _, e := range events {
		if n := len(out); n > 0 && compareEvents(out[n-1], e) == 0 {
			out[n-1].Count += e.Count
			continue
		}
		out = append(out, e)
	}
	return out
}

// compareEvents orders events by every column but count.
func compareEvents(a, b Event) int {
	return cmp.Or(
		a.Timestamp.Compare(b.Timestamp),
		a.SrcIP.Compare(b.SrcIP),
		cmp.Compare(a.DstPort, b.DstPort),
		cmp.Compare(a.Protocol, b.Protocol),
		cmp.Compare(a.SrcPort, b.SrcPort),
		a.DstIP.Compare(b.DstIP),
		cmp.Compare(a.Tag, b.Tag),
		cmp.Compare(a.SrcASN, b.SrcASN),
		cmp.Compare(a.SrcGeo, b.SrcGeo),
		cmp.Compare(a.DeviceVendor, b.DeviceVendor),
		cmp.Compare(a.DeviceModel, b.DeviceModel),
	)
}
