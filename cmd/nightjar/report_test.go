package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// TestReportBadInput: bad flags, periods and databases are refused with a
// clear message, before anything is written.
func TestReportBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.duckdb")
	out := filepath.Join(dir, "out")
	base := []string{"report", "--db", missing, "--out", out}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown language", append(base, "--period", "2024Q3", "--lang", "fr"), `--lang: unknown language "fr" (want one of en, ja)`},
		{"unknown format", append(base, "--period", "2024Q3", "--format", "html,docx"), `--format: unknown format "docx" (want a comma-separated list of html, md, pdf)`},
		{"empty format", append(base, "--period", "2024Q3", "--format", ""), `--format: unknown format ""`},
		{"empty period", append(base, "--from", "2024-07-02", "--to", "2024-07-01"), "empty period"},
		{"bad quarter", append(base, "--period", "2024Q5"), "quarter must be 1 to 4"},
		{"no period", base, "no period: give --period"},
		{"period and range", append(base, "--period", "2024Q3", "--from", "2024-07-01", "--to", "2024-07-02"), "either --period or --from and --to"},
		{"missing database", append(base, "--period", "2024Q3"), "database " + missing + " does not exist"},
		{"no database", []string{"report", "--out", out, "--period", "2024Q3"}, "--db PATH is required"},
		{"no output", []string{"report", "--db", missing, "--period", "2024Q3"}, "--out DIR is required"},
		{"argument", append(base, "--period", "2024Q3", "extra"), `unexpected argument "extra"`},
	} {
		code, stdout, stderr := nightjar(t, tt.args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tt.name, code, stdout, stderr, tt.want)
		}
	}
	for _, p := range []string{missing, out} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created by a refused report: %v", p, err)
		}
	}
}

// TestReportCommand: a report of a simulated quarter in Japanese, a PDF
// without Chromium (skipped, with the reason, exit 0), a period without
// data and a custom range.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	if err := simulatedQ3DB(t, db, time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC), 10_000).Close(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "q3")
	code, stdout, stderr := nightjar(t, "report", "--db", db, "--period", "2024Q3", "--out", out, "--lang", "ja", "--format", "md,html")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"report-ja.html", "report-ja.md", "report-ja-fig1-top-ports.svg", "report-ja-fig2-monthly.png", "report-ja-fig3-mirai.svg"} {
		if !strings.Contains(stdout, "wrote "+filepath.Join(out, f)+"\n") {
			t.Errorf("stdout does not list %s:\n%s", f, stdout)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report-ja.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(md), "# ダークネット観測レポート：2024年第3四半期（7月〜9月）\n") || !strings.Contains(string(md), "10,000パケットを受信しました") {
		t.Errorf("report-ja.md:\n%.600s", md)
	}

	code, stdout, stderr = nightjar(t, "report", "--db", db, "--period", "2024Q3", "--out", out, "--format", "pdf", "--chromium", "/nonexistent/chromium")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "nightjar: PDF not produced: chromium not found: looked for /nonexistent/chromium") {
		t.Errorf("report without Chromium: exit %d, stdout %q, stderr %q; want exit 0 and why there is no PDF", code, stdout, stderr)
	}

	code, _, stderr = nightjar(t, "report", "--db", db, "--period", "2023Q1", "--out", out, "--format", "md")
	md, _ = os.ReadFile(filepath.Join(out, "report-en.md"))
	if code != 0 || strings.Count(string(md), "No packets were recorded in 2023 Q1 (January–March 2023)") < 6 || strings.Contains(string(md), ".svg") {
		t.Errorf("report of a period without data: exit %d, %s\n%s", code, stderr, md)
	}

	code, _, stderr = nightjar(t, "report", "--db", db, "--from", "2024-08-01", "--to", "2024-08-31", "--out", out, "--format", "md")
	md, _ = os.ReadFile(filepath.Join(out, "report-en.md"))
	if code != 0 || !strings.Contains(string(md), "# Darknet observation report: 1 August 2024 – 31 August 2024\n") ||
		!strings.Contains(string(md), "the preceding period of the same length (2024-07-01 – 2024-07-31)") {
		t.Errorf("report of a custom range: exit %d, %s\n%.800s", code, stderr, md)
	}
}

// simulatedQ3DB creates db with the default fleet's simulated traffic
// from 1 July 2024 to end, and returns it open.
func simulatedQ3DB(t *testing.T, db string, end time.Time, packets uint64) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(t.Context(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Fleet = simulate.DefaultFleet()
	cfg.Start, cfg.End = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), end
	cfg.Packets, cfg.Sources = packets, 800
	storetest.Simulated(t, st, cfg)
	return st
}

// TestReportAlert: the extra issue of an alert stored in a database of a
// simulated quarter, end to end: the Japanese Markdown draft and its
// figure, the English HTML, a PDF without Chromium, and what is refused.
func TestReportAlert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "t.duckdb")
	st := simulatedQ3DB(t, db, time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC), 20_000)
	// An alert of 23/TCP at jp-tokyo-1 in its busiest hour of the
	// second week, against the same hour a week before.
	week2, _ := period.ParseRange("2024-07-08", "2024-07-14")
	ps, err := st.PortSeries(t.Context(), store.PortSeriesQuery{Period: week2, Resolution: store.Hour, Ports: []string{"23/TCP"}, By: store.BySensor, Sensors: []string{"jp-tokyo-1"}})
	if err != nil {
		t.Fatal(err)
	}
	peak := 0
	for i, n := range ps.Series[0].Packets {
		if n > ps.Series[0].Packets[peak] {
			peak = i
		}
	}
	hour := ps.Buckets[peak]
	before, err := st.PortSeries(t.Context(), store.PortSeriesQuery{Period: period.Period{Start: hour.AddDate(0, 0, -7), End: hour.AddDate(0, 0, -7).Add(time.Hour), Kind: period.Custom},
		Resolution: store.Hour, Ports: []string{"23/TCP"}, By: store.BySensor, Sensors: []string{"jp-tokyo-1"}})
	if err != nil {
		t.Fatal(err)
	}
	obs, base := float64(ps.Series[0].Packets[peak]), float64(before.Series[0].Packets[0])
	a := store.Alert{Detector: "port-surge", Scope: store.Scope{Sensor: "jp-tokyo-1", Port: "23/TCP"}, State: store.AlertAcknowledged, Severity: store.SeverityWarning,
		Start: hour, LastSeen: hour, Updated: hour.Add(time.Hour), By: "alice", Note: "looking",
		Evidence: store.Evidence{Measure: "packets per hour", Hour: hour, Observed: obs, Baseline: base, Spread: 1, Score: obs - base, Method: "the same hour a week before",
			Series: []store.EvidencePoint{{Hour: hour, Observed: obs, Baseline: base}}}}
	ids, err := st.PutAlerts(t.Context(), []store.AlertWrite{{Alert: a}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(ids[0], 10)

	md := filepath.Join(dir, "drafts", "extra.md")
	code, stdout, stderr := nightjar(t, "report", "--db", db, "--alert", id, "--lang", "ja", "--out", md)
	if code != 0 {
		t.Fatalf("report --alert: exit %d: %s", code, stderr)
	}
	if want := "wrote " + md + "\nwrote " + filepath.Join(dir, "drafts", "extra-fig1-chart.svg") + "\nwrote " + filepath.Join(dir, "drafts", "extra-fig1-chart.png") + "\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"# 臨時号：センサーjp-tokyo-1における23/TCPの変化（2024年7月", "アラート#" + id, "| 状態 | 対応中 |",
		"| 確認・解決した担当者 | alice 「looking」 |", "ピーク時の観測値 | " + strconv.FormatFloat(obs, 'f', 0, 64) + " |", "extra-fig1-chart.svg"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Japanese draft has no %q:\n%.1500s", want, text)
		}
	}

	page := filepath.Join(dir, "extra.html")
	code, stdout, stderr = nightjar(t, "report", "--db", db, "--alert", id, "--out", page)
	b, _ = os.ReadFile(page)
	if code != 0 || stdout != "wrote "+page+"\n" || !strings.Contains(string(b), "<h1>Extra issue: 23/TCP at sensor jp-tokyo-1 since ") {
		t.Errorf("report --alert --out FILE.html: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	missing := filepath.Join(dir, "missing.duckdb")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown alert", []string{"--alert", "999"}, "alert 999: unknown alert (nightjar alerts list --db " + db + " shows the alerts)"},
		{"bad ID", []string{"--alert", "0"}, "--alert 0: want a positive alert ID"},
		{"no chromium", []string{"--alert", id, "--out", filepath.Join(dir, "x.pdf"), "--chromium", "/nonexistent/chromium"}, "PDF not produced: chromium not found: looked for /nonexistent/chromium"},
		{"two formats", []string{"--alert", id, "--format", "md,html"}, `--alert writes one file, in one format (html, md or pdf), not "md,html"`},
		{"extension", []string{"--alert", id, "--out", filepath.Join(dir, "x.txt")}, "the file's extension chooses the format: end it with .html, .md or .pdf"},
		{"format and extension", []string{"--alert", id, "--out", filepath.Join(dir, "x.html"), "--format", "md"}, "a md draft is written to a file ending with .md"},
		{"and a period", []string{"--alert", id, "--period", "2024Q3"}, "give no --period, --from or --to"},
		{"language", []string{"--alert", id, "--lang", "fr"}, `--lang: unknown language "fr"`},
	} {
		code, stdout, stderr := nightjar(t, append([]string{"report", "--db", db}, tt.args...)...)
		if code != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tt.name, code, stdout, stderr, tt.want)
		}
	}
	code, _, stderr = nightjar(t, "report", "--db", missing, "--alert", id, "--out", filepath.Join(dir, "y.md"))
	if code != 1 || !strings.Contains(stderr, "database "+missing+" does not exist") {
		t.Errorf("missing database: exit %d, %q", code, stderr)
	}
	for _, p := range []string{missing, filepath.Join(dir, "y.md"), filepath.Join(dir, "x.pdf")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created by a refused draft: %v", p, err)
		}
	}
}
