package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

func openStore(t *testing.T) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(t.Context(), filepath.Join(t.TempDir(), "t.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestWriteWithoutChromium: the PDF is skipped with the reason, the other
// files are written, and Write succeeds.
func TestWriteWithoutChromium(t *testing.T) {
	t.Parallel()
	st, _, _ := theFixture(t)
	q3, _ := period.Parse("2024Q3")
	dir := filepath.Join(t.TempDir(), "new", "dir")
	res, err := Write(t.Context(), st, q3, Config{Lang: English, Formats: []Format{PDF, Markdown}, Dir: dir, Chromium: "/nonexistent/chromium", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.NoPDF, "chromium not found") || !strings.Contains(res.NoPDF, "/nonexistent/chromium") || !strings.Contains(res.NoPDF, "apt-get install chromium") {
		t.Errorf("NoPDF = %q; want why and what to install", res.NoPDF)
	}
	if len(res.Files) != 7 || res.Files[0] != filepath.Join(dir, "report-en.md") {
		t.Errorf("files %q; want the Markdown and its 6 figures", res.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, "report-en.pdf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a PDF was written: %v", err)
	}
	md := readFile(t, filepath.Join(dir, "report-en.md"))
	for _, f := range res.Files[1:] {
		if !strings.Contains(string(md), "("+filepath.Base(f)+")") {
			t.Errorf("the Markdown does not link %s", filepath.Base(f))
		}
	}
}

// TestWriteBadConfig: what Write refuses before asking the store.
func TestWriteBadConfig(t *testing.T) {
	t.Parallel()
	q3, _ := period.Parse("2024Q3")
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Lang: "fr", Formats: Formats, Dir: "x"}, `unknown language "fr" (want one of en, ja)`},
		{Config{Lang: English, Dir: "x"}, "no output format"},
		{Config{Lang: English, Formats: []Format{"docx"}, Dir: "x"}, `unknown format "docx"`},
		{Config{Lang: English, Formats: Formats}, "no output directory"},
	} {
		if _, err := Write(t.Context(), nil, q3, tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Write(%+v): %v; want an error with %q", tt.cfg, err, tt.want)
		}
	}
	for in, want := range map[string]string{"html,md": "[html md]", "PDF, markdown,pdf": "[pdf md]"} {
		if f, err := ParseFormats(in); err != nil || formatList(f) != want {
			t.Errorf("ParseFormats(%q) = %v, %v; want %s", in, f, err, want)
		}
	}
	for _, bad := range []string{"", "html,", "docx"} {
		if _, err := ParseFormats(bad); err == nil {
			t.Errorf("ParseFormats(%q) succeeded", bad)
		}
	}
}

func formatList(f []Format) string {
	s := make([]string, len(f))
	for i, x := range f {
		s[i] = string(x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestOneSensorGroup: a group of one sensor has that sensor's packets as
// its average, and the report says so; a custom range clips its months.
func TestOneSensorGroup(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	f := &fleet.Fleet{Sensors: []fleet.Sensor{
		{Name: "jp-1", Group: "Japan", Addresses: []string{"198.18.0.0/28"}},
		{Name: "jp-2", Group: "Japan", Addresses: []string{"198.18.1.0/28"}},
		{Name: "us-1", Group: "overseas", Addresses: []string{"198.19.0.1"}},
	}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg := simulatedQuarter("2024Q3", 5, f)
	cfg.Packets, cfg.Sources = 20_000, 1_000
	truth := storetest.Simulated(t, st, cfg)
	p, err := period.ParseRange("2024-07-10", "2024-09-20")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build(t.Context(), st, p, generated)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Monthly) != 2 || d.Monthly[1].Name != "overseas" || d.Monthly[1].Sensors != 1 || len(d.Monthly[1].Months) != 3 {
		t.Fatalf("monthly averages %+v; want overseas with one sensor, three months", d.Monthly)
	}
	// August is whole: its average is us-1's packets.
	if got, want := d.Monthly[1].Months[1], (store.GroupMonth{Month: "2024-08", AvgPacketsPerSensor: float64(truth.Sensors["us-1"].Months["2024-08"])}); got != want {
		t.Errorf("overseas in August: %+v, want us-1's packets %+v", got, want)
	}
	for _, lang := range Langs {
		doc := renderData(t, d, lang)
		md := string(markdown(doc, "x-"))
		checkText(t, string(lang)+" one-sensor group", []byte(md))
		l := newLocale(lang)
		for _, want := range []string{l.T("mon.one", "overseas"), l.T("mon.col", "overseas", l.N(1, "sensor")), l.T("mon.clipped"), l.Period(p)} {
			if !strings.Contains(md, mdText(want)) {
				t.Errorf("%s: the report does not say %q", lang, want)
			}
		}
		if len(doc.figures()) != 3 {
			t.Errorf("%s: %d figures, want 3", lang, len(doc.figures()))
		}
	}
}

// TestNoSensors: a store without sensors gives a report that says so, in
// every section, with no figure.
func TestNoSensors(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	q3, _ := period.Parse("2024Q3")
	for _, lang := range Langs {
		_, doc := render(t, st, q3, lang)
		md := markdown(doc, "x-")
		checkText(t, string(lang)+" no sensors", md)
		if !strings.Contains(string(md), newLocale(lang).T("sum.nosensors")) || len(doc.figures()) != 0 || len(doc.Sections) != 8 {
			t.Errorf("%s: report of a store without sensors:\n%s", lang, md)
		}
	}
}

// enriched is a store with device attribution: section 8 shows its table,
// with the firmware's age against 2023 (a report of 2024).
type enriched struct {
	Store
	asked []string
}

func (e *enriched) Devices(_ context.Context, q store.DevicesQuery) (store.DeviceTable, error) {
	e.asked = append(e.asked, fmt.Sprintf("devices %s %d", q.Period, q.N))
	old, recent := time.Date(2021, 5, 27, 0, 0, 0, 0, time.UTC), time.Date(2023, 3, 10, 0, 0, 0, 0, time.UTC)
	seen := time.Date(2024, 7, 2, 3, 4, 0, 0, time.UTC)
	return store.DeviceTable{Sources: 400, Identified: 50, Conflicts: 2, Models: []store.DeviceModel{
		{Rank: 1, Vendor: "TP-Link", Model: "Archer AX3000", Kind: "router", Sources: 42, Packets: 4200, FirstSeen: seen, LastSeen: seen.Add(time.Hour),
			Firmware: []store.FirmwareCount{{Version: "1.0.6", Released: &old, Sources: 30}, {Version: "", Sources: 10}, {Version: "1.3.0", Released: &recent, Sources: 2}}},
		{Rank: 2, Vendor: "MikroTik", Kind: "router", Sources: 8, Packets: 80, FirstSeen: seen, LastSeen: seen,
			Firmware: []store.FirmwareCount{{Version: "", Sources: 8}}},
	}}, nil
}

func TestEnrichmentTables(t *testing.T) {
	t.Parallel()
	st, _, _ := theFixture(t)
	q3, _ := period.Parse("2024Q3")
	e := &enriched{Store: st}
	for _, lang := range Langs {
		_, doc := render(t, e, q3, lang)
		md := string(markdown(doc, "x-"))
		checkText(t, string(lang)+" enriched", []byte(md))
		l := newLocale(lang)
		for _, want := range []string{"| #1 | TP-Link | Archer AX3000 | router | 42 | 4,200 | 1.0.6 (" + l.Date(time.Date(2021, 5, 27, 0, 0, 0, 0, time.UTC)) + ") ×30; " + l.T("dev.unknown") + " ×10; 1.3.0 (" + l.Date(time.Date(2023, 3, 10, 0, 0, 0, 0, time.UTC)) + ") ×2 | 30 / 32 |",
			"| #2 | MikroTik | — | router | 8 | 80 | " + l.T("dev.unknown") + " ×8 | — |", "12.5"} {
			if !strings.Contains(md, want) {
				t.Errorf("%s: no %q in the report", lang, want)
			}
		}
		for _, absent := range []string{l.T("org.none"), l.T("dev.empty", "400")} {
			if strings.Contains(md, absent) {
				t.Errorf("%s: the report says %q although the store has the data", lang, absent)
			}
		}
	}
	if len(e.asked) != 2 || e.asked[0] != "devices 2024Q3 10" {
		t.Errorf("asked %q", e.asked)
	}
}
