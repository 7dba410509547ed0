package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver, to read the export back
	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// TestExport simulates a quarter with ground truth, ingests it, exports it
// as Parquet and CSV, reads the Parquet back with DuckDB as a user would
// (read_parquet with Hive partitioning) and compares packets per sensor
// and month, per port, per tag and per source address with the truth.
func TestExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pcap, fleetFile, truthFile, db := filepath.Join(dir, "q3.pcap"), filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "truth.json"), filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile, "--truth", truthFile,
		"--start", "2024-07-01", "--days", "92", "--packets", "30000", "--sources", "2000"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--retention", "0", "--db", db, "--sensors", fleetFile, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	var truth simulate.Truth
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "parquet")
	code, stdout, stderr := nightjar(t, "export", "--db", db, "--format", "parquet", "--period", "2024Q3", "--out", out)
	if code != 0 || !strings.Contains(stdout, "exported 30,000 packets of 2024Q3") || !strings.Contains(stdout, "months 2024-07, 2024-08, 2024-09") {
		t.Fatalf("export: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	reader, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	from := `read_parquet('` + filepath.Join(out, "**", "*.parquet") + `', hive_partitioning = true)`
	count := func(query string) map[string]uint64 {
		t.Helper()
		rows, err := reader.Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]uint64{}
		for rows.Next() {
			var k string
			var n uint64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		return got
	}
	wantMonths, wantPorts, wantTags, wantSources := map[string]uint64{}, map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	for name, s := range truth.Sensors {
		for m, n := range s.Months {
			wantMonths[name+" "+m] = n
		}
		for p, n := range s.Ports {
			wantPorts[name+" "+p] = n
		}
	}
	for tag, n := range truth.Tags {
		wantTags[tag] = n
	}
	for src, s := range truth.Sources {
		wantSources[src] = s.Packets
	}
	for _, c := range []struct {
		what, query string
		want        map[string]uint64
	}{
		// month is the partition column; it must agree with the time column.
		{"per sensor and month", `SELECT sensor || ' ' || month, count(*) FROM ` + from + ` WHERE month = strftime(time, '%Y-%m') GROUP BY ALL`, wantMonths},
		{"per sensor and port", `SELECT sensor || ' ' || port, count(*) FROM ` + from + ` GROUP BY ALL`, wantPorts},
		{"per tag", `SELECT tag, count(*) FROM (SELECT unnest(string_split(tags, ',')) AS tag FROM ` + from + ` WHERE tags <> '') GROUP BY tag`, wantTags},
		{"per source", `SELECT src, count(*) FROM ` + from + ` GROUP BY ALL`, wantSources},
	} {
		if diff := cmp.Diff(count(c.query), c.want); diff != "" {
			t.Errorf("exported packets %s (-parquet, +truth):\n%s", c.what, diff)
		}
	}
	var first, group, typ string
	if err := reader.QueryRow(`SELECT min(time)::VARCHAR, any_value(sensor_group), typeof(any_value(time)) FROM `+from+` WHERE sensor = 'jp-tokyo-1'`).Scan(&first, &group, &typ); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "2024-07-01") || group != "Japan" || typ != "TIMESTAMP" {
		t.Errorf("jp-tokyo-1: first packet %s, group %q, time type %s; want 2024-07-01..., Japan, TIMESTAMP", first, group, typ)
	}

	// CSV of one month: a header row, then a row per packet.
	csvOut := filepath.Join(dir, "csv")
	if code, _, stderr := nightjar(t, "export", "--db", db, "--format", "csv", "--period", "2024-08", "--out", csvOut); code != 0 {
		t.Fatalf("export csv: exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(csvOut, "month=2024-08", "*.csv"))
	var rows int
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(recs[0][:6], ","); got != "time,time_ns,sensor,sensor_group,ip_version,src" {
			t.Errorf("%s: header starts %s", f, got)
		}
		rows += len(recs) - 1
	}
	var want uint64
	for _, s := range truth.Sensors {
		want += s.Months["2024-08"]
	}
	if len(files) == 0 || uint64(rows) != want {
		t.Errorf("CSV export of 2024-08: %d rows in %d files, want %d", rows, len(files), want)
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t)
	db := filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", sensors, pcap); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no db", []string{"export", "--period", "2024Q3", "--out", out}, "--db PATH is required"},
		{"no out", []string{"export", "--db", db, "--period", "2024Q3"}, "--out DIR is required"},
		{"bad format", []string{"export", "--db", db, "--period", "2024Q3", "--format", "xlsx", "--out", out}, `unknown export format "xlsx"`},
		{"bad period", []string{"export", "--db", db, "--period", "2024Q5", "--out", out}, "quarter must be 1 to 4"},
		{"no period", []string{"export", "--db", db, "--out", out}, "no period"},
		{"half a range", []string{"export", "--db", db, "--from", "2024-07-01", "--out", out}, "needs both --from and --to"},
		{"out is a file", []string{"export", "--db", db, "--period", "2024Q3", "--out", file}, "is not a directory"},
		{"out not empty", []string{"export", "--db", db, "--period", "2024Q3", "--out", dir}, "is not empty"},
		{"missing db dir", []string{"export", "--db", filepath.Join(dir, "no", "t.duckdb"), "--period", "2024Q3", "--out", out}, "does not exist"},
	}
	for _, tt := range tests {
		code, _, stderr := nightjar(t, tt.args...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("nightjar %v: exit %d, stderr %q; want a failure mentioning %q", tt.args, code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed export created %s", out)
	}
}

// TestIngestRetention ingests a capture with a short retention, then an
// older capture: its packets of days whose raw records were pruned are
// counted and not stored, and a bad --retention is a clear error.
func TestIngestRetention(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t) // 2024-07-01 to 2024-08-04
	db := filepath.Join(dir, "t.duckdb")
	if code, stdout, stderr := nightjar(t, "ingest", "-q", "--retention", "10d", "--db", db, "--sensors", sensors, pcap); code != 0 || !strings.Contains(stdout, "13 packets stored") {
		t.Fatalf("ingest: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	// The horizon is now 2024-07-25: July 1 was pruned (it had packets),
	// July 2 had none.
	old := filepath.Join(dir, "old.pcap")
	writePcap(t, old, []probe{
		{"192.0.2.90", "198.18.1.1", 1000, 23, "S", 1, 1, 60, "2024-07-01 11:00:00"},
		{"192.0.2.90", "198.18.1.1", 1000, 23, "S", 1, 1, 60, "2024-07-30 11:00:00"},
	})
	code, stdout, stderr := nightjar(t, "ingest", "-q", "--retention", "10d", "--db", db, old)
	if code != 0 || !strings.Contains(stdout, "1 packets stored") || !strings.Contains(stdout, "1 of days whose raw records were pruned (before 2024-07-25)") {
		t.Errorf("ingest of an older capture: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, bad := range []string{"-5d", "soon", "1e9d"} {
		code, _, stderr := nightjar(t, "ingest", "--retention", bad, "--db", db, old)
		if code == 0 || !strings.Contains(stderr, "--retention") {
			t.Errorf("ingest --retention %s: exit %d, stderr %q; want a clear error", bad, code, stderr)
		}
	}
}
