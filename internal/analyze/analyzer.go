// Package analyze summarises packet records per sensor the way a darknet
// monitoring team reads them: packets per sensor, the top destination ports
// of each sensor side by side, packets per sensor per month, each group's
// monthly average per sensor, tag counts and the top sources.
//
// The Analyzer is the aggregation stage of the offline packet path
// (capture file → decode → tag → aggregate). It is single-threaded and its
// memory grows with the number of sensors, months and distinct sources,
// never with the number of packets.
package analyze

import (
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Config sets what the report shows.
type Config struct {
	// Top is the number of destination ports listed per sensor.
	Top int `yaml:"top"`
	// Sources is the number of top sources listed.
	Sources int `yaml:"sources"`
}

// DefaultConfig returns the defaults: top 10 ports, 10 sources.
func DefaultConfig() Config { return Config{Top: 10, Sources: 10} }

type sensorStats struct {
	name, group string
	packets     uint64
	months      []uint64   // by month index
	tags        [16]uint64 // by tag bit
	ports       portcount.Counter
}

// sourceStats is the per-source state touched by every packet; the
// address, needed only for the report, lives in Analyzer.sourceAddrs so that
// this stays small (48 bytes) and cache-friendly.
type sourceStats struct {
	packets     uint64
	first, last int64
	sensors     uint64 // bit i: sensor i reached (i < 64)
	tags        record.Tags
	unicorn     fingerprint.UnicornState
}

// Analyzer accumulates records. Create it with New.
type Analyzer struct {
	cfg     Config
	fleet   *fleet.Fleet // nil: every destination address is its own sensor
	matcher *fleet.Matcher
	auto    map[record.Addr]int32 // destination → sensor, without a fleet

	sensors []sensorStats

	// months: index of each UTC month seen; the current month's bounds are
	// cached because captures are mostly in time order.
	months             []monthKey
	curMonth           int
	curStart, curEnd   int64
	first, last        int64
	packets, unmatched uint64
	reasonCounts       [256]uint64 // by decode.Reason
	linkSkips          map[decode.LinkType]uint64
	src4               *addrTable
	src6               map[record.Addr]int32
	sources            []sourceStats
	sourceAddrs        []record.Addr // by source index
	files              []FileResult
	frames             uint64
	scratch            *batch
}

// New returns an Analyzer. With a nil fleet, each destination address is
// its own sensor in the group "all".
func New(cfg Config, f *fleet.Fleet) *Analyzer {
	if cfg.Top <= 0 {
		cfg.Top = DefaultConfig().Top
	}
	if cfg.Sources < 0 {
		cfg.Sources = 0
	}
	a := &Analyzer{
		cfg:       cfg,
		fleet:     f,
		curMonth:  -1,
		linkSkips: map[decode.LinkType]uint64{},
		src4:      newAddrTable(),
		src6:      map[record.Addr]int32{},
	}
	if f != nil {
		a.matcher = fleet.NewMatcher(f)
		for _, s := range f.Sensors {
			a.sensors = append(a.sensors, newSensorStats(s.Name, s.Group))
		}
	} else {
		a.auto = map[record.Addr]int32{}
	}
	return a
}

func newSensorStats(name, group string) sensorStats {
	return sensorStats{name: name, group: group}
}

// AutoGroup is the group of sensors created without a fleet.
const AutoGroup = "all"

// sensorFor returns the sensor index of a destination, or -1.
func (a *Analyzer) sensorFor(dst record.Addr) int {
	if a.matcher != nil {
		if dst.Is4() {
			return a.matcher.Lookup4(dst.Uint32())
		}
		return a.matcher.Lookup(dst.Netip())
	}
	if i, ok := a.auto[dst]; ok {
		return int(i)
	}
	i := len(a.sensors)
	a.auto[dst] = int32(i)
	a.sensors = append(a.sensors, newSensorStats(dst.String(), AutoGroup))
	return i
}

// batchSize is the number of records aggregated together (64 × 200 bytes
// stays in a 32 KiB L1 cache between passes; 256 doubled the L1 misses
// under cachegrind). Working on a
// batch in passes lets the CPU overlap the cache misses of different
// records (on per-source entries and port counters) instead of waiting for
// each in turn: see BenchmarkAnalyzeFile.
const batchSize = 64

// batch is the analyzer's scratch space for one batch of records.
type batch struct {
	recs   []record.Record
	sensor [batchSize]int32
	source [batchSize]int32
}

func (a *Analyzer) batch() *batch {
	if a.scratch == nil {
		a.scratch = &batch{recs: make([]record.Record, 0, batchSize)}
	}
	return a.scratch
}

// Add tags one decoded record (setting r.Tags, unicornscan included) and
// counts it. Records whose destination belongs to no sensor are counted as
// unmatched and otherwise ignored.
func (a *Analyzer) Add(r *record.Record) {
	b := a.batch()
	b.recs = append(b.recs[:0], *r)
	b.recs[0].Tags = fingerprint.Tag(&b.recs[0])
	a.count(b)
	r.Tags = b.recs[0].Tags
	b.recs = b.recs[:0]
}

// addBatch counts the records of b and empties it.
func (a *Analyzer) addBatch(b *batch) {
	a.count(b)
	b.recs = b.recs[:0]
}

// count counts the records of b, whose stateless tags are set.
func (a *Analyzer) count(b *batch) {
	recs := b.recs
	// Pass 1: sensor and source index (the stateless tags are set when
	// decoding). Independent per record.
	for i := range recs {
		r := &recs[i]
		si := a.sensorFor(r.Dst)
		b.sensor[i] = int32(si)
		if si < 0 {
			continue
		}
		b.source[i] = a.sourceIndex(r.Src)
	}
	// Pass 2: per-source state, in packet order (unicornscan compares a
	// source's consecutive probes).
	for i := range recs {
		if b.sensor[i] < 0 {
			continue
		}
		r := &recs[i]
		src := &a.sources[b.source[i]]
		if src.unicorn.Observe(r) {
			r.Tags |= record.TagUnicornscan
		}
		src.packets++
		if src.packets == 1 || r.Time < src.first {
			src.first = r.Time
		}
		if r.Time > src.last {
			src.last = r.Time
		}
		if si := b.sensor[i]; si < 64 {
			src.sensors |= 1 << si
		}
		src.tags |= r.Tags
	}
	// Pass 3: per-sensor counters.
	for i := range recs {
		si := b.sensor[i]
		if si < 0 {
			a.unmatched++
			continue
		}
		r := &recs[i]
		a.packets++
		if r.Time < a.first || a.packets == 1 {
			a.first = r.Time
		}
		if r.Time > a.last {
			a.last = r.Time
		}
		if r.Time < a.curStart || r.Time >= a.curEnd {
			a.switchMonth(r.Time)
		}
		s := &a.sensors[si]
		s.packets++
		if a.curMonth >= len(s.months) {
			s.months = append(s.months, make([]uint64, a.curMonth+1-len(s.months))...)
		}
		s.months[a.curMonth]++
		s.ports.Add(portcount.Slot(r.Key()))
		for t := r.Tags; t != 0; t &= t - 1 {
			s.tags[t.Index()]++
		}
	}
}

// sourceIndex returns the index of addr's entry in a.sources, adding it.
func (a *Analyzer) sourceIndex(addr record.Addr) int32 {
	if addr.Is4() {
		key := addr.Uint32()
		if i := a.src4.get(key); i >= 0 {
			return i
		}
		a.src4.put(key, int32(len(a.sources)))
	} else {
		if i, ok := a.src6[addr]; ok {
			return i
		}
		a.src6[addr] = int32(len(a.sources))
	}
	a.sources = append(a.sources, sourceStats{})
	a.sourceAddrs = append(a.sourceAddrs, addr)
	return int32(len(a.sources) - 1)
}

// Frames returns the number of frames read so far by ReadFile.
func (a *Analyzer) Frames() uint64 { return a.frames }
