package collector

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// FuzzScreen: whatever the times and destinations a sensor sends, the
// screen keeps exactly the records of a plausible time sent to its
// prefixes, and counts every other one under one reason.
func FuzzScreen(f *testing.F) {
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	f.Add(now.UnixNano(), uint32(0xc6120107))                   // kept: 198.18.1.7
	f.Add(int64(math.MaxInt64), uint32(0xc6120107))             // the far future
	f.Add(int64(math.MinInt64), uint32(0xc6120107))             // before 1990
	f.Add(now.UnixNano(), uint32(0xc6120207))                   // another sensor's address
	f.Add(now.Add(24*time.Hour).UnixNano(), uint32(0xc61201ff)) // the last instant allowed
	s := screen{prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24")}, maxFuture: 24 * time.Hour}
	f.Fuzz(func(t *testing.T, ns int64, dst uint32) {
		recs := []record.Record{{Time: ns, Dst: record.AddrFromUint32(dst), IPVersion: 4}}
		kept, refused := s.filter(recs, now)
		plausible := ns >= record.Earliest.UnixNano() && ns <= now.Add(24*time.Hour).UnixNano()
		owned := dst>>8 == 0xc61201
		if want := plausible && owned; (len(kept) == 1) != want || len(kept)+len(refused) != 1 {
			t.Fatalf("filter(time %d, dst %#x) kept %d, refused %v; want kept=%v", ns, dst, len(kept), refused, want)
		}
	})
}
