package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// setStore is a LedgerStore over a set of committed batches; it counts the
// lookups that reach it.
type setStore struct {
	stored  map[store.Batch]bool
	lookups int
	loads   int
}

func (s *setStore) BatchRanges(_ context.Context, sensor string, epoch uint64, n int) ([]store.SeqRange, error) {
	s.loads++
	var seqs []uint64
	for b := range s.stored {
		if b.Sensor == sensor && b.Epoch == epoch {
			seqs = append(seqs, b.Seq)
		}
	}
	slices.Sort(seqs)
	var runs []store.SeqRange
	for _, seq := range seqs {
		if k := len(runs); k > 0 && runs[k-1].Last+1 == seq {
			runs[k-1].Last = seq
			continue
		}
		runs = append(runs, store.SeqRange{First: seq, Last: seq})
	}
	slices.Reverse(runs)
	return runs[:min(n, len(runs))], nil
}

func (s *setStore) BatchStored(_ context.Context, b store.Batch) (bool, error) {
	s.lookups++
	return s.stored[b], nil
}

// commit stores b and tells the ledger, as the writer does after a Flush.
func (s *setStore) commit(l *ledger, b store.Batch) {
	s.stored[b] = true
	l.add(b)
}

// TestLedgerAgreesWithTheStore: whatever order sequences come in — in
// order, shuffled, sent again, jumping ahead, from several epochs — the
// ledger's answer is the store's, and it keeps at most ledgerRuns runs an
// epoch.
func TestLedgerAgreesWithTheStore(t *testing.T) {
	for _, tt := range []struct {
		name string
		seqs func(r *rand.Rand) []uint64
	}{
		{"in order", func(*rand.Rand) []uint64 { return count(1, 500, 1) }},
		{"every other, then the gaps", func(*rand.Rand) []uint64 { return append(count(1, 500, 2), count(2, 500, 2)...) }},
		{"the newest first, as a spool after an outage", func(*rand.Rand) []uint64 { return append(count(300, 500, 1), count(1, 299, 1)...) }},
		{"jumps far ahead", func(*rand.Rand) []uint64 {
			return []uint64{1, 2, 1 << 40, 3, 1<<40 + 1, 1 << 63, 1<<64 - 1, 4, 1<<64 - 2}
		}},
		{"shuffled and sent twice", func(r *rand.Rand) []uint64 {
			s := append(count(1, 400, 1), count(1, 400, 3)...)
			r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			return s
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			st := &setStore{stored: map[store.Batch]bool{}}
			l := newLedger(st)
			for i, seq := range tt.seqs(r) {
				b := store.Batch{Sensor: "s1", Epoch: uint64(i % 3), Seq: seq}
				got, err := l.stored(t.Context(), b)
				if err != nil {
					t.Fatal(err)
				}
				if want := st.stored[b]; got != want {
					t.Fatalf("stored(%+v) = %v, want %v", b, got, want)
				}
				if !got {
					st.commit(l, b)
				}
			}
			for k, w := range l.epochs {
				if len(w.runs) > ledgerRuns {
					t.Errorf("epoch %v keeps %d runs, want at most %d", k, len(w.runs), ledgerRuns)
				}
			}
		})
	}
}

func count(from, to, step uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i += step {
		s = append(s, i)
	}
	return s
}

// TestLedgerWindow: above the floor the ledger answers from memory; a
// batch below it, older than the window, is looked up in the store, and
// is a duplicate only if the store has it.
func TestLedgerWindow(t *testing.T) {
	ctx := t.Context()
	st := &setStore{stored: map[store.Batch]bool{}}
	l := newLedger(st)
	at := func(seq uint64) store.Batch { return store.Batch{Sensor: "s1", Epoch: 7, Seq: seq} }
	// 1, 3, 5, ...: each its own run, until the lowest fall out of the window.
	for seq := uint64(1); seq <= 2*ledgerRuns+9; seq += 2 {
		if ok, err := l.stored(ctx, at(seq)); err != nil || ok {
			t.Fatalf("stored(%d) = %v, %v before its commit", seq, ok, err)
		}
		st.commit(l, at(seq))
	}
	w := l.epochs[epochKey{"s1", 7}]
	if len(w.runs) != ledgerRuns || w.floor != 10 {
		t.Fatalf("window of %d runs from %d, want %d runs from 10", len(w.runs), w.floor, ledgerRuns)
	}
	if st.lookups != 0 || st.loads != 1 {
		t.Fatalf("%d lookups and %d loads in the store, want 0 and 1", st.lookups, st.loads)
	}
	for _, tt := range []struct {
		seq     uint64
		want    bool
		lookups int
	}{
		{1, true, 1},  // below the window, stored: a duplicate
		{2, false, 2}, // below the window, never stored: new
		{13, true, 2}, // in the window: from memory
		{14, false, 2},
	} {
		got, err := l.stored(ctx, at(tt.seq))
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want || st.lookups != tt.lookups {
			t.Errorf("stored(%d) = %v with %d store lookups, want %v with %d", tt.seq, got, st.lookups, tt.want, tt.lookups)
		}
	}
	// A restart: the window is loaded again, the same.
	again := newLedger(st)
	if _, err := again.stored(ctx, at(2*ledgerRuns+9)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(again.epochs[epochKey{"s1", 7}].runs, w.runs); diff != "" {
		t.Errorf("window after a restart (-got, +want):\n%s", diff)
	}
}

// TestLedgerDropsQuietEpochs: the windows in memory are bounded; an epoch
// dropped is loaded again when it speaks.
func TestLedgerDropsQuietEpochs(t *testing.T) {
	ctx := t.Context()
	st := &setStore{stored: map[store.Batch]bool{}}
	l := newLedger(st)
	first := store.Batch{Sensor: "s0", Epoch: 1, Seq: 1}
	st.commit(l, first)
	for i := range 3 * ledgerEpochs {
		b := store.Batch{Sensor: fmt.Sprintf("s%d", i), Epoch: 1, Seq: 1}
		if _, err := l.stored(ctx, b); err != nil {
			t.Fatal(err)
		}
		if len(l.epochs) > ledgerEpochs {
			t.Fatalf("%d epochs in memory, want at most %d", len(l.epochs), ledgerEpochs)
		}
	}
	if ok, err := l.stored(ctx, first); err != nil || !ok {
		t.Errorf("stored(%+v) after its window was dropped = %v, %v; want true", first, ok, err)
	}
}
