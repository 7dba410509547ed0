package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/web/webtest"
)

// alertsDB is devicesDB with two alerts of 23/TCP on 2026-08-11: 1, jp-1's
// surge, which de-1 did not see (with its hourly series); 2, the fleet's.
func alertsDB(t *testing.T) string {
	t.Helper()
	db := devicesDB(t)
	st, err := duckdb.Open(t.Context(), db, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 8, 11, 5, 0, 0, 0, time.UTC)
	var series []store.EvidencePoint
	for i := range 4 {
		series = append(series, store.EvidencePoint{Hour: start.Add(time.Duration(i) * time.Hour), Observed: float64(4210 - 300*i), Baseline: 310})
	}
	local := store.Alert{Detector: alerts.DetectLocalChange, Scope: store.Scope{Sensor: "jp-1", Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityCritical,
		Start: start, LastSeen: start.Add(3 * time.Hour), Updated: start.Add(4 * time.Hour),
		Summary: "23/TCP at jp-1 (packets): 4,210 packets in the hour against 310 usually",
		Evidence: store.Evidence{Measure: "packets", Hour: start, Observed: 4210, Baseline: 310, Spread: 40, Score: 97.5, Method: "median of the same hour of the previous weeks",
			Others: []store.PeerChange{{Sensor: "de-1", Observed: 12, Baseline: 11, Score: 0.1}}, Series: series}}
	local.Link = alerts.Link(local)
	fleetWide := store.Alert{Detector: alerts.DetectPortSurge, Scope: store.Scope{Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityWarning,
		Start: start.Add(time.Hour), LastSeen: start.Add(time.Hour), Updated: start.Add(2 * time.Hour),
		Summary: "23/TCP at the fleet (packets): 4,400 packets in the hour against 600 usually"}
	if _, err := st.PutAlerts(t.Context(), []store.AlertWrite{{Alert: local}, {Alert: fleetWide}}, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAlertsInBrowser: nightjar serve's alerts page lists the stored
// alerts, opens one with its evidence (the peers' comparison and the
// hourly chart), an admin acknowledges it with the button, and the port
// graphs of 23/TCP mark both alerts — the sensor's on the sensors' chart,
// the fleet's on the averages'.
func TestAlertsInBrowser(t *testing.T) {
	b := webtest.New(t)
	users := filepath.Join(t.TempDir(), "users.yaml")
	addUser(t, users, "alice", "admin", "alice-password")
	base := startServe(t, "--now", dashboardNow, "--db", alertsDB(t), "--listen", "127.0.0.1:0", "--users", users)
	text := func(sel string) string {
		return webtest.Eval[string](t, b, `(document.querySelector(`+jsString(sel)+`) || {}).textContent`)
	}
	b.Login(t, base, "alice", "alice-password")

	b.Open(t, base+"/alerts?"+devicesPeriod)
	rows := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('#alerts tbody tr')].map((tr) => tr.dataset.alert + ' ' + tr.cells[1].textContent + ' ' + tr.cells[2].textContent + ' ' + tr.cells[5].textContent)`)
	if want := []string{"2 port-surge port=23/TCP open", "1 local-change sensor=jp-1,port=23/TCP open"}; strings.Join(rows, "|") != strings.Join(want, "|") {
		t.Errorf("/alerts rows %q, want %q", rows, want)
	}
	if got := text(`#alerts tr[data-alert="1"] .alert-summary`); !strings.Contains(got, "4,210 packets in the hour against 310 usually") {
		t.Errorf("alert 1's summary shows as %q", got)
	}
	if href := webtest.Eval[string](t, b, `document.querySelector('#alerts tr[data-alert="1"] a').getAttribute('href')`); !strings.HasPrefix(href, "/ports?") || !strings.Contains(href, "port=23%2FTCP") {
		t.Errorf("alert 1 links to %q, want its port graph", href)
	}
	b.CheckConsole(t, "/alerts")

	b.Do(t, "open alert 1", chromedp.Click(chromedp.CSS(`#alerts tr[data-alert="1"] button.details`)), chromedp.WaitVisible(chromedp.CSS(`#alert-peers`)))
	if loc := b.Location(t); !strings.Contains(loc, "alert=1") {
		t.Errorf("the detail of alert 1 is not in the URL: %s", loc)
	}
	if got := text("#alert-evidence"); !strings.Contains(got, "Observed4,210") || !strings.Contains(got, "Baseline310") || !strings.Contains(got, "97.5 spreads above the baseline") {
		t.Errorf("alert 1's evidence shows %q", got)
	}
	if got := text("#alert-peers tbody"); got != "de-112110.1" {
		t.Errorf("alert 1's peers show %q, want de-1: 12 against 11, score 0.1", got)
	}
	charts := b.CheckCharts(t, "/alerts detail")
	if len(charts) != 1 || charts[0].ID != "chart-evidence" || charts[0].Series != 2 || charts[0].Points != 8 {
		t.Errorf("the detail's charts %+v, want the evidence's observed and baseline over 4 hours", charts)
	}
	b.Screenshot(t, "alerts-detail")

	// The admin acknowledges it: the page reloads with it acknowledged.
	b.Click(t, "#acknowledge")
	b.WaitReady(t)
	if got := text(`#alerts tr[data-alert="1"] td:nth-child(6)`); got != "acknowledged" {
		t.Errorf("after the acknowledgement alert 1 is %q", got)
	}
	a := apiJSON[api.AlertAnswer](t, b, "/api/v1/alerts/1")
	if a.State != store.AlertAcknowledged || a.By != "alice" {
		t.Errorf("the API's alert 1 after the acknowledgement: %s by %q", a.State, a.By)
	}
	b.CheckConsole(t, "/alerts acknowledged")

	// The port graphs mark them.
	b.Open(t, base+"/ports?port=23/TCP&resolution=hour&"+devicesPeriod)
	marks := webtest.Eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('.chart')].map((el) => {
	  const c = echarts.getInstanceByDom(el);
	  const areas = c ? (c.getOption().series[0].markArea || {}).data || [] : [];
	  return [el.id, el.dataset.alerts + ' ' + areas.map((a) => a[0].name + ' ' + new Date(a[0].xAxis).toISOString() + '/' + new Date(a[1].xAxis).toISOString()).join('; ')];
	}))`)
	want := map[string]string{
		"chart-groups-23-TCP":  "1 warning: 23/TCP at the fleet (packets): 4,400 packets in the hour against 600 usually 2026-08-11T06:00:00.000Z/2026-08-11T07:00:00.000Z",
		"chart-sensors-23-TCP": "1 critical: 23/TCP at jp-1 (packets): 4,210 packets in the hour against 310 usually 2026-08-11T05:00:00.000Z/2026-08-11T09:00:00.000Z",
	}
	for id, w := range want {
		if marks[id] != w {
			t.Errorf("/ports: chart %s marks %q, want %q", id, marks[id], w)
		}
	}
	b.CheckCharts(t, "/ports with alerts")
	b.Screenshot(t, "ports-alerts")
	b.CheckConsole(t, "/ports with alerts")
	b.CheckRequestsLocal(t, base)
}
