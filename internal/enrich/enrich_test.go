package enrich

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/scanners"
)

// world is a generated database: 256 networks 10.k.0.0/16, each in a
// country and AS of its own, and 2001:db8:k::/48 likewise.
func world(t testing.TB, dir, orgSuffix string) string {
	t.Helper()
	var entries []origins.Entry
	countries := []string{"JP", "US", "CN", "DE", "BR", "RU", "NL", "KR"}
	for k := range 256 {
		o := origins.Origin{Country: countries[k%len(countries)], ASN: uint32(64500 + k), Org: "Org " + string(rune('A'+k%26)) + orgSuffix}
		entries = append(entries,
			origins.Entry{Network: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(k), 0, 0}), 16), Origin: o},
			origins.Entry{Network: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(k)}), 48), Origin: o})
	}
	path := filepath.Join(dir, "world.mmdb")
	if err := origins.Write(path, "Nightjar-Test", entries); err != nil {
		t.Fatal(err)
	}
	return path
}

func watchers(t testing.TB) (*origins.Watcher, *scanners.Watcher, string) {
	t.Helper()
	dir := t.TempDir()
	geo, err := origins.Watch(world(t, dir, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { geo.Close() })
	list := filepath.Join(dir, "mine.txt")
	if err := os.WriteFile(list, []byte("# our own scanner\n10.7.0.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lists, err := scanners.Watch(scanners.Source{Path: list, Label: "ours"})
	if err != nil {
		t.Fatal(err)
	}
	return geo, lists, dir
}

func recordsFrom(addrs ...string) []record.Record {
	recs := make([]record.Record, len(addrs))
	for i, a := range addrs {
		recs[i].Src = record.AddrFromNetip(netip.MustParseAddr(a))
	}
	return recs
}

// TestEnrichEqualsDirectLookup: every record's origin is what the
// database and the list say of its source, whether the source is new,
// cached, or its cache slot was taken by another.
func TestEnrichEqualsDirectLookup(t *testing.T) {
	geo, lists, _ := watchers(t)
	e := New(Sources{Origins: geo, Scanners: lists}, 64, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	var addrs []string
	for range 5000 {
		k := rng.IntN(260) // 256..259 are in no network
		if rng.IntN(4) == 0 {
			addrs = append(addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(k), 15: byte(rng.IntN(4))}).String())
			continue
		}
		addrs = append(addrs, netip.AddrFrom4([4]byte{10 + byte(k/256), byte(k), 0, byte(rng.IntN(4))}).String())
	}
	recs := recordsFrom(addrs...)
	for i := 0; i < len(recs); i += 256 {
		e.Enrich(recs[i:min(i+256, len(recs))], nil)
	}
	for _, r := range recs {
		want, err := geo.Lookup(r.Src.Netip())
		if err != nil {
			t.Fatal(err)
		}
		got := r.Origin
		if got.Country.String() != want.Country || got.ASN != want.ASN || got.Org.String() != want.Org {
			t.Fatalf("%s: origin %s AS%d %q, want %s AS%d %q", r.Src, got.Country, got.ASN, got.Org, want.Country, want.ASN, want.Org)
		}
		inList := r.Src.Is4() && r.Src.As4()[1] == 7 && r.Src.As4()[0] == 10
		if (got.Scanner.String() == "ours") != inList {
			t.Fatalf("%s: scanner label %q", r.Src, got.Scanner)
		}
	}
	if s := e.Stats(); s.Records.Load() != 5000 || s.Misses.Load() == 0 || s.Misses.Load() == 5000 || s.Errors.Load() != 0 {
		t.Errorf("stats: %d records, %d misses, %d errors", s.Records.Load(), s.Misses.Load(), s.Errors.Load())
	}
}

// TestReloadKeepsHistory: records enriched before a database update keep
// the old origin; those after get the new one; a label list changed on
// disk applies from the next batch.
func TestReloadKeepsHistory(t *testing.T) {
	geo, lists, dir := watchers(t)
	e := New(Sources{Origins: geo, Scanners: lists}, 0, nil)
	before := recordsFrom("10.1.2.3", "10.7.0.9")
	e.Enrich(before, nil)
	world(t, dir, " (renamed)")
	if err := os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("10.1.0.0/16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, check := range []func() (bool, error){geo.Check, lists.Check} {
		if reloaded, err := check(); !reloaded || err != nil {
			t.Fatalf("reload: %v %v", reloaded, err)
		}
	}
	after := recordsFrom("10.1.2.3", "10.7.0.9")
	e.Enrich(after, nil)
	if got := before[0].Origin.Org.String(); got != "Org B" {
		t.Errorf("before the update: org %q, want %q", got, "Org B")
	}
	if got := after[0].Origin.Org.String(); got != "Org B (renamed)" {
		t.Errorf("after the update: org %q, want %q", got, "Org B (renamed)")
	}
	if before[0].Origin.Scanner != 0 || before[1].Origin.Scanner.String() != "ours" ||
		after[0].Origin.Scanner.String() != "ours" || after[1].Origin.Scanner != 0 {
		t.Errorf("labels before %q %q, after %q %q", before[0].Origin.Scanner, before[1].Origin.Scanner, after[0].Origin.Scanner, after[1].Origin.Scanner)
	}
}

// TestNoSources: without databases or lists every origin is unknown.
func TestNoSources(t *testing.T) {
	recs := recordsFrom("10.1.2.3")
	recs[0].Origin.ASN = 7 // left over from an earlier use of the batch
	New(Sources{}, 0, nil).Enrich(recs, nil)
	if recs[0].Origin != (record.Origin{}) {
		t.Errorf("origin %+v, want none", recs[0].Origin)
	}
}

// TestZeroAllocs: once the database records are decoded, enriching
// allocates nothing, for cached sources and for new ones.
func TestZeroAllocs(t *testing.T) {
	geo, lists, _ := watchers(t)
	// 1,024 sources in 256 networks: more sources than the cache holds,
	// as many database records as it keeps.
	e := New(Sources{Origins: geo, Scanners: lists}, 256, nil)
	var addrs []string
	for k := range 1024 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, byte(k), 1, byte(k >> 8)}).String())
	}
	recs := recordsFrom(addrs...)
	e.Enrich(recs, nil) // decodes every network's record once
	misses := e.Stats().Misses.Load()
	if n := testing.AllocsPerRun(20, func() { e.Enrich(recs, nil) }); n != 0 {
		t.Errorf("Enrich allocates %.1f times per batch, want 0", n)
	}
	if e.Stats().Misses.Load() == misses {
		t.Error("no source missed the cache: the test does not look up new sources")
	}
}

// BenchmarkEnrich: a batch of 256 records from a telescope's mix of
// sources (most seen before, some new), with a country+ASN database and
// a scanner list.
func BenchmarkEnrich(b *testing.B) {
	geo, lists, _ := watchers(b)
	e := New(Sources{Origins: geo, Scanners: lists}, 0, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	recs := make([]record.Record, 256*64)
	for i := range recs {
		recs[i].Src = record.AddrFromUint32(0x0a000000 | rng.Uint32N(1<<20)) // a million sources
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := (i % 64) * 256
		e.Enrich(recs[off:off+256], nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/record")
}

// TestDecodedRecordsBounded: an Enricher keeps at most as many decoded
// database records as its cache holds sources, and still answers right
// after forgetting them.
func TestDecodedRecordsBounded(t *testing.T) {
	geo, lists, _ := watchers(t)
	e := New(Sources{Origins: geo, Scanners: lists}, 16, nil)
	var addrs []string
	for k := range 256 { // 256 networks, each its own record
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, byte(k), 2, 2}).String())
	}
	recs := recordsFrom(addrs...)
	e.Enrich(recs, nil)
	if len(e.decoded) > 16 {
		t.Errorf("%d decoded records kept, want at most 16", len(e.decoded))
	}
	for _, r := range recs {
		if want, _ := geo.Lookup(r.Src.Netip()); r.Origin.ASN != want.ASN || r.Origin.Country.String() != want.Country {
			t.Fatalf("%s: AS%d %s, want AS%d %s", r.Src, r.Origin.ASN, r.Origin.Country, want.ASN, want.Country)
		}
	}
}
