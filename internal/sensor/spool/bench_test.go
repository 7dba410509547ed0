package spool

import (
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// scanRecords returns n records such as a telescope sees: SYNs from many
// sources to a /24, mostly to a few popular ports, a millisecond apart.
func scanRecords(n int) []record.Record {
	r := rand.New(rand.NewPCG(1, 2))
	ports := []uint16{23, 22, 80, 443, 445, 3389, 8080, 2323, 5555, 6379}
	recs := make([]record.Record, n)
	for i := range recs {
		dport := ports[r.IntN(len(ports))]
		if r.IntN(4) == 0 {
			dport = uint16(r.IntN(65536))
		}
		recs[i] = record.Record{
			Time:      t0 + int64(i)*1e6 + int64(r.IntN(1e6)),
			Src:       record.AddrFromUint32(r.Uint32N(1 << 16 * 64)), // 4M sources
			Dst:       record.AddrFromUint32(0xc6120100 | r.Uint32N(256)),
			IPVersion: 4, Protocol: 6, TTL: uint8(40 + r.IntN(200)), IPID: r.Uint32N(65536), IPLen: 40,
			HasTransport: true, SrcPort: uint16(1024 + r.IntN(64000)), DstPort: dport,
			TCPFlags: 0x02, Seq: r.Uint32(), Window: 1024,
		}
	}
	return recs
}

// BenchmarkPut puts a batch of 4096 records per op; the sender removes it
// (outside the timing) as its ack would.
func BenchmarkPut(b *testing.B) {
	batch, err := wire.EncodeBatch(42, 1, time.Unix(0, t0), scanRecords(4096))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("batch: %d records, %d bytes", batch.Count, proto.Size(batch))
	for _, sync := range []SyncPolicy{SyncAlways, SyncNever} {
		b.Run("sync="+sync.String(), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{Sync: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			next := proto.Clone(batch).(*sensorv1.Batch)
			b.SetBytes(int64(proto.Size(batch)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				next.Seq, next.CreatedNs = uint64(i), t0+int64(i)
				if err := s.Put(next); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Remove(next.Epoch, next.Seq); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/4096, "ns/record")
		})
	}
}
