package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "nightjar.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp, crash) }

// TestConformanceVisibleAtFlush runs the suite against DuckDB with every
// Flush followed by a Sync, so that flushed records are visible at once, as
// a backend whose rollups are materialized views (ClickHouse) makes them.
// The suite states the contract of store.Writer, not DuckDB's two phases
// (raw records at Flush, rollups at Sync): both configurations pass it.
func TestConformanceVisibleAtFlush(t *testing.T) {
	crashSyncing := func(t *testing.T, s store.Store) store.Store {
		return syncingFlush{crash(t, s.(syncingFlush).Store).(*Store)}
	}
	storetest.Run(t, openSyncing, crashSyncing)
}

// syncingFlush is a DuckDB store whose Flush also rebuilds the rollups.
type syncingFlush struct{ *Store }

func openSyncing(t *testing.T) store.Store { return syncingFlush{openTemp(t).(*Store)} }

func (s syncingFlush) Flush(ctx context.Context, imports ...store.Import) error {
	if err := s.Store.Flush(ctx, imports...); err != nil {
		return err
	}
	return s.Store.Sync(ctx)
}

func (s syncingFlush) FlushBatches(ctx context.Context, batches []store.Batch) error {
	if err := s.Store.FlushBatches(ctx, batches); err != nil {
		return err
	}
	return s.Store.Sync(ctx)
}

// TestSyncingFlushShowsRecordsAtFlush keeps TestConformanceVisibleAtFlush a
// real second configuration: after a Flush, a question over whole hours
// (answered from the rollups) sees the flushed records with syncingFlush,
// and not before Sync without it.
func TestSyncingFlushShowsRecordsAtFlush(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) store.Store
		want uint64
	}{
		{"default", openTemp, 0},
		{"syncing flush", openSyncing, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := tt.open(t)
			defer s.Close()
			ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "jp-1", Addresses: []string{"198.18.1.1"}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, []record.Record{synAt("192.0.2.1", 23, julyDay(3, 10))}, ids); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			july, _ := period.Parse("2024-07")
			ans, err := s.TopPorts(ctx, store.TopPortsQuery{Period: july, N: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(ans) != 1 || ans[0].Packets != tt.want {
				t.Errorf("TopPorts(2024-07) after Flush = %+v, want jp-1 with %d packets", ans, tt.want)
			}
		})
	}
}

// crash copies the database files as they are, as a crash would leave them
// (DuckDB has written and synced the WAL of every committed transaction),
// abandons s without Sync, and opens the copy.
func crash(t *testing.T, s store.Store) store.Store {
	t.Helper()
	d := s.(*Store)
	copyPath := filepath.Join(t.TempDir(), "crashed.duckdb")
	for _, suffix := range []string{"", ".wal"} {
		b, err := os.ReadFile(d.path + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(copyPath+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.abandon(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), copyPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return again
}

// abandon closes s without Sync.
func (s *Store) abandon() error {
	s.flushed = false
	return s.Close()
}

// TestCloseDiscardsUnflushed: Close rolls up what was flushed and drops
// what was appended after the last Flush, as a crash would.
func TestCloseDiscardsUnflushed(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "c.duckdb")
	s, ids := openTenDays(t, path)
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.1", 23, julyDay(1, 3))}, ids); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx, store.Import{Key: "first", Imported: julyDay(2, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.2", 23, julyDay(1, 4))}, ids); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	var raw, rolled int
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM packets), (SELECT sum(packets) FROM rollup_port_hour)`).Scan(&raw, &rolled); err != nil {
		t.Fatal(err)
	}
	if raw != 1 || rolled != 1 {
		t.Errorf("after Close: %d raw records and %d packets rolled up, want the flushed 1 and 1", raw, rolled)
	}
}

func TestInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nightjar.duckdb")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), path, Options{})
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), path) {
		t.Errorf("second Open() error = %v, want ErrInUse naming %s", err, path)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open() after Close() = %v", err)
	}
	again.Close()
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nightjar.duckdb")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A future Nightjar has written schema version SchemaVersion+1.
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE nightjar_schema SET version = ?`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(t.Context(), path, Options{})
	if !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade nightjar") {
		t.Errorf("Open() error = %v, want ErrNewerSchema with advice", err)
	}
}

func TestBadPath(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "missing-dir", "db.duckdb")} {
		if _, err := Open(t.Context(), path, Options{}); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{{7, 2, 3}, {-7, 2, -4}, {-6, 2, -3}, {0, 5, 0}, {-1, hourNs, -1}} {
		if got := floorDiv(c.a, c.b); got != c.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestMemoryLimit: Options.MemoryLimit bounds DuckDB's memory (a term of
// the collector's memory formula); a value DuckDB cannot read is refused
// at Open, naming it.
func TestMemoryLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s, err := Open(t.Context(), path, Options{MemoryLimit: "512MiB"})
	if err != nil {
		t.Fatal(err)
	}
	var limit string
	if err := s.db.QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')").Scan(&limit); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if limit != "512.0 MiB" {
		t.Errorf("memory_limit = %q, want 512.0 MiB", limit)
	}
	if _, err := Open(t.Context(), path, Options{MemoryLimit: "lots"}); err == nil || !strings.Contains(err.Error(), `memory limit "lots"`) {
		t.Errorf("Open with memory limit %q: %v, want an error naming it", "lots", err)
	}
	if s, err := Open(t.Context(), path, Options{}); err != nil {
		t.Errorf("Open after a refused limit: %v (the refused Open must release the database)", err)
	} else {
		s.Close()
	}
}
