// Package ingest imports capture files into a store: `nightjar ingest`
// and the demo's backfill. Each file goes through the one packet path
// (internal/pipeline: decode, attribute to the fleet's sensors, tag) into
// the store in large batches, and is recorded in the store's import ledger
// by the SHA-256 of its bytes, in the same transaction as its records, so
// that a file is never counted twice.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
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
	Append(ctx context.Context, recs []record.Record, sensors []int32) error
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

	store Store
	path  *pipeline.Pipeline
	sink  *sink
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
}

// New returns an ingester into st that attributes packets to the sensors
// of fl; ids[i] is the store ID of fl.Sensors[i] (store.Writer.PutSensors).
func New(st Store, fl *fleet.Fleet, ids []int32) (*Ingester, error) {
	if len(ids) != len(fl.Sensors) {
		return nil, fmt.Errorf("ingest: %d sensor IDs for %d sensors", len(ids), len(fl.Sensors))
	}
	k := &sink{store: st, ids: ids}
	p, err := pipeline.New(pipeline.Config{Attributor: pipeline.Fleet(fleet.NewMatcher(fl)), Sink: k, Batch: Batch})
	if err != nil {
		return nil, err
	}
	return &Ingester{Now: time.Now, store: st, path: p, sink: k}, nil
}

// File imports one capture file. A corrupt or truncated file keeps the
// packets read before the damage, is recorded as imported, and returns
// the read error with the Result of what was stored.
func (in *Ingester) File(ctx context.Context, path string, progress Progress) (res Result, err error) {
	start := in.Now()
	key, err := fileKey(path)
	if err != nil {
		return res, err
	}
	if prev, ok, err := in.store.Imported(ctx, key); err != nil {
		return res, err
	} else if ok {
		res.Previous = prev
		return res, ErrAlreadyImported
	}
	r, err := capfile.Open(path)
	if err != nil {
		return res, err
	}
	defer r.Close()
	before := *in.path.Stats()
	in.sink.ctx, in.sink.res = ctx, &res
	defer func() {
		in.sink.ctx, in.sink.res = nil, nil
		in.tally(&res, &before)
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
	imp := store.Import{Key: key, Path: path, Frames: res.Frames, Packets: res.Packets, Imported: in.Now().UTC()}
	if err := in.store.Flush(ctx, imp); err != nil {
		return res, err
	}
	if err := in.store.Sync(ctx); err != nil {
		return res, err
	}
	res.Elapsed = in.Now().Sub(start)
	return res, readErr
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

// sink appends the pipeline's batches to the store, during File.
type sink struct {
	store Store
	ids   []int32 // store ID by fleet index
	ctx   context.Context
	res   *Result
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
	return nil
}

// fileKey identifies a capture by the SHA-256 of its bytes.
func fileKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
		fl, err := fleet.Load(sensorsFile)
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
