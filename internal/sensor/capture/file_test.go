package capture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// capfileFrames reads path with capfile directly: what the file source
// must return.
func capfileFrames(t testing.TB, path string) []Frame {
	t.Helper()
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatalf("capfile.Open(%q) error = %v", path, err)
	}
	defer r.Close()
	var out []Frame
	for {
		var p capfile.Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("capfile Next() error = %v", err)
		}
		out = append(out, Frame{Time: p.Time, Link: decode.LinkType(p.LinkType), Data: bytes.Clone(p.Data), OrigLen: p.OrigLen})
	}
}

// readAll reads src to its end, copying each frame.
func readAll(t testing.TB, src Source) []Frame {
	t.Helper()
	var out []Frame
	for range 10_000_000 {
		f, err := src.Next(t.Context())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next() error = %v", err)
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
	t.Fatal("no end after 10M frames")
	return nil
}

func openFile(t testing.TB, path string, opts FileOptions) *File {
	t.Helper()
	f, err := OpenFile(path, opts)
	if err != nil {
		t.Fatalf("OpenFile(%q) error = %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestFileFrames(t *testing.T) {
	t.Parallel()
	scanners, tcpdump := testenv.Corpus(t, "scanners"), testenv.Corpus(t, "tcpdump-tests")
	for _, path := range []string{
		filepath.Join(scanners, "masscan_tcp_0_1000_20190821.pcap"),
		filepath.Join(scanners, "zmap_2.1.1_tcp23.pcap"),
		filepath.Join(tcpdump, "of13_ericsson.pcapng"),
		filepath.Join(tcpdump, "time_2107.pcapng"),
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			want := capfileFrames(t, path)
			if len(want) == 0 {
				t.Fatalf("%s has no frames", path)
			}
			src := openFile(t, path, FileOptions{})
			if diff := cmp.Diff(readAll(t, src), want); diff != "" {
				t.Errorf("frames (-got, +want):\n%s", diff)
			}
			if _, err := src.Next(t.Context()); err != io.EOF {
				t.Errorf("Next() after the end error = %v, want io.EOF", err)
			}
			if st, err := src.Stats(); err != nil || st != (Stats{}) {
				t.Errorf("Stats() = %+v, %v; want zeros", st, err)
			}
			if err := src.Close(); err != nil {
				t.Errorf("Close() error = %v", err)
			}
			if _, err := src.Next(t.Context()); !errors.Is(err, ErrClosed) {
				t.Errorf("Next() after Close error = %v, want ErrClosed", err)
			}
		})
	}
}

func TestFileRestamp(t *testing.T) {
	t.Parallel()
	path := filepath.Join(testenv.Corpus(t, "scanners"), "zmap_2.1.1_tcp23.pcap")
	want := capfileFrames(t, path)
	before := time.Now().UnixNano()
	got := readAll(t, openFile(t, path, FileOptions{Restamp: true}))
	after := time.Now().UnixNano()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	prev := before
	for i := range got {
		if got[i].Time < prev || got[i].Time > after {
			t.Fatalf("frame %d at %d: want times rising within [%d, %d]", i, got[i].Time, before, after)
		}
		prev = got[i].Time
		got[i].Time = want[i].Time
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("frames other than their time (-got, +want):\n%s", diff)
	}
}

// writeCapture writes n Ethernet frames gap apart to a pcap in dir.
func writeCapture(t testing.TB, dir string, n int, gap time.Duration) string {
	t.Helper()
	path := filepath.Join(dir, "frames.pcap")
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WritePacket(1_700_000_000e9+int64(i)*int64(gap), synFrame(i, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFilePaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		opts FileOptions
		n    int
		gap  time.Duration
		want time.Duration
	}{
		{name: "rate", opts: FileOptions{Rate: 1000}, n: 301, gap: time.Millisecond / 10, want: 300 * time.Millisecond},
		{name: "original", opts: FileOptions{Original: true}, n: 31, gap: 10 * time.Millisecond, want: 300 * time.Millisecond},
		{name: "unpaced", opts: FileOptions{}, n: 301, gap: time.Second, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCapture(t, filepath.Join(dir), tc.n, tc.gap)
			start := time.Now()
			got := readAll(t, openFile(t, path, tc.opts))
			took := time.Since(start)
			if len(got) != tc.n {
				t.Errorf("%d frames, want %d", len(got), tc.n)
			}
			// Loosely: the machine is shared and timers oversleep.
			if took < tc.want*9/10 || took > tc.want*2+200*time.Millisecond {
				t.Errorf("replay took %v, want about %v", took, tc.want)
			}
			t.Logf("%d frames in %v (want %v)", tc.n, took, tc.want)
		})
	}
}

func TestFileOptionErrors(t *testing.T) {
	t.Parallel()
	path := writeCapture(t, t.TempDir(), 1, 0)
	for _, opts := range []FileOptions{{Rate: -1}, {Rate: 10, Original: true}} {
		if f, err := OpenFile(path, opts); err == nil {
			f.Close()
			t.Errorf("OpenFile(%+v) error = nil", opts)
		}
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.pcap"), FileOptions{}); err == nil {
		t.Errorf("OpenFile() of a missing file error = nil")
	}
}

// TestFileStops: a paced Next waiting for its frame returns at once when
// its context is cancelled or the source closed, and the frame it held is
// the next one returned.
func TestFileStops(t *testing.T) {
	t.Parallel()
	path := writeCapture(t, t.TempDir(), 3, 0)
	src := openFile(t, path, FileOptions{Rate: 0.5}) // a frame every 2 s
	if _, err := src.Next(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := src.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next() error = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Next() returned %v after its context ended", took)
	}
	time.AfterFunc(50*time.Millisecond, func() { src.Close() })
	start = time.Now()
	if _, err := src.Next(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next() error = %v, want ErrClosed", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Next() returned %v after Close", took)
	}

	src = openFile(t, path, FileOptions{Rate: 10})
	want := capfileFrames(t, path)
	f, _ := src.Next(t.Context())
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next() with a cancelled context error = %v, want context.Canceled", err)
	}
	got := append([]Frame{{Time: f.Time, Link: f.Link, Data: bytes.Clone(f.Data), OrigLen: f.OrigLen}}, readAll(t, src)...)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("frames around a cancelled Next (-got, +want):\n%s", diff)
	}
}

// BenchmarkFile replays a corpus capture without pacing; one op is one
// frame.
func BenchmarkFile(b *testing.B) {
	path := filepath.Join(testenv.Corpus(b, "scanners"), "masscan_tcp_0_1000_20190821.pcap")
	n := len(capfileFrames(b, path))
	b.ReportAllocs()
	src := openFile(b, path, FileOptions{})
	frames := 0
	for b.Loop() {
		f, err := src.Next(b.Context())
		if err == io.EOF {
			b.StopTimer()
			src.Close()
			src = openFile(b, path, FileOptions{})
			b.StartTimer()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		frames++
		b.SetBytes(int64(len(f.Data)))
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
	b.Logf("%s: %d frames per file", filepath.Base(path), n)
}
