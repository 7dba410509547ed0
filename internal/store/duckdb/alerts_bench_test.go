package duckdb

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// BenchmarkPutAlerts measures what the engine's hourly write costs: a
// call of n alert updates, each queueing a notification for two
// receivers, into a store that already holds 1,000 alerts.
//
//	go test ./internal/store/duckdb -run '^$' -bench PutAlerts -benchtime 20x
func BenchmarkPutAlerts(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("writes=%d", n), func(b *testing.B) {
			ctx := b.Context()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "alerts.duckdb"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			hour := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
			ws := make([]store.AlertWrite, 1000)
			for i := range ws {
				ws[i].Alert = store.Alert{Detector: "port-surge", Scope: store.Scope{Sensor: "s1", Port: fmt.Sprintf("%d/TCP", i)},
					State: store.AlertOpen, Severity: store.SeverityWarning, Start: hour, LastSeen: hour, Updated: hour,
					Evidence: store.Evidence{Measure: "packets", Hour: hour, Observed: 100, Baseline: 10,
						Series: make([]store.EvidencePoint, 48)}}
			}
			ids, err := s.PutAlerts(ctx, ws, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range ws {
				ws[i].Alert.ID, ws[i].Notify = ids[i], "escalated"
			}
			for b.Loop() {
				if _, err := s.PutAlerts(ctx, ws[:n], []string{"webhook", "mail"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/call")
		})
	}
}
