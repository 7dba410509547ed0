package capfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAllOf reads r to its end and returns its packets and the error that
// ended it (nil at a clean end).
func readAllOf(r *Reader) ([]Packet, error) {
	var got []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		p.Data = bytes.Clone(p.Data)
		got = append(got, p)
	}
}

// readRanges reads r's file as consecutive ranges of at least step bytes,
// as the analyzer's workers do, and returns their packets in order and
// the error that ended the last range, failing when a range stops
// elsewhere than where the next one starts.
func readRanges(t *testing.T, r *Reader, step int64) ([]Packet, error) {
	t.Helper()
	var got []Packet
	for from := r.DataStart(); from < r.Size(); {
		to := r.Boundary(from, step)
		rr := r.Range(from, to)
		pkts, err := readAllOf(rr)
		got = append(got, pkts...)
		if err != nil {
			return got, err
		}
		if rr.Offset() != to && to != r.Size() {
			t.Fatalf("%s, step %d: range [%d, %d) stopped at %d", r.name, step, from, to, rr.Offset())
		}
		from = to
	}
	return got, nil
}

// TestRangesReadEveryRecordOnce: whatever the range size, the ranges read
// every record of the file once, in order.
func TestRangesReadEveryRecordOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ranges.pcap")
	writeFile(t, path, testPackets(300))
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Splittable() {
		t.Fatal("Splittable() = false for a plain pcap file")
	}
	want, err := readAllOf(r)
	if err != nil || len(want) != 300 {
		t.Fatalf("reading the file in one go: %d packets, %v; want 300, nil", len(want), err)
	}
	for _, step := range []int64{1, 16, 97, 1500, 4096, 1 << 20} {
		got, err := readRanges(t, r, step)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if !samePackets(got, want) {
			t.Errorf("step %d: packets of the ranges (-got, +want):\n%s", step, cmp.Diff(got, want))
		}
	}
}

// TestRangesOfTheCorpus: every plain pcap of the corpus, and each one cut
// short inside a record, reads the same in ranges as in one go, with the
// same error.
func TestRangesOfTheCorpus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, path := range corpusFiles(t) {
		for _, cut := range []int64{0, 5} {
			if cut > 0 {
				path = truncatedCopy(t, path, filepath.Join(dir, filepath.Base(path)), cut)
			}
			compareRanges(t, path)
		}
	}
}

func compareRanges(t *testing.T, path string) {
	t.Helper()
	whole, err := Open(path)
	if err != nil {
		return // not a capture this reader opens: TestOracle's business
	}
	defer whole.Close()
	if !whole.Splittable() {
		return
	}
	want, wantErr := readAllOf(whole)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, step := range []int64{61, 1000} {
		got, err := readRanges(t, r, step)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Errorf("%s, step %d: error %v, want %v", path, step, err, wantErr)
		}
		if !samePackets(got, want) { // cmp.Diff only then: it is slow on bytes
			t.Errorf("%s, step %d: packets (-got, +want):\n%s", path, step, cmp.Diff(got, want))
		}
	}
}

// truncatedCopy writes the file at src less its last cut bytes to dst.
func truncatedCopy(t *testing.T, src, dst string, cut int64) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data[:max(0, int64(len(data))-cut)], 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func samePackets(a, b []Packet) bool {
	return slices.EqualFunc(a, b, func(x, y Packet) bool {
		return x.Time == y.Time && x.LinkType == y.LinkType && x.OrigLen == y.OrigLen &&
			x.Interface == y.Interface && x.BadTime == y.BadTime && bytes.Equal(x.Data, y.Data)
	})
}
