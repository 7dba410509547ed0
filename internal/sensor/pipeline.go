package sensor

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
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

// pipeline decodes, filters, tags and batches the frames of one capture
// socket. Each capture goroutine has its own, so the hot path takes no
// lock but its batcher's.
type pipeline struct {
	counts  *counters
	monitor *fleet.Matcher
	exclude []exclusion
	tagger  *fingerprint.Tagger
	batch   *batcher
	rec     record.Record
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

// frame handles one captured frame.
func (p *pipeline) frame(ts int64, link decode.LinkType, data []byte) {
	p.counts.seen.Add(1)
	r := &p.rec
	if decode.Decode(link, data, r) != decode.OK {
		p.counts.skipped.Add(1)
		return
	}
	if !p.monitored(r.Dst) {
		p.counts.ignored.Add(1)
		return
	}
	for i := range p.exclude {
		if p.exclude[i].match(r) {
			p.counts.excluded.Add(1)
			return
		}
	}
	r.Time = ts
	p.tagger.Tag(r)
	p.batch.add(r)
}

func (p *pipeline) monitored(a record.Addr) bool {
	if a.Is4() {
		return p.monitor.Lookup4(a.Uint32()) >= 0
	}
	return p.monitor.Lookup(a.Netip()) >= 0
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
