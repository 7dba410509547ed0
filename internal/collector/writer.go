package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// writer is the state of the goroutine that owns the store.
type writer struct {
	c *Collector
	// ledger knows the batches committed.
	ledger *ledger
	// group is the batches appended since the last commit, by key, with
	// the copies of them that arrived meanwhile (sent again after a
	// reconnect): those are acknowledged as duplicates after the commit.
	group   map[store.Batch]*pending
	order   []*pending
	records int
	ids     map[string]int32
	sensors []int32 // reused sensor-ID column for Append
	dirty   bool    // committed since the last rollup rebuild
	// rolled receives the end of the background rollup rebuild under way
	// (nil when none is); pruned is when Sync last pruned.
	rolled chan error
	pruned time.Time
}

type pending struct {
	job  *batchJob
	dups []*batchJob
}

// Run stores batches until ctx is done, then commits, rebuilds the rollups
// and returns. It loads nothing first (the ledger reads the store as
// sensors speak), so it starts at once whatever the history; store
// failures fail the batches concerned, not Run, and it returns nil.
func (c *Collector) Run(ctx context.Context) error {
	// The first prune comes after pruneInterval (and at the end): it
	// pauses commits, and the last run of the collector pruned. The
	// rollups start dirty: a collector killed before its rebuild
	// committed left days pending, which must be rebuilt even if the
	// sensors only send again what it had stored.
	w := &writer{c: c, ledger: newLedger(c.cfg.Store), group: map[store.Batch]*pending{}, ids: map[string]int32{},
		pruned: time.Now(), dirty: true}
	c.log.Info("collector ready")
	commit := time.NewTicker(c.cfg.CommitInterval)
	defer commit.Stop()
	rollup := time.NewTicker(c.cfg.RollupInterval)
	defer rollup.Stop()
	// Store calls finish even when ctx is done: stopping must not abort a
	// commit, and what is queued is settled before Run returns.
	wctx := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		select {
		case j := <-c.jobs:
			w.handle(wctx, j)
			if w.records >= c.cfg.CommitRecords {
				w.commit(wctx)
			}
		case <-commit.C:
			w.commit(wctx)
		case <-rollup.C:
			w.commit(wctx)
			w.rollUp(wctx)
		case err := <-w.rolled:
			w.rolledUp(err)
		case <-ctx.Done():
		}
	}
	for {
		select {
		case j := <-c.jobs:
			w.handle(wctx, j)
			continue
		default:
		}
		break
	}
	w.commit(wctx)
	if w.rolled != nil {
		w.rolledUp(<-w.rolled)
	}
	w.sync(wctx)
	return nil
}

func (w *writer) handle(ctx context.Context, j job) {
	switch {
	case j.register != nil:
		id, err := w.register(ctx, j.register.name)
		j.register.reply <- registerResult{id, err}
	case j.batch != nil:
		w.append(ctx, j.batch)
	}
}

func (w *writer) register(ctx context.Context, name string) (int32, error) {
	if id, ok := w.ids[name]; ok {
		return id, nil
	}
	for _, s := range w.c.cfg.Registry.Sensors() {
		if s.Name != name {
			continue
		}
		ids, err := w.c.cfg.Store.PutSensors(ctx, []fleet.Sensor{s})
		if err != nil {
			return 0, fmt.Errorf("register sensor %s: %w", name, err)
		}
		w.ids[name] = ids[0]
		return ids[0], nil
	}
	return 0, fmt.Errorf("sensor %q has a certificate but is not in the registry", name)
}

func (w *writer) append(ctx context.Context, j *batchJob) {
	if p, ok := w.group[j.key]; ok {
		p.dups = append(p.dups, j)
		return
	}
	switch stored, err := w.ledger.stored(ctx, j.key); {
	case err != nil:
		// The stream's handler logs the error as it closes.
		w.release(j)
		j.stream.fail(fmt.Errorf("collector: reading the batch ledger failed; the batch will be sent again: %w", err))
		return
	case stored:
		w.settle(j, sensorv1.Status_STATUS_DUPLICATE, "")
		return
	}
	w.sensors = w.sensors[:0]
	for range j.records {
		w.sensors = append(w.sensors, j.id)
	}
	err := w.c.cfg.Store.Append(ctx, j.records, w.sensors)
	switch {
	case errors.Is(err, store.ErrPruned):
		// Append refused the batch and left the others alone.
		w.c.log.Warn("batch older than the retention rejected", "sensor", j.key.Sensor, "epoch", j.key.Epoch, "seq", j.key.Seq, "err", err)
		w.settle(j, sensorv1.Status_STATUS_REJECTED, err.Error())
	case err != nil:
		// The store discarded every append since the last commit. Each
		// failed stream's handler logs the error as it closes.
		err = fmt.Errorf("collector: store append failed; the uncommitted batches will be sent again: %w", err)
		w.failGroup(err)
		w.release(j)
		j.stream.fail(err)
	default:
		p := &pending{job: j}
		w.group[j.key] = p
		w.order = append(w.order, p)
		w.records += len(j.records)
	}
}

// commit makes the group durable, then acknowledges it.
func (w *writer) commit(ctx context.Context) {
	if len(w.order) == 0 {
		w.putHealth(ctx)
		return
	}
	start := time.Now()
	batches := make([]store.Batch, len(w.order))
	for i, p := range w.order {
		batches[i] = p.job.key
	}
	if err := w.c.cfg.Store.FlushBatches(ctx, batches); err != nil {
		w.failGroup(fmt.Errorf("collector: commit of %d batches failed; they will be sent again: %w", len(w.order), err))
		return
	}
	w.c.stats.commitSeconds.Observe(time.Since(start).Seconds())
	for _, p := range w.order {
		w.ledger.add(p.job.key)
		w.c.stats.stored.Add(float64(len(p.job.records)))
		w.settle(p.job, sensorv1.Status_STATUS_STORED, "")
		for _, d := range p.dups {
			w.settle(d, sensorv1.Status_STATUS_DUPLICATE, "")
		}
	}
	w.reset()
	w.dirty = true
	w.putHealth(ctx)
}

// failGroup ends the streams of every uncommitted batch: their sensors
// reconnect and send them again.
func (w *writer) failGroup(err error) {
	for _, p := range w.order {
		for _, j := range append(p.dups, p.job) {
			w.release(j)
			j.stream.fail(err)
		}
	}
	w.reset()
}

func (w *writer) reset() {
	clear(w.group)
	w.order = w.order[:0]
	w.records = 0
}

func (w *writer) settle(j *batchJob, status sensorv1.Status, msg string) {
	w.c.stats.settled.WithLabelValues(statusName(status)).Inc()
	w.c.stats.ackSeconds.Observe(time.Since(j.received).Seconds())
	if status == sensorv1.Status_STATUS_STORED {
		w.c.penalties.stored(j.key.Sensor)
	}
	w.release(j)
	j.stream.ack(&sensorv1.Ack{Epoch: j.key.Epoch, Seq: j.key.Seq, Status: status, Message: msg})
}

func (w *writer) release(j *batchJob) {
	j.stream.release(j.weight)
	j.records = nil
}

// pruneInterval is how often the writer prunes the raw records past the
// retention (Sync): the horizon moves by whole days.
const pruneInterval = time.Hour

// rollUp rebuilds the rollups of what was committed. A store that can
// (store.BackgroundRoller) rebuilds them in another goroutine while the
// writer goes on committing and acknowledging, one rebuild at a time;
// the writer itself Syncs — which prunes, and stops commits meanwhile —
// only every pruneInterval, or with a store that cannot.
func (w *writer) rollUp(ctx context.Context) {
	roller, ok := w.c.cfg.Store.(store.BackgroundRoller)
	if !ok || time.Since(w.pruned) >= pruneInterval {
		if w.rolled != nil {
			w.rolledUp(<-w.rolled) // Sync waits for it anyway
		}
		w.sync(ctx)
		return
	}
	if !w.dirty || w.rolled != nil {
		return
	}
	w.dirty = false
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		err := roller.RollUp(ctx)
		if err == nil {
			w.c.log.Debug("rollups rebuilt", "took_seconds", time.Since(start).Seconds(), "background", true)
		}
		done <- err
	}()
	w.rolled = done
}

// rolledUp notes the end of a background rebuild.
func (w *writer) rolledUp(err error) {
	w.rolled = nil
	if err != nil {
		w.dirty = true
		w.c.log.Error("rebuilding the rollups failed; will retry", "err", err)
	}
}

func (w *writer) sync(ctx context.Context) {
	if !w.dirty {
		return
	}
	start := time.Now()
	if err := w.c.cfg.Store.Sync(ctx); err != nil {
		w.c.log.Error("rebuilding the rollups failed; will retry", "err", err)
		return
	}
	w.dirty, w.pruned = false, time.Now()
	w.c.log.Debug("rollups rebuilt", "took_seconds", time.Since(start).Seconds())
}

func (w *writer) putHealth(ctx context.Context) {
	reports := w.c.health.changed()
	if len(reports) == 0 {
		return
	}
	if err := w.c.cfg.Store.PutHealth(ctx, reports); err == nil || len(reports) == 1 {
		w.logHealthFailure(reports, err)
		return
	}
	// One report must not keep the others out: store each alone.
	for i := range reports {
		w.logHealthFailure(reports[i:i+1], w.c.cfg.Store.PutHealth(ctx, reports[i:i+1]))
	}
}

func (w *writer) logHealthFailure(reports []store.Health, err error) {
	if err == nil {
		return
	}
	for _, r := range reports {
		w.c.stats.healthRejected.WithLabelValues(r.Sensor, "store_failed").Inc()
	}
	w.c.log.Warn("storing sensor health failed", "reports", len(reports), "err", err)
}

func statusName(s sensorv1.Status) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "STATUS_"))
}
