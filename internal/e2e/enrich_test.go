package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// TestGeoIPSwappedUnderCollector is issue 12 §1's proof of reloading: a
// running collector's GeoIP/ASN database is replaced between two halves
// of a sensor's batches. The first half keeps the old countries and
// networks, the second has the new ones, and every record is stored once.
func TestGeoIPSwappedUnderCollector(t *testing.T) {
	nj, _ := binaries(t)
	dir := t.TempDir()
	registry, db, geo := filepath.Join(dir, "registry"), filepath.Join(dir, "geo.duckdb"), filepath.Join(dir, "geo.mmdb")
	reg, err := pki.Init(registry, pki.InitOptions{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := enrollSensor(reg, dir, "geo-1", "198.18.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	// loadRecords' sources are in 45.0.0.0/8 and 185.0.0.0/8.
	writeGeo := func(country string, asn uint32, org string) {
		t.Helper()
		o := origins.Origin{Country: country, ASN: asn, Org: org}
		if err := origins.Write(geo, "Nightjar-Test", []origins.Entry{
			{Network: netip.MustParsePrefix("45.0.0.0/8"), Origin: o}, {Network: netip.MustParsePrefix("185.0.0.0/8"), Origin: o},
		}); err != nil {
			t.Fatal(err)
		}
	}
	writeGeo("JP", 64500, "Old Net")
	const batches, records = 30, 512
	s := newResendingSensor(t, "geo-1", creds, batches, records)
	col, addr, metricsURL := startLoopbackCollector(t, nj, "--db", db, "--ca", registry, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
		"--ui", "off", "--commit-interval", "50ms", "--rollup-interval", "200ms", "--geoip", geo, "--reload-interval", "100ms")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	sendHalf := func(second bool) {
		t.Helper()
		for i := range s.acked {
			s.acked[i] = (i >= batches/2) != second // the other half counts as sent
		}
		for err := s.send(ctx, addr); err != nil; err = s.send(ctx, addr) {
			if ctx.Err() != nil {
				t.Fatalf("the batches were not acknowledged: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	sendHalf(false)
	writeGeo("US", 64501, "New Net")
	waitFor(t, 30*time.Second, "the collector to reload the database", func() bool {
		return strings.Contains(col.output(), "GeoIP/ASN database reloaded")
	})
	sendHalf(true)
	m := metrics(t, http.DefaultClient, metricsURL)
	if m["nightjar_enrich_records_total"] < batches*records || m["nightjar_enrich_errors_total"] != 0 || m["nightjar_enrich_decoded_total"] < 2 {
		t.Errorf("enrich metrics: %v records, %v errors, %v decoded; want at least %d records, no error, both databases' records decoded",
			m["nightjar_enrich_records_total"], m["nightjar_enrich_errors_total"], m["nightjar_enrich_decoded_total"], batches*records)
	}
	col.stop()

	// Batch k's records are at 12:00:k (loadRecords, 1 ms apart).
	half := "2026-06-01T12:00:15Z"
	for _, tt := range []struct {
		from, to string
		want     string
	}{{"2026-06-01T12:00:00Z", half, "AS64500 Old Net"}, {half, "2026-06-01T12:01:00Z", "AS64501 New Net"}} {
		var ans struct {
			Tables []struct {
				Packets uint64 `json:"packets"`
				Top     []struct {
					Key     string `json:"key"`
					Org     string `json:"org"`
					Packets uint64 `json:"packets"`
				} `json:"top"`
			} `json:"tables"`
		}
		out := run(t, nj, "query", "origins", "--db", db, "--kind", "asn", "--by", "fleet", "--from", tt.from, "--to", tt.to, "--format", "json")
		if err := json.Unmarshal([]byte(out), &ans); err != nil {
			t.Fatal(err)
		}
		table := ans.Tables[0]
		if len(table.Top) != 1 || table.Top[0].Key+" "+table.Top[0].Org != tt.want || table.Packets != batches/2*records {
			t.Errorf("%s to %s: %s; want all %d packets from %s", tt.from, tt.to, out, batches/2*records, tt.want)
		}
	}
}
