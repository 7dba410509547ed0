package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// TestSimulateEvents: --events injects the file's events and writes their
// ground truth beside the capture; --alert-scenario lays out the quarter.
func TestSimulateEvents(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	events := filepath.Join(dir, "events.yaml")
	if err := os.WriteFile(events, []byte(`
- kind: fleet-surge
  start: 2024-07-03T06:00:00Z
  duration: 4h
  port: 3306
  rate: 0.5
- kind: sensor-outage
  start: 2024-07-05T00:00:00Z
  duration: 12h
  sensor: sg-sin-1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(dir, "sim.pcap")
	code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--start", "2024-07-01", "--days", "7", "--packets", "20000", "--sources", "500", "--events", events)
	if code != 0 {
		t.Fatalf("simulate --events: exit %d: %s", code, stderr)
	}
	truth := readEventsTruth(t, filepath.Join(dir, simulate.EventsTruthFile))
	var got [][2]string
	for _, e := range truth.Events {
		got = append(got, [2]string{string(e.Kind), e.Port})
		if e.Packets+e.Dropped == 0 {
			t.Errorf("event %d (%s) wrote and dropped nothing", e.ID, e.Kind)
		}
	}
	if diff := cmp.Diff(got, [][2]string{{"fleet-surge", "3306/TCP"}, {"sensor-outage", ""}}); diff != "" {
		t.Errorf("events truth (-got, +want):\n%s", diff)
	}
	if !strings.Contains(stderr, "injected 2 events") {
		t.Errorf("simulate --events stderr %q lacks the events' summary", stderr)
	}

	scenario := filepath.Join(dir, "scenario.json")
	code, _, stderr = nightjar(t, "simulate", "-q", "--out", filepath.Join(dir, "q3.pcap"), "--start", "2024-07-01", "--packets", "20000", "--sources", "500", "--alert-scenario", "--events-truth", scenario)
	if code != 0 {
		t.Fatalf("simulate --alert-scenario: exit %d: %s", code, stderr)
	}
	st := readEventsTruth(t, scenario)
	if len(st.Events) != 18 || len(st.QuietWeeks) != simulate.AlertScenarioBaselineWeeks+2 || st.End.Sub(st.Start).Hours() != 13*7*24 {
		t.Errorf("alert scenario: %d events, quiet weeks %v, %s..%s; want 18, 6, 13 weeks", len(st.Events), st.QuietWeeks, st.Start, st.End)
	}
}

func readEventsTruth(t *testing.T, path string) *simulate.EventsTruth {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var truth simulate.EventsTruth
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &truth
}

func TestSimulateEventsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- kind: port-campaign\n  start: 2024-07-02T00:00:00Z\n  duration: 1h\n  port: 23\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("- kind: fleet-surge\n  prot: 23\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x.pcap")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid event", []string{"--events", bad}, "bad.yaml: simulate: event #1 (port-campaign): port-campaign needs the sensor it happens at"},
		{"unknown key", []string{"--events", typo}, "field prot not found"},
		{"missing file", []string{"--events", filepath.Join(dir, "none.yaml")}, "read events:"},
		{"scenario and events", []string{"--alert-scenario", "--events", bad}, "leave --events out"},
		{"scenario and days", []string{"--alert-scenario", "--days", "30"}, "--alert-scenario lasts 13 weeks: leave --days out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := nightjar(t, append([]string{"simulate", "-q", "--out", out, "--start", "2024-07-01", "--packets", "1000"}, tt.args...)...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("simulate %v: exit %d, stderr %q; want an error containing %q", tt.args, code, stderr, tt.want)
			}
		})
	}
}
