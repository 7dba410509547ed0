package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// TestIngestAndQuery drives the CLI as a user would: simulate a quarter,
// ingest it, ingest it again (refused), ask for the top ports, and compare
// them with what analyze reports on the same capture.
func TestIngestAndQuery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pcap, fleetFile, db := filepath.Join(dir, "q3.pcap"), filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile,
		"--start", "2024-07-01", "--days", "92", "--packets", "100000"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap)
	if code != 0 || !strings.Contains(stdout, "100,000 packets stored from 100,000 frames") {
		t.Fatalf("ingest: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, stdout, _ = nightjar(t, "ingest", "--db", db, pcap) // sensors now come from the database
	if code != 0 || !strings.Contains(stdout, "already imported on") || !strings.Contains(stdout, "skipped") {
		t.Fatalf("second ingest: exit %d: %s", code, stdout)
	}

	code, stdout, stderr = nightjar(t, "query", "top-ports", "--db", db, "--period", "2024Q3", "--format", "json")
	if code != 0 {
		t.Fatalf("query: exit %d: %s", code, stderr)
	}
	var ans struct {
		Period         string
		PreviousPeriod string `json:"previous_period"`
		Sensors        []struct {
			Sensor   string
			Packets  uint64
			TopPorts []struct {
				Rank         int
				Port         string
				Packets      uint64
				PreviousRank int `json:"previous_rank"`
			} `json:"top_ports"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Period != "2024Q3" || ans.PreviousPeriod != "2024Q2" || len(ans.Sensors) != 6 {
		t.Errorf("answer for %s (previous %s) with %d sensors, want 2024Q3, 2024Q2, 6", ans.Period, ans.PreviousPeriod, len(ans.Sensors))
	}
	_, analyzed, _ := nightjar(t, "analyze", "--quiet", "--sensors", fleetFile, "--format", "json", pcap)
	var rep struct {
		Sensors []struct {
			Name     string
			Packets  uint64
			TopPorts []struct {
				Port    string
				Packets uint64
			} `json:"top_ports"`
		}
	}
	if err := json.Unmarshal([]byte(analyzed), &rep); err != nil {
		t.Fatal(err)
	}
	got, want := map[string][]string{}, map[string][]string{}
	for _, s := range ans.Sensors {
		for _, p := range s.TopPorts {
			got[s.Sensor] = append(got[s.Sensor], p.Port+" "+strconv.FormatUint(p.Packets, 10))
			if p.PreviousRank != 0 {
				t.Errorf("%s %s: previous rank %d in an empty previous quarter", s.Sensor, p.Port, p.PreviousRank)
			}
		}
	}
	for _, s := range rep.Sensors {
		for _, p := range s.TopPorts {
			want[s.Name] = append(want[s.Name], p.Port+" "+strconv.FormatUint(p.Packets, 10))
		}
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("query top-ports (-) differs from analyze (+):\n%s", diff)
	}

	code, stdout, _ = nightjar(t, "query", "top-ports", "--db", db, "--period", "2024Q3", "--top", "3", "--sensor", "jp-tokyo-1")
	if code != 0 || !strings.Contains(stdout, "#3") || strings.Contains(stdout, "#4") || !strings.Contains(stdout, "(new)") || strings.Contains(stdout, "sg-sin-1") {
		t.Errorf("table output:\n%s", stdout)
	}
}

func TestStoreCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, pcap, sensors := smallCapture(t)
	db := filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", sensors, pcap); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	inUse := filepath.Join(dir, "busy.duckdb")
	held, err := duckdb.Open(t.Context(), inUse, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ingest without db", []string{"ingest", pcap}, "--db PATH is required"},
		{"ingest stdin", []string{"ingest", "--db", db, "-"}, "not standard input"},
		{"ingest no sensors", []string{"ingest", "--db", filepath.Join(dir, "empty.duckdb"), pcap}, "no sensors yet: give --sensors FILE"},
		{"ingest missing dir", []string{"ingest", "--db", filepath.Join(dir, "no", "t.duckdb"), pcap}, "does not exist"},
		{"database in use", []string{"query", "top-ports", "--db", inUse, "--period", "2024Q3"}, "database is in use (held by process"},
		{"bad period", []string{"query", "top-ports", "--db", db, "--period", "2024Q5"}, "quarter must be 1 to 4"},
		{"no period", []string{"query", "top-ports", "--db", db}, "no period"},
		{"both period forms", []string{"query", "top-ports", "--db", db, "--period", "2024Q3", "--from", "2024-07-01"}, "not both"},
		{"half a range", []string{"query", "top-ports", "--db", db, "--from", "2024-07-01"}, "needs both --from and --to"},
		{"empty range", []string{"query", "top-ports", "--db", db, "--from", "2024-07-02", "--to", "2024-07-01"}, "empty period"},
		{"unknown sensor", []string{"query", "top-ports", "--db", db, "--period", "2024Q3", "--sensor", "mars-1"}, `unknown sensor: "mars-1"`},
		{"bad top", []string{"query", "top-ports", "--db", db, "--period", "2024Q3", "--top", "0"}, "--top must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := nightjar(t, tt.args...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("nightjar %v: exit %d, stderr %q; want a failure mentioning %q", tt.args, code, stderr, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Error("a failed ingest created the missing directory")
	}
}

// TestReadCommandsNeedDatabase: a command that only reads fails on a
// mistyped --db, naming it and how to create a database, and creates
// nothing there.
func TestReadCommandsNeedDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.duckdb")
	q3 := []string{"--db", typo, "--period", "2024Q3"}
	tests := [][]string{
		append([]string{"query", "top-ports"}, q3...),
		append([]string{"query", "group-top-ports"}, q3...),
		append([]string{"query", "group-averages"}, q3...),
		append([]string{"query", "port-series", "--port", "23/TCP"}, q3...),
		append([]string{"query", "top-sources"}, q3...),
		append([]string{"query", "port-sources"}, q3...),
		append([]string{"query", "tags", "--format", "json"}, q3...),
		{"query", "sensors", "--db", typo},
		append([]string{"export", "--out", filepath.Join(dir, "out")}, q3...),
		append([]string{"report", "--out", filepath.Join(dir, "report")}, q3...),
		{"serve", "--db", typo, "--listen", "127.0.0.1:0"},
	}
	want := "database " + typo + " does not exist: create it with nightjar ingest --db " + typo + " FILE..."
	for _, args := range tests {
		code, stdout, stderr := nightjar(t, args...)
		if code == 0 || !strings.Contains(stderr, want) || stdout != "" {
			t.Errorf("nightjar %v: exit %d, stdout %q, stderr %q; want a failure mentioning %q", args, code, stdout, stderr, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a refused read command created %s", e.Name())
	}
}
