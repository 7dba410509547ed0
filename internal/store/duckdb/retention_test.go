package duckdb

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

func synAt(src string, port uint16, when time.Time) record.Record {
	r := record.Record{
		Time: when.UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr("198.18.1.1"),
		IPVersion: 4, Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true,
		SrcPort: 40000, DstPort: port, TCPFlags: record.FlagSYN, Seq: 1,
	}
	r.Tags = fingerprint.Tag(&r)
	return r
}

// openTenDays opens a database at path that keeps raw records for 10
// days, with one sensor, jp-1 (198.18.1.1).
func openTenDays(t *testing.T, path string) (*Store, []int32) {
	t.Helper()
	s, err := Open(t.Context(), path, Options{Retention: ptr(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.PutSensors(t.Context(), []fleet.Sensor{{Name: "jp-1", Group: "Japan", Addresses: []string{"198.18.1.1"}}})
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, ids
}

// julyDay is hour h of day d of July 2024, UTC.
func julyDay(d, h int) time.Time { return time.Date(2024, 7, d, h, 0, 0, 0, time.UTC) }

// TestRetention checks the retention clock (the newest stored packet, not
// the wall clock: these packets are from 2024), that Sync prunes whole days
// of raw records after building their rollups, that the rollups outlive the
// raw records, that a record of a pruned day is refused (also after
// reopening), and that a record of an older day without packets is rolled
// up exactly.
func TestRetention(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "r.duckdb")
	s, ids := openTenDays(t, path)
	day := julyDay
	// Days 1 and 5 first: nothing is pruned (the horizon is June 25).
	recs := []record.Record{synAt("192.0.2.1", 23, day(1, 3)), synAt("192.0.2.2", 23, day(5, 12))}
	if err := s.Append(ctx, recs, []int32{ids[0], ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := s.PrunedBefore(), time.Date(2024, 6, 25, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("PrunedBefore() = %v, want %v", got, want)
	}
	// Day 20 at 06:00 moves the horizon to day 10 00:00 (20 06:00 - 10 days,
	// rounded down to the day): days 1 and 5 lose their raw records.
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.3", 22, day(20, 6))}, []int32{ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := s.PrunedBefore(), day(10, 0); !got.Equal(want) {
		t.Errorf("PrunedBefore() = %v, want %v", got, want)
	}
	var raw, rolled int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM packets`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT sum(packets) FROM rollup_port_hour`).Scan(&rolled); err != nil {
		t.Fatal(err)
	}
	if raw != 1 || rolled != 3 {
		t.Errorf("after pruning: %d raw records and %d packets in rollups, want 1 and 3", raw, rolled)
	}
	// The rollups still answer for July.
	july, _ := period.Parse("2024-07")
	ans, err := s.TopPorts(ctx, store.TopPortsQuery{Period: july, N: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans) != 1 || ans[0].Packets != 3 {
		t.Errorf("TopPorts(2024-07) after pruning = %+v, want 3 packets", ans)
	}

	// A record of a pruned day is refused, the whole batch with it.
	batch := []record.Record{synAt("192.0.2.4", 80, day(15, 0)), synAt("192.0.2.4", 80, day(5, 23))}
	err = s.Append(ctx, batch, []int32{ids[0], ids[0]})
	if !errors.Is(err, store.ErrPruned) || !strings.Contains(err.Error(), "2024-07-05") {
		t.Errorf("Append(pruned day) error = %v, want ErrPruned naming 2024-07-05", err)
	}
	// At the horizon is fine.
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.4", 80, day(10, 0))}, []int32{ids[0]}); err != nil {
		t.Errorf("Append(at horizon) = %v", err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM packets`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != 2 {
		t.Errorf("%d raw records, want 2 (the refused batch stored nothing)", raw)
	}
	// Days 3 and 4 had no packets: an old capture of them (imported after
	// the newer ones) is rolled up, exactly, then pruned; days 1 and 5 keep
	// their rollups.
	old := []record.Record{synAt("192.0.2.6", 445, day(3, 1)), synAt("192.0.2.6", 445, day(4, 1)), synAt("192.0.2.7", 445, day(4, 2))}
	if err := s.Append(ctx, old, []int32{ids[0], ids[0], ids[0]}); err != nil {
		t.Fatalf("Append(older day without packets) = %v", err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	rows, err := s.db.QueryContext(ctx, `SELECT strftime(make_timestamp(hour * 3600000000), '%m-%d') AS d, sum(packets)::INTEGER
		FROM rollup_port_hour GROUP BY d`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		var n int
		if err := rows.Scan(&d, &n); err != nil {
			t.Fatal(err)
		}
		got[d] = n
	}
	rows.Close()
	want := map[string]int{"07-01": 1, "07-03": 1, "07-04": 2, "07-05": 1, "07-10": 1, "07-20": 1}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("packets per day in the rollups (-got, +want):\n%s", diff)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM packets`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != 2 {
		t.Errorf("%d raw records, want 2 (the old days pruned again)", raw)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The horizon survives reopening, even with a longer retention: the
	// raw records of the pruned days are gone.
	s, err = Open(ctx, path, Options{Retention: ptr(365 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.PrunedBefore(), day(10, 0); !got.Equal(want) {
		t.Errorf("PrunedBefore() after reopening = %v, want %v", got, want)
	}
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.5", 80, day(4, 0))}, []int32{ids[0]}); !errors.Is(err, store.ErrPruned) {
		t.Errorf("Append(before horizon) after reopening: error = %v, want ErrPruned", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRetentionSetting: the retention is a setting of the database: a new
// database keeps 90 days, a writer that sets it changes it for every later
// writer, and one that does not mention it keeps it — so a default can
// never prune what the user asked to keep.
func TestRetentionSetting(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(t.Context(), filepath.Join(dir, "a.duckdb"), Options{Retention: ptr(-time.Hour)}); err == nil {
		t.Error("Open(negative retention) succeeded, want an error")
	}
	path := filepath.Join(dir, "c.duckdb")
	steps := []struct {
		set  *time.Duration
		want time.Duration
	}{
		{nil, DefaultRetention},
		{ptr(time.Duration(0)), 0},
		{nil, 0},
		{ptr(30 * 24 * time.Hour), 30 * 24 * time.Hour},
		{nil, 30 * 24 * time.Hour},
	}
	for i, st := range steps {
		s, err := Open(t.Context(), path, Options{Retention: st.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Retention(); got != st.want {
			t.Errorf("step %d: Retention() = %v, want %v", i, got, st.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// reopen closes s and opens the database at path again, closed at the
// end of the test.
func reopen(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSetRetention: an admin changes the retention of an open store; it is
// kept across a reopen, and the next Sync prunes by it.
func TestSetRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.duckdb")
	s, ids := openTenDays(t, path)
	ctx := t.Context()
	day0 := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	recs := []record.Record{synAt("192.0.2.1", 23, day0), synAt("192.0.2.1", 23, day0.AddDate(0, 0, 8))}
	if err := s.Append(ctx, recs, []int32{ids[0], ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.PrunedBefore().IsZero() && s.PrunedBefore().After(day0) {
		t.Fatalf("10-day retention pruned %v", s.PrunedBefore())
	}
	for _, bad := range []time.Duration{-time.Hour, time.Hour} {
		if err := s.SetRetention(ctx, bad); err == nil {
			t.Errorf("SetRetention(%v) succeeded", bad)
		}
	}
	if err := s.SetRetention(ctx, 5*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// A new packet makes Sync prune: day 0 is now 8 days before the newest.
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.2", 80, day0.AddDate(0, 0, 8))}, []int32{ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 7, 4, 0, 0, 0, 0, time.UTC); !s.PrunedBefore().Equal(want) {
		t.Errorf("after SetRetention(5 days), pruned before %v, want %v", s.PrunedBefore(), want)
	}
	s = reopen(t, s, path)
	if got := s.Retention(); got != 5*24*time.Hour {
		t.Errorf("after reopen, Retention() = %v, want 5 days", got)
	}
}

// TestCrashBeforeHorizon: records of an old day without packets (before
// the retention horizon) flushed by a process that crashed are rolled up
// by the next Sync, in another process, then pruned; the day is final.
func TestCrashBeforeHorizon(t *testing.T) {
	ctx := t.Context()
	s, ids := openTenDays(t, filepath.Join(t.TempDir(), "r.duckdb"))
	day := julyDay
	if err := s.Append(ctx, []record.Record{synAt("192.0.2.1", 23, day(20, 6))}, ids); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	old := []record.Record{synAt("192.0.2.6", 445, day(3, 1)), synAt("192.0.2.7", 445, day(3, 2)), synAt("192.0.2.8", 445, day(21, 2))}
	if err := s.Append(ctx, old, []int32{ids[0], ids[0], ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	again := crash(t, s).(*Store)
	defer again.Close()
	if got, want := again.PrunedBefore(), day(10, 0); !got.Equal(want) {
		t.Errorf("PrunedBefore() after the crash = %v, want %v", got, want)
	}
	if err := again.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var raw, rolled, pending int
	for q, v := range map[string]*int{
		`SELECT count(*) FROM packets`: &raw,
		`SELECT coalesce(sum(packets), 0) FROM rollup_port_hour WHERE hour < 19919 * 24`: &rolled, // before 2024-07-15
		`SELECT count(*) FROM pending_hours`:                                             &pending,
	} {
		if err := again.db.QueryRowContext(ctx, q).Scan(v); err != nil {
			t.Fatal(err)
		}
	}
	if raw != 2 || rolled != 2 || pending != 0 {
		t.Errorf("after Sync: %d raw records, %d packets rolled up before July 15, %d spans of hours pending; want 2, 2, 0", raw, rolled, pending)
	}
	if err := again.Append(ctx, []record.Record{synAt("192.0.2.9", 80, day(3, 5))}, ids); !errors.Is(err, store.ErrPruned) {
		t.Errorf("Append(2024-07-03) after its rollup: error = %v, want ErrPruned", err)
	}
}
