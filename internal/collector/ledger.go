package collector

import (
	"cmp"
	"context"
	"slices"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The ledger tells the writer whether a batch is already stored, with
// memory and start-up time that do not grow with the history.
//
// The store's ledger (store.Batch) is durable and holds runs of sequence
// numbers per sensor and epoch, committed with the records (FlushBatches).
// In memory the ledger keeps, for each epoch heard from lately, a window:
// the highest ledgerRuns runs, loaded from the store on the epoch's first
// batch since start and extended by every commit. Above the window's floor
// it answers from memory; below it — a batch older than the window, sent
// again from a spool after an outage, or out of order around a gap of lost
// batches — it asks the store, which knows every run. So a sequence below
// the window is a duplicate only if the store has it, a sequence that
// jumps far ahead just becomes a new run, and a new epoch (a sensor
// restart or a lost spool) is a new window. Nothing is loaded at start.

const (
	// ledgerRuns is the most runs of one epoch kept in memory: the gaps a
	// window may span before its lowest run falls to the store.
	ledgerRuns = 64
	// ledgerEpochs is the most epochs kept in memory; beyond it those
	// heard from least recently are dropped, and reloaded if they speak.
	ledgerEpochs = 4096
)

// LedgerStore is what the ledger needs of the store.
type LedgerStore interface {
	BatchRanges(ctx context.Context, sensor string, epoch uint64, n int) ([]store.SeqRange, error)
	BatchStored(ctx context.Context, b store.Batch) (bool, error)
}

type ledger struct {
	store  LedgerStore
	epochs map[epochKey]*window
	tick   uint64 // counts lookups, to find the epochs heard from least recently
}

type epochKey struct {
	sensor string
	epoch  uint64
}

// window is an epoch's stored runs at or above floor, ascending, disjoint
// and not adjacent; below floor, the store answers.
type window struct {
	runs  []store.SeqRange
	floor uint64
	used  uint64
}

func newLedger(st LedgerStore) *ledger {
	return &ledger{store: st, epochs: map[epochKey]*window{}}
}

// stored reports whether b was committed.
func (l *ledger) stored(ctx context.Context, b store.Batch) (bool, error) {
	w, err := l.window(ctx, epochKey{b.Sensor, b.Epoch})
	if err != nil {
		return false, err
	}
	if b.Seq < w.floor {
		return l.store.BatchStored(ctx, b)
	}
	return w.contains(b.Seq), nil
}

// add notes that b was committed.
func (l *ledger) add(b store.Batch) {
	// A window dropped since the lookup is reloaded from the store, which
	// has b.
	if w, ok := l.epochs[epochKey{b.Sensor, b.Epoch}]; ok {
		w.add(b.Seq)
	}
}

func (l *ledger) window(ctx context.Context, k epochKey) (*window, error) {
	l.tick++
	if w, ok := l.epochs[k]; ok {
		w.used = l.tick
		return w, nil
	}
	runs, err := l.store.BatchRanges(ctx, k.sensor, k.epoch, ledgerRuns)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	w := &window{runs: runs, used: l.tick}
	if len(runs) == ledgerRuns {
		w.floor = runs[0].First // lower runs may exist
	}
	if len(l.epochs) >= ledgerEpochs {
		l.dropLeastRecent()
	}
	l.epochs[k] = w
	return w, nil
}

// dropLeastRecent drops the half of the windows heard from least recently.
func (l *ledger) dropLeastRecent() {
	used := make([]uint64, 0, len(l.epochs))
	for _, w := range l.epochs {
		used = append(used, w.used)
	}
	slices.Sort(used)
	cut := used[len(used)/2]
	for k, w := range l.epochs {
		if w.used < cut {
			delete(l.epochs, k)
		}
	}
}

func (w *window) contains(seq uint64) bool {
	i, found := w.search(seq)
	return found || i > 0 && seq <= w.runs[i-1].Last
}

// search returns the index of the first run that starts at or after seq,
// and whether it starts at seq.
func (w *window) search(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(w.runs, seq, func(r store.SeqRange, seq uint64) int { return cmp.Compare(r.First, seq) })
}

// add adds seq, merging it with the runs it adjoins; past ledgerRuns runs,
// the lowest is dropped and the floor rises above it.
func (w *window) add(seq uint64) {
	if seq < w.floor || w.contains(seq) {
		return
	}
	i, _ := w.search(seq)
	joinsBelow := i > 0 && w.runs[i-1].Last+1 == seq
	joinsAbove := i < len(w.runs) && w.runs[i].First == seq+1
	switch {
	case joinsBelow && joinsAbove:
		w.runs[i-1].Last = w.runs[i].Last
		w.runs = slices.Delete(w.runs, i, i+1)
	case joinsBelow:
		w.runs[i-1].Last = seq
	case joinsAbove:
		w.runs[i].First = seq
	default:
		w.runs = slices.Insert(w.runs, i, store.SeqRange{First: seq, Last: seq})
	}
	if len(w.runs) > ledgerRuns {
		w.floor = w.runs[0].Last + 1
		w.runs = slices.Delete(w.runs, 0, 1)
	}
}
