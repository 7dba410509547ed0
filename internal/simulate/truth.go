package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Truth is what a simulated capture contains, in the terms of `nightjar
// analyze`: packets per sensor, port label, UTC month and tag, and per
// source. A packet's tags are those the fingerprint rules assign to the
// written headers (see tagsOf); a source's, those its packets earn by the
// evidence rules (fingerprint.SourceTags), per month or over the run.
//
// Packets, and everything counted by sensor, port, tag and source, is what
// was written: the ordinary packets an outage did not drop, and the
// events' packets.
type Truth struct {
	Seed    uint64    `json:"seed"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"` // exclusive
	Packets uint64    `json:"packets"`
	// Kinds counts packets by the simulator's traffic class (the Mix
	// keys: mirai, zmap, masscan, nmap, unicornscan, scan, icmp, udp,
	// backscatter, spoofed, ipv6) — intent, not tags.
	Kinds map[string]uint64 `json:"kinds"`
	// Tags counts packets by fingerprint tag name.
	Tags    map[string]uint64       `json:"tags"`
	Groups  map[string]GroupTruth   `json:"groups"`
	Sensors map[string]*SensorTruth `json:"sensors"`
	// Sources is keyed by source address ("203.0.113.7", "2001:db8::1");
	// only sources that sent at least one packet appear.
	Sources map[string]*SourceTruth `json:"sources"`
	// Events is the ground truth of the injected events (Config.Events),
	// written apart (EventsTruth.WriteJSON), so that the truth's JSON is
	// what it was before events existed. Nil when Config.Events is nil; an
	// empty list of events gives the quiet weeks of the period.
	Events *EventsTruth `json:"-"`
}

// GroupTruth describes a group of sensors.
type GroupTruth struct {
	Sensors int    `json:"sensors"`
	Packets uint64 `json:"packets"`
}

// SensorTruth counts one sensor's packets.
type SensorTruth struct {
	Group   string `json:"group"`
	Packets uint64 `json:"packets"`
	// Ports is keyed by record.PortKey labels: "23/TCP", "53/UDP",
	// "ICMP", "ICMPv6", "GRE", and "UDP" for later fragments.
	Ports map[string]uint64 `json:"ports"`
	// Months is keyed by UTC month, "2024-07".
	Months map[string]uint64 `json:"months"`
	Tags   map[string]uint64 `json:"tags"`
}

// SourceTruth describes one source address.
type SourceTruth struct {
	Packets uint64 `json:"packets"`
	// Tags are the sorted names of the tags it earns over the run by the
	// evidence rules (fingerprint.SourceTags over Packets and TagPackets),
	// not every tag its packets carry; empty, not null, when none.
	Tags []string `json:"tags"`
	// TagPackets counts its packets of each tag (tags with none left out).
	TagPackets map[string]uint64 `json:"tag_packets"`
	// Months is what it sent in each UTC month ("2024-07") it sent
	// anything: TagsOver gives its tags over any of them.
	Months map[string]SourceCount `json:"months"`
	// Kind is the traffic class the simulator gave the source.
	Kind string `json:"kind"`
	// Sensors is the number of distinct sensors it reached (counted
	// among the first 64 sensors of the fleet).
	Sensors int `json:"sensors"`
}

// SourceCount is what a source sent in a period: packets, and packets of
// each tag (tags with none left out).
type SourceCount struct {
	Packets    uint64            `json:"packets"`
	TagPackets map[string]uint64 `json:"tag_packets"`
}

// TagsOver returns the sorted names of the tags the source earns over the
// given months (keys of Months): fingerprint.SourceTags over the sum of
// their packets and tag packets, as a store answers for that period. Over
// every month it sent in, it is Tags.
func (s *SourceTruth) TagsOver(months ...string) []string {
	var packets uint64
	var hits [record.NumTags]uint64
	for _, m := range months {
		c := s.Months[m]
		packets += c.Packets
		for i, tag := range record.AllTags() {
			hits[i] += c.TagPackets[tag.String()]
		}
	}
	return sortedNames(fingerprint.SourceTags(packets, &hits))
}

// sortedNames returns the names of t sorted by name (Tags.Names is in
// output order); empty, not nil, when none.
func sortedNames(t record.Tags) []string {
	names := t.Names()
	if names == nil {
		return []string{}
	}
	slices.Sort(names)
	return names
}

// sourceMonth is what a source sent in one month, on the packet path.
type sourceMonth struct {
	month   int // index since the start month
	packets uint64
	hits    [record.NumTags]uint64 // by tag bit
}

// countMonth counts a packet tagged tags of source si in month.
func (w *world) countMonth(si int32, month int, tags record.Tags) {
	ms := w.months[si]
	if len(ms) == 0 || ms[len(ms)-1].month != month {
		ms = append(ms, sourceMonth{month: month})
		w.months[si] = ms
	}
	m := &ms[len(ms)-1]
	m.packets++
	fingerprint.CountTags(&m.hits, tags)
}

// tagPackets returns the tag counts hits by tag name, the zero ones left
// out.
func tagPackets(hits *[record.NumTags]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for i, tag := range record.AllTags() {
		if hits[i] > 0 {
			out[tag.String()] = hits[i]
		}
	}
	return out
}

// WriteJSON writes the truth as indented JSON (maps in key order, so the
// output is deterministic).
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// sensorCount accumulates a sensor's counts on the packet path.
type sensorCount struct {
	packets uint64
	tags    [8]uint64
	ports   portcount.Counter
	months  []uint64 // by month index since the start month
}

func (c *sensorCount) count(k record.PortKey, month int, tags record.Tags) {
	c.packets++
	c.ports.Add(portcount.Slot(k))
	for month >= len(c.months) {
		c.months = append(c.months, 0)
	}
	c.months[month]++
	for t := tags; t != 0; t &= t - 1 {
		c.tags[t.Index()]++
	}
}

// truth builds the Truth from the world's counters after a run.
func (w *world) truth(kinds *[numKinds]uint64, monthNames []string) *Truth {
	t := &Truth{
		Seed:    w.cfg.Seed,
		Start:   time.Unix(0, w.start).UTC(),
		End:     time.Unix(0, w.end).UTC(),
		Kinds:   map[string]uint64{},
		Tags:    map[string]uint64{},
		Groups:  map[string]GroupTruth{},
		Sensors: map[string]*SensorTruth{},
		Sources: map[string]*SourceTruth{},
	}
	if w.cfg.Events != nil {
		t.Events = w.eventsTruth()
	}
	for k, n := range kinds {
		if n > 0 {
			t.Kinds[kind(k).String()] = n
		}
	}
	tagList := record.AllTags()
	for gi, g := range w.groups {
		t.Groups[g] = GroupTruth{Sensors: w.groupSize[gi]}
	}
	for i := range w.sensors {
		s := &w.sensors[i]
		c := &s.count
		st := &SensorTruth{Group: s.group, Packets: c.packets, Ports: map[string]uint64{}, Months: map[string]uint64{}, Tags: map[string]uint64{}}
		t.Packets += c.packets
		g := t.Groups[s.group]
		g.Packets += c.packets
		t.Groups[s.group] = g
		c.ports.Each(func(k record.PortKey, n uint64) { st.Ports[k.Label()] += n })
		for m, n := range c.months {
			if n > 0 {
				st.Months[monthNames[m]] = n
			}
		}
		for j, tag := range tagList {
			if n := c.tags[j]; n > 0 {
				st.Tags[tag.String()] = n
				t.Tags[tag.String()] += n
			}
		}
		t.Sensors[s.name] = st
	}
	for i := range w.sources {
		s := &w.sources[i]
		packets := s.packets - w.dropped[int32(i)]
		if packets == 0 {
			continue
		}
		// Source addresses are unique (world.used4, used6), so each
		// source is one entry.
		st := &SourceTruth{Packets: packets, Kind: s.kind.String(), Sensors: bits.OnesCount64(s.sensors), Months: map[string]SourceCount{}}
		var hits [record.NumTags]uint64
		for _, m := range w.months[i] {
			st.Months[monthNames[m.month]] = SourceCount{Packets: m.packets, TagPackets: tagPackets(&m.hits)}
			for j, n := range m.hits {
				hits[j] += n
			}
		}
		st.TagPackets = tagPackets(&hits)
		st.Tags = sortedNames(fingerprint.SourceTags(packets, &hits))
		t.Sources[w.sourceAddr(s).String()] = st
	}
	return t
}

func (w *world) sourceAddr(s *source) netip.Addr {
	if s.v6 {
		return netip.AddrFrom16(w.addr6[s.addr])
	}
	a := s.addr
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}
