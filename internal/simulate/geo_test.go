package simulate

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/origins"
)

// TestGeographyDatabase: a database built from Geography answers for
// every address what OriginOf says, and the geography has the spread a
// darknet's origins have.
func TestGeographyDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	if err := origins.Write(path, "Nightjar-Simulated", Geography()); err != nil {
		t.Fatal(err)
	}
	set, err := origins.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	countries, unknown := map[string]int{}, 0
	for range 20000 {
		var a netip.Addr
		if rng.IntN(5) == 0 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		}
		got, err := set.Lookup(a)
		if err != nil {
			t.Fatal(err)
		}
		if want := OriginOf(a); got != want {
			t.Fatalf("%s: database says %+v, geography %+v", a, got, want)
		}
		if got.Country == "" {
			unknown++
		}
		countries[got.Country]++
	}
	if len(countries) < 15 || countries["CN"] < countries["JP"] || unknown == 0 {
		t.Errorf("countries %v, %d unknown", countries, unknown)
	}
	if n := len(ResearchNetworks()); n == 0 {
		t.Error("no research networks")
	}
}
