package ingest

import (
	stdcmp "cmp"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// memStore is a Store in memory; with horizon set it refuses, as
// duckdb.Store does, a batch holding records older than it. Appended
// records are pending until Flush.
type memStore struct {
	recs, pending       []record.Record
	sensors, pendingIDs []int32
	imports             map[string]store.Import
	syncs               int
	syncErr             error // what Sync returns
	horizon             time.Time
}

func (m *memStore) Imported(_ context.Context, key string) (store.Import, bool, error) {
	imp, ok := m.imports[key]
	return imp, ok, nil
}

func (m *memStore) OverlappingImports(_ context.Context, spans []store.Span) ([]store.Import, error) {
	var out []store.Import
	for _, imp := range m.imports {
		theirs := imp.Spans
		imp.Spans = nil
		for _, sp := range theirs {
			if slices.ContainsFunc(spans, sp.Overlaps) {
				imp.Spans = append(imp.Spans, sp)
			}
		}
		if imp.Spans != nil {
			out = append(out, imp)
		}
	}
	slices.SortFunc(out, func(a, b store.Import) int {
		return stdcmp.Or(a.Imported.Compare(b.Imported), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

func (m *memStore) Append(_ context.Context, recs []record.Record, sensors []int32) error {
	for i := range recs {
		if recs[i].Time < m.horizon.UnixNano() {
			return store.ErrPruned
		}
	}
	m.pending = append(m.pending, recs...)
	m.pendingIDs = append(m.pendingIDs, sensors...)
	return nil
}

func (m *memStore) Discard(context.Context) error {
	m.pending, m.pendingIDs = nil, nil
	return nil
}

func (m *memStore) Flush(_ context.Context, imports ...store.Import) error {
	if m.imports == nil {
		m.imports = map[string]store.Import{}
	}
	for _, imp := range imports {
		m.imports[imp.Key] = imp
	}
	m.recs, m.sensors = append(m.recs, m.pending...), append(m.sensors, m.pendingIDs...)
	return m.Discard(context.Background())
}

func (m *memStore) Sync(context.Context) error { m.syncs++; return m.syncErr }

func (m *memStore) PrunedBefore() time.Time { return m.horizon }

// oneFrame is an Ethernet IPv4 TCP SYN 192.0.2.1:1000 > 203.0.113.9:80 (to
// no sensor of the default fleet):
//
//	0x0000:  0200 0000 0002 0200 0000 0001 0800 4500
//	0x0010:  0028 0007 0000 4006 0000 c000 0201 cb00
//	0x0020:  7109 03e8 0050 0000 0001 0000 0000 5002
//	0x0030:  7210 0000 0000
var oneFrame = []byte{
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, 0x45, 0x00,
	0x00, 0x28, 0x00, 0x07, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0xcb, 0x00,
	0x71, 0x09, 0x03, 0xe8, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
	0x72, 0x10, 0x00, 0x00, 0x00, 0x00,
}

// capture writes a simulated capture of n packets, then one frame to no
// sensor and one cut short, and returns its path, fleet and truth.
func capture(t *testing.T, n uint64) (string, *fleet.Fleet, *simulate.Truth) {
	t.Helper()
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Packets, cfg.Sources = 3, n, 300
	cfg.Start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 10 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	path := filepath.Join(t.TempDir(), "sim.pcap")
	w, err := capfile.Create(path, uint32(simulate.LinkType))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := simulate.Run(t.Context(), cfg, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := cfg.Start.Add(cfg.Duration).UnixNano()
	if err := w.WritePacket(end, oneFrame); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(end, oneFrame[:40]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, cfg.Fleet, truth
}

// fixedClock advances by a second at each call.
func fixedClock() func() time.Time {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { now = now.Add(time.Second); return now }
}

func newIngester(t *testing.T, st Store, fl *fleet.Fleet) *Ingester {
	t.Helper()
	ids := make([]int32, len(fl.Sensors))
	for i := range ids {
		ids[i] = int32(100 + i)
	}
	in, err := New(st, fl, ids)
	if err != nil {
		t.Fatal(err)
	}
	in.Now = fixedClock()
	return in
}

// TestFile imports a simulated capture: every frame is counted, the stored
// records carry their sensors' store IDs and the tags the simulator's truth
// says (unicornscan's included), and the import is recorded once.
func TestFile(t *testing.T) {
	path, fl, truth := capture(t, 5_000)
	st := &memStore{}
	in := newIngester(t, st, fl)
	var calls int
	res, err := in.File(t.Context(), path, func(string, int64, int64, uint64) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Frames: truth.Packets + 2, Packets: truth.Packets, Skipped: 1, Unmatched: 1, Elapsed: 2 * time.Second}
	if diff := cmp.Diff(res, want); diff != "" {
		t.Errorf("File() (-got, +want):\n%s", diff)
	}
	tags := map[string]uint64{}
	perSensor := map[int32]uint64{}
	for i, r := range st.recs {
		for _, name := range r.Tags.Names() {
			tags[name]++
		}
		perSensor[st.sensors[i]]++
	}
	if diff := cmp.Diff(tags, truth.Tags); diff != "" {
		t.Errorf("stored tags (-got, +truth):\n%s", diff)
	}
	wantSensor := map[int32]uint64{}
	for i, s := range fl.Sensors {
		if n := truth.Sensors[s.Name].Packets; n > 0 {
			wantSensor[int32(100+i)] = n
		}
	}
	if diff := cmp.Diff(perSensor, wantSensor); diff != "" {
		t.Errorf("stored packets by sensor ID (-got, +truth):\n%s", diff)
	}
	if len(st.imports) != 1 || st.syncs != 1 {
		t.Fatalf("%d imports, %d syncs; want 1, 1", len(st.imports), st.syncs)
	}
	for _, imp := range st.imports {
		want := store.Import{Key: imp.Key, Path: path, Frames: res.Frames, Packets: res.Packets, Imported: time.Date(2026, 1, 2, 3, 4, 7, 0, time.UTC),
			Spans: spansOf(st.recs, st.sensors)}
		if diff := cmp.Diff(imp, want); diff != "" || len(imp.Key) != 64 {
			t.Errorf("import (-got, +want):\n%s", diff)
		}
	}
	if calls != 0 {
		t.Errorf("progress called %d times for less than a batch, want 0 (the end is the caller's)", calls)
	}

	// The same bytes under another name are refused.
	again := filepath.Join(t.TempDir(), "copy.pcap")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(again, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = in.File(t.Context(), again, nil)
	if !errors.Is(err, ErrAlreadyImported) || res.Previous.Path != path || len(st.recs) != int(truth.Packets) {
		t.Errorf("File(copy) = %+v, %v with %d records stored; want ErrAlreadyImported naming %s, nothing more", res, err, len(st.recs), path)
	}
}

// spansOf returns the span of each sensor's records, by sensor ID.
func spansOf(recs []record.Record, sensors []int32) []store.Span {
	byID := map[int32]*store.Span{}
	for i, r := range recs {
		t := time.Unix(0, r.Time).UTC()
		sp := byID[sensors[i]]
		if sp == nil {
			sp = &store.Span{Sensor: sensors[i], First: t, Last: t}
			byID[sensors[i]] = sp
		}
		if t.Before(sp.First) {
			sp.First = t
		}
		if t.After(sp.Last) {
			sp.Last = t
		}
		sp.Packets++
	}
	var out []store.Span
	for _, sp := range byID {
		out = append(out, *sp)
	}
	slices.SortFunc(out, func(a, b store.Span) int { return stdcmp.Compare(a.Sensor, b.Sensor) })
	return out
}

// TestFilePruned: the records of days before the store's retention horizon
// are counted and dropped, the rest stored.
// TestFileNotRolledUp: when the rollups cannot be built (DuckDB out of
// memory, say), File says so with ErrNotRolledUp, and reports what was
// stored and how long it took: the packets and the import are committed.
func TestFileNotRolledUp(t *testing.T) {
	path, fl, truth := capture(t, 500)
	st := &memStore{syncErr: errors.New("Out of Memory Error: could not allocate block")}
	in := newIngester(t, st, fl)
	res, err := in.File(t.Context(), path, nil)
	if !errors.Is(err, ErrNotRolledUp) || !strings.Contains(err.Error(), "Out of Memory") {
		t.Fatalf("File() error = %v, want ErrNotRolledUp with the store's error", err)
	}
	if res.Packets != truth.Packets || res.Elapsed <= 0 || len(st.imports) != 1 {
		t.Errorf("File() = %d packets in %v, %d imports; want %d packets, a duration, 1 import", res.Packets, res.Elapsed, len(st.imports), truth.Packets)
	}
}

func TestFilePruned(t *testing.T) {
	path, fl, truth := capture(t, 2_000)
	horizon := time.Date(2024, 7, 6, 0, 0, 0, 0, time.UTC)
	st := &memStore{horizon: horizon}
	res, err := newIngester(t, st, fl).File(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pruned == 0 || res.Packets == 0 || res.Pruned+res.Packets != truth.Packets || !res.Horizon.Equal(horizon) {
		t.Errorf("File() pruned %d, stored %d of %d, horizon %v; want both parts, horizon %v", res.Pruned, res.Packets, truth.Packets, res.Horizon, horizon)
	}
	for _, r := range st.recs {
		if r.Time < horizon.UnixNano() {
			t.Fatalf("record of %v stored, before the horizon", time.Unix(0, r.Time).UTC())
		}
	}
	if int(res.Packets) != len(st.recs) {
		t.Errorf("Packets = %d, %d records stored", res.Packets, len(st.recs))
	}
	for _, imp := range st.imports {
		if diff := cmp.Diff(imp.Spans, spansOf(st.recs, st.sensors)); diff != "" {
			t.Errorf("spans of the import: those of the records stored, not of the pruned ones (-got, +want):\n%s", diff)
		}
	}
}

// TestFileTruncated: a capture cut in the middle of a packet keeps the
// packets before the damage, records the import and returns the error.
func TestFileTruncated(t *testing.T) {
	path, fl, _ := capture(t, 1_000)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)/2+7], 0o600); err != nil {
		t.Fatal(err)
	}
	st := &memStore{}
	res, err := newIngester(t, st, fl).File(t.Context(), cut, nil)
	if err == nil {
		t.Fatal("File() of a truncated capture: no error")
	}
	if res.Packets == 0 || int(res.Packets) != len(st.recs) || len(st.imports) != 1 {
		t.Errorf("File() stored %d (%d records), %d imports; want the packets before the damage, 1 import", res.Packets, len(st.recs), len(st.imports))
	}
}

func TestNewSensorIDs(t *testing.T) {
	if _, err := New(&memStore{}, simulate.DefaultFleet(), []int32{1}); err == nil {
		t.Error("New() with one ID for six sensors: no error")
	}
}

// TestFileImplausibleTimes: in a microsecond pcap, a packet whose µs field
// is 2·10⁹, one from 1970 and, with a bound on the future, one from 2106
// (after the clock's next day) are skipped and counted; the packet of a
// plausible time goes on.
func TestFileImplausibleTimes(t *testing.T) {
	// The pcap file header: microsecond magic, version 2.4, snaplen
	// 65535, Ethernet.
	data := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	for _, ts := range []struct{ sec, usec uint32 }{
		{1719792000, 2_000_000_000}, // 2024-07-01, µs out of range
		{0, 0},                      // 1970
		{0xffffffff, 0},             // 2106
		{1719792000, 999_999},       // 2024-07-01, plausible
	} {
		data = binary.LittleEndian.AppendUint32(data, ts.sec)
		data = binary.LittleEndian.AppendUint32(data, ts.usec)
		data = binary.LittleEndian.AppendUint32(data, uint32(len(oneFrame)))
		data = binary.LittleEndian.AppendUint32(data, uint32(len(oneFrame)))
		data = append(data, oneFrame...)
	}
	path := filepath.Join(t.TempDir(), "times.pcap")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		skew time.Duration
		want Result
	}{
		// The plausible packets are to no sensor's address (oneFrame).
		{"no bound on the future", 0, Result{Frames: 4, BadTime: 2, Unmatched: 2, Elapsed: 2 * time.Second}},
		{"a day ahead at most", 24 * time.Hour, Result{Frames: 4, BadTime: 3, Unmatched: 1, Elapsed: 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newIngester(t, &memStore{}, simulate.DefaultFleet())
			in.MaxFutureSkew = tc.skew
			res, err := in.File(t.Context(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res, tc.want); diff != "" {
				t.Errorf("File() (-got, +want):\n%s", diff)
			}
		})
	}
}
