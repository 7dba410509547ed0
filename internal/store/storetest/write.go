package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runWrites runs the conformance tests of the writer beyond sensors:
// imports, Flush and Sync, crashes, health reports.
func runWrites(t *testing.T, open Opener, crash Crasher) {
	t.Run("imports", func(t *testing.T) { testImports(t, open(t)) })
	t.Run("flush then sync", func(t *testing.T) { testFlush(t, open(t)) })
	t.Run("flush, crash, reopen, sync equals truth", func(t *testing.T) {
		if crash == nil {
			t.Skip("the backend gave no Crasher to storetest.Run")
		}
		testQuestionsTruth(t, open(t), crash)
	})
	t.Run("health", func(t *testing.T) { testHealth(t, open(t)) })
}

func testImports(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	if _, ok, err := s.Imported(ctx, "abc"); err != nil || ok {
		t.Fatalf("Imported(unknown) = %v, %v; want false, nil", ok, err)
	}
	// A Flush with imports and no records stores the imports.
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	imp := store.Import{Key: "abc", Path: "/data/day1.pcap", Frames: 10, Packets: 9, Imported: at}
	if err := s.Flush(ctx, imp); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Imported(ctx, "abc")
	if err != nil || !ok {
		t.Fatalf("Imported() = %v, %v", ok, err)
	}
	if diff := cmp.Diff(got, imp); diff != "" {
		t.Errorf("Imported() (-got, +want):\n%s", diff)
	}

	// Keys are compared as text: % and _ in the prefix are no wildcards.
	var more []store.Import
	for _, key := range []string{"b/1%_a", "b/1%_b", "b/12_a", "b/1%xa", "b/1X_a", "b/1%"} {
		more = append(more, store.Import{Key: key, Path: "batch", Imported: at})
	}
	if err := s.Flush(ctx, more...); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"b/1%_", []string{"b/1%_a", "b/1%_b"}},
		{"b/1%", []string{"b/1%", "b/1%_a", "b/1%_b", "b/1%xa"}},
		{"b/1_", nil},
		{"", []string{"abc", "b/1%", "b/1%_a", "b/1%_b", "b/1%xa", "b/12_a", "b/1X_a"}}, // byte order
		{"zzz", nil},
	} {
		got, err := s.ImportKeys(ctx, tt.prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 && len(tt.want) == 0 {
			continue
		}
		if diff := cmp.Diff(got, tt.want); diff != "" {
			t.Errorf("ImportKeys(%q) (-got, +want):\n%s", tt.prefix, diff)
		}
	}
	// A Flush with nothing to do does nothing.
	if err := s.Flush(ctx); err != nil {
		t.Errorf("Flush() of nothing = %v", err)
	}
}

// testFlush: flushed records count in the questions over whole hours
// after Sync, not before.
func testFlush(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	july, _ := period.Parse("2024-07")
	packets := func() uint64 {
		t.Helper()
		ans, err := s.TopPorts(ctx, store.TopPortsQuery{Period: july, N: 3, Sensors: []string{"jp-1"}})
		if err != nil {
			t.Fatal(err)
		}
		return ans[0].Packets
	}
	appendAt := func(n int, when time.Time) {
		t.Helper()
		recs := make([]record.Record, n)
		sensors := make([]int32, n)
		for i := range recs {
			recs[i] = syn("192.0.2.1", "198.18.1.1", 23, when.Add(time.Duration(i)*time.Second))
			sensors[i] = ids[0]
		}
		if err := s.Append(ctx, recs, sensors); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func() error
		want uint64
	}{
		{"append 3", func() error { appendAt(3, time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC)); return nil }, 0},
		{"flush", func() error { return s.Flush(ctx) }, 0},
		{"sync", func() error { return s.Sync(ctx) }, 3},
		// Another day and the same day again: two flushes, one Sync.
		{"append 2 on another day", func() error { appendAt(2, time.Date(2024, 7, 20, 23, 59, 59, 0, time.UTC)); return nil }, 3},
		{"flush again", func() error { return s.Flush(ctx) }, 3},
		{"append 1 on the first day", func() error { appendAt(1, time.Date(2024, 7, 3, 0, 0, 0, 0, time.UTC)); return nil }, 3},
		{"flush a third time", func() error { return s.Flush(ctx) }, 3},
		{"flush nothing", func() error { return s.Flush(ctx) }, 3},
		{"sync again", func() error { return s.Sync(ctx) }, 6},
		{"sync nothing", func() error { return s.Sync(ctx) }, 6},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := packets(); got != st.want {
			t.Errorf("after %s: TopPorts(2024-07) counts %d packets, want %d", st.name, got, st.want)
		}
	}
	sensors, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, last := time.Date(2024, 7, 3, 0, 0, 0, 0, time.UTC), time.Date(2024, 7, 20, 23, 59, 60, 0, time.UTC)
	if got := sensors[0]; !got.FirstSeen.Equal(first) || !got.LastSeen.Equal(last) {
		t.Errorf("jp-1 first and last seen = %v, %v; want %v, %v", got.FirstSeen, got.LastSeen, first, last)
	}
}

func testHealth(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Health(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Health() of a new store = %v, %v; want none", got, err)
	}
	at := time.Date(2024, 7, 1, 12, 0, 0, 123456789, time.UTC)
	jp := store.Health{SensorID: ids[0], Received: at, Reported: at.Add(-time.Second), Version: "v0.1.0", Uptime: 36 * time.Hour,
		PacketsSeen: 1 << 40, PacketsIgnored: 2, PacketsExcluded: 3, PacketsSkipped: 4, KernelDrops: 5,
		SpoolBatches: 6, SpoolBytes: 7 << 20, DroppedBatches: 8, DroppedRecords: 9, Lag: 1500 * time.Millisecond}
	us := store.Health{SensorID: ids[1], Received: at, Version: "v0.1.1"} // the zero Reported: unknown
	named := func(h store.Health, name string) store.Health {
		h.Sensor = name
		return h
	}
	check := func(when string, want ...store.Health) {
		t.Helper()
		got, err := s.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Health() %s (-got, +want):\n%s", when, diff)
		}
	}
	if err := s.PutHealth(ctx, []store.Health{us, jp}); err != nil {
		t.Fatal(err)
	}
	check("after the first reports", named(jp, "jp-1"), named(us, "us-1"))

	// The collector stores reports between appends: a report replaces the
	// previous one at once, and the appends around it are kept.
	when := time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC)
	if err := s.Append(ctx, []record.Record{syn("192.0.2.1", "198.18.1.1", 23, when)}, ids[:1]); err != nil {
		t.Fatal(err)
	}
	jp2 := jp
	jp2.Received, jp2.PacketsSeen, jp2.KernelDrops = at.Add(time.Minute), jp.PacketsSeen+10, 0
	if err := s.PutHealth(ctx, []store.Health{jp2}); err != nil {
		t.Fatalf("PutHealth() between appends = %v", err)
	}
	check("after a report replaced one", named(jp2, "jp-1"), named(us, "us-1"))
	if err := s.Append(ctx, []record.Record{syn("192.0.2.1", "198.18.1.1", 23, when.Add(time.Second))}, ids[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	july, _ := period.Parse("2024-07")
	ans, err := s.TopPorts(ctx, store.TopPortsQuery{Period: july, N: 1, Sensors: []string{"jp-1"}})
	if err != nil || len(ans) != 1 || ans[0].Packets != 2 {
		t.Errorf("TopPorts(2024-07) = %+v, %v; want the 2 packets appended around PutHealth", ans, err)
	}

	// An unknown sensor fails the whole call.
	unknown := us
	unknown.SensorID = max(ids[0], ids[1]) + 100
	us2 := us
	us2.Version = "v0.2.0"
	if err := s.PutHealth(ctx, []store.Health{us2, unknown}); !errors.Is(err, store.ErrUnknownSensor) {
		t.Errorf("PutHealth(unknown sensor) error = %v, want ErrUnknownSensor", err)
	}
	check("after a refused report", named(jp2, "jp-1"), named(us, "us-1"))
}
