// Package analyze summarises packet records per sensor the way a darknet
// monitoring team reads them: packets per sensor, the top destination ports
// of each sensor side by side, packets per sensor per month, each group's
// monthly average per sensor, tag counts and the top sources.
//
// The Analyzer is the sink of the offline packet path (capture file →
// internal/pipeline: decode, attribute, tag → aggregate). An Analyzer
// belongs to one goroutine; ReadAll spreads captures over several
// (parallel.go), with the same answers. Its memory grows with the number
// of sensors, months and distinct sources, never with the number of
// packets.
package analyze

import (
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
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
	addr        record.Addr // the address of a sensor without a fleet
	packets     uint64
	months      []uint64   // by month index
	tags        [16]uint64 // by tag bit
	ports       portcount.Counter
}

// sourceStats is the per-source state touched by every packet; the
// address, needed only for the report, lives in Analyzer.sourceAddrs so that
// this stays small (56 bytes) and cache-friendly. It holds the source's
// unicornscan state too, for the pipeline's tag stage:
// one lookup a packet for both (unicornState).
type sourceStats struct {
	packets     uint64
	first, last int64
	sensors     uint64 // bit i: sensor i reached (i < 64)
	unicorn     fingerprint.UnicornEntry
	tags        record.Tags // the union of its packets' tags
	// hits is 1 + the index in Analyzer.hits of its packets of each
	// counted tag, 0 while it has none (most sources).
	hits int32
}

// Analyzer accumulates records. Create it with New.
type Analyzer struct {
	cfg   Config
	fleet *fleet.Fleet          // nil: every destination address is its own sensor
	auto  map[record.Addr]int32 // destination → sensor, without a fleet
	path  *pipeline.Pipeline

	sensors []sensorStats

	// months: index of each UTC month seen; the current month's bounds are
	// cached because captures are mostly in time order.
	months           []monthKey
	curMonth         int
	curStart, curEnd int64
	first, last      int64
	packets          uint64
	src4             *addrTable
	src6             map[record.Addr]int32
	sources          []sourceStats
	sourceAddrs      []record.Addr // by source index
	hits             []tagHits     // of the sources with counted tags (sourceStats.hits)
	files            []FileResult
	// source is the source index of each record of the batch, set by the
	// tag stage (unicornState.Unicorn) before the sink counts the batch.
	source [batchSize]int32
	// unicorn bounds the unicornscan state kept in sources as every other
	// path's tagger bounds its table: analyze tags as ingest does.
	unicorn fingerprint.UnicornBook
	// log, when set, makes this analyzer a worker's share of ReadAll: it
	// counts everything but unicornscan, and logs the probes (and the
	// sensors it reaches) for the in-order merge instead.
	log *partLog
	// partSizes cuts ReadAll's parts (zero: defaultPartSizes).
	partSizes partSizes
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
		cfg:      cfg,
		fleet:    f,
		curMonth: -1,
		src4:     newAddrTable(),
		src6:     map[record.Addr]int32{},
		unicorn:  fingerprint.NewUnicornBook(0), // the pipeline's default bound
	}
	var attr pipeline.Attributor
	if f != nil {
		attr = pipeline.Fleet(fleet.NewMatcher(f))
		for _, s := range f.Sensors {
			a.sensors = append(a.sensors, newSensorStats(s.Name, s.Group))
		}
	} else {
		a.auto = map[record.Addr]int32{}
		attr = autoSensors{a}
	}
	// Cannot fail: the attributor and the sink are given.
	a.path, _ = pipeline.New(pipeline.Config{Attributor: attr, Sink: sink{a}, State: unicornState{a}, Batch: batchSize})
	return a
}

func newSensorStats(name, group string) sensorStats {
	return sensorStats{name: name, group: group}
}

// AutoGroup is the group of sensors created without a fleet.
const AutoGroup = "all"

// autoSensors attributes each destination address to a sensor of its own,
// created at its first packet (the analyzer without a fleet).
type autoSensors struct{ a *Analyzer }

func (s autoSensors) Attribute(r *record.Record) (int, pipeline.Outcome) {
	i := s.a.autoSensor(r.Dst)
	if s.a.log != nil {
		s.a.log.reached(i, r.Dst)
	}
	return int(i), pipeline.Kept
}

// autoSensor returns the index of the sensor of address dst, adding it.
func (a *Analyzer) autoSensor(dst record.Addr) int32 {
	if i, ok := a.auto[dst]; ok {
		return i
	}
	i := int32(len(a.sensors))
	a.auto[dst] = i
	s := newSensorStats(dst.String(), AutoGroup)
	s.addr = dst
	a.sensors = append(a.sensors, s)
	return i
}

// batchSize is the number of records aggregated together (64 × 200 bytes
// stays in a 32 KiB L1 cache between passes; 256 doubled the L1 misses
// under cachegrind). Working on a
// batch in passes lets the CPU overlap the cache misses of different
// records (on per-source entries and port counters) instead of waiting for
// each in turn: see BenchmarkAnalyzeFile.
const batchSize = 64

// Add counts one decoded record as if it had been read from a capture: it
// is attributed and tagged (its own Tags are ignored), and counted at the
// next full batch or Report.
func (a *Analyzer) Add(r *record.Record) {
	a.path.Record(r)
	if a.path.Full() {
		a.flush()
	}
}

// flush hands the pipeline's batch to count; the analyzer's sink never
// fails, so neither does Flush.
func (a *Analyzer) flush() { _ = a.path.Flush() }

// sink is the pipeline's view of the analyzer.
type sink struct{ a *Analyzer }

func (s sink) Write(recs []record.Record, sensors []int32) error {
	s.a.count(recs, sensors)
	if s.a.log != nil {
		s.a.log.addProbes(recs, sensors)
	}
	return nil
}

// unicornState is the pipeline's view of the analyzer's per-source
// unicornscan state.
type unicornState struct{ a *Analyzer }

// Unicorn finds (or adds) the source of each record of the batch, for the
// sink too, then feeds the records to the unicornscan rule with their
// sources' state.
func (s unicornState) Unicorn(recs []record.Record) {
	a := s.a
	for i := range recs {
		a.source[i] = a.sourceIndex(recs[i].Src)
	}
	if a.log != nil {
		return // the merge replays the probes in capture order (replay)
	}
	for i := range recs {
		if a.unicorn.Observe(&a.sources[a.source[i]].unicorn, &recs[i]) {
			recs[i].Tags |= record.TagUnicornscan
		}
	}
}

// count counts a batch of at most batchSize tagged records of the given
// sensors, whose source indexes the tag stage has set in a.source.
func (a *Analyzer) count(recs []record.Record, sensors []int32) {
	// Pass 1: per-source state.
	for i := range recs {
		r := &recs[i]
		src := &a.sources[a.source[i]]
		src.packets++
		if src.packets == 1 || r.Time < src.first {
			src.first = r.Time
		}
		if r.Time > src.last {
			src.last = r.Time
		}
		if si := sensors[i]; si < 64 {
			src.sensors |= 1 << si
		}
		src.tags |= r.Tags
		if r.Tags&countedTags != 0 {
			a.hitsOf(src).add(r.Tags)
		}
	}
	// Pass 2: per-sensor counters.
	for i := range recs {
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
		s := &a.sensors[sensors[i]]
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
func (a *Analyzer) Frames() uint64 { return a.path.Stats().Frames }
