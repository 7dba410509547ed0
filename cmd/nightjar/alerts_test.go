package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// alertsEvents are injected into five weeks of simulated traffic: a new
// campaign at one sensor and an outage at another, in the fifth week.
const alertsEvents = `
- kind: port-campaign
  sensor: de-fra-1
  port: 9443
  start: 2024-08-01T10:20:00Z
  duration: 4h
  rate: 0.2
  sources: 80
- kind: sensor-outage
  sensor: jp-osaka-1
  start: 2024-08-02T05:00:00Z
  duration: 3h
`

// backtestDB simulates the five weeks from 2024-07-01 with alertsEvents and
// ingests them.
func backtestDB(t *testing.T) (db, truth string) {
	t.Helper()
	dir := t.TempDir()
	events, pcap, fleetFile := filepath.Join(dir, "events.yaml"), filepath.Join(dir, "sim.pcap"), filepath.Join(dir, "fleet.yaml")
	db, truth = filepath.Join(dir, "t.duckdb"), filepath.Join(dir, "events-truth.json")
	if err := os.WriteFile(events, []byte(alertsEvents), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := nightjar(t, "simulate", "-q", "--out", pcap, "--fleet-out", fleetFile, "--start", "2024-07-01", "--days", "35",
		"--packets", "1500000", "--seed", "3", "--events", events); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	return db, truth
}

// TestAlertsBacktest: the backtest of the fifth week finds the campaign at
// its sensor and the outage, and nothing else; evaluate scores it so.
func TestAlertsBacktest(t *testing.T) {
	t.Parallel()
	db, truth := backtestDB(t)
	code, stdout, stderr := nightjar(t, "alerts", "backtest", "--db", db, "--from", "2024-07-29", "--to", "2024-08-04", "--json")
	if code != 0 {
		t.Fatalf("backtest: exit %d: %s", code, stderr)
	}
	var found []store.Alert
	if err := json.Unmarshal([]byte(stdout), &found); err != nil {
		t.Fatal(err)
	}
	// The simulated Internet has campaigns of its own (new Mirai variants
	// at one sensor...): the injected events must be among the alerts,
	// once each, and nothing else about their ports or sensors.
	byKey := map[string]store.Alert{}
	for _, a := range found {
		byKey[a.Key()] = a
		if a.Scope.Port == "9443/TCP" && a.Key() != "local-change sensor=de-fra-1,port=9443/TCP" || a.Scope.Sensor == "jp-osaka-1" && a.Detector != "sensor-silent" {
			t.Errorf("alert %s: the injected events' ports and sensors have no other alert", a.Key())
		}
	}
	campaign, ok := byKey["local-change sensor=de-fra-1,port=9443/TCP"]
	if !ok || !campaign.Start.Equal(time.Date(2024, 8, 1, 10, 0, 0, 0, time.UTC)) || len(campaign.Evidence.Others) != 5 {
		t.Errorf("campaign alert %+v: want it from 10:00, with the 5 other sensors compared", campaign)
	}
	// Noticed at the look half-way through its first hour (10:30), from
	// the raw records, ten minutes after it began.
	if len(campaign.Evidence.Series) == 0 || !campaign.Evidence.Series[0].Noticed.Equal(time.Date(2024, 8, 1, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("campaign alert series %+v, want it noticed at 10:30", campaign.Evidence.Series)
	}
	if silent, ok := byKey["sensor-silent sensor=jp-osaka-1"]; !ok || !silent.Start.Equal(time.Date(2024, 8, 2, 5, 0, 0, 0, time.UTC)) || !silent.LastSeen.Equal(time.Date(2024, 8, 2, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("outage alert %+v, want jp-osaka-1 silent from 05:00 to 07:00", silent)
	}
	alertsFile := filepath.Join(t.TempDir(), "alerts.json")
	if err := os.WriteFile(alertsFile, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = nightjar(t, "alerts", "evaluate", "--truth", truth, alertsFile)
	if code != 0 || !strings.Contains(stdout, "recall 1.000 (2/2), precision") || !strings.Contains(stdout, "at their place 2/2") {
		t.Errorf("evaluate: exit %d: %s%s", code, stdout, stderr)
	}

	code, stdout, _ = nightjar(t, "alerts", "backtest", "--db", db, "--from", "2024-07-22", "--to", "2024-07-29")
	if code != 0 || !strings.Contains(stdout, "no alerts would have fired") {
		t.Errorf("backtest of a quiet week: exit %d: %s", code, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backtest", "--db", db}, "no period"},
		{[]string{"backtest", "--db", filepath.Join(t.TempDir(), "typo.duckdb"), "--period", "2024Q3"}, "does not exist"},
		{[]string{"backtest", "--db", db, "--period", "2024Q3", "--config", "missing.yaml"}, "missing.yaml"},
		{[]string{"list", "--db", db, "--state", "closed"}, `unknown alert state "closed"`},
		{[]string{"list", "--db", db, "--scope", "sensr=x"}, `unknown key "sensr"`},
		{[]string{"list", "--db", db, "--detector", "nope"}, `--detector "nope": unknown`},
		{[]string{"ack", "x", "--db", db}, `alert ID "x"`},
		{[]string{"ack", "99", "--db", db, "--by", "alice"}, "unknown alert"},
		{[]string{"silence", "--db", db, "--scope", "sensor=x", "--comment", "c"}, "give --for DURATION or --until T"},
		{[]string{"silence", "--db", db, "--scope", "sensor=x", "--for", "1h"}, "--comment is required"},
		{[]string{"unsilence", "7", "--db", db}, "unknown silence"},
	} {
		code, _, stderr := nightjar(t, append([]string{"alerts"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("alerts %q: exit %d, stderr %q; want an error with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestAlertsLifecycle: list, acknowledge, resolve, silence and unsilence
// through the CLI, on alerts the engine stored, with the receivers of the
// alerts file told.
func TestAlertsLifecycle(t *testing.T) {
	t.Parallel()
	db, _, _ := ingestSmall(t)
	h := time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC)
	st, err := backend.Open(t.Context(), db, backend.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.PutAlerts(t.Context(), []store.AlertWrite{
		{Alert: store.Alert{Detector: "local-change", Scope: store.Scope{Sensor: "jp-1", Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityWarning,
			Start: h, LastSeen: h, Updated: h, Summary: "23/TCP at jp-1 (new campaign)"}},
		{Alert: store.Alert{Detector: "sensor-silent", Scope: store.Scope{Sensor: "us-1"}, State: store.AlertOpen, Severity: store.SeverityCritical,
			Start: h.Add(time.Hour), LastSeen: h.Add(time.Hour), Updated: h, Summary: "us-1 is silent"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "alerts.yaml")
	writeText(t, file, "delivery:\n  base_url: https://nightjar.example.org\n  receivers:\n    - name: soc\n      webhook:\n        url: http://127.0.0.1:9/hook\n")

	code, stdout, stderr := nightjar(t, "alerts", "list", "--db", db, "--state", "open")
	if code != 0 || !strings.Contains(stdout, "2   open   critical  sensor-silent  sensor=us-1") || !strings.Contains(stdout, "1   open   warning   local-change   sensor=jp-1,port=23/TCP  2024-07-01 09:00") {
		t.Fatalf("list: exit %d:\n%s%s", code, stdout, stderr)
	}
	if code, stdout, _ := nightjar(t, "alerts", "list", "--db", db, "--scope", "sensor=jp-1", "--json"); code != 0 || strings.Count(stdout, `"detector"`) != 1 {
		t.Errorf("list --scope --json: exit %d: %s", code, stdout)
	}
	if code, stdout, _ := nightjar(t, "alerts", "list", "--db", db, "--state", "resolved"); code != 0 || stdout != "no alerts match\n" {
		t.Errorf("list of none: exit %d: %q", code, stdout)
	}
	code, stdout, stderr = nightjar(t, "--now", "2024-07-01T12:00:00Z", "alerts", "ack", "1", "--db", db, "--by", "alice", "--note", "looking", "--config", file)
	if code != 0 || stdout != "alert 1 (local-change sensor=jp-1,port=23/TCP) is acknowledged, by alice\n" {
		t.Errorf("ack: exit %d: %q %s", code, stdout, stderr)
	}
	code, stdout, stderr = nightjar(t, "--now", "2024-07-01T12:00:00Z", "alerts", "silence", "--db", db, "--scope", "sensor=us-1", "--for", "4h", "--comment", "maintenance", "--by", "bob")
	if code != 0 || stdout != "silence 1 mutes every detector's alerts of sensor=us-1 until 2024-07-01T16:00:00Z\n" {
		t.Errorf("silence: exit %d: %q %s", code, stdout, stderr)
	}
	code, stdout, stderr = nightjar(t, "--now", "2024-07-01T13:00:00Z", "alerts", "resolve", "2", "--db", db, "--by", "bob", "--config", file)
	if code != 0 || !strings.Contains(stdout, "is resolved, by bob") {
		t.Errorf("resolve: exit %d: %q %s", code, stdout, stderr)
	}
	if code, stdout, _ := nightjar(t, "--now", "2024-07-01T13:00:00Z", "alerts", "silences", "--db", db); code != 0 || !strings.Contains(stdout, "sensor=us-1  every detector's alerts") {
		t.Errorf("silences: exit %d: %s", code, stdout)
	}
	if code, stdout, _ := nightjar(t, "--now", "2024-07-02T00:00:00Z", "alerts", "silences", "--db", db); code != 0 || stdout != "no silences\n" {
		t.Errorf("silences after the end: exit %d: %q", code, stdout)
	}
	if code, stdout, _ := nightjar(t, "alerts", "unsilence", "1", "--db", db); code != 0 || stdout != "silence 1 removed\n" {
		t.Errorf("unsilence: exit %d: %q", code, stdout)
	}

	st, err = backend.Open(t.Context(), db, backend.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.Alerts(t.Context(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].State != store.AlertResolved || all[0].By != "bob" || all[1].State != store.AlertAcknowledged || all[1].Note != "looking" {
		t.Errorf("alerts after the CLI: %+v", all)
	}
	// The receiver is told of the acknowledgement; the resolution of the
	// silenced alert is muted.
	pending, err := st.PendingNotifications(t.Context(), "", time.Date(2024, 7, 2, 0, 0, 0, 0, time.UTC), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Event != "acknowledged" || pending[0].Receiver != "soc" || pending[0].Alert.ID != 1 {
		t.Errorf("outbox %+v, want the acknowledgement for soc", pending)
	}
}
