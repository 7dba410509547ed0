package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runWrites runs the conformance tests of the writer beyond sensors:
// imports, Flush and Sync, crashes, health reports, the batch ledger.
func runWrites(t *testing.T, open Opener, crash Crasher) {
	t.Run("imports", func(t *testing.T) { testImports(t, open(t)) })
	t.Run("imports that overlap", func(t *testing.T) { testOverlappingImports(t, open(t)) })
	t.Run("discard", func(t *testing.T) { testDiscard(t, open(t)) })
	t.Run("flush then sync", func(t *testing.T) { testFlush(t, open(t)) })
	t.Run("flush, crash, reopen, sync equals truth", func(t *testing.T) {
		if crash == nil {
			t.Skip("the backend gave no Crasher to storetest.Run")
		}
		testQuestionsTruth(t, open(t), crash)
	})
	t.Run("a batch lost in a crash is retried and counted once", func(t *testing.T) {
		if crash == nil {
			t.Skip("the backend gave no Crasher to storetest.Run")
		}
		testRetry(t, open(t), crash)
	})
	t.Run("health", func(t *testing.T) { testHealth(t, open(t)) })
	t.Run("health of many sensors at once", func(t *testing.T) { testHealthOfMany(t, open(t)) })
	runLedger(t, open, crash)
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

	// A Flush with nothing to do does nothing.
	if err := s.Flush(ctx); err != nil {
		t.Errorf("Flush() of nothing = %v", err)
	}

	// The spans of an import are recorded with it, ordered by sensor; an
	// import of the same key replaces the earlier one, spans included.
	spanned := store.Import{Key: "def", Path: "/data/day2.pcap.gz", Frames: 5, Packets: 5, Imported: at.Add(time.Hour), Spans: []store.Span{
		{Sensor: 9, First: at.Add(-time.Hour), Last: at.Add(-time.Minute), Packets: 3},
		{Sensor: 2, First: at.Add(-2 * time.Hour), Last: at.Add(-2 * time.Hour), Packets: 2},
	}}
	again := imp
	again.Spans = []store.Span{{Sensor: 4, First: at, Last: at.Add(time.Nanosecond), Packets: 9}}
	if err := s.Flush(ctx, spanned, again); err != nil {
		t.Fatal(err)
	}
	spanned.Spans[0], spanned.Spans[1] = spanned.Spans[1], spanned.Spans[0]
	for _, want := range []store.Import{spanned, again} {
		got, ok, err := s.Imported(ctx, want.Key)
		if err != nil || !ok {
			t.Fatalf("Imported(%s) = %v, %v", want.Key, ok, err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("Imported(%s) with spans (-got, +want):\n%s", want.Key, diff)
		}
	}
}

// testOverlappingImports: the imports whose span of a sensor shares an
// instant with a span of that sensor are found, with those spans only, in
// the order they were imported.
func testOverlappingImports(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	day := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	hours := func(sensor int32, from, to int) store.Span {
		return store.Span{Sensor: sensor, First: day.Add(time.Duration(from) * time.Hour), Last: day.Add(time.Duration(to) * time.Hour), Packets: uint64(10 * (to - from + 1))}
	}
	first := store.Import{Key: "first", Path: "/a.pcap", Frames: 30, Packets: 30, Imported: day.AddDate(0, 1, 0),
		Spans: []store.Span{hours(1, 0, 10), hours(2, 5, 6)}}
	second := store.Import{Key: "second", Path: "/b.pcap", Frames: 7, Packets: 7, Imported: day.AddDate(0, 1, 1),
		Spans: []store.Span{hours(1, 12, 20)}}
	old := store.Import{Key: "old", Path: "/before-spans.pcap", Frames: 1, Packets: 1, Imported: day} // no spans
	if err := s.Flush(ctx, second, old); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx, first); err != nil {
		t.Fatal(err)
	}
	only := func(imp store.Import, spans ...store.Span) store.Import {
		imp.Spans = spans
		return imp
	}
	for _, tc := range []struct {
		name  string
		spans []store.Span
		want  []store.Import
	}{
		{"none asked", nil, nil},
		{"inside one", []store.Span{hours(1, 2, 3)}, []store.Import{only(first, hours(1, 0, 10))}},
		{"the same instant at the edge", []store.Span{hours(1, 10, 10)}, []store.Import{only(first, hours(1, 0, 10))}},
		{"across both, in import order", []store.Span{hours(1, 9, 13)}, []store.Import{only(first, hours(1, 0, 10)), second}},
		{"two sensors of one import", []store.Span{hours(2, 0, 5), hours(1, 20, 30)},
			[]store.Import{only(first, hours(2, 5, 6)), second}},
		{"between them", []store.Span{{Sensor: 1, First: day.Add(10*time.Hour + 1), Last: day.Add(12*time.Hour - 1)}}, nil},
		{"another sensor", []store.Span{hours(3, 0, 23)}, nil},
		{"a period of another sensor", []store.Span{hours(2, 0, 4), hours(2, 7, 23)}, nil},
	} {
		got, err := s.OverlappingImports(ctx, tc.spans)
		if err != nil {
			t.Fatalf("%s: OverlappingImports() = %v", tc.name, err)
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("%s: OverlappingImports(%v) (-got, +want):\n%s", tc.name, tc.spans, diff)
		}
	}
}

// testDiscard: the records appended since the last Flush and discarded
// are never seen nor stored, those flushed before stay, and appends after
// Discard are stored by the next Flush.
func testDiscard(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(ctx); err != nil {
		t.Fatalf("Discard() of nothing = %v", err)
	}
	appendAt := func(n int, when time.Time) { t.Helper(); appendSyns(t, s, ids[0], n, when) }
	appendAt(3, time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	appendAt(4, time.Date(2024, 7, 4, 10, 0, 0, 0, time.UTC))
	appendAt(5, time.Date(2024, 7, 5, 10, 0, 0, 0, time.UTC))
	if err := s.Discard(ctx); err != nil {
		t.Fatalf("Discard() = %v", err)
	}
	imp := store.Import{Key: "after-discard", Path: "/c.pcap", Frames: 2, Packets: 2, Imported: time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.Flush(ctx, imp); err != nil {
		t.Fatal(err)
	}
	checkSeen(t, s, "after Discard and Flush", 0, 3)
	appendAt(2, time.Date(2024, 7, 6, 10, 0, 0, 0, time.UTC))
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	checkSeen(t, s, "after Discard, appends and Sync", 5, 5)
	if _, ok, err := s.Imported(ctx, imp.Key); err != nil || !ok {
		t.Errorf("Imported(%s) flushed after Discard = %v, %v; want it stored", imp.Key, ok, err)
	}
	sensors, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := time.Date(2024, 7, 6, 10, 0, 1, 0, time.UTC); !sensors[0].LastSeen.Equal(last) {
		t.Errorf("jp-1 last seen %v, want %v (the discarded records are not seen)", sensors[0].LastSeen, last)
	}
}

// testFlush: appended records are seen once flushed, at the latest after
// Sync, and never before their Flush. Before Sync a backend may show the
// flushed records or not (DuckDB shows them only to questions read from
// raw records), so each step bounds what the questions count: from the
// packets synced to the packets flushed.
func testFlush(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	appendAt := func(n int, when time.Time) { t.Helper(); appendSyns(t, s, ids[0], n, when) }
	steps := []struct {
		name           string
		do             func() error
		synced, stored uint64 // packets synced, and flushed
	}{
		{"append 3", func() error { appendAt(3, time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC)); return nil }, 0, 0},
		{"flush", func() error { return s.Flush(ctx) }, 0, 3},
		{"sync", func() error { return s.Sync(ctx) }, 3, 3},
		// Another day and the same day again: two flushes, one Sync.
		{"append 2 on another day", func() error { appendAt(2, time.Date(2024, 7, 20, 23, 59, 59, 0, time.UTC)); return nil }, 3, 3},
		{"flush again", func() error { return s.Flush(ctx) }, 3, 5},
		{"append 1 on the first day", func() error { appendAt(1, time.Date(2024, 7, 3, 0, 0, 0, 0, time.UTC)); return nil }, 3, 5},
		{"flush a third time", func() error { return s.Flush(ctx) }, 3, 6},
		{"flush nothing", func() error { return s.Flush(ctx) }, 3, 6},
		{"sync again", func() error { return s.Sync(ctx) }, 6, 6},
		{"sync nothing", func() error { return s.Sync(ctx) }, 6, 6},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		checkSeen(t, s, "after "+st.name, st.synced, st.stored)
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

// testRetry: an import is recorded exactly with its records. Batch a is
// flushed with its key, batch b appended and not flushed when the store
// crashes: a and its key survive, b and its key are lost, and no reader
// ever sees b's records. The collector's retry stores what is not
// recorded — b — again, and after Sync every record counts once.
func testRetry(t *testing.T, s store.Store, crash Crasher) {
	defer func() { s.Close() }()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 7, 3, 10, 0, 0, 0, time.UTC)
	batches := []struct {
		imp  store.Import
		recs []record.Record
	}{
		{store.Import{Key: "retry/a", Path: "jp-1", Packets: 3, Imported: at}, synsAt(3, at)},
		{store.Import{Key: "retry/b", Path: "jp-1", Packets: 2, Imported: at}, synsAt(2, at.Add(time.Hour))},
	}
	for i, b := range batches {
		if err := s.Append(ctx, b.recs, slices.Repeat(ids[:1], len(b.recs))); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := s.Flush(ctx, b.imp); err != nil {
				t.Fatal(err)
			}
		}
	}
	s = crash(t, s)
	for i, b := range batches {
		if _, ok, err := s.Imported(ctx, b.imp.Key); err != nil || ok != (i == 0) {
			t.Errorf("Imported(%s) after the crash = %v, %v; want %v", b.imp.Key, ok, err, i == 0)
		}
	}
	checkSeen(t, s, "after the crash", 0, 3)

	for _, b := range batches {
		if _, ok, err := s.Imported(ctx, b.imp.Key); err != nil {
			t.Fatal(err)
		} else if ok {
			continue
		}
		if err := s.Append(ctx, b.recs, slices.Repeat(ids[:1], len(b.recs))); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx, b.imp); err != nil {
			t.Fatal(err)
		}
	}
	checkSeen(t, s, "after the retry", 0, 5)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	checkSeen(t, s, "after the retry and Sync", 5, 5)
	for _, b := range batches {
		if got, ok, err := s.Imported(ctx, b.imp.Key); err != nil || !ok || !cmp.Equal(got, b.imp) {
			t.Errorf("Imported(%q) after the retry = %+v, %v, %v; want %+v", b.imp.Key, got, ok, err, b.imp)
		}
	}
}

// checkSeen checks that TopPorts counts between lo and hi packets of jp-1
// in July 2024, asked for the month (DuckDB answers from its rollups) and
// for the month shifted by 30 minutes (from its raw records).
func checkSeen(t *testing.T, s store.Store, when string, lo, hi uint64) {
	t.Helper()
	july, _ := period.Parse("2024-07")
	shifted, _ := period.Range(july.Start.Add(30*time.Minute), july.End.Add(30*time.Minute))
	for _, p := range []period.Period{july, shifted} {
		ans, err := s.TopPorts(t.Context(), store.TopPortsQuery{Period: p, N: 3, Sensors: []string{"jp-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ans[0].Packets; got < lo || got > hi {
			if lo == hi {
				t.Errorf("%s: TopPorts(%s) counts %d packets, want %d", when, p, got, lo)
			} else {
				t.Errorf("%s: TopPorts(%s) counts %d packets, want %d to %d", when, p, got, lo, hi)
			}
		}
	}
}

// appendSyns appends n SYNs of sensor to jp-1's port 23, a second apart
// from when.
func appendSyns(t *testing.T, s store.Store, sensor int32, n int, when time.Time) {
	t.Helper()
	if err := s.Append(t.Context(), synsAt(n, when), slices.Repeat([]int32{sensor}, n)); err != nil {
		t.Fatal(err)
	}
}

// synsAt returns n SYNs to jp-1's port 23, a second apart from when.
func synsAt(n int, when time.Time) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		recs[i] = syn("192.0.2.1", "198.18.1.1", 23, when.Add(time.Duration(i)*time.Second))
	}
	return recs
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
		checkHealth(t, s, when, want)
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

// testHealthOfMany: one call stores the reports of many sensors, the last
// of a sensor's standing if it has several; one unknown sensor among many
// stores none of them.
func testHealthOfMany(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	sensors := make([]fleet.Sensor, 60)
	for i := range sensors {
		sensors[i] = fleet.Sensor{Name: fmt.Sprintf("s%02d", i), Group: "many", Addresses: []string{fmt.Sprintf("198.18.%d.0/24", i)}}
	}
	ids, err := s.PutSensors(ctx, sensors)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	report := func(i int, seen uint64) store.Health {
		return store.Health{SensorID: ids[i], Sensor: sensors[i].Name, Received: at.Add(time.Duration(seen) * time.Second),
			Version: fmt.Sprintf("v%d", seen), PacketsSeen: seen, SpoolBatches: uint64(i), Lag: time.Duration(i) * time.Millisecond}
	}
	put := func(step string, reports ...store.Health) {
		t.Helper()
		if err := s.PutHealth(ctx, reports); err != nil {
			t.Fatalf("PutHealth(%s) = %v", step, err)
		}
	}
	var all, want []store.Health
	for i := range sensors {
		all = append(all, report(i, 1))
		want = append(want, report(i, 1))
	}
	all = append(all, report(7, 3), report(7, 2)) // the last report stands
	want[7] = report(7, 2)
	put("every sensor, one twice", all...)
	checkHealth(t, s, "after every sensor, one twice", want)

	put("every other sensor", report(0, 5), report(2, 5), report(4, 5))
	want[0], want[2], want[4] = report(0, 5), report(2, 5), report(4, 5)
	checkHealth(t, s, "after every other sensor", want)

	unknown := report(1, 9)
	unknown.SensorID = slices.Max(ids) + 1
	if err := s.PutHealth(ctx, append([]store.Health{report(1, 9), report(3, 9)}, unknown)); !errors.Is(err, store.ErrUnknownSensor) {
		t.Errorf("PutHealth(many and an unknown sensor) error = %v, want ErrUnknownSensor", err)
	}
	checkHealth(t, s, "after a refused call", want)
}

// checkHealth checks the health reports of s, when the step said.
func checkHealth(t *testing.T, s store.Store, when string, want []store.Health) {
	t.Helper()
	got, err := s.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Health() %s (-got, +want):\n%s", when, diff)
	}
}
