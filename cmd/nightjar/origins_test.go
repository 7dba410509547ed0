package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestOriginsOfASimulatedFleet is issue 12's proof of §1: a simulated
// fleet whose sources are placed by the simulator's geography, ingested
// with a database built from it. Every country and AS question equals the
// geography applied to the capture's packets, per sensor and per month,
// and each stored source's origin is what a direct read of the database
// says; `query` and the API agree.
func TestOriginsOfASimulatedFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pcap, fleetFile := filepath.Join(dir, "sim.pcap"), filepath.Join(dir, "fleet.yaml")
	geo, db := filepath.Join(dir, "geo.mmdb"), filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile, "--geography-out", geo, "--start", "2024-06-01",
		"--days", "61", "--packets", "150000", "--sources", "4000", "--seed", "12"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, "--geoip", geo, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	fl, err := fleet.Load(fleetFile)
	if err != nil {
		t.Fatal(err)
	}
	truth := geographyTruth(t, pcap, fl)

	set, err := origins.Open(geo)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, month := range []string{"2024-06", "2024-07"} {
		for _, kind := range []string{"country", "asn"} {
			var got api.OriginsResponse
			queryJSON(t, &got, "origins", "--db", db, "--period", month, "--kind", kind, "--by", "sensor", "--top", "1000")
			for _, table := range got.Tables {
				want := truth[month][table.Sensor][kind]
				if len(want) == 0 {
					t.Fatalf("%s %s: no truth for sensor %s: the test is wrong", month, kind, table.Sensor)
				}
				gotCounts := map[string]store.OriginCount{}
				for _, o := range table.Origins {
					gotCounts[o.Key] = store.OriginCount{Packets: o.Packets, Sources: o.Sources}
				}
				if diff := cmp.Diff(gotCounts, want); diff != "" {
					t.Errorf("origins %s --kind %s, sensor %s (-query, +geography):\n%s", month, kind, table.Sensor, diff)
				}
			}
		}
		var sources api.TopSourcesResponse
		queryJSON(t, &sources, "top-sources", "--db", db, "--period", month, "--top", "100000")
		if len(sources.Sources) < 1000 {
			t.Fatalf("%s: %d sources", month, len(sources.Sources))
		}
		for _, src := range sources.Sources {
			want, err := set.Lookup(netip.MustParseAddr(src.IP))
			if err != nil {
				t.Fatal(err)
			}
			if src.Country != want.Country || src.ASN != want.ASN || src.Org != want.Org {
				t.Fatalf("%s: source %s stored as %s AS%d %q, the database says %+v", month, src.IP, src.Country, src.ASN, src.Org, want)
			}
		}
	}

	// The API answers as `query` does.
	var fleetASes api.OriginsResponse
	queryJSON(t, &fleetASes, "origins", "--db", db, "--period", "2024-07", "--kind", "asn", "--by", "fleet")
	topAS := fleetASes.Tables[0].Origins[0].Key
	if topAS == "unknown" {
		topAS = fleetASes.Tables[0].Origins[1].Key
	}
	h := apiEqualsQuery(t, db, []queryAPICase{
		{[]string{"origins", "--period", "2024-07", "--kind", "asn", "--by", "group", "--top", "5"}, "/api/v1/origins?period=2024-07&kind=asn&by=group&top=5"},
		{[]string{"origins", "--period", "2024-07", "--by", "fleet"}, "/api/v1/origins?period=2024-07&by=fleet"},
		{[]string{"origin-ports", "--period", "2024-07", "--country", "CN"}, "/api/v1/origin-ports?period=2024-07&country=CN"},
		{[]string{"top-sources", "--period", "2024-07", "--asn", topAS}, "/api/v1/top-sources?period=2024-07&asn=" + topAS},
	})
	var bySources api.TopSourcesResponse
	queryJSONFrom(t, h, &bySources, "/api/v1/top-sources?period=2024-07&top=1000&asn="+topAS)
	if len(bySources.Sources) == 0 {
		t.Errorf("no source of %s", topAS)
	}
	for _, src := range bySources.Sources {
		if fmt.Sprintf("AS%d", src.ASN) != topAS {
			t.Errorf("top sources of %s: %s is of AS%d", topAS, src.IP, src.ASN)
		}
	}
}

// queryJSONFrom asks the API handler h for target into v.
func queryJSONFrom(t *testing.T, h http.Handler, v any, target string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if err := json.Unmarshal(rec.Body.Bytes(), v); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
}

// queryJSON runs `nightjar query ARGS --format json` into v.
func queryJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	args = append(append([]string{"query"}, args...), "--format", "json")
	code, stdout, stderr := nightjar(t, args...)
	if code != 0 {
		t.Fatalf("nightjar %v: exit %d: %s", args, code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		t.Fatalf("nightjar %v: %v", args, err)
	}
}

// geographyTruth counts the capture's packets and distinct sources per
// month, sensor and origin key ("country" or "asn" kind), placing each
// source by simulate.OriginOf.
func geographyTruth(t *testing.T, pcap string, fl *fleet.Fleet) map[string]map[string]map[string]map[string]store.OriginCount {
	t.Helper()
	out := map[string]map[string]map[string]map[string]store.OriginCount{}
	seen := map[string]bool{}
	sink := sinkFunc(func(recs []record.Record, sensors []int32) error {
		for i, r := range recs {
			month := time.Unix(0, r.Time).UTC().Format("2006-01")
			sensor := fl.Sensors[sensors[i]].Name
			o := simulate.OriginOf(r.Src.Netip())
			keys := map[string]string{"country": "unknown", "asn": "unknown"}
			if o.Country != "" {
				keys["country"] = o.Country
			}
			if o.ASN != 0 {
				keys["asn"] = fmt.Sprintf("AS%d", o.ASN)
			}
			for kind, key := range keys {
				if out[month] == nil {
					out[month] = map[string]map[string]map[string]store.OriginCount{}
				}
				if out[month][sensor] == nil {
					out[month][sensor] = map[string]map[string]store.OriginCount{}
				}
				if out[month][sensor][kind] == nil {
					out[month][sensor][kind] = map[string]store.OriginCount{}
				}
				c := out[month][sensor][kind][key]
				c.Packets++
				if id := month + sensor + kind + r.Src.String(); !seen[id] {
					seen[id] = true
					c.Sources++
				}
				out[month][sensor][kind][key] = c
			}
		}
		return nil
	})
	p, err := pipeline.New(pipeline.Config{Attributor: pipeline.Fleet(fleet.NewMatcher(fl)), Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	r, err := capfile.OpenContext(t.Context(), pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkt capfile.Packet
	for {
		err := r.Next(&pkt)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Frame(pkt.Time, decode.LinkType(pkt.LinkType), pkt.Data)
		if p.Full() {
			p.Flush()
		}
	}
	p.Flush()
	return out
}

type sinkFunc func(recs []record.Record, sensors []int32) error

func (f sinkFunc) Write(recs []record.Record, sensors []int32) error { return f(recs, sensors) }

// TestScannerListsAtIngest: `ingest --scanner-list` with the MISP
// warninglists of a directory and a labelled list of one's own labels the
// sources inside them, and only those; their verdict is benign. Bad list
// arguments are refused before anything is stored.
func TestScannerListsAtIngest(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t)
	ours := filepath.Join(dir, "ours.txt")
	if err := os.WriteFile(ours, []byte("# our own scanner\n192.0.2.33\n192.0.2.40/29\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.duckdb")
	for _, bad := range [][]string{{"--scanner-list", filepath.Join(dir, "missing.txt")}, {"--scanner-list", t.TempDir()}} {
		if code, _, stderr := nightjar(t, append([]string{"ingest", "-q", "--db", db, "--sensors", sensors, pcap}, bad...)...); code == 0 || !strings.Contains(stderr, "scanner list") {
			t.Errorf("ingest %v: exit %d, %q; want a scanner-list error", bad, code, stderr)
		}
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", sensors, "--scanner-list", "../../testdata/scanner-lists",
		"--scanner-list", "ours="+ours, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	var got api.TopSourcesResponse
	queryJSON(t, &got, "top-sources", "--db", db, "--period", "2024Q3")
	labels := map[string]string{}
	for _, s := range got.Sources {
		labels[s.IP] = s.Scanner + " " + s.Verdict
	}
	want := map[string]string{"192.0.2.11": " malicious", "192.0.2.22": " unknown", "192.0.2.33": "ours benign", "192.0.2.44": "ours benign", "192.0.2.55": " unknown"}
	if diff := cmp.Diff(labels, want); diff != "" {
		t.Errorf("scanner labels and verdicts (-got, +want):\n%s", diff)
	}
	var lists api.OriginsResponse
	queryJSON(t, &lists, "origins", "--db", db, "--period", "2024Q3", "--kind", "scanner", "--by", "fleet")
	if len(lists.Tables) != 1 || len(lists.Tables[0].Origins) != 2 || lists.Tables[0].Origins[0].Key != "none" || lists.Tables[0].Origins[1].Key != "ours" {
		t.Errorf("origins --kind scanner: %+v", lists.Tables)
	}
}
