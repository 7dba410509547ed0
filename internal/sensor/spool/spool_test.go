package spool

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

const t0 = int64(1_760_000_000_000_000_000) // a creation time, Unix ns

// testBatch makes a batch whose records_zstd is size pseudo-random bytes
// (the spool never looks inside).
func testBatch(epoch, seq uint64, created int64, count uint32, size int) *sensorv1.Batch {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(epoch, seq))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return &sensorv1.Batch{Epoch: epoch, Seq: seq, CreatedNs: created, Count: count, RecordsZstd: data}
}

func openSpool(t *testing.T, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q) error = %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Spool, bs ...*sensorv1.Batch) {
	t.Helper()
	for _, b := range bs {
		if err := s.Put(b); err != nil {
			t.Fatalf("Put(%d/%d) error = %v", b.Epoch, b.Seq, err)
		}
	}
}

// ids names entries as "epoch/seq".
func ids(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d/%d", e.Epoch, e.Seq))
	}
	return out
}

func checkPending(t *testing.T, s *Spool, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(ids(s.Pending()), want); diff != "" {
		t.Errorf("Pending() (-got, +want):\n%s", diff)
	}
}

func TestPutReadRemoveAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "spool")
	s := openSpool(t, dir, Options{})
	bs := []*sensorv1.Batch{
		testBatch(7, 1, t0, 10, 100),
		testBatch(7, 2, t0+1e9, 20, 200),
		testBatch(7, 3, t0+2e9, 30, 300),
		testBatch(7, 4, t0+3e9, 40, 400),
	}
	put(t, s, bs[1], bs[0], bs[3], bs[2]) // out of order: Pending sorts
	checkPending(t, s, "7/1", "7/2", "7/3", "7/4")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("spool directory mode = %v, %v; want 0700", st.Mode(), err)
	}

	s = openSpool(t, dir, Options{})
	checkPending(t, s, "7/1", "7/2", "7/3", "7/4")
	for i, e := range s.Pending() {
		got, err := s.Read(e)
		if err != nil {
			t.Fatalf("Read(%v) error = %v", e, err)
		}
		if diff := cmp.Diff(got, bs[i], protocmp.Transform()); diff != "" {
			t.Errorf("Read(%v) (-got, +want):\n%s", e, diff)
		}
		if want := int64(proto.Size(bs[i])); e.Size != want {
			t.Errorf("Entry.Size = %d, want %d", e.Size, want)
		}
	}
	if err := s.Remove(7, 1); err != nil {
		t.Fatalf("Remove() error = %v", err)
	}
	if err := s.Remove(7, 3); err != nil {
		t.Fatalf("Remove() error = %v", err)
	}
	if err := s.Remove(7, 3); err != nil { // a second ack for the same batch
		t.Errorf("Remove() of a removed batch error = %v, want nil", err)
	}
	checkPending(t, s, "7/2", "7/4")
	if _, err := s.Read(Entry{CreatedNs: t0, Epoch: 7, Seq: 1, Count: 10}); !errors.Is(err, ErrGone) {
		t.Errorf("Read() of a removed batch error = %v, want ErrGone", err)
	}
	s.Close()

	s = openSpool(t, dir, Options{})
	checkPending(t, s, "7/2", "7/4")
	want := Stats{Batches: 2, Bytes: int64(proto.Size(bs[1]) + proto.Size(bs[3])), OldestNs: t0 + 1e9}
	if diff := cmp.Diff(s.Stats(), want); diff != "" {
		t.Errorf("Stats() (-got, +want):\n%s", diff)
	}
	select {
	case <-s.Notify():
	default:
		t.Errorf("Notify() not signalled after Open found batches")
	}
}

// TestOrder: a restarted sensor has a new epoch; batches go oldest first
// by creation time, then epoch, then seq, whatever the numbers.
func TestOrder(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), Options{})
	const old, cur = 0xfedcba9876543210, 0x0123456789abcdef // the newer epoch is the smaller number
	put(t, s,
		testBatch(cur, 1, t0+10e9, 1, 10),
		testBatch(cur, 2, t0+11e9, 1, 10),
		testBatch(old, 41, t0+1e9, 1, 10),
		testBatch(old, 42, t0+2e9, 1, 10),
		// Same creation time: epoch, then seq.
		testBatch(old, 44, t0+5e9, 1, 10),
		testBatch(cur, 0, t0+5e9, 1, 10),
		testBatch(old, 43, t0+5e9, 1, 10),
	)
	checkPending(t, s,
		fmt.Sprint(uint64(old), "/41"), fmt.Sprint(uint64(old), "/42"),
		fmt.Sprint(uint64(cur), "/0"), fmt.Sprint(uint64(old), "/43"), fmt.Sprint(uint64(old), "/44"),
		fmt.Sprint(uint64(cur), "/1"), fmt.Sprint(uint64(cur), "/2"))
}

func TestSizeLimitDropsOldest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	size := int64(proto.Size(testBatch(1, 1, t0, 1000, 1000))) // counts of 1000-5000: same varint size
	s := openSpool(t, dir, Options{MaxBytes: 3*size + size/2})
	for seq := uint64(1); seq <= 5; seq++ {
		put(t, s, testBatch(1, seq, t0+int64(seq), uint32(1000*seq), 1000))
	}
	checkPending(t, s, "1/3", "1/4", "1/5")
	want := Stats{Batches: 3, Bytes: 3 * size, OldestNs: t0 + 3, DroppedBatches: 2, DroppedRecords: 1000 + 2000}
	if diff := cmp.Diff(s.Stats(), want); diff != "" {
		t.Errorf("Stats() (-got, +want):\n%s", diff)
	}
	// The sender was sending 1/1 when it was dropped: its ack changes nothing.
	if err := s.Remove(1, 1); err != nil {
		t.Errorf("Remove() of a dropped batch error = %v, want nil", err)
	}
	if n := countFiles(t, dir, batchSuffix); n != 3 {
		t.Errorf("%d batch files on disk, want 3", n)
	}
	s.Close()

	// A lower limit applies at Open.
	s = openSpool(t, dir, Options{MaxBytes: 2 * size})
	checkPending(t, s, "1/4", "1/5")
	if st := s.Stats(); st.DroppedBatches != 1 || st.DroppedRecords != 3000 {
		t.Errorf("Stats() after Open = %+v, want 1 dropped batch of 3000 records", st)
	}
}

func TestRefuseOversized(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), Options{MaxBytes: 2000})
	put(t, s, testBatch(1, 1, t0, 1, 1000))
	err := s.Put(testBatch(1, 2, t0+1, 1, 2000))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put() of an oversized batch error = %v, want ErrTooLarge", err)
	}
	checkPending(t, s, "1/1")
	if st := s.Stats(); st.DroppedBatches != 0 {
		t.Errorf("Stats().DroppedBatches = %d, want 0", st.DroppedBatches)
	}
}

func TestPutDuplicate(t *testing.T) {
	t.Parallel()
	s := openSpool(t, t.TempDir(), Options{})
	put(t, s, testBatch(1, 1, t0, 1, 10))
	if err := s.Put(testBatch(1, 1, t0+5, 2, 20)); !errors.Is(err, ErrExists) {
		t.Errorf("Put() of a spooled (epoch, seq) error = %v, want ErrExists", err)
	}
	if err := s.Put(&sensorv1.Batch{Epoch: 1, Seq: 2, CreatedNs: -1}); err == nil {
		t.Errorf("Put() of a batch created before 1970 error = nil")
	}
	checkPending(t, s, "1/1")
}

func TestLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open() error = %v, want ErrLocked", err)
	}
	s.Close()
	if err := s.Put(testBatch(1, 1, t0, 1, 10)); !errors.Is(err, ErrClosed) {
		t.Errorf("Put() after Close error = %v, want ErrClosed", err)
	}
	openSpool(t, dir, Options{}) // free again
}

func TestLeftoverCleanup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	put(t, s, testBatch(1, 1, t0, 1, 10))
	s.Close()
	files := map[string]string{
		"put-123.tmp":          "half a batch",
		"put-456.tmp":          "",
		"notes.txt":            "an operator's file",
		"12-ab-3-4.batch":      "a name of another shape",
		"put-789.tmp.keep.txt": "not ours",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	s = openSpool(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	checkPending(t, s, "1/1")
	if got := s.Stats().LeftoverFiles; got != 2 {
		t.Errorf("Stats().LeftoverFiles = %d, want 2", got)
	}
	if n := countFiles(t, dir, tmpSuffix); n != 0 {
		t.Errorf("%d temporary files left, want 0", n)
	}
	for _, name := range []string{"notes.txt", "12-ab-3-4.batch", "put-789.tmp.keep.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("unknown file %s: %v; want it left alone", name, err)
		}
	}
	for _, want := range []string{"removed leftover temporary files", "count=2", "ignoring unknown files", "count=3"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not contain %q:\n%s", want, logs.String())
		}
	}
}

func TestCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	put(t, s, testBatch(1, 1, t0, 11, 100), testBatch(1, 2, t0+1, 22, 100), testBatch(1, 3, t0+2, 33, 100), testBatch(1, 4, t0+3, 44, 100))
	es := s.Pending()
	s.Close()
	good, err := os.ReadFile(filepath.Join(dir, es[1].name()))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := map[string][]byte{
		es[0].name(): []byte("\xff\xff\xff garbage"),
		es[1].name(): good[:len(good)-10],                             // truncated
		es[2].name(): mustMarshal(t, testBatch(1, 99, t0+2, 33, 100)), // another batch
	}
	for name, data := range corrupt {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = openSpool(t, dir, Options{})
	checkPending(t, s, "1/1", "1/2", "1/3", "1/4")
	for _, e := range s.Pending()[:3] {
		if _, err := s.Read(e); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Read(%v) error = %v, want ErrCorrupt", e, err)
		}
		if err := s.Discard(e); err != nil {
			t.Errorf("Discard(%v) error = %v", e, err)
		}
	}
	checkPending(t, s, "1/4")
	if _, err := s.Read(s.Pending()[0]); err != nil {
		t.Errorf("Read() of the intact batch error = %v", err)
	}
	st := s.Stats()
	if st.CorruptBatches != 3 || st.CorruptRecords != 11+22+33 || st.DroppedBatches != 0 {
		t.Errorf("Stats() = %+v, want 3 corrupt batches of 66 records", st)
	}
	if n := countFiles(t, dir, batchSuffix); n != 1 {
		t.Errorf("%d batch files on disk, want 1", n)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	e := Entry{CreatedNs: t0, Epoch: 0xdeadbeef, Seq: 12, Count: 4096}
	if got, want := e.name(), "01760000000000000000-00000000deadbeef-00000000000000000012-4096.batch"; got != want {
		t.Errorf("name() = %q, want %q", got, want)
	}
	for _, bad := range []string{
		"01760000000000000000-00000000DEADBEEF-00000000000000000012-4096.batch",
		"+1760000000000000000-00000000deadbeef-00000000000000000012-4096.batch",
		"01760000000000000000-00000000deadbeef-00000000000000000012-04096.batch",
		"01760000000000000000-00000000deadbeef-00000000000000000012-4294967296.batch",
		"01760000000000000000-00000000deadbeef-00000000000000000012.batch",
		"01760000000000000000-00000000deadbeef-00000000000000000012-4096.tmp",
	} {
		if e, ok := parseName(bad); ok {
			t.Errorf("parseName(%q) = %+v, true; want false", bad, e)
		}
	}
	if got, ok := parseName(e.name()); !ok || got != e {
		t.Errorf("parseName(name()) = %+v, %v; want %+v", got, ok, e)
	}
}

// TestConcurrent: the batcher Puts while the sender follows Notify, reads
// and removes; with a small limit, drops race with the sender too.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	const n = 300
	s := openSpool(t, t.TempDir(), Options{Sync: SyncNever, MaxBytes: 20 * int64(proto.Size(testBatch(1, 1, t0, 1, 500)))})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for seq := uint64(1); seq <= n; seq++ {
			if err := s.Put(testBatch(1, seq, t0+int64(seq), 1, 500)); err != nil {
				t.Errorf("Put() error = %v", err)
				return
			}
		}
	})
	removed, last := 0, uint64(0)
	wg.Go(func() {
		deadline := time.After(time.Minute)
		for finished := false; ; {
			for _, e := range s.Pending() {
				b, err := s.Read(e)
				if errors.Is(err, ErrGone) {
					continue // dropped meanwhile
				}
				if err != nil {
					t.Errorf("Read() error = %v", err)
					return
				}
				if b.Seq <= last {
					t.Errorf("sender read batch %d after %d", b.Seq, last)
				}
				last = b.Seq
				if err := s.Remove(b.Epoch, b.Seq); err != nil {
					t.Errorf("Remove() error = %v", err)
					return
				}
				removed++
				_ = s.Stats()
			}
			if finished {
				return
			}
			select {
			case <-s.Notify():
			case <-done:
				finished = true // one more pass
			case <-deadline:
				t.Errorf("sender timed out")
				return
			}
		}
	})
	wg.Wait()
	// A batch dropped between Read and Remove counts in both.
	st := s.Stats()
	if st.Batches != 0 || st.Bytes != 0 || uint64(removed)+st.DroppedBatches < n || removed > n {
		t.Errorf("Stats() = %+v with %d removed; want empty and removed+dropped >= %d", st, removed, n)
	}
	if n := countFiles(t, s.Dir(), ""); n != 1 { // the lock file
		t.Errorf("%d files left in the spool, want only the lock file", n)
	}
}

func mustMarshal(t *testing.T, b *sensorv1.Batch) []byte {
	t.Helper()
	data, err := proto.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func countFiles(t *testing.T, dir, suffix string) int {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if strings.HasSuffix(de.Name(), suffix) {
			n++
		}
	}
	return n
}

func TestOldestSkips(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Sync: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for seq := uint64(1); seq <= 5; seq++ {
		if err := s.Put(testBatch(1, seq, int64(seq), 1, 100)); err != nil {
			t.Fatal(err)
		}
	}
	inflight := map[uint64]bool{1: true, 3: true}
	got := s.Oldest(2, func(e Entry) bool { return inflight[e.Seq] })
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 4 {
		t.Fatalf("Oldest(2) skipping 1 and 3 = %+v, want seqs 2 and 4", got)
	}
	if got := s.Oldest(10, func(Entry) bool { return false }); len(got) != 5 {
		t.Fatalf("Oldest(10) = %d entries, want 5", len(got))
	}
}
