package collector_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// historyBatches is the history of TestRestartAfterLongHistory: 2 M
// batches, what a sensor at 1 M packets/s sends in 2.3 hours in batches of
// 4,096 records.
const historyBatches = 2_000_000

// TestRestartAfterLongHistory: a collector whose database holds a long
// history starts serving in bounded time and memory. The history is
// written as the collector before issue 9 left it — one import per batch,
// batch/<sensor>/<epoch>/<seq>, in a database of schema version 1 — with
// every other sequence number missing, the worst case for runs; opening
// the store migrates it (once). The Go heap of the running collector, as
// its sensor sends, must not grow with the history: the collector before
// issue 9 held every key in a map and fails this test. It also checks that
// a batch of the history sent again is a duplicate and one of its gaps is
// stored, and times a second restart. Run it with -v for the figures
// (BENCHMARKS.md).
func TestRestartAfterLongHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a history of 2 M batches")
	}
	b := newBed(t, "s1")
	b.stop()
	writeHistory(t, b.dbPath, historyBatches)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	start := time.Now()
	b.start()
	opened := time.Since(start)
	send := func(epoch, seq uint64, want string) {
		t.Helper()
		acks, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, epoch, seq, 10, "198.18.1.7")})
		if got := statuses(acks); err != nil || got != want {
			t.Fatalf("batch %x/%d: %s, %v; want %s", epoch, seq, got, err, want)
		}
	}
	send(1, 2, "DUPLICATE") // the oldest batch of the history
	served := time.Since(start)
	send(1, 3, "STORED") // a gap in it
	send(100, 2*historyBatches/100, "DUPLICATE")
	send(101, 1, "STORED") // a new epoch
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Once more, with the history migrated.
	b.stop()
	start = time.Now()
	b.start()
	send(1, 4, "DUPLICATE")
	again := time.Since(start)
	t.Logf("history of %d batches: store opened in %.2f s, first batch acknowledged after %.2f s; Go heap grew by %.1f MiB (%.1f MiB in use); "+
		"restarted and first batch acknowledged after %.2f s",
		historyBatches, opened.Seconds(), served.Seconds(), float64(grown)/(1<<20), float64(after.HeapAlloc)/(1<<20), again.Seconds())
	const limit = 32 << 20
	if grown > limit {
		t.Errorf("the running collector's heap grew by %.1f MiB with a history of %d batches, want at most %d MiB",
			float64(grown)/(1<<20), historyBatches, limit>>20)
	}
	if n := storedPackets(t, b.st)["s1"]; n != 20 {
		t.Errorf("stored %d packets, want 20 (2 new batches of 10)", n)
	}
}

// writeHistory writes n batches of sensor s1 in the ledger of the database
// at path, as schema version 1 kept them: epochs 1 to 100, even sequence
// numbers only.
func writeHistory(t *testing.T, path string, n int) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, q := range append(duckdb.UndoSince5(),
		// This history is that of schema version 1 (no batch_ranges yet).
		`UPDATE nightjar_schema SET version = 1`,
		`DROP TABLE IF EXISTS batch_ranges`,
		`DROP TABLE IF EXISTS import_spans`,  // schema 3
		`DROP TABLE IF EXISTS pending_hours`, // schema 4
		`DROP TABLE IF EXISTS rollup_source_hour`,
		`DROP TABLE IF EXISTS live_from`,
		`CREATE TABLE IF NOT EXISTS pending_rollups (from_day BIGINT NOT NULL, to_day BIGINT NOT NULL)`,
		// The key's index is added at the end: filling a table with it
		// row by row takes minutes.
		`DROP TABLE imports`,
		fmt.Sprintf(`CREATE TABLE imports AS
			SELECT 'batch/s1/' || lower(hex(i %% 100 + 1)) || '/' || (2 * (i // 100 + 1))::VARCHAR AS key,
				'sensor s1' AS path, 4096::UBIGINT AS frames, 4096::UBIGINT AS packets, 0::BIGINT AS imported_ns
			FROM range(%d) t(i)`, n),
		`ALTER TABLE imports ADD PRIMARY KEY (key)`,
	) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("write the history: %s: %v", q, err)
		}
	}
}
