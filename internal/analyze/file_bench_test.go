package analyze_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// simulatedCapture writes (once per machine, cached in the temp directory)
// the benchmark capture: 1M simulated packets of the default fleet over a
// quarter, uncompressed.
func simulatedCapture(b *testing.B, packets uint64) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), "nightjar-bench-sim-"+time.Duration(packets).String()+".pcap")
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path
	}
	cfg := simulate.DefaultConfig()
	cfg.Packets = packets
	cfg.Start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 92 * 24 * time.Hour
	tmp := path + ".tmp"
	w, err := capfile.Create(tmp, uint32(decode.LinkEthernet))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := simulate.Run(b.Context(), cfg, w, nil); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkAnalyzeFile is the offline packet path end to end, on one
// goroutine: read an uncompressed pcap in the page cache, decode, tag and
// aggregate per sensor and source. Run it with -cpu 1 for the one-core
// figure of BENCHMARKS.md.
func BenchmarkAnalyzeFile(b *testing.B) {
	const packets = 1_000_000
	path := simulatedCapture(b, packets)
	benchRead(b, path, packets, func(a *analyze.Analyzer) error { return a.ReadFile(b.Context(), path, nil) })
}

// BenchmarkReadAll is BenchmarkAnalyzeFile through ReadAll, on 1 to 4
// workers: with -cpu 2, workers-1 against workers-2 is the scaling.
func BenchmarkReadAll(b *testing.B) {
	const packets = 1_000_000
	path := simulatedCapture(b, packets)
	for _, workers := range []int{1, 2, 4} {
		b.Run("workers-"+strconv.Itoa(workers), func(b *testing.B) {
			benchRead(b, path, packets, func(a *analyze.Analyzer) error {
				return errors.Join(a.ReadAll(b.Context(), []analyze.Input{{Path: path}}, workers, nil)...)
			})
		})
	}
}

// benchRead times read, into a new analyzer of the default fleet, of the
// capture at path.
func benchRead(b *testing.B, path string, packets uint64, read func(*analyze.Analyzer) error) {
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	fl := simulate.DefaultFleet()
	for b.Loop() {
		a := analyze.New(analyze.DefaultConfig(), fl)
		if err := read(a); err != nil {
			b.Fatal(err)
		}
		if got := a.Frames(); got != packets {
			b.Fatalf("read %d frames, want %d", got, packets)
		}
	}
	perPacket := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(packets)
	b.ReportMetric(perPacket, "ns/packet")
	b.ReportMetric(1e9/perPacket, "packets/s")
}
