package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// ingestSmall stores smallCapture in a new database and returns its path,
// the capture and the sensors file.
func ingestSmall(t *testing.T) (db, pcap, sensors string) {
	t.Helper()
	dir, pcap, sensors := smallCapture(t)
	db = filepath.Join(dir, "small.duckdb")
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", sensors, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	return db, pcap, sensors
}

// TestQueryGolden: the table and CSV output of every question on the
// small capture, whose counts are checked by hand in smallCapture.
func TestQueryGolden(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	tests := []struct {
		name string
		args []string
	}{
		{"group-top-ports", []string{"group-top-ports", "--period", "2024Q3", "--top", "3"}},
		{"group-averages", []string{"group-averages", "--period", "2024Q3"}},
		{"group-averages-daily", []string{"group-averages", "--from", "2024-07-01", "--to", "2024-07-03", "--daily", "--group", "Japan"}},
		{"port-series", []string{"port-series", "--period", "2024Q3", "--port", "23/tcp,80/TCP", "--by", "group", "--resolution", "month"}},
		{"port-series-hours", []string{"port-series", "--from", "2024-07-01T09:00:00Z", "--to", "2024-07-01T12:00:00Z", "--port", "23/TCP", "--sensor", "jp-1", "--resolution", "hour"}},
		{"top-sources", []string{"top-sources", "--period", "2024Q3"}},
		{"port-sources", []string{"port-sources", "--period", "2024Q3", "--top", "4"}},
		{"tags", []string{"tags", "--period", "2024Q3"}},
	}
	for _, tt := range tests {
		for _, format := range []string{"table", "csv"} {
			args := append([]string{"query"}, tt.args...)
			args = append(args, "--db", db, "--format", format)
			code, stdout, stderr := nightjar(t, args...)
			if code != 0 {
				t.Errorf("nightjar %v: exit %d: %s", args, code, stderr)
				continue
			}
			golden(t, "query-"+tt.name+"."+format, stdout)
		}
	}
}

// TestQueryJSONMatchesAnalyze: where a question overlaps `nightjar
// analyze` (group monthly averages, tag counts, top sources with their
// tags), the JSON answers are the same.
func TestQueryJSONMatchesAnalyze(t *testing.T) {
	t.Parallel()
	db, pcap, sensors := ingestSmall(t)
	query := func(v any, args ...string) {
		t.Helper()
		args = append([]string{"query"}, args...)
		code, stdout, stderr := nightjar(t, append(args, "--db", db, "--period", "2024Q3", "--format", "json")...)
		if code != 0 {
			t.Fatalf("nightjar %v: exit %d: %s", args, code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), v); err != nil {
			t.Fatalf("nightjar %v: %v", args, err)
		}
	}
	type month struct {
		Month string  `json:"month"`
		Avg   float64 `json:"avg_packets_per_sensor"`
	}
	type group struct {
		Name    string  `json:"name"`
		Sensors int     `json:"sensors"`
		Packets uint64  `json:"packets"`
		Months  []month `json:"months"`
	}
	type source struct {
		IP        string    `json:"ip"`
		Packets   uint64    `json:"packets"`
		Tags      []string  `json:"tags"`
		Sensors   int       `json:"sensors"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
	}
	type sensorTags struct {
		Name string            `json:"name"`
		Tags map[string]uint64 `json:"tags"`
	}
	var rep struct {
		Groups  []group           `json:"groups"`
		Tags    map[string]uint64 `json:"tags"`
		Sources []source          `json:"sources"`
		Sensors []sensorTags      `json:"sensors"`
	}
	_, analyzed, _ := nightjar(t, "analyze", "--quiet", "--sensors", sensors, "--format", "json", pcap)
	if err := json.Unmarshal([]byte(analyzed), &rep); err != nil {
		t.Fatal(err)
	}

	var avgs struct{ Groups []group }
	query(&avgs, "group-averages")
	// The quarter's September is empty; the capture's months are July and
	// August.
	for i := range avgs.Groups {
		if m := avgs.Groups[i].Months; len(m) != 3 || m[2] != (month{"2024-09", 0}) {
			t.Errorf("group %s months = %v, want July to September, September empty", avgs.Groups[i].Name, m)
		} else {
			avgs.Groups[i].Months = m[:2]
		}
	}
	if diff := cmp.Diff(avgs.Groups, rep.Groups); diff != "" {
		t.Errorf("query group-averages (-) differs from analyze (+):\n%s", diff)
	}

	var tags struct {
		Tags    map[string]uint64
		Sensors []struct {
			Sensor string
			Tags   map[string]uint64
		}
	}
	query(&tags, "tags")
	if diff := cmp.Diff(tags.Tags, rep.Tags); diff != "" || tags.Tags["mirai"] != 6 {
		t.Errorf("query tags (-) differs from analyze (+), or mirai is not 6 (%d):\n%s", tags.Tags["mirai"], diff)
	}
	var gotSensorTags []sensorTags
	for _, s := range tags.Sensors {
		gotSensorTags = append(gotSensorTags, sensorTags{s.Sensor, s.Tags})
	}
	if diff := cmp.Diff(gotSensorTags, rep.Sensors); diff != "" {
		t.Errorf("query tags per sensor (-) differs from analyze (+):\n%s", diff)
	}

	var srcs struct{ Sources []source }
	query(&srcs, "top-sources")
	if diff := cmp.Diff(srcs.Sources, rep.Sources); diff != "" || len(srcs.Sources) != 5 {
		t.Errorf("query top-sources (-) differs from analyze (+), or has not 5 sources:\n%s", diff)
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	q3 := []string{"--db", db, "--period", "2024Q3"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown group", []string{"group-top-ports", "--group", "Mars"}, `unknown group: "Mars"`},
		{"group averages unknown group", []string{"group-averages", "--group", "Japan,Mars"}, `unknown group: "Mars"`},
		{"group ports top 0", []string{"group-top-ports", "--top", "0"}, "--top must be at least 1"},
		{"sources top -1", []string{"top-sources", "--top", "-1"}, "--top must be at least 1"},
		{"port sources top 0", []string{"port-sources", "--top", "0"}, "--top must be at least 1"},
		{"sources unknown sensor", []string{"top-sources", "--sensor", "mars-1"}, `unknown sensor: "mars-1"`},
		{"port sources unknown sensor", []string{"port-sources", "--sensor", "mars-1"}, `unknown sensor: "mars-1"`},
		{"tags unknown sensor", []string{"tags", "--sensor", "mars-1"}, `unknown sensor: "mars-1"`},
		{"series no port", []string{"port-series"}, "--port is required"},
		{"series bad port", []string{"port-series", "--port", "23/ICMP"}, "only TCP and UDP have ports"},
		{"series bad resolution", []string{"port-series", "--port", "23/TCP", "--resolution", "week"}, `--resolution: unknown resolution "week" (want one of hour, day, month)`},
		{"series bad by", []string{"port-series", "--port", "23/TCP", "--by", "country"}, `--by: unknown split "country"`},
		{"series unknown sensor", []string{"port-series", "--port", "23/TCP", "--sensor", "mars-1"}, `unknown sensor: "mars-1"`},
		{"series unknown group", []string{"port-series", "--port", "23/TCP", "--by", "group", "--group", "Mars"}, `unknown group: "Mars"`},
		{"series group by sensor", []string{"port-series", "--port", "23/TCP", "--group", "Japan"}, "split by group"},
		{"series too many buckets", []string{"port-series", "--port", "23/TCP", "--resolution", "hour", "--from", "2000-01-01", "--to", "2030-01-01"}, "coarser resolution"},
		{"bad format", []string{"tags", "--format", "xml"}, `unknown --format "xml"`},
		{"extra argument", []string{"tags", "2024Q3"}, `unexpected argument "2024Q3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"query"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--from") {
				args = append(args, q3...)
			} else {
				args = append(args, "--db", db)
			}
			code, _, stderr := nightjar(t, args...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("nightjar %v: exit %d, stderr %q; want a failure mentioning %q", args, code, stderr, tt.want)
			}
		})
	}
	for _, q := range []string{"group-top-ports", "group-averages", "top-sources", "port-sources", "tags"} {
		if code, _, stderr := nightjar(t, "query", q, "--period", "2024Q3"); code == 0 || !strings.Contains(stderr, "--db PATH is required") {
			t.Errorf("query %s without --db: exit %d, %s", q, code, stderr)
		}
		if code, _, stderr := nightjar(t, "query", q, "--db", db); code == 0 || !strings.Contains(stderr, "no period") {
			t.Errorf("query %s without a period: exit %d, %s", q, code, stderr)
		}
	}
}

// TestQueryEmpty: a question without an answer says so in the table
// format, with the dates the database holds; CSV and JSON stay machine
// readable: a ranking's CSV is the header alone, a zero-filled one's rows
// are zeros.
func TestQueryEmpty(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	const holds = " (the database holds packets from 2024-07-01 to 2024-08-04)\n"
	tests := []struct {
		args      []string
		table     string
		csvHeader string
	}{
		{[]string{"top-ports"}, "no packets in 2023Q1", "sensor,group,rank,port,packets,previous_rank"},
		{[]string{"top-ports", "--sensor", "jp-1"}, "no packets at sensor jp-1 in 2023Q1", "sensor,group,rank,port,packets,previous_rank"},
		{[]string{"group-top-ports", "--group", "Japan"}, "no packets in group Japan in 2023Q1", "group,sensors,rank,port,packets,avg_packets_per_sensor,previous_rank"},
		{[]string{"group-averages"}, "no packets in 2023Q1", "group,sensors,month,avg_packets_per_sensor"},
		{[]string{"port-series", "--port", "23/TCP,80/TCP", "--resolution", "month"}, "no packets to 23/TCP, 80/TCP in 2023Q1", "start,by,name,port,packets"},
		{[]string{"top-sources"}, "no packets in 2023Q1", "rank,ip,packets,ports,ports_exact,sensors,tags,first_seen,last_seen,country,asn,org,scanner,verdict,reason"},
		{[]string{"port-sources", "--sensor", "jp-1,us-1"}, "no packets at sensors jp-1, us-1 in 2023Q1", "rank,port,packets,sources,sources_exact,mirai_packets,mirai_share"},
		{[]string{"tags"}, "no tagged packets in 2023Q1", "sensor,group,tag,packets"},
	}
	for _, tt := range tests {
		args := append(append([]string{"query"}, tt.args...), "--db", db, "--period", "2023Q1")
		code, stdout, stderr := nightjar(t, args...)
		if code != 0 || stdout != tt.table+holds {
			t.Errorf("nightjar %v: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, stdout, stderr, tt.table+holds)
		}
		code, stdout, stderr = nightjar(t, append(args, "--format", "csv")...)
		header, rows, _ := strings.Cut(stdout, "\n")
		if code != 0 || header != tt.csvHeader {
			t.Errorf("nightjar %v --format csv: exit %d, stdout %q, stderr %q; want the header %q", args, code, stdout, stderr, tt.csvHeader)
		}
		for _, row := range strings.Fields(rows) {
			if !strings.HasSuffix(row, ",0") {
				t.Errorf("nightjar %v --format csv: row %q counts something", args, row)
			}
		}
		code, stdout, stderr = nightjar(t, append(args, "--format", "json")...)
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v["period"] != "2023Q1" {
			t.Errorf("nightjar %v --format json: exit %d, stdout %q, stderr %q, %v; want an answer about 2023Q1", args, code, stdout, stderr, err)
		}
	}
}

// TestQueryEmptyDatabase: in a database without sensors (a collector's
// before any connected), the table says there is nothing yet.
func TestQueryEmptyDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "empty.duckdb")
	st, err := backend.Open(t.Context(), db, backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sensors"}, "no sensors yet: nightjar ingest --sensors FILE stores those of a fleet file, the collector those that connect\n"},
		{[]string{"top-ports", "--period", "2024Q3"}, "no packets in 2024Q3 (the database holds no packets yet)\n"},
		{[]string{"top-sources", "--period", "2024Q3"}, "no packets in 2024Q3 (the database holds no packets yet)\n"},
	}
	for _, tt := range tests {
		args := append(append([]string{"query"}, tt.args...), "--db", db)
		if code, stdout, stderr := nightjar(t, args...); code != 0 || stdout != tt.want {
			t.Errorf("nightjar %v: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, stdout, stderr, tt.want)
		}
	}
	args := []string{"query", "sensors", "--db", db, "--format", "csv"}
	if code, stdout, stderr := nightjar(t, args...); code != 0 || strings.Count(stdout, "\n") != 1 {
		t.Errorf("nightjar %v: exit %d, stdout %q, stderr %q; want the header alone", args, code, stdout, stderr)
	}
}

// TestPeriodOutOfRange: a period outside the years the store answers about
// is refused, as the API refuses it, instead of silently counting 0.
func TestPeriodOutOfRange(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	out := t.TempDir()
	for _, args := range [][]string{
		{"query", "tags", "--from", "1677-01-01", "--to", "2026-12-31"},
		{"query", "top-ports", "--period", "1969"},
		{"query", "group-averages", "--from", "2024-07-01", "--to", "2262-12-31"},
		{"export", "--format", "csv", "--out", filepath.Join(out, "export"), "--period", "1677Q1"},
		{"report", "--format", "md", "--out", filepath.Join(out, "report"), "--period", "2262"},
	} {
		code, stdout, stderr := nightjar(t, append(args, "--db", db)...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "is outside the years 1970 to 2199") {
			t.Errorf("nightjar %v: exit %d, stdout %q, stderr %q; want exit 1 and \"is outside the years 1970 to 2199\"",
				args, code, stdout, stderr)
		}
	}
}
