package sensor

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/sensor/spool"
	"github.com/nightjar-telescope/nightjar/internal/wire"
)

// counters are the sensor's packet counts, shared by its pipelines.
type counters struct {
	seen, ignored, excluded, skipped atomic.Uint64
	records                          atomic.Uint64 // closed into the spool
	lostBatches, lostRecords         atomic.Uint64 // the spool refused them
}

// socketPipeline runs the frames of one capture socket through the packet
// pipeline (decode, monitored and not excluded, tag) into its batcher. Each
// capture goroutine has its own, so the hot path takes no lock but its
// batcher's. Its pipeline batch is one record: the batcher, not the
// pipeline, decides when records leave (size or latency).
type socketPipeline struct {
	counts *counters
	path   *pipeline.Pipeline
}

func newSocketPipeline(counts *counters, monitor *fleet.Matcher, exclude []exclusion, b *batcher) (*socketPipeline, error) {
	p, err := pipeline.New(pipeline.Config{Attributor: monitored{monitor, exclude}, Sink: b, Batch: 1})
	if err != nil {
		return nil, err
	}
	return &socketPipeline{counts: counts, path: p}, nil
}

// monitorMatcher builds the matcher of the monitored prefixes.
func monitorMatcher(prefixes []netip.Prefix) (*fleet.Matcher, error) {
	s := fleet.Sensor{Name: "self"}
	for _, p := range prefixes {
		s.Addresses = append(s.Addresses, p.String())
	}
	f := &fleet.Fleet{Sensors: []fleet.Sensor{s}}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return fleet.NewMatcher(f), nil
}

// monitored is the sensor's attribution: a packet is its own (sensor 0)
// when its destination is monitored and no exclusion matches it.
type monitored struct {
	monitor *fleet.Matcher
	exclude []exclusion
}

func (m monitored) Attribute(r *record.Record) (int, pipeline.Outcome) {
	if pipeline.Lookup(m.monitor, r.Dst) < 0 {
		return 0, pipeline.Unmatched
	}
	for i := range m.exclude {
		if m.exclude[i].match(r) {
			return 0, pipeline.Excluded
		}
	}
	return 0, pipeline.Kept
}

// frame handles one captured frame.
func (p *socketPipeline) frame(ts int64, link decode.LinkType, data []byte) error {
	p.counts.seen.Add(1)
	switch p.path.Frame(ts, link, data) {
	case pipeline.Skipped:
		p.counts.skipped.Add(1)
	case pipeline.Unmatched:
		p.counts.ignored.Add(1)
	case pipeline.Excluded:
		p.counts.excluded.Add(1)
	case pipeline.Kept:
		return p.path.Flush() // a batch of one: tag it, into the batcher
	}
	return nil
}

// batcher closes records into batches of a size, or after a latency, and
// puts them into the spool.
type batcher struct {
	size    int
	latency time.Duration
	epoch   uint64
	seq     *atomic.Uint64 // shared by the batchers of one sensor process
	spool   *spool.Spool
	counts  *counters
	log     *slog.Logger

	mu     sync.Mutex
	recs   []record.Record
	opened time.Time // when the first record of recs arrived
}

// Write is the pipeline's sink; it never fails (a batch the spool refuses
// is counted and logged by put).
func (b *batcher) Write(recs []record.Record, _ []int32) error {
	for i := range recs {
		b.add(&recs[i])
	}
	return nil
}

func (b *batcher) add(r *record.Record) {
	b.mu.Lock()
	if len(b.recs) == 0 {
		b.opened = time.Now()
	}
	b.recs = append(b.recs, *r)
	if len(b.recs) < b.size {
		b.mu.Unlock()
		return
	}
	full := b.take()
	b.mu.Unlock()
	b.put(full)
}

// flushIfDue closes the batch when its oldest record has waited the
// latency, or at once when force is set (at shutdown).
func (b *batcher) flushIfDue(now time.Time, force bool) {
	b.mu.Lock()
	if len(b.recs) == 0 || !force && now.Sub(b.opened) < b.latency {
		b.mu.Unlock()
		return
	}
	recs := b.take()
	b.mu.Unlock()
	b.put(recs)
}

func (b *batcher) take() []record.Record {
	recs := b.recs
	b.recs = make([]record.Record, 0, b.size)
	return recs
}

// put encodes and spools a batch. A batch the spool refuses (disk full,
// larger than the spool) is lost: it is counted and logged.
func (b *batcher) put(recs []record.Record) {
	seq := b.seq.Add(1)
	batch, err := wire.EncodeBatch(b.epoch, seq, time.Now(), recs)
	if err == nil {
		err = b.spool.Put(batch)
	}
	if err != nil {
		b.counts.lostBatches.Add(1)
		b.counts.lostRecords.Add(uint64(len(recs)))
		b.log.Error("batch lost: the spool refused it", "seq", seq, "records", len(recs), "err", err)
		return
	}
	b.counts.records.Add(uint64(len(recs)))
}
