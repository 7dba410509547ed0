package origins

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"go4.org/netipx"
)

const testdata = "../../testdata/mmdb/"

// sourceEntries reads a *.source.json of MaxMind's test data: one object
// per network.
func sourceEntries(t *testing.T, name string) map[netip.Prefix]map[string]any {
	t.Helper()
	b, err := os.ReadFile(testdata + name)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	out := map[netip.Prefix]map[string]any{}
	for _, entry := range list {
		for k, v := range entry {
			p, err := netip.ParsePrefix(k)
			if err != nil {
				t.Fatalf("%s: network %q: %v", name, k, err)
			}
			// IPv4 networks are written in the IPv6 tree, as ::a.b.c.d/n.
			if a := p.Addr().As16(); p.Addr().Is6() && p.Bits() >= 96 && [12]byte(a[:12]) == [12]byte{} {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte(a[12:])), p.Bits()-96)
			}
			out[p.Masked()] = v
		}
	}
	return out
}

// mostSpecific returns the value of the longest network of entries that
// holds a: what a database built from them answers.
func mostSpecific(entries map[netip.Prefix]map[string]any, a netip.Addr) map[string]any {
	best, bits := map[string]any(nil), -1
	for p, v := range entries {
		if p.Contains(a) && p.Bits() > bits {
			best, bits = v, p.Bits()
		}
	}
	return best
}

// TestLookupEqualsTheSource: for the first and last address of every
// network that MaxMind's country and ASN test databases were built from,
// Lookup through one Set of both gives the country and the AS that the
// source data gives that address.
func TestLookupEqualsTheSource(t *testing.T) {
	set, err := Open(testdata+"GeoIP2-Country-Test.mmdb", testdata+"GeoLite2-ASN-Test.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	countries := sourceEntries(t, "GeoIP2-Country-Test.source.json")
	asns := sourceEntries(t, "GeoLite2-ASN-Test.source.json")
	checked := 0
	for _, entries := range []map[netip.Prefix]map[string]any{countries, asns} {
		for p := range entries {
			for _, a := range []netip.Addr{p.Addr(), netipx.PrefixLastIP(p)} {
				var want Origin
				if c := mostSpecific(countries, a); c != nil {
					if country, ok := c["country"].(map[string]any); ok {
						want.Country, _ = country["iso_code"].(string)
					}
				}
				if as := mostSpecific(asns, a); as != nil {
					n, _ := as["autonomous_system_number"].(float64)
					want.ASN = uint32(n)
					want.Org, _ = as["autonomous_system_organization"].(string)
				}
				got, err := set.Lookup(a)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("Lookup(%s) = %+v, want %+v (from the source data)", a, got, want)
				}
				checked++
			}
		}
	}
	if checked < 1000 {
		t.Errorf("checked %d addresses, want the whole source data", checked)
	}
	if got, err := set.Lookup(netip.MustParseAddr("198.18.0.1")); err != nil || got != (Origin{}) {
		t.Errorf("Lookup(198.18.0.1) = %+v, %v; want the zero Origin (in no database)", got, err)
	}
	dbs := set.Databases()
	if len(dbs) != 2 || dbs[0].Type != "GeoIP2-Country" || dbs[1].Type != "GeoLite2-ASN" || dbs[0].Built.IsZero() {
		t.Errorf("Databases() = %+v", dbs)
	}
}

// writeDB writes an .mmdb of databaseType holding value for each network.
func writeDB(t *testing.T, path, databaseType string, networks map[string]mmdbtype.Map) {
	t.Helper()
	opts := mmdbwriter.Options{DatabaseType: databaseType, RecordSize: 24, IncludeReservedNetworks: true,
		Description: map[string]string{"en": "Nightjar test database"}}
	if databaseType == "ipinfo_lite" {
		opts.Description = nil // some publishers omit it: Open must not refuse that
	}
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for cidr, v := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, v); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // as an update is installed
		t.Fatal(err)
	}
}

// TestOtherLayouts: IPinfo Lite (flat country_code, asn as "AS…" text,
// as_name) and DB-IP Lite (MaxMind's layout under its own database type),
// IPv4 and IPv6.
func TestOtherLayouts(t *testing.T) {
	dir := t.TempDir()
	ipinfo, dbip := filepath.Join(dir, "ipinfo_lite.mmdb"), filepath.Join(dir, "dbip-country-lite.mmdb")
	writeDB(t, ipinfo, "ipinfo_lite", map[string]mmdbtype.Map{
		"203.0.113.0/24": {"country_code": mmdbtype.String("JP"), "asn": mmdbtype.String("AS2497"), "as_name": mmdbtype.String("Internet Initiative Japan Inc.")},
		"2001:db8::/32":  {"country_code": mmdbtype.String("de"), "asn": mmdbtype.String("AS3320"), "as_name": mmdbtype.String("Deutsche Telekom AG")},
	})
	writeDB(t, dbip, "DBIP-Country-Lite", map[string]mmdbtype.Map{
		"192.0.2.0/24": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}},
	})
	set, err := Open(dbip, ipinfo)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for addr, want := range map[string]Origin{
		"203.0.113.9":         {Country: "JP", ASN: 2497, Org: "Internet Initiative Japan Inc."},
		"::ffff:203.0.113.10": {Country: "JP", ASN: 2497, Org: "Internet Initiative Japan Inc."},
		"2001:db8::1":         {Country: "DE", ASN: 3320, Org: "Deutsche Telekom AG"},
		"192.0.2.1":           {Country: "US"},
		"198.51.100.1":        {},
	} {
		got, err := set.Lookup(netip.MustParseAddr(addr))
		if err != nil || got != want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", addr, got, err, want)
		}
	}
	bad := filepath.Join(dir, "bad-asn.mmdb")
	writeDB(t, bad, "ipinfo_lite", map[string]mmdbtype.Map{"203.0.113.0/24": {"asn": mmdbtype.String("ASx")}})
	badSet, err := Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	defer badSet.Close()
	if _, err := badSet.Lookup(netip.MustParseAddr("203.0.113.1")); err == nil || !strings.Contains(err.Error(), `"ASx"`) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Lookup of a malformed AS number: error = %v, want one naming the value and the file", err)
	}
}

// TestBrokenDatabasesRefused: a broken or missing file, or a file that is
// not a MaxMind DB, is refused at Open with an error naming it.
func TestBrokenDatabasesRefused(t *testing.T) {
	notDB := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(notDB, []byte("\xd4\xc3\xb2\xa1 not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		testdata + "GeoIP2-City-Test-Broken-Double-Format.mmdb",
		testdata + "MaxMind-DB-test-broken-search-tree-24.mmdb",
		testdata + "no-such-file.mmdb",
		notDB,
	} {
		set, err := Open(testdata+"GeoLite2-ASN-Test.mmdb", path)
		if err == nil {
			set.Close()
			t.Errorf("Open(%s) succeeded, want an error", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s): error %q does not name the file", path, err)
		}
	}
	if _, err := Open(); err == nil {
		t.Error("Open() with no file succeeded")
	}
}

// TestWatcherReloads: a database replaced under a Watcher is used from
// the next Check on, while lookups run in other goroutines (run with
// -race); a corrupt replacement is refused and the previous database
// stays in service; a good one after it is taken.
func TestWatcherReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	country := func(code string) {
		writeDB(t, path, "GeoLite2-Country", map[string]mmdbtype.Map{"198.18.0.0/15": {"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}})
	}
	country("JP")
	w, err := Watch(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	a := netip.MustParseAddr("198.18.7.7")
	lookup := func() string {
		o, err := w.Lookup(a)
		if err != nil {
			t.Error(err)
		}
		return o.Country
	}
	if got := lookup(); got != "JP" {
		t.Fatalf("before any reload: %q, want JP", got)
	}
	if reloaded, err := w.Check(); reloaded || err != nil {
		t.Errorf("Check() with nothing changed = %v, %v; want false, nil", reloaded, err)
	}
	stop := make(chan struct{})
	var lookups sync.WaitGroup
	for range 4 {
		lookups.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := lookup(); got != "JP" && got != "US" {
					t.Errorf("lookup during reloads: %q", got)
					return
				}
			}
		})
	}
	for i := range 20 {
		want := []string{"US", "JP"}[i%2]
		country(want)
		reloaded, err := w.Check()
		if err != nil || !reloaded {
			t.Fatalf("Check() after replacing the file = %v, %v; want true, nil", reloaded, err)
		}
		if got := lookup(); got != want {
			t.Fatalf("after reload %d: %q, want %q", i, got, want)
		}
	}
	close(stop)
	lookups.Wait()
	// The last reload installed JP. A corrupt update is refused.
	if err := os.WriteFile(path, []byte("truncated download"), 0o644); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := w.Check(); reloaded || err == nil || !strings.Contains(err.Error(), "still using") {
		t.Errorf("Check() of a corrupt file = %v, %v; want false and an error saying the old database stays", reloaded, err)
	}
	if got := lookup(); got != "JP" {
		t.Errorf("after a refused reload: %q, want JP (the previous database)", got)
	}
	country("US")
	if reloaded, err := w.Check(); !reloaded || err != nil {
		t.Errorf("Check() of a good file after a bad one = %v, %v; want true, nil", reloaded, err)
	}
	if got := lookup(); got != "US" {
		t.Errorf("after the good update: %q, want US", got)
	}
}
