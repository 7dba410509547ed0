package storetest

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runLedger runs the conformance tests of the batch ledger.
func runLedger(t *testing.T, open Opener, crash Crasher) {
	t.Run("ledger runs", func(t *testing.T) { testLedgerRuns(t, open(t)) })
	t.Run("ledger commits of many sensors and epochs", func(t *testing.T) { testLedgerCommitsOfMany(t, open(t)) })
	t.Run("ledger commits with the records", func(t *testing.T) {
		if crash == nil {
			t.Skip("the backend gave no Crasher to storetest.Run")
		}
		testLedgerCrash(t, open(t), crash)
	})
}

// testLedgerRuns: the ledger merges the batches of each sensor and epoch
// into runs, whatever order they come in, and tells stored from not.
func testLedgerRuns(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	const top = math.MaxUint64
	const highEpoch = 1<<63 + 2 // epochs are random: the high bit is often set
	flush := func(sensor string, epoch uint64, seqs ...uint64) {
		t.Helper()
		batches := make([]store.Batch, len(seqs))
		for i, seq := range seqs {
			batches[i] = store.Batch{Sensor: sensor, Epoch: epoch, Seq: seq}
		}
		if err := s.FlushBatches(ctx, batches); err != nil {
			t.Fatalf("FlushBatches(%s, %x, %v) = %v", sensor, epoch, seqs, err)
		}
	}
	check := func(step, sensor string, epoch uint64, n int, want ...store.SeqRange) {
		t.Helper()
		got, err := s.BatchRanges(ctx, sensor, epoch, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("after %s: BatchRanges(%s, %x, %d) (-got, +want):\n%s", step, sensor, epoch, n, diff)
		}
	}
	check("nothing", "s1", 1, 10)
	flush("s1", 1, 5, 2, 1, 3, 3)
	flush("s1", highEpoch, 4)
	flush("s1/x%", 1, 9) // names are compared as text
	check("the first batches", "s1", 1, 10, store.SeqRange{First: 5, Last: 5}, store.SeqRange{First: 1, Last: 3})
	check("the first batches", "s1", 1, 1, store.SeqRange{First: 5, Last: 5})
	check("the first batches", "s1", highEpoch, 10, store.SeqRange{First: 4, Last: 4})
	check("the first batches", "s1/x%", 1, 10, store.SeqRange{First: 9, Last: 9})
	flush("s1", 1, 10, 8)
	flush("s1", 1, 4) // fills the gap: 1-5 is one run
	check("a gap filled", "s1", 1, 10, store.SeqRange{First: 10, Last: 10}, store.SeqRange{First: 8, Last: 8}, store.SeqRange{First: 1, Last: 5})
	flush("s1", 1, 9, 2, 0) // one batch joins two runs; one is there already
	flush("s1", 1, top, top-1, 12)
	check("the edges", "s1", 1, 10, store.SeqRange{First: top - 1, Last: top}, store.SeqRange{First: 12, Last: 12},
		store.SeqRange{First: 8, Last: 10}, store.SeqRange{First: 0, Last: 5})
	check("the edges", "s1", highEpoch, 10, store.SeqRange{First: 4, Last: 4})

	for _, tt := range []struct {
		b    store.Batch
		want bool
	}{
		{store.Batch{Sensor: "s1", Epoch: 1, Seq: 0}, true},
		{store.Batch{Sensor: "s1", Epoch: 1, Seq: 5}, true},
		{store.Batch{Sensor: "s1", Epoch: 1, Seq: 6}, false},
		{store.Batch{Sensor: "s1", Epoch: 1, Seq: 11}, false},
		{store.Batch{Sensor: "s1", Epoch: 1, Seq: top}, true},
		{store.Batch{Sensor: "s1", Epoch: highEpoch, Seq: 5}, false},
		{store.Batch{Sensor: "s1", Epoch: 3, Seq: 4}, false},
		{store.Batch{Sensor: "s2", Epoch: 1, Seq: 1}, false},
		{store.Batch{Sensor: "s1/x%", Epoch: 1, Seq: 9}, true},
	} {
		got, err := s.BatchStored(ctx, tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("BatchStored(%+v) = %v, want %v", tt.b, got, tt.want)
		}
	}
}

// testLedgerCommitsOfMany: one commit may hold the batches of many
// sensors and epochs, in any order, with repeats: each sensor's epoch
// gets its own runs, formed within the commit and merged with the stored
// ones.
func testLedgerCommitsOfMany(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	const epochs = 40
	type key struct {
		sensor string
		epoch  uint64
	}
	commit := func(step string, seqs map[key][]uint64) {
		t.Helper()
		var batches []store.Batch
		for k, ss := range seqs {
			for _, seq := range ss {
				batches = append(batches, store.Batch{Sensor: k.sensor, Epoch: k.epoch, Seq: seq})
			}
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
		if err := s.FlushBatches(ctx, batches); err != nil {
			t.Fatalf("FlushBatches(%s: %d batches) = %v", step, len(batches), err)
		}
	}
	check := func(step string, want map[key][]store.SeqRange) {
		t.Helper()
		for k, w := range want {
			got, err := s.BatchRanges(ctx, k.sensor, k.epoch, 10)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, w); diff != "" {
				t.Errorf("after %s: BatchRanges(%s, %x) (-got, +want):\n%s", step, k.sensor, k.epoch, diff)
			}
		}
	}
	first, second := map[key][]uint64{
		{"s1", 1}:       {3, 1, 2, 2, 7, 9}, // a repeat within the commit
		{"s1", 1 << 63}: {5},
		{"s2", 1}:       {1},
	}, map[key][]uint64{
		{"s1", 1}:       {6, 4, 5, 4}, // joins 1-3 and 7; 9 stays apart
		{"s1", 1 << 63}: {3},          // not adjacent to 5
		{"s2", 1}:       {1, 2},       // 1 is stored already
	}
	for e := range uint64(epochs) { // a sensor that restarted often
		first[key{"s3", e}] = []uint64{10}
		second[key{"s3", e}] = []uint64{11, 9}
	}
	commit("the first commit", first)
	want := map[key][]store.SeqRange{
		{"s1", 1}:       {{First: 9, Last: 9}, {First: 7, Last: 7}, {First: 1, Last: 3}},
		{"s1", 1 << 63}: {{First: 5, Last: 5}},
		{"s2", 1}:       {{First: 1, Last: 1}},
		{"s2", 2}:       nil,
	}
	for e := range uint64(epochs) {
		want[key{"s3", e}] = []store.SeqRange{{First: 10, Last: 10}}
	}
	check("the first commit", want)
	commit("the second commit", second)
	want[key{"s1", 1}] = []store.SeqRange{{First: 9, Last: 9}, {First: 1, Last: 7}}
	want[key{"s1", 1 << 63}] = []store.SeqRange{{First: 5, Last: 5}, {First: 3, Last: 3}}
	want[key{"s2", 1}] = []store.SeqRange{{First: 1, Last: 2}}
	for e := range uint64(epochs) {
		want[key{"s3", e}] = []store.SeqRange{{First: 9, Last: 11}}
	}
	check("the second commit", want)
}

// testLedgerCrash: a batch's records and its ledger entry are durable
// together: after a crash, those flushed are both there, those appended
// since are neither.
func testLedgerCrash(t *testing.T, s store.Store, crash Crasher) {
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors[:1])
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC)
	appendOne := func(seq uint64) store.Batch {
		t.Helper()
		rec := []record.Record{syn("192.0.2.1", "198.18.1.1", 23, when.Add(time.Duration(seq)*time.Second))}
		if err := s.Append(ctx, rec, ids); err != nil {
			t.Fatal(err)
		}
		return store.Batch{Sensor: "jp-1", Epoch: 7, Seq: seq}
	}
	if err := s.FlushBatches(ctx, []store.Batch{appendOne(1), appendOne(2)}); err != nil {
		t.Fatal(err)
	}
	appendOne(3) // never flushed
	s = crash(t, s)
	defer s.Close()
	got, err := s.BatchRanges(ctx, "jp-1", 7, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []store.SeqRange{{First: 1, Last: 2}}); diff != "" {
		t.Errorf("BatchRanges() after the crash (-got, +want):\n%s", diff)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	july, _ := period.Parse("2024-07")
	ans, err := s.TopPorts(ctx, store.TopPortsQuery{Period: july, N: 1})
	if err != nil || len(ans) != 1 || ans[0].Packets != 2 {
		t.Errorf("TopPorts(2024-07) after the crash = %+v, %v; want the 2 packets of the flushed batches", ans, err)
	}
}
