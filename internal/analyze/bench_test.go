package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// syntheticRecords returns n SYN records from a Zipf-distributed pool of
// sources to the six sensors of testFleet-like addresses.
func syntheticRecords(n, sources int) []record.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.2, 1, uint64(sources-1))
	dsts := []record.Addr{
		record.MustParseAddr("198.18.1.1"), record.MustParseAddr("198.18.2.7"), record.MustParseAddr("198.19.1.1"),
	}
	ports := []uint16{23, 23, 23, 2323, 22, 80, 443, 8728, 6379, 3389, 445}
	recs := make([]record.Record, n)
	t0 := int64(1719792000) * 1e9 // 2024-07-01
	for i := range recs {
		s := uint32(zipf.Uint64())*2654435761 | 1
		recs[i] = record.Record{
			Time: t0 + int64(i)*1e6, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 50, HasTransport: true,
			Src:     record.AddrFrom4([4]byte{byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}),
			Dst:     dsts[rng.IntN(len(dsts))],
			SrcPort: uint16(rng.Uint32()), DstPort: ports[rng.IntN(len(ports))],
			TCPFlags: record.FlagSYN, Seq: rng.Uint32(), IPID: uint32(rng.Uint32() & 0xffff), Window: 29200,
		}
	}
	return recs
}

// BenchmarkAdd measures tag + aggregate per record (no decoding).
func BenchmarkAdd(b *testing.B) {
	f := testFleet(&testing.T{})
	// A ring small enough to stay in cache: the real pipeline reuses one
	// record, so streaming 200 MB of records would measure memory instead.
	recs := syntheticRecords(1<<14, 50000)
	b.ReportAllocs()
	b.ResetTimer()
	a := New(DefaultConfig(), f)
	i := 0
	for b.Loop() {
		a.Add(&recs[i&(len(recs)-1)])
		i++
	}
}

// BenchmarkGoMap and BenchmarkAddrTable compare the per-source lookup.
func BenchmarkGoMap(b *testing.B) {
	recs := syntheticRecords(1<<20, 50000)
	m := map[uint32]int32{}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := recs[i&(len(recs)-1)].Src.Uint32()
		if _, ok := m[k]; !ok {
			m[k] = int32(len(m))
		}
		i++
	}
}

func BenchmarkAddrTable(b *testing.B) {
	recs := syntheticRecords(1<<20, 50000)
	t := newAddrTable()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := recs[i&(len(recs)-1)].Src.Uint32()
		if t.get(k) < 0 {
			t.put(k, int32(t.len()))
		}
		i++
	}
}

// TestAddAllocs: once its sources and months are known, the analyzer
// counts a packet without allocating.
func TestAddAllocs(t *testing.T) {
	recs := syntheticRecords(1<<12, 500)
	a := New(DefaultConfig(), testFleet(t))
	for i := range recs {
		a.Add(&recs[i])
	}
	a.Report()
	i := 0
	allocs := testing.AllocsPerRun(10_000, func() {
		a.Add(&recs[i&(len(recs)-1)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Add() allocates %v times per packet, want 0", allocs)
	}
}
