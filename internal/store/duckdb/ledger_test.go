package duckdb

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestLedgerMigration: a database of schema version 1, whose ledger is
// one import per batch (batch/<sensor>/<epoch in hex>/<seq>), opens with
// the batches in runs, and the imports of files kept.
func TestLedgerMigration(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"batch/jp-1/9/1", "batch/jp-1/9/2", "batch/jp-1/9/3", "batch/jp-1/9/7",
		"batch/jp-1/ffffffffffffffff/18446744073709551615",
		"batch/site/a/b/1/5", // a name with a slash: the epoch and seq are the last two parts
		"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", // a capture file
	}
	for _, k := range keys {
		if _, err := db.ExecContext(ctx, `INSERT INTO imports VALUES (?, 'x', 1, 1, 0)`, k); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range []struct {
		sensor string
		epoch  uint64
		want   []store.SeqRange
	}{
		{"jp-1", 9, []store.SeqRange{{First: 7, Last: 7}, {First: 1, Last: 3}}},
		{"jp-1", 1<<64 - 1, []store.SeqRange{{First: 1<<64 - 1, Last: 1<<64 - 1}}},
		{"site/a/b", 1, []store.SeqRange{{First: 5, Last: 5}}},
	} {
		got, err := s.BatchRanges(ctx, tt.sensor, tt.epoch, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, tt.want); diff != "" {
			t.Errorf("BatchRanges(%s, %x) after the migration (-got, +want):\n%s", tt.sensor, tt.epoch, diff)
		}
	}
	if _, ok, err := s.Imported(ctx, keys[len(keys)-1]); err != nil || !ok {
		t.Errorf("Imported(capture) after the migration = %v, %v; want it kept", ok, err)
	}
	var left int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM imports`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d imports after the migration (%v), want the capture's only", left, err)
	}
}

// TestLedgerForgetsBeforeTheHorizon: Sync drops the runs whose records are
// all older than the retention horizon; such a batch sent again is refused
// by Append, so it still counts once.
func TestLedgerForgetsBeforeTheHorizon(t *testing.T) {
	ctx := t.Context()
	s, ids := openTenDays(t, filepath.Join(t.TempDir(), "l.duckdb"))
	defer s.Close()
	old := []record.Record{synAt("192.0.2.1", 23, julyDay(1, 3))}
	flush := func(recs []record.Record, seq uint64) {
		t.Helper()
		if err := s.Append(ctx, recs, ids[:1]); err != nil {
			t.Fatal(err)
		}
		if err := s.FlushBatches(ctx, []store.Batch{{Sensor: "jp-1", Epoch: 1, Seq: seq}}); err != nil {
			t.Fatal(err)
		}
	}
	flush(old, 1)
	flush([]record.Record{synAt("192.0.2.1", 23, julyDay(5, 3))}, 3)
	flush([]record.Record{synAt("192.0.2.1", 23, julyDay(20, 6))}, 5) // the horizon moves to day 10
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	checkRuns(t, s, "after the horizon moved", store.SeqRange{First: 5, Last: 5})
	if err := s.Append(ctx, old, ids[:1]); !errors.Is(err, store.ErrPruned) {
		t.Errorf("Append(batch 1 again) = %v, want ErrPruned", err)
	}
}

// TestLedgerKeepsRunsJoinedByNewBatches: a run is kept while its newest
// batch is within the retention, also when older batches started it.
func TestLedgerKeepsRunsJoinedByNewBatches(t *testing.T) {
	ctx := t.Context()
	s, ids := openTenDays(t, filepath.Join(t.TempDir(), "k.duckdb"))
	defer s.Close()
	for seq, when := range []time.Time{julyDay(1, 3), julyDay(15, 0), julyDay(20, 6)} {
		if err := s.Append(ctx, []record.Record{synAt("192.0.2.1", 23, when)}, ids[:1]); err != nil {
			t.Fatal(err)
		}
		if err := s.FlushBatches(ctx, []store.Batch{{Sensor: "jp-1", Epoch: 1, Seq: uint64(seq)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	checkRuns(t, s, "after the horizon moved", store.SeqRange{First: 0, Last: 2})
}

// checkRuns checks the runs of jp-1's epoch 1.
func checkRuns(t *testing.T, s *Store, when string, want ...store.SeqRange) {
	t.Helper()
	got, err := s.BatchRanges(t.Context(), "jp-1", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("BatchRanges() %s (-got, +want):\n%s", when, diff)
	}
}

// TestLedgerRefusesNamesNotUTF8: a batch whose sensor name is not UTF-8
// fails the Flush with an error, as DuckDB's VARCHAR refuses it (binding
// it in a list would crash the driver): the records appended since the
// last Flush are discarded, and the ledger is unchanged.
func TestLedgerRefusesNamesNotUTF8(t *testing.T) {
	ctx := t.Context()
	s, ids := openTenDays(t, filepath.Join(t.TempDir(), "u.duckdb"))
	defer s.Close()
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.1", 23, julyDay(1, 3))}, ids[:1]); err != nil {
		t.Fatal(err)
	}
	err := s.FlushBatches(ctx, []store.Batch{{Sensor: "jp-1", Epoch: 1, Seq: 1}, {Sensor: "jp-\xff", Epoch: 1, Seq: 1}})
	if err == nil {
		t.Fatal("FlushBatches(a name not UTF-8) = nil, want an error")
	}
	checkRuns(t, s, "a refused Flush")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var packets int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM packets`).Scan(&packets); err != nil || packets != 0 {
		t.Errorf("%d packets after a refused Flush (%v), want 0", packets, err)
	}
}
