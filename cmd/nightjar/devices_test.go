package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// heldOut is a simulated capture ingested into a database, and a banner
// scan of its sources in every format with the attribution each file
// calls for.
type heldOut struct {
	db, dir string
	truths  map[banner.Format]simulate.DeviceTruth
}

func newHeldOut(t *testing.T) heldOut {
	t.Helper()
	dir := t.TempDir()
	pcap, fleetFile, db := filepath.Join(dir, "sim.pcap"), filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "t.duckdb")
	banners := filepath.Join(dir, "banners")
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile, "--start", "2024-07-01", "--days", "7",
		"--packets", "40000", "--sources", "700", "--seed", "11", "--banners-out", banners); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(filepath.Join(banners, simulate.DeviceTruthFile))
	if err != nil {
		t.Fatal(err)
	}
	h := heldOut{db: db, dir: banners}
	if err := json.Unmarshal(data, &h.truths); err != nil {
		t.Fatal(err)
	}
	return h
}

// copyDB copies the held-out database for one import.
func (h heldOut) copyDB(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(h.db)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "copy.duckdb")
	if err := os.WriteFile(db, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return db
}

// checkAttribution: every source's device, and the model table, are what
// the file calls for.
func checkAttribution(t *testing.T, db string, truth simulate.DeviceTruth) {
	t.Helper()
	period := []string{"--from", "2024-07-01", "--to", "2024-07-07"}
	var sources api.TopSourcesResponse
	queryJSON(t, &sources, append([]string{"top-sources", "--db", db, "--top", "1000"}, period...)...)
	if len(sources.Sources) >= 1000 {
		t.Fatal("more than 1000 sources: raise --top")
	}
	conflictsAs := map[string]int{} // the deciding model of each conflicting source (kind "" for a vendor alone)
	checked := 0
	for _, s := range sources.Sources {
		want, ok := truth.Sources[s.IP]
		switch {
		case !ok && s.Device != nil:
			t.Errorf("source %s: device %+v, want none (decoy: %v)", s.IP, *s.Device, slices.Contains(truth.Decoys, s.IP))
		case !ok:
		case s.Device == nil:
			t.Errorf("source %s: no device, want %+v", s.IP, want)
		case want.Conflict:
			label := store.ModelLabel(s.Device.Vendor, s.Device.Model)
			if !s.Device.Conflict || (len(want.Both) > 0 && !slices.Contains(want.Both, label)) {
				t.Errorf("source %s: device %+v, want a conflict between %q", s.IP, *s.Device, want.Both)
			}
			kind := s.Device.Kind
			if s.Device.Model == "" {
				kind = ""
			}
			conflictsAs[s.Device.Vendor+"|"+s.Device.Model+"|"+kind]++
		default:
			got := simulate.SourceDevice{Vendor: s.Device.Vendor, Model: s.Device.Model, Kind: s.Device.Kind, Firmware: s.Device.Firmware, Conflict: s.Device.Conflict}
			if want.Model == "" { // named by vendor only: any kind
				got.Kind = ""
			}
			if diff := gocmp.Diff(got, want); diff != "" {
				t.Errorf("source %s device (-got, +want):\n%s", s.IP, diff)
			}
		}
		if ok {
			checked++
		}
	}
	if checked != len(truth.Sources) {
		t.Errorf("%d of the %d identifiable sources are among the top sources", checked, len(truth.Sources))
	}
	var table api.DevicesResponse
	queryJSON(t, &table, append([]string{"devices", "--db", db, "--top", "100"}, period...)...)
	if table.Identified != uint64(len(truth.Sources)) || table.Sources != uint64(len(sources.Sources)) {
		t.Errorf("devices: %d of %d sources identified, want %d of %d", table.Identified, table.Sources, len(truth.Sources), len(sources.Sources))
	}
	type row struct {
		Vendor, Model, Kind string
		Sources             int
	}
	var got, want []row
	for _, m := range table.Models {
		kind := m.Kind
		if m.Model == "" {
			kind = ""
		}
		got = append(got, row{m.Vendor, m.Model, kind, int(m.Sources)})
	}
	for _, m := range truth.Models {
		k := m.Vendor + "|" + m.Model + "|" + m.Kind
		want = append(want, row{m.Vendor, m.Model, m.Kind, m.Sources + conflictsAs[k]})
		delete(conflictsAs, k)
	}
	for k, n := range conflictsAs { // a conflict decided for a model no other source has
		f := strings.Split(k, "|")
		want = append(want, row{f[0], f[1], f[2], n})
	}
	order := func(a, b row) int {
		if a.Sources != b.Sources {
			return b.Sources - a.Sources
		}
		return strings.Compare(a.Vendor+a.Model, b.Vendor+b.Model)
	}
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if diff := gocmp.Diff(got, want); diff != "" {
		t.Errorf("device models (-got, +want):\n%s", diff)
	}
}

// TestDevicesImportHeldOut: a banner file of a simulated capture's sources
// in each format gives exactly the expected device per source and the
// expected model table — with the hard cases among the simulated devices:
// the same address on two ports, a model only in the certificate, a page
// that names a vendor without being its device, HTML in Japanese, a NAT'd
// address answering as two devices.
func TestDevicesImportHeldOut(t *testing.T) {
	t.Parallel()
	h := newHeldOut(t)
	for _, f := range banner.Formats() {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			truth := h.truths[f]
			if len(truth.Sources) < 50 || len(truth.Decoys) == 0 {
				t.Fatalf("the simulated scan has %d identifiable sources and %d decoys: too few for a test", len(truth.Sources), len(truth.Decoys))
			}
			db := h.copyDB(t)
			file := filepath.Join(h.dir, simulate.BannerFiles[f])
			code, stdout, stderr := nightjar(t, "devices", "import", "--db", db, file)
			if code != 0 {
				t.Fatalf("devices import: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "("+string(f)+")") || !strings.Contains(stdout, " 0 malformed lines skipped") {
				t.Errorf("devices import said:\n%s", stdout)
			}
			checkAttribution(t, db, truth)
			if f == banner.FormatShodan { // the table a person reads
				code, stdout, stderr := nightjar(t, "query", "devices", "--db", db, "--from", "2024-07-01", "--to", "2024-07-07", "--vendor", "tp-link")
				first := truth.Models[0]
				for _, m := range truth.Models {
					if m.Vendor == "TP-Link" && m.Model != "" {
						first = m
						break
					}
				}
				if code != 0 || !strings.Contains(stdout, fmt.Sprintf("of %d sources identified", sourceCount(t, db))) ||
					!strings.Contains(stdout, "RANK  VENDOR") || !strings.Contains(stdout, "TP-Link  "+first.Model) || strings.Contains(stdout, "MikroTik") {
					t.Errorf("query devices --vendor tp-link: exit %d:\n%s%s", code, stdout, stderr)
				}
			}
			// Importing it again adds no evidence and changes nothing.
			code, stdout, _ = nightjar(t, "devices", "import", "--db", db, "--format", string(f), file)
			if code != 0 || !strings.Contains(stdout, ": 0 new evidence rows") {
				t.Errorf("devices import again: exit %d:\n%s", code, stdout)
			}
			checkAttribution(t, db, truth)
		})
	}
	t.Run("malformed line", func(t *testing.T) {
		t.Parallel()
		// A broken line in the middle of a zgrab2 file is reported with
		// its number and skipped; the rest gives the same attribution.
		data, err := os.ReadFile(filepath.Join(h.dir, simulate.BannerFiles[banner.FormatZgrab2]))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		mid := len(lines) / 2
		broken := strings.Join(lines[:mid], "") + "{\"ip\": \"192.0.2.1\", \"data\": {\n" + strings.Join(lines[mid:], "")
		file := filepath.Join(t.TempDir(), "broken.json")
		if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		db := h.copyDB(t)
		code, stdout, stderr := nightjar(t, "devices", "import", "--db", db, "--format", "zgrab2", file)
		if code != 0 {
			t.Fatalf("devices import: exit %d: %s", code, stderr)
		}
		if want := fmt.Sprintf("%s:%d: skipped", file, mid+1); !strings.Contains(stderr, want) || !strings.Contains(stdout, " 1 malformed lines skipped") {
			t.Errorf("devices import of a broken line: want %q on stderr and one skip; stdout:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
		checkAttribution(t, db, h.truths[banner.FormatZgrab2])
	})
}

// TestDevicesImportErrors: what a user gets wrong is a clear error, and
// no database is created by a typo.
func TestDevicesImportErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.duckdb")
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badRules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(badRules, []byte("rules:\n  - id: x\n    vendor: X\n    kind: router\n    field: http.title\n    pattern: '(['\n    confidence: 0.5\n    source: test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"devices", "import", empty}, "--db PATH is required"},
		{[]string{"devices", "import", "--db", missing}, "give the banner FILEs"},
		{[]string{"devices", "import", "--db", missing, filepath.Join(dir, "nope.json")}, "no such file"},
		{[]string{"devices", "import", "--db", missing, empty}, "typo.duckdb does not exist"},
		{[]string{"devices", "import", "--db", missing, "--format", "shodn", empty}, "shodn"},
		{[]string{"devices", "import", "--db", missing, "--signatures", badRules, empty}, "rules.yaml"},
		{[]string{"devices", "signatures", "--signatures", badRules}, "pattern"},
	} {
		code, _, stderr := nightjar(t, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("nightjar %s: exit %d, stderr %q; want an error with %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a failed import created %s", missing)
	}
	code, stdout, stderr := nightjar(t, "devices", "signatures")
	if code != 0 || !strings.Contains(stdout, "http.title") || !strings.Contains(stdout, " rules") {
		t.Errorf("devices signatures: exit %d:\n%s%s", code, stdout, stderr)
	}
}

// TestDevicesProbe: probing needs the configuration's opt-in and a
// contact; --check and --dump say what would run; a run over the sources
// of the small capture (documentation addresses, none global) contacts
// nobody and says so.
func TestDevicesProbe(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	dir := filepath.Dir(db)
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	off := write("off.yaml", "probe:\n  contact: https://telescope.example.org/probing\n")
	noContact := write("nocontact.yaml", "probe:\n  enabled: true\n")
	typo := write("typo.yaml", "probe:\n  enabled: true\n  contact: https://telescope.example.org/probing\n  rates: 5\n")
	requests := filepath.Join(dir, "requests.jsonl")
	on := write("on.yaml", "probe:\n  enabled: true\n  contact: https://telescope.example.org/probing\n  rate: 50\n  request_log: "+requests+"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", db, "--period", "2024Q3"}, "probing is disabled"},
		{[]string{"--db", db, "--period", "2024Q3", "--config", off}, "set enabled: true"},
		{[]string{"--db", db, "--period", "2024Q3", "--config", noContact}, "contact"},
		{[]string{"--db", db, "--period", "2024Q3", "--config", typo}, "rates"},
		{[]string{"--period", "2024Q3", "--config", on}, "--db PATH is required"},
		{[]string{"--db", filepath.Join(dir, "typo.duckdb"), "--period", "2024Q3", "--config", on}, "does not exist"},
	} {
		code, _, stderr := nightjar(t, append([]string{"devices", "probe"}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("devices probe %s: exit %d, stderr %q; want an error with %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	if code, stdout, stderr := nightjar(t, "devices", "probe", "--config", on, "--check"); code != 0 || !strings.Contains(stdout, "probing is enabled") {
		t.Errorf("devices probe --check: exit %d: %s%s", code, stdout, stderr)
	}
	if code, stdout, _ := nightjar(t, "devices", "probe", "--config", on, "--dump"); code != 0 || !strings.Contains(stdout, "max_targets: 100") {
		t.Errorf("devices probe --dump: exit %d:\n%s", code, stdout)
	}
	code, stdout, stderr := nightjar(t, "devices", "probe", "--db", db, "--period", "2024Q3", "--config", on)
	if code != 0 {
		t.Fatalf("devices probe: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "probed 0 of the 5 top sources of 2024Q3") || !strings.Contains(stdout, "5 not global") || !strings.Contains(stdout, "0 requests") {
		t.Errorf("devices probe of documentation addresses said:\n%s", stdout)
	}
	if data, err := os.ReadFile(requests); err != nil || strings.Count(string(data), "\n") != 5 || !strings.Contains(string(data), "192.0.2.11") {
		t.Errorf("request log: %v\n%s", err, data)
	}
}

// sourceCount is the number of distinct sources of the held-out week.
func sourceCount(t *testing.T, db string) int {
	t.Helper()
	var sources api.TopSourcesResponse
	queryJSON(t, &sources, "top-sources", "--db", db, "--top", "1000", "--from", "2024-07-01", "--to", "2024-07-07")
	return len(sources.Sources)
}

// TestDevicesImportKeepsWhatWasRead: a truncated gzip after a good file
// fails the import with the file's name, and the good file's devices are
// stored all the same.
func TestDevicesImportKeepsWhatWasRead(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	dir := filepath.Dir(db)
	good := filepath.Join(dir, "good.json")
	line := `{"ip_str": "192.0.2.11", "port": 80, "transport": "tcp", "timestamp": "2024-07-01T12:00:00.000000", "http": {"status": 200, "title": "Archer AX50", "html": "<title>Archer AX50</title>"}}` + "\n"
	if err := os.WriteFile(good, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(strings.ReplaceAll(line, "192.0.2.11", "192.0.2.22"), 100)))
	zw.Close()
	truncated := filepath.Join(dir, "truncated.json.gz")
	if err := os.WriteFile(truncated, []byte(gz.String()[:gz.Len()/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := nightjar(t, "devices", "import", "--db", db, good, truncated)
	if code == 0 || !strings.Contains(stderr, "truncated.json.gz") {
		t.Errorf("devices import of a truncated gzip: exit %d, stderr %q", code, stderr)
	}
	var src api.TopSourcesResponse
	queryJSON(t, &src, "top-sources", "--db", db, "--period", "2024-07", "--top", "10")
	found := false
	for _, s := range src.Sources {
		if s.IP != "192.0.2.11" {
			continue
		}
		found = true
		if s.Device == nil || s.Device.Model != "Archer AX50" {
			t.Errorf("192.0.2.11 after the failed import: device %+v, want the good file's Archer AX50", s.Device)
		}
	}
	if !found {
		t.Error("192.0.2.11 is not among the sources of 2024-07: the test is wrong")
	}
}
