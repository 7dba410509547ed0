// Package pipeline owns the packet path that every way into Nightjar
// shares: the sensor, the collector, `nightjar analyze`, `nightjar ingest`,
// the demo's backfill and the store conformance suite's loaders all run
// their packets through it, so they agree on what a packet becomes.
//
// The stages run in one order:
//
//	decode → attribute → tag → enrich → sink
//
// Decode (Frame) turns a captured frame into a record.Record in place; a
// frame that does not decode is a skip counted by decode.Reason (and by
// link type when the link type is unsupported). Record enters with a record
// already decoded (the collector's, from a sensor's batch).
//
// Attribute names the sensor the packet was sent to (an Attributor: the
// fleet's fleet.Matcher, the sensor's monitored prefixes and exclusions,
// the collector's authenticated sensor). A packet to no sensor's address is
// counted as unmatched and goes no further.
//
// Tag applies every fingerprint rule: the stateless rules and the stateful
// unicornscan rule, which compares a source's consecutive probes, with
// each source's state in a fingerprint.Tagger's bounded table (or where a
// StateKeeper keeps it: the analyzer, beside its per-source counts, with
// the same bound). Attribution comes first so that packets
// nobody monitors never feed (or reset) that per-source state: the tags of
// a kept packet depend only on the packets kept with it.
//
// Enrich runs the Enrichers on tagged records (internal/enrich: each
// source's country, network and research-scanner labels, set by ingest
// and the collector, not by sensors), and the Sink receives the records,
// in packet order, a batch at a time.
//
// A sensor runs the pipeline on its captures and sends the tagged records;
// the collector runs them through a pipeline again (Record), so the stored
// tags are always the collector's rules applied to the headers, and a
// corrected rule needs no sensor upgrade. The sensor's own tags are then
// for comparison: the collector counts the records whose stateless tags it
// changed (internal/collector).
//
// Frame and Record keep a record in the current batch; the caller flushes
// the batch (tag, enrich, sink) when Full, and at the end. The batch and
// the tagger's state are allocated by New: the packet path allocates
// nothing (TestZeroAllocs). A Pipeline belongs to one goroutine.
package pipeline

import (
	"errors"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Outcome is what became of one packet offered to the pipeline.
type Outcome uint8

const (
	// Kept: the record is in the batch, for the sink at the next Flush.
	Kept Outcome = iota
	// Skipped: the frame did not decode (Stats.Skipped says why).
	Skipped
	// Unmatched: the destination is no sensor's address.
	Unmatched
	// Excluded: a sensor's address, but excluded by its configuration.
	Excluded
)

// An Attributor names the sensor a record was sent to: the index of the
// sensor (for the Sink) with Kept, or Unmatched or Excluded. It is called
// once per packet and must not allocate.
type Attributor interface {
	Attribute(r *record.Record) (sensor int, out Outcome)
}

// An Enricher adds to tagged records what their headers do not say. It is
// called on each batch, after tagging and before the sink, and must not
// allocate per record.
type Enricher interface {
	Enrich(recs []record.Record, sensors []int32)
}

// A StateKeeper keeps the sources' unicornscan state for the tag stage.
// By default a pipeline keeps it in a fingerprint.Tagger's bounded table.
// The analyzer keeps it beside its own per-source counts instead, bounded
// by a fingerprint.UnicornBook so that it tags alike, and so finds each
// source once a packet for both, a batch at a time so that the cache
// misses of its lookups overlap.
type StateKeeper interface {
	// Unicorn feeds a batch, in packet order, to the unicornscan rule and
	// adds record.TagUnicornscan to the records it tags. It is called on
	// every batch, before the enrichers and the sink, and must not
	// allocate.
	Unicorn(recs []record.Record)
}

// A Sink receives the records that passed every stage, in packet order,
// with the Attributor's sensor index of each. It may modify both slices
// (compact them, rewrite the indexes) but must not keep them: they are
// the pipeline's batch, reused after Write returns.
type Sink interface {
	Write(recs []record.Record, sensors []int32) error
}

// Config configures a Pipeline.
type Config struct {
	Attributor Attributor // required
	Sink       Sink       // required
	Enrichers  []Enricher
	// Batch is the number of records handed to the sink at once (default
	// DefaultBatch).
	Batch int
	// Sources bounds the unicornscan rule's per-source state
	// (fingerprint.NewTagger; default fingerprint.DefaultTaggerSources).
	Sources int
	// State keeps that state elsewhere than in the pipeline's own table
	// (nil: a fingerprint.Tagger of Sources sources).
	State StateKeeper
}

// DefaultBatch is the batch size when Config.Batch is zero.
const DefaultBatch = 256

// Stats counts what the pipeline did with the packets offered to it.
type Stats struct {
	Frames    uint64 // offered to Frame
	Records   uint64 // offered to Record
	Kept      uint64 // attributed: handed (or about to be) to the sink
	Unmatched uint64
	Excluded  uint64
	// Skipped counts the frames that did not decode, by decode.Reason;
	// those of decode.UnsupportedLinkType are also in Links by link type.
	Skipped [256]uint64
	Links   map[decode.LinkType]uint64
}

// SkippedTotal returns the number of frames that did not decode.
func (s *Stats) SkippedTotal() uint64 {
	var n uint64
	for _, c := range s.Skipped {
		n += c
	}
	return n
}

// Add adds o's counts to s: the counts of one pipeline that saw the
// packets of both (the analyzer's workers each run a pipeline).
func (s *Stats) Add(o *Stats) {
	s.Frames += o.Frames
	s.Records += o.Records
	s.Kept += o.Kept
	s.Unmatched += o.Unmatched
	s.Excluded += o.Excluded
	for i, n := range o.Skipped {
		s.Skipped[i] += n
	}
	for link, n := range o.Links {
		s.Links[link] += n
	}
}

// Pipeline runs the stages. Create it with New.
type Pipeline struct {
	attr    Attributor
	sink    Sink
	enrich  []Enricher
	tagger  *fingerprint.Tagger // the state's keeper, unless state is set
	state   StateKeeper
	recs    []record.Record
	sensors []int32
	stats   Stats
}

// New returns a pipeline with its batch and tagger allocated.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Attributor == nil || cfg.Sink == nil {
		return nil, errors.New("pipeline: an attributor and a sink are required")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	var tagger *fingerprint.Tagger
	if cfg.State == nil {
		tagger = fingerprint.NewTagger(cfg.Sources)
	}
	return &Pipeline{
		tagger:  tagger,
		attr:    cfg.Attributor,
		sink:    cfg.Sink,
		enrich:  cfg.Enrichers,
		state:   cfg.State,
		recs:    make([]record.Record, 0, cfg.Batch),
		sensors: make([]int32, cfg.Batch),
		stats:   Stats{Links: map[decode.LinkType]uint64{}},
	}, nil
}

// Frame decodes a frame captured at ts (nanoseconds since the epoch) and
// attributes it. data is not kept. The batch must not be Full.
func (p *Pipeline) Frame(ts int64, link decode.LinkType, data []byte) Outcome {
	p.stats.Frames++
	// The batch grows only by a complete record, so that a fault while
	// decoding (a memory-mapped capture truncated under the reader, see
	// analyze) leaves it consistent.
	n := len(p.recs)
	r := &p.recs[:n+1][n]
	if reason := decode.Decode(link, data, r); reason != decode.OK {
		p.stats.Skipped[reason]++
		if reason == decode.UnsupportedLinkType {
			p.stats.Links[link]++
		}
		return Skipped
	}
	r.Time = ts
	return p.attribute(r, n)
}

// Record attributes a copy of a record already decoded; its tags are set
// again at Flush. The batch must not be Full.
func (p *Pipeline) Record(r *record.Record) Outcome {
	p.stats.Records++
	n := len(p.recs)
	slot := &p.recs[:n+1][n]
	*slot = *r
	return p.attribute(slot, n)
}

func (p *Pipeline) attribute(r *record.Record, n int) Outcome {
	sensor, out := p.attr.Attribute(r)
	switch out {
	case Kept:
		p.sensors[n] = int32(sensor)
		p.recs = p.recs[:n+1]
		p.stats.Kept++
	case Excluded:
		p.stats.Excluded++
	default:
		p.stats.Unmatched++
		out = Unmatched
	}
	return out
}

// Full reports whether the batch must be flushed before the next packet.
func (p *Pipeline) Full() bool { return len(p.recs) == cap(p.recs) }

// Pending returns the number of records waiting for Flush.
func (p *Pipeline) Pending() int { return len(p.recs) }

// Flush tags the batch in packet order, enriches it, hands it to the sink
// and empties it, even when the sink fails (its error is returned).
func (p *Pipeline) Flush() error {
	if len(p.recs) == 0 {
		return nil
	}
	recs, sensors := p.recs, p.sensors[:len(p.recs)]
	for i := range recs {
		recs[i].Tags = fingerprint.Tag(&recs[i])
	}
	if p.state != nil {
		p.state.Unicorn(recs)
	} else {
		for i := range recs {
			if p.tagger.Observe(&recs[i]) {
				recs[i].Tags |= record.TagUnicornscan
			}
		}
	}
	for _, e := range p.enrich {
		e.Enrich(recs, sensors)
	}
	err := p.sink.Write(recs, sensors)
	p.recs = p.recs[:0]
	return err
}

// Stats returns the pipeline's counts; they change with every packet.
func (p *Pipeline) Stats() *Stats { return &p.stats }
