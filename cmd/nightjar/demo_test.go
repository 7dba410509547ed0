package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/alerts/deliver"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// demoRun is a `nightjar demo` running in-process.
type demoRun struct {
	url            string
	stdout, stderr *testenv.SyncBuffer
	stop           func() int
}

// startDemo runs the demo on data as if it were the instant now.
func startDemo(t *testing.T, data, now string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demoRun{stdout: &testenv.SyncBuffer{}, stderr: &testenv.SyncBuffer{}}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"demo", "--now", now, "--data", data, "--listen", "127.0.0.1:0", "--backfill", "100000", "--live-rate", "1000"},
			strings.NewReader(""), d.stdout, d.stderr)
	}()
	d.stop = func() int {
		cancel()
		select {
		case code := <-exit:
			return code
		case <-time.After(60 * time.Second):
			t.Fatal("demo did not stop within 60 s of Ctrl-C")
			return -1
		}
	}
	dashboard := regexp.MustCompile(`Dashboard: (http://\S+)`)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m := dashboard.FindStringSubmatch(d.stdout.String()); m != nil {
			d.url = strings.TrimSuffix(m[1], "/")
			return d
		}
		select {
		case code := <-exit:
			t.Fatalf("demo exited with %d before printing its URL:\n%s%s", code, d.stdout, d.stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no dashboard URL after 2 minutes:\n%s%s", d.stdout, d.stderr)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type demoOverview struct {
	Time             time.Time `json:"time"`
	PacketsToday     uint64    `json:"packets_today"`
	PacketsThisMonth uint64    `json:"packets_this_month"`
	Sensors          int       `json:"sensors"`
	ActiveSensors    int       `json:"active_sensors"`
}

// TestDemo runs `nightjar demo` the way a newcomer does: it backfills
// history, streams live traffic from six sensors through the collector,
// serves the dashboard and API, stops cleanly on Ctrl-C, and keeps its data
// with --data (no second backfill). It runs on 29 February, at noon.
func TestDemo(t *testing.T) {
	const now = "2028-02-29T12:00:00Z"
	data := t.TempDir()
	d := startDemo(t, data, now)
	// The backfill ends at the demo's clock, so today has packets from the
	// start: live traffic shows as more of them.
	var ov demoOverview
	getJSON(t, d.url+"/api/v1/overview", &ov)
	backfilled := ov.PacketsToday
	deadline := time.Now().Add(90 * time.Second)
	for {
		getJSON(t, d.url+"/api/v1/overview", &ov)
		if ov.PacketsToday > backfilled && ov.ActiveSensors == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live traffic on the dashboard after 90 s: %+v (%d packets today at the start)\n%s", ov, backfilled, d.stderr)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var sensors struct {
		Sensors []struct {
			Name   string `json:"name"`
			Group  string `json:"group"`
			Health *struct {
				PacketsSeen uint64    `json:"packets_seen"`
				Received    time.Time `json:"received"`
			} `json:"health"`
		} `json:"sensors"`
	}
	// Every sensor's health arrives within seconds (heartbeat 5 s).
	for reported := 0; reported < 6; {
		getJSON(t, d.url+"/api/v1/sensors", &sensors)
		reported = 0
		for _, s := range sensors.Sensors {
			if s.Health != nil {
				reported++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 sensors reported their health after 90 s", reported)
		}
		time.Sleep(200 * time.Millisecond)
	}
	getJSON(t, d.url+"/api/v1/overview", &ov)
	if ov.Time.Format(time.DateOnly) != "2028-02-29" {
		t.Errorf("the demo's clock reads %s, want 29 February 2028 (--now %s)", ov.Time, now)
	}
	groups := map[string]int{}
	for _, s := range sensors.Sensors {
		groups[s.Group]++
		if s.Health == nil || s.Health.PacketsSeen == 0 || ov.Time.Sub(s.Health.Received) > time.Minute {
			t.Errorf("sensor %s: health %+v, want reports of packets seen within a minute of the demo's clock %s", s.Name, s.Health, ov.Time)
		}
	}
	if groups["Japan"] != 3 || groups["overseas"] != 3 {
		t.Errorf("groups %v, want 3 Japan and 3 overseas", groups)
	}
	resp, err := http.Get(d.url + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: %v %v", resp, err)
	}
	resp.Body.Close()
	if code := d.stop(); code != 0 {
		t.Fatalf("demo exited with %d after Ctrl-C:\n%s", code, d.stderr)
	}
	if !strings.Contains(d.stderr.String(), "backfilled 100,000 packets") {
		t.Fatalf("first run did not backfill:\n%s", d.stderr)
	}
	first := ov.PacketsThisMonth

	// Again on the same data: no backfill, the stored packets are there.
	d = startDemo(t, data, now)
	getJSON(t, d.url+"/api/v1/overview", &ov)
	if code := d.stop(); code != 0 {
		t.Fatalf("second demo exited with %d:\n%s", code, d.stderr)
	}
	if strings.Contains(d.stderr.String(), "backfilled") || ov.PacketsThisMonth < first {
		t.Fatalf("second run: %d packets this month (first run saw %d); log:\n%s", ov.PacketsThisMonth, first, d.stderr)
	}
}

// TestDemoAlertReachesWebhook is the live path of an alert: the demo's
// live traffic carries a new port campaign at one sensor (--live-events),
// and the webhook of --alerts-file is told of it within 5 minutes of the
// demo's start.
func TestDemoAlertReachesWebhook(t *testing.T) {
	dir := t.TempDir()
	hook := deliver.NewRecorder(t)
	alertsFile, events := filepath.Join(dir, "alerts.yaml"), filepath.Join(dir, "events.yaml")
	writeText(t, alertsFile, "interval: 5s\ndelivery:\n  base_url: http://127.0.0.1:8080\n  interval: 1s\n  receivers:\n    - name: soc\n      webhook:\n        url: "+hook.URL+"\n")
	writeText(t, events, "- kind: port-campaign\n  sensor: de-fra-1\n  port: 9443\n  start: 2000-01-01T00:00:00Z\n  duration: 24h\n  rate: 1\n  sources: 300\n")
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testenv.SyncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"demo", "--now", "2028-03-01T10:02:00Z", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
			"--backfill", "100000", "--live-rate", "1000", "--alerts-file", alertsFile, "--live-events", events}, strings.NewReader(""), &stdout, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case <-exit:
		case <-time.After(60 * time.Second):
			t.Error("demo did not stop within 60 s of Ctrl-C")
		}
	}()
	for {
		for _, m := range hook.Delivered(t) {
			if m.Event == "opened" && m.Alert.Scope.Port == "9443/TCP" {
				if m.Alert.Scope.Sensor != "de-fra-1" || !strings.HasPrefix(m.Alert.Link, "http://127.0.0.1:8080/ports?") {
					t.Errorf("alert %+v: want it at de-fra-1, linked to the dashboard's port graphs", m.Alert)
				}
				t.Logf("alert %s reached the webhook %s after the demo started", m.Alert.Key(), time.Since(started).Round(time.Second))
				return
			}
		}
		select {
		case code := <-exit:
			t.Fatalf("demo exited with %d:\n%s%s", code, stdout.String(), stderr.String())
		case <-time.After(time.Second):
		}
		if time.Since(started) > 5*time.Minute {
			t.Fatalf("no alert of 9443/TCP at the webhook 5 minutes after the demo started; it got %d requests\n%s", len(hook.Requests()), stderr.String())
		}
	}
}
