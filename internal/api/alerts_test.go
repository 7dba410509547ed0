package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// hourOf is an hour of the fixture's capture.
func hourOf(day string, hour int) time.Time {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Duration(hour) * time.Hour)
}

// putAlerts stores four alerts, IDs 1 to 4 — a sensor's port surge
// (open, warning), a group's local change compared with its peers
// (acknowledged, critical), a silent sensor (resolved), a research
// scanners' fleet surge (open, info) — and a silence of port-surge on
// 23/TCP in force at the fixture's clock, which mutes 1 and 4.
func putAlerts(tb testing.TB, st store.AlertStore, now time.Time) {
	tb.Helper()
	series := []store.EvidencePoint{{Hour: hourOf("2024-07-10", 13), Observed: 4210, Baseline: 310}, {Hour: hourOf("2024-07-10", 14), Observed: 3900, Baseline: 300}}
	list := []store.Alert{
		{Detector: "port-surge", Scope: store.Scope{Sensor: "jp-tokyo-1", Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityWarning,
			Start: hourOf("2024-07-10", 13), LastSeen: hourOf("2024-07-10", 16), Updated: hourOf("2024-07-10", 17),
			Summary: "23/TCP at jp-tokyo-1 (packets): 4,210 packets in the hour against 310 usually", Link: "/ports?port=23%2FTCP",
			Evidence: store.Evidence{Measure: "packets", Hour: hourOf("2024-07-10", 13), Observed: 4210, Baseline: 310, Spread: 40, Score: 97.5, Method: "same hour of the previous weeks, median", Series: series}},
		{Detector: "local-change", Scope: store.Scope{Group: "Japan", Port: "445/TCP"}, State: store.AlertAcknowledged, Severity: store.SeverityCritical,
			Start: hourOf("2024-08-01", 2), LastSeen: hourOf("2024-08-02", 5), Updated: hourOf("2024-08-02", 6), By: "alice", Note: "looking",
			Summary: "445/TCP at group Japan (sources): 900 sources in the hour against 20 usually",
			Evidence: store.Evidence{Measure: "sources", Hour: hourOf("2024-08-01", 2), Observed: 900, Baseline: 20, Spread: 5, Score: 176, Method: "median",
				Others: []store.PeerChange{{Group: "overseas", Observed: 22, Baseline: 21, Score: 0.2}, {Sensor: "us-sjc-1", Observed: 7, Baseline: 7, Score: 0}}}},
		{Detector: "sensor-silent", Scope: store.Scope{Sensor: "us-sjc-1"}, State: store.AlertResolved, Severity: store.SeverityCritical,
			Start: hourOf("2024-07-20", 0), LastSeen: hourOf("2024-07-20", 3), Resolved: hourOf("2024-07-20", 7), Updated: hourOf("2024-07-20", 7), By: "nightjar",
			Summary: "us-sjc-1 is silent: 0 packets in the hour against 800 usually", Link: "/sensors", Evidence: store.Evidence{Measure: "packets", Hour: hourOf("2024-07-20", 0), Baseline: 800}},
		{Detector: "port-surge", Scope: store.Scope{Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityInfo, Research: true,
			Start: hourOf("2024-08-15", 9), LastSeen: hourOf("2024-08-15", 9), Updated: hourOf("2024-08-15", 10),
			Summary: "23/TCP at the fleet (sources): 300 sources in the hour against 40 usually", Evidence: store.Evidence{Measure: "sources", Hour: hourOf("2024-08-15", 9), Observed: 300, Baseline: 40}},
	}
	writes := make([]store.AlertWrite, len(list))
	for i, a := range list {
		writes[i] = store.AlertWrite{Alert: a}
	}
	ids, err := st.PutAlerts(tb.Context(), writes, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if !slices.Equal(ids, []int64{1, 2, 3, 4}) {
		tb.Fatalf("PutAlerts() = %v, want IDs 1 to 4", ids)
	}
	s := store.Silence{Detector: "port-surge", Scope: store.Scope{Port: "23/TCP"}, Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour), By: "alice", Comment: "known scan", Created: now.Add(-time.Hour)}
	if _, err := st.PutSilence(tb.Context(), s); err != nil {
		tb.Fatal(err)
	}
}

// alertIDs decodes an alerts answer into its IDs and silenced marks.
func alertIDs(t *testing.T, body []byte) (ids []int64, silenced []int64) {
	t.Helper()
	var ans AlertsResponse
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	for _, a := range ans.Alerts {
		ids = append(ids, a.ID)
		if a.Silenced {
			silenced = append(silenced, a.ID)
		}
	}
	return ids, silenced
}

// testAlerts: the filters of /api/v1/alerts select the stored alerts
// newest start first, silenced ones marked; one alert by ID, 404 for an
// unknown one; the silences.
func testAlerts(t *testing.T, f *fixture) {
	for target, want := range map[string][]int64{
		"":                                {4, 2, 3, 1},
		"?state=open":                     {4, 1},
		"?state=open&state=acknowledged":  {4, 2, 1},
		"?state=resolved":                 {3},
		"?detector=port-surge":            {4, 1},
		"?sensor=jp-tokyo-1":              {1},
		"?group=Japan":                    {2},
		"?port=23/tcp":                    {4, 1},
		"?port=23/TCP&sensor=jp-tokyo-1":  {1},
		"?severity=critical":              {2, 3},
		"?severity=info&severity=warning": {4, 1},
		"?since=2024-08-01":               {4, 2},
		"?until=2024-07-15":               {1},
		"?since=2024-07-10T16:00:00Z&until=2024-07-21": {3, 1},
		"?limit=1":                   {4},
		"?severity=critical&limit=1": {2},
		"?tag=mirai":                 nil,
		"?since=2024-09-01":          nil,
	} {
		rec := f.do(http.MethodGet, "/api/v1/alerts"+target)
		if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET /api/v1/alerts%s: %d %s", target, rec.Code, rec.Body)
			continue
		}
		if !strings.Contains(rec.Body.String(), `"alerts":[`) {
			t.Errorf("GET /api/v1/alerts%s: %s, want an alerts list (never null)", target, rec.Body)
		}
		got, _ := alertIDs(t, rec.Body.Bytes())
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("GET /api/v1/alerts%s: IDs (-got, +want):\n%s", target, diff)
		}
	}
	_, silenced := alertIDs(t, f.do(http.MethodGet, "/api/v1/alerts").Body.Bytes())
	if diff := cmp.Diff(silenced, []int64{4, 1}); diff != "" {
		t.Errorf("silenced alerts (-got, +want):\n%s", diff)
	}

	stored, err := f.st.Alerts(t.Context(), store.AlertQuery{IDs: []int64{2}})
	if err != nil || len(stored) != 1 {
		t.Fatalf("Alerts(ID 2) = %v, %v", stored, err)
	}
	var got any
	f.getJSON(t, "/api/v1/alerts/2", &got)
	if diff := cmp.Diff(got, generic(t, AlertAnswer{Alert: stored[0]})); diff != "" {
		t.Errorf("GET /api/v1/alerts/2 (-got, +store):\n%s", diff)
	}
	for target, want := range map[string]struct {
		status int
		msg    string
	}{
		"/api/v1/alerts/99": {http.StatusNotFound, "no alert 99"},
		"/api/v1/alerts/0":  {http.StatusBadRequest, `alert ID "0" is not a positive whole number`},
		"/api/v1/alerts/x":  {http.StatusBadRequest, `alert ID "x" is not a positive whole number`},
	} {
		rec := f.do(http.MethodGet, target)
		var e Error
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != want.status || e.Message != want.msg || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s, want %d %q", target, rec.Code, rec.Body, want.status, want.msg)
		}
	}

	var sil SilencesResponse
	f.getJSON(t, "/api/v1/silences", &sil)
	if len(sil.Silences) != 1 || sil.Silences[0].Scope.String() != "port=23/TCP" || sil.Silences[0].Comment != "known scan" {
		t.Errorf("GET /api/v1/silences = %+v, want the silence of port=23/TCP", sil)
	}
}

// TestAlertsForAnonymous: an anonymous visitor of the public port graphs
// sees no alert of a sensor, nor of a group (or a fleet) smaller than
// allowed, and of the others only the groups, without who acknowledged.
func TestAlertsForAnonymous(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000)
	ask := func(least int, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		f.h.ServeHTTP(rec, r.WithContext(Anonymous(r.Context(), least)))
		return rec
	}
	for least, want := range map[int][]int64{2: {4, 2}, 4: {4}, 7: nil} {
		got, _ := alertIDs(t, ask(least, "/api/v1/alerts").Body.Bytes())
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("anonymous (groups of %d sensors or more) alerts (-got, +want):\n%s", least, diff)
		}
	}
	var a AlertAnswer
	if err := json.Unmarshal(ask(2, "/api/v1/alerts/2").Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Evidence.Others, []store.PeerChange{{Group: "overseas", Observed: 22, Baseline: 21, Score: 0.2}}); diff != "" || a.By != "" || a.Note != "" {
		t.Errorf("anonymous alert 2: others (-got, +want):\n%s by %q note %q", diff, a.By, a.Note)
	}
	if rec := ask(2, "/api/v1/alerts/1"); rec.Code != http.StatusNotFound {
		t.Errorf("anonymous GET /api/v1/alerts/1 (a sensor's): %d %s, want 404", rec.Code, rec.Body)
	}
}

// TestNoAlertStore: without Options.Alerts, the alerts endpoints say that
// the store keeps none.
func TestNoAlertStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000)
	h := New(f.st, Options{})
	for _, target := range []string{"/api/v1/alerts", "/api/v1/alerts/1", "/api/v1/silences"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "keeps no alerts") {
			t.Errorf("GET %s without alerts: %d %s, want 404", target, rec.Code, rec.Body)
		}
	}
}
