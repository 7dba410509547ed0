package duckdb_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// BenchmarkCollectorCalls times the store calls the collector's writer
// makes at each commit, for as many sensors or batches as one commit
// carries: FlushBatches with a ledger entry per batch and no records
// (Ledger: the ledger's own cost), each sensor's sequence going on from
// the last commit; PutHealth with one report per sensor heard from since
// the last commit; and FlushBatches of batches of 2,048 records (Flush:
// the appends excluded from the timing, the commit of their records not).
//
//	go test ./internal/store/duckdb -run '^$' -bench CollectorCalls -benchtime 20x -count 3
func BenchmarkCollectorCalls(b *testing.B) {
	st, err := duckdb.Open(b.Context(), filepath.Join(b.TempDir(), "bench.duckdb"), duckdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sensors := make([]fleet.Sensor, 200)
	for i := range sensors {
		sensors[i] = fleet.Sensor{Name: fmt.Sprintf("s%03d", i), Group: "bench", Addresses: []string{fmt.Sprintf("198.18.%d.0/24", i)}}
	}
	ids, err := st.PutSensors(b.Context(), sensors)
	if err != nil {
		b.Fatal(err)
	}
	recs, col := make([]record.Record, 2048), make([]int32, 2048)
	t0 := time.Now().Add(-time.Hour).UnixNano()
	for i := range recs {
		recs[i] = record.Record{Time: t0 + int64(i), Src: record.AddrFromUint32(0x2d000000 + uint32(i*7919)),
			Dst: record.AddrFromUint32(0xc6120000 + uint32(i%256)), IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
			HasTransport: true, SrcPort: 40000, DstPort: 23, TCPFlags: record.FlagSYN}
	}
	for _, n := range []int{1, 13, 50, 200} {
		b.Run(fmt.Sprintf("Ledger/batches=%d", n), func(b *testing.B) {
			batches := make([]store.Batch, n)
			commit := 0
			for b.Loop() {
				for i := range batches {
					batches[i] = store.Batch{Sensor: sensors[i%len(ids)].Name, Epoch: uint64(1000 + n), Seq: uint64(commit)}
				}
				commit++
				if err := st.FlushBatches(b.Context(), batches); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/commit")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/batch")
		})
	}
	for _, n := range []int{1, 13, 200} {
		b.Run(fmt.Sprintf("PutHealth/sensors=%d", n), func(b *testing.B) {
			reports := make([]store.Health, n)
			for b.Loop() {
				for i := range reports {
					reports[i] = store.Health{SensorID: ids[i], Received: time.Now(), Version: "bench", PacketsSeen: uint64(b.N)}
				}
				if err := st.PutHealth(b.Context(), reports); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/sensor")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/call")
		})
	}
	// Last: the records it commits make DuckDB checkpoint during the
	// next commits, which would burden the small ones above.
	for _, n := range []int{1, 13, 50} {
		b.Run(fmt.Sprintf("Flush/batches=%d", n), func(b *testing.B) {
			commit := 0
			for b.Loop() {
				b.StopTimer()
				batches := make([]store.Batch, n)
				for i := range batches {
					for j := range col {
						col[j] = ids[i%len(ids)]
					}
					if err := st.Append(b.Context(), recs, col); err != nil {
						b.Fatal(err)
					}
					batches[i] = store.Batch{Sensor: sensors[i%len(ids)].Name, Epoch: uint64(n), Seq: uint64(commit)}
				}
				commit++
				b.StartTimer()
				if err := st.FlushBatches(b.Context(), batches); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/batch")
		})
	}
}
