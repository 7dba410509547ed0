package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/simulate"
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
	st, err := duckdb.Open(t.Context(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig()
	cfg.Fleet = simulate.DefaultFleet()
	cfg.Start, cfg.End = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	cfg.Packets, cfg.Sources = 10_000, 800
	storetest.Simulated(t, st, cfg)
	if err := st.Close(); err != nil {
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
