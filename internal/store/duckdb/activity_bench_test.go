package duckdb

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// BenchmarkActivity measures how fast PortHours and TagHours stream a
// quarter of the default 6-sensor fleet (simulated, NIGHTJAR_BENCH_PACKETS
// packets, 2M by default) to a callback that only counts: what a backtest
// of the detectors reads first. It reports rows per second and the rows
// of the quarter.
//
//	go test ./internal/store/duckdb -run '^$' -bench Activity -benchtime 5x
func BenchmarkActivity(b *testing.B) {
	packets := uint64(2_000_000)
	if v, err := strconv.ParseUint(os.Getenv("NIGHTJAR_BENCH_PACKETS"), 10, 64); err == nil {
		packets = v
	}
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "quarter.duckdb"), Options{Retention: new(time.Duration)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cfg := simulate.DefaultConfig()
	cfg.Packets = packets
	cfg.Sources = 50_000
	cfg.Start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 92 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	truth := storetest.Simulated(b, s, cfg)

	b.Run("PortHours", func(b *testing.B) {
		var rows int
		for b.Loop() {
			rows = 0
			if err := s.PortHours(b.Context(), truth.Start, truth.End, func(store.PortHour) error { rows++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, rows)
	})
	b.Run("TagHours", func(b *testing.B) {
		var rows int
		for b.Loop() {
			rows = 0
			if err := s.TagHours(b.Context(), truth.Start, truth.End, func(store.TagHour) error { rows++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, rows)
	})
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
