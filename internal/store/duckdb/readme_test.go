package duckdb

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestReadmeSQL runs the SQL examples of the README, as a user would type
// them into the DuckDB CLI, against a database that holds packets and an
// alert: each must run and return rows, and the source example must print
// dotted IPv4 addresses.
func TestReadmeSQL(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```sql\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("the README has no ```sql block")
	}
	ctx := t.Context()
	s := openTemp(t).(*Store)
	defer s.Close()
	ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.1.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	recs := []record.Record{{Time: 1_720_000_000_000_000_000, Src: record.MustParseAddr("192.0.2.77"), Dst: record.MustParseAddr("198.18.1.1"),
		IPVersion: 4, Protocol: record.ProtoTCP, HasTransport: true, DstPort: 23}}
	if err := s.Append(ctx, recs, ids); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	hour := time.Unix(0, recs[0].Time).UTC().Truncate(time.Hour)
	alert := store.Alert{Detector: "port-surge", Scope: store.Scope{Sensor: "s1", Port: "23/TCP"}, State: store.AlertOpen,
		Severity: store.SeverityWarning, Start: hour, LastSeen: hour, Updated: hour.Add(time.Hour),
		Summary: "23/TCP at s1: 1 packet in the hour", Evidence: store.Evidence{Measure: "packets", Hour: hour, Observed: 1}}
	if _, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: alert}}, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, stmt := range strings.Split(block, ";") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		n++
		rows, err := s.db.QueryContext(ctx, stmt)
		if err != nil {
			t.Fatalf("README SQL %d: %v\n%s", n, err, stmt)
		}
		cols, values := scanAll(t, rows)
		if len(values) == 0 {
			t.Errorf("README SQL %d returned no row:\n%s", n, stmt)
		}
		for _, vals := range values {
			if cols[0] == "source" && vals[0] != "192.0.2.77" {
				t.Errorf("README SQL %d: source %v, want 192.0.2.77", n, vals[0])
			}
		}
	}
	if n != 3 {
		t.Errorf("ran %d README statements, want 3", n)
	}
}

// stripComments removes the -- comments of SQL text.
func stripComments(sql string) string {
	var b strings.Builder
	for line := range strings.Lines(sql) {
		if code, _, _ := strings.Cut(line, "--"); strings.TrimSpace(code) != "" {
			b.WriteString(code)
		}
	}
	return b.String()
}
