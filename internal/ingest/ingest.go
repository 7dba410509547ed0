// Package ingest imports capture files into a store: `nightjar ingest`
// and the demo's backfill. Each file goes through the one packet path
// (internal/pipeline: decode, attribute to the fleet's sensors, tag) into
// the store in large batches, and is recorded in the store's import ledger
// by the SHA-256 of its decompressed content, with the period of each
// sensor's packets, in the same transaction as its records, so that a
// file is never counted twice: neither a copy of it compressed otherwise,
// nor one cut short, whose packets overlap the periods it recorded.
package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/ctxio"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Batch is the number of records handed to the store at once.
const Batch = 1 << 18

// Store is what an import needs of a store.Writer.
type Store interface {
	Imported(ctx context.Context, key string) (store.Import, bool, error)
	OverlappingImports(ctx context.Context, spans []store.Span) ([]store.Import, error)
	Append(ctx context.Context, recs []record.Record, sensors []int32) error
	Discard(ctx context.Context) error
	Flush(ctx context.Context, imports ...store.Import) error
	Sync(ctx context.Context) error
}

// ErrAlreadyImported: the file's content is in the store's import ledger.
var ErrAlreadyImported = errors.New("already imported")

// Progress receives the reading position of the current file after each
// batch: an analyze.Progress.
type Progress = analyze.Progress

// Ingester imports files one after another; the unicornscan state carries
// from one file to the next, as if they were one capture.
type Ingester struct {
	// Now stamps the imports and times them, and bounds the packet times
	// believed; time.Now unless set.
	Now func() time.Time
	// MaxFutureSkew, if positive, is how far ahead of Now a packet's time
	// may be. A packet before 1990, one whose pcap fraction of a second is
	// out of range, and one later than that is skipped and counted in
	// Result.BadTime. Zero (the default) bounds only the past: the clock of
	// an import is the data's, and a simulated capture may be of any year.
	MaxFutureSkew time.Duration
	// Force imports a file whose packets overlap, for one of its sensors,
	// the period of another import (reported in Result.Overlaps); without
	// it, File refuses the file with an *OverlapError.
	Force bool

	store Store
	path  *pipeline.Pipeline
	sink  *sink
	names map[int32]string // sensor name by store ID
}

// Result is what an import did.
type Result struct {
	Frames, Packets, Skipped, Unmatched uint64
	// BadTime counts the frames skipped for their timestamp (see
	// Ingester.MaxFutureSkew), included in Frames.
	BadTime uint64
	// Pruned counts the packets of days whose raw records were already
	// pruned, before Horizon: not stored.
	Pruned  uint64
	Horizon time.Time
	Elapsed time.Duration
	// Previous is the earlier import of the same content, with
	// ErrAlreadyImported.
	Previous store.Import
	// Overlaps are the periods of the file's packets that other imports
	// have for the same sensors: imported anyway under Force, else
	// refused (OverlapError).
	Overlaps Overlaps
}

// New returns an ingester into st that attributes packets to the sensors
// of fl; ids[i] is the store ID of fl.Sensors[i] (store.Writer.PutSensors).
// The enrichers (internal/enrich) set the records' origins.
func New(st Store, fl *fleet.Fleet, ids []int32, enrichers ...pipeline.Enricher) (*Ingester, error) {
	if len(ids) != len(fl.Sensors) {
		return nil, fmt.Errorf("ingest: %d sensor IDs for %d sensors", len(ids), len(fl.Sensors))
	}
	k := &sink{store: st, ids: ids}
	p, err := pipeline.New(pipeline.Config{Attributor: pipeline.Fleet(fleet.NewMatcher(fl)), Sink: k, Batch: Batch, Enrichers: enrichers})
	if err != nil {
		return nil, err
	}
	names := make(map[int32]string, len(ids))
	for i, id := range ids {
		names[id] = fl.Sensors[i].Name
	}
	return &Ingester{Now: time.Now, store: st, path: p, sink: k, names: names}, nil
}

// ErrNotRolledUp wraps the error of a file whose packets and import were
// stored but whose rollups could not be built: the next Sync (the next
// ingest, or the collector) builds them.
var ErrNotRolledUp = errors.New("stored, but the rollups could not be built")

// File imports one capture file. A corrupt or truncated file keeps the
// packets read before the damage, is recorded as imported, and returns
// the read error with the Result of what was stored.
//
// A file is imported once: one whose content (decompressed) was imported
// already is skipped with ErrAlreadyImported; one whose packets overlap,
// for one of its sensors, the period of another import (a copy cut
// short, say) is refused with an *OverlapError, storing nothing, unless
// Force.
func (in *Ingester) File(ctx context.Context, path string, progress Progress) (res Result, err error) {
	start := in.Now()
	keys, err := fileKeys(ctx, path)
	if err != nil {
		return res, err
	}
	for _, key := range []string{keys.content, keys.legacy} {
		if key == "" {
			continue
		}
		if prev, ok, err := in.store.Imported(ctx, key); err != nil {
			return res, err
		} else if ok {
			res.Previous = prev
			return res, ErrAlreadyImported
		}
	}
	r, err := capfile.Open(path)
	if err != nil {
		return res, err
	}
	defer r.Close()
	before := *in.path.Stats()
	in.sink.ctx, in.sink.res, in.sink.spans = ctx, &res, map[int32]*span{}
	defer func() {
		in.sink.ctx, in.sink.res, in.sink.spans = nil, nil, nil
		in.tally(&res, &before)
		res.Elapsed = in.Now().Sub(start)
	}()
	var (
		p       capfile.Packet
		readErr error
	)
	for {
		if readErr = r.Next(&p); readErr != nil {
			break
		}
		if in.badTime(&p, start) {
			res.BadTime++
			continue
		}
		in.path.Frame(p.Time, decode.LinkType(p.LinkType), p.Data)
		if !in.path.Full() {
			continue
		}
		if err := in.path.Flush(); err != nil {
			return res, err
		}
		if progress != nil {
			done, total := r.Progress()
			progress(path, done, total, in.path.Stats().Frames-before.Frames)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	if err := in.path.Flush(); err != nil {
		return res, err
	}
	if errors.Is(readErr, io.EOF) {
		readErr = nil
	}
	in.tally(&res, &before)
	// The import is committed in one Flush with the file's records: after
	// a crash either both are stored or neither is, so importing the file
	// again never counts it twice. A damaged file is recorded too:
	// importing it again would count the packets before the damage twice.
	imp := store.Import{Key: keys.content, Path: path, Frames: res.Frames, Packets: res.Packets, Imported: in.Now().UTC(), Spans: in.sink.spanList()}
	if res.Overlaps, err = in.overlaps(ctx, imp.Spans); err != nil {
		return res, errors.Join(err, in.store.Discard(ctx))
	}
	if len(res.Overlaps) > 0 && !in.Force {
		return res, errors.Join(&OverlapError{Path: path, Overlaps: res.Overlaps}, in.store.Discard(ctx))
	}
	if err := in.store.Flush(ctx, imp); err != nil {
		return res, err
	}
	if err := in.store.Sync(ctx); err != nil {
		return res, fmt.Errorf("%w: %w", ErrNotRolledUp, err)
	}
	return res, readErr
}

// overlaps returns the periods of spans that other imports have.
func (in *Ingester) overlaps(ctx context.Context, spans []store.Span) (Overlaps, error) {
	others, err := in.store.OverlappingImports(ctx, spans)
	if err != nil {
		return nil, err
	}
	var out Overlaps
	for _, other := range others {
		for _, theirs := range other.Spans {
			for _, ours := range spans {
				if !ours.Overlaps(theirs) {
					continue
				}
				out = append(out, Overlap{
					Sensor: in.names[ours.Sensor], Import: other,
					From: slices.MaxFunc([]time.Time{ours.First, theirs.First}, time.Time.Compare),
					To:   slices.MinFunc([]time.Time{ours.Last, theirs.Last}, time.Time.Compare),
				})
			}
		}
	}
	return out, nil
}

// badTime reports a packet whose time cannot be its capture time.
func (in *Ingester) badTime(p *capfile.Packet, now time.Time) bool {
	if p.BadTime || p.Time < record.Earliest.UnixNano() {
		return true
	}
	return in.MaxFutureSkew > 0 && record.ImplausibleTime(p.Time, now, in.MaxFutureSkew) != ""
}

// tally counts the frames of the file in res: the pipeline's counts since
// before.
func (in *Ingester) tally(res *Result, before *pipeline.Stats) {
	after := in.path.Stats()
	res.Frames = after.Frames - before.Frames + res.BadTime
	res.Skipped = after.SkippedTotal() - before.SkippedTotal()
	res.Unmatched = after.Unmatched - before.Unmatched
}

// sink appends the pipeline's batches to the store, during File, and
// notes the span of each sensor's records.
type sink struct {
	store Store
	ids   []int32 // store ID by fleet index
	ctx   context.Context
	res   *Result
	spans map[int32]*span // by store ID
}

// Write appends the batch. When the store refuses it because records fall
// on days whose raw records were pruned, it drops (and counts) the records
// before the retention horizon and appends the rest.
func (k *sink) Write(recs []record.Record, sensors []int32) error {
	for i, s := range sensors {
		sensors[i] = k.ids[s]
	}
	err := k.store.Append(k.ctx, recs, sensors)
	if h, ok := k.store.(store.Horizoner); ok && errors.Is(err, store.ErrPruned) {
		horizon := h.PrunedBefore().UnixNano()
		n := 0
		for i := range recs {
			if recs[i].Time >= horizon {
				recs[n], sensors[n] = recs[i], sensors[i]
				n++
			}
		}
		k.res.Pruned += uint64(len(recs) - n)
		k.res.Horizon = h.PrunedBefore()
		recs = recs[:n]
		err = k.store.Append(k.ctx, recs, sensors[:n])
	}
	if err != nil {
		return err
	}
	k.res.Packets += uint64(len(recs))
	for i := range recs {
		k.note(sensors[i], recs[i].Time)
	}
	return nil
}

// span is the period of a sensor's records, in ns, during File.
type span struct {
	first, last int64
	packets     uint64
}

// note extends the span of sensor to a record at t ns.
func (k *sink) note(sensor int32, t int64) {
	sp, ok := k.spans[sensor]
	if !ok {
		k.spans[sensor] = &span{first: t, last: t, packets: 1}
		return
	}
	sp.first, sp.last, sp.packets = min(sp.first, t), max(sp.last, t), sp.packets+1
}

// spanList returns the spans noted, ordered by sensor ID.
func (k *sink) spanList() []store.Span {
	out := make([]store.Span, 0, len(k.spans))
	for id, sp := range k.spans {
		out = append(out, store.Span{Sensor: id, First: time.Unix(0, sp.first).UTC(), Last: time.Unix(0, sp.last).UTC(), Packets: sp.packets})
	}
	slices.SortFunc(out, func(a, b store.Span) int { return cmp.Compare(a.Sensor, b.Sensor) })
	return out
}

// keys identify a capture file. content is the SHA-256 of its
// decompressed bytes — of a plain file, of its bytes — so that a
// compressed copy of a capture has the key of the capture. legacy, of a
// compressed file only, is the SHA-256 of its compressed bytes, the key
// imports recorded before content keys: an import of that time is found
// by it, so that upgrading never counts a file twice.
type keys struct{ content, legacy string }

// hashBuffer is the size of the reads of a file being hashed: large reads
// for speed, each after a check of the context.
const hashBuffer = 1 << 20

// fileKeys reads the file at path once and returns its keys. A compressed
// stream damaged or cut short is keyed by the bytes decompressed before
// the damage, as the import stores the packets before it. It stops, with
// ctx's error, when ctx ends.
func fileKeys(ctx context.Context, path string) (keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return keys{}, err
	}
	defer f.Close()
	file := &firstErr{r: ctxio.Reader(ctx, f)}
	raw := sha256.New()
	tee := io.TeeReader(file, raw)
	stream, compressed, err := capfile.Decompressed(path, tee)
	if err != nil {
		return keys{}, fmt.Errorf("hash %s: %w", path, cmp.Or(file.err, err))
	}
	defer stream.Close()
	buf := make([]byte, hashBuffer)
	// io.Discard without its ReadFrom, which reads in pieces of 8 KiB.
	discard := struct{ io.Writer }{io.Discard}
	if !compressed { // the stream is the file, hashed by the tee
		_, err := io.CopyBuffer(discard, stream, buf)
		if err != nil {
			return keys{}, fmt.Errorf("hash %s: %w", path, err)
		}
		return keys{content: hex.EncodeToString(raw.Sum(nil))}, nil
	}
	content := sha256.New()
	// The error of a damaged stream is the import's to report; the key
	// covers the bytes before it. The file's own errors are in file.err.
	_, _ = io.CopyBuffer(content, stream, buf)
	if file.err == nil {
		// The rest of the file, past the compressed stream's end or
		// damage, counts in the legacy key.
		_, _ = io.CopyBuffer(discard, tee, buf)
	}
	if file.err != nil {
		return keys{}, fmt.Errorf("hash %s: %w", path, file.err)
	}
	return keys{content: hex.EncodeToString(content.Sum(nil)), legacy: hex.EncodeToString(raw.Sum(nil))}, nil
}

// firstErr reads r and keeps the first error other than io.EOF it gave:
// the file's or the context's, told apart from a decompressor's.
type firstErr struct {
	r   io.Reader
	err error
}

func (f *firstErr) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}

// SensorStore is what Fleet needs of a store.Writer.
type SensorStore interface {
	PutSensors(ctx context.Context, sensors []fleet.Sensor) ([]int32, error)
	Sensors(ctx context.Context) ([]store.Sensor, error)
}

// Fleet stores the sensors of sensorsFile, if given, and returns the
// fleet to match destinations against with the store IDs of its sensors;
// without a file, the sensors already stored.
func Fleet(ctx context.Context, st SensorStore, sensorsFile string) (*fleet.Fleet, []int32, error) {
	if sensorsFile != "" {
		fl, err := fleet.LoadContext(ctx, sensorsFile)
		if err != nil {
			return nil, nil, err
		}
		ids, err := st.PutSensors(ctx, fl.Sensors)
		if err != nil {
			return nil, nil, err
		}
		return fl, ids, nil
	}
	stored, err := st.Sensors(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(stored) == 0 {
		return nil, nil, errors.New("the database has no sensors yet: give --sensors FILE")
	}
	fl := &fleet.Fleet{}
	ids := make([]int32, len(stored))
	for i, s := range stored {
		fl.Sensors = append(fl.Sensors, s.Sensor)
		ids[i] = s.ID
	}
	if err := fl.Validate(); err != nil {
		return nil, nil, fmt.Errorf("stored sensors: %w", err)
	}
	return fl, ids, nil
}
