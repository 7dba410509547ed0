package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// alertsNow is the clock of the alert tests.
var alertsNow = time.Date(2024, 8, 1, 12, 0, 0, 0, time.UTC)

// receivers are those every notifiable change is queued for.
var receivers = []string{"webhook", "mail"}

// alertServer is the UI over a DuckDB store of two sensors and two open
// alerts — 1: jp-1's surge of 23/TCP, 2: the fleet's of 445/TCP — with
// the admin alice and the viewer victor, its lifecycle telling receivers.
type alertServer struct {
	*testServer
	st *duckdb.Store
}

func newAlertServer(t *testing.T, opts Options) *alertServer {
	t.Helper()
	ctx := t.Context()
	st, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "alerts.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutSensors(ctx, []fleet.Sensor{
		{Name: "jp-1", Group: "Japan", Addresses: []string{"198.18.1.0/24"}},
		{Name: "de-1", Group: "Europe", Addresses: []string{"198.19.1.0/24"}},
	}); err != nil {
		t.Fatal(err)
	}
	start := alertsNow.Add(-5 * time.Hour).Truncate(time.Hour)
	writes := []store.AlertWrite{
		{Alert: store.Alert{Detector: alerts.DetectPortSurge, Scope: store.Scope{Sensor: "jp-1", Port: "23/TCP"}, State: store.AlertOpen, Severity: store.SeverityWarning,
			Start: start, LastSeen: start.Add(2 * time.Hour), Updated: start.Add(2 * time.Hour), Summary: "23/TCP at jp-1 (packets): 4,210 packets in the hour against 310 usually",
			Evidence: store.Evidence{Measure: "packets", Hour: start, Observed: 4210, Baseline: 310, Score: 40, Method: "median"}}},
		{Alert: store.Alert{Detector: alerts.DetectPortSurge, Scope: store.Scope{Port: "445/TCP"}, State: store.AlertOpen, Severity: store.SeverityCritical,
			Start: start, LastSeen: start, Updated: start, Summary: "445/TCP at the fleet (packets): 9,000 packets in the hour against 100 usually"}},
	}
	if _, err := st.PutAlerts(ctx, writes, nil); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return alertsNow }
	cfg := alerts.DefaultConfig()
	opts.Users = NewUsers(testUser(t, "alice", Admin, "alice-password"), testUser(t, "victor", Viewer, "victor-password"))
	opts.Now = now
	opts.API = api.New(st, api.Options{Now: now, Alerts: st})
	opts.Alerts, opts.Silences = alerts.NewLifecycle(st, &cfg, receivers), st
	return &alertServer{testServer: newTestServer(t, opts), st: st}
}

// alert returns the stored alert of an ID.
func (s *alertServer) alert(t *testing.T, id int64) store.Alert {
	t.Helper()
	found, err := s.st.Alerts(t.Context(), store.AlertQuery{IDs: []int64{id}})
	if err != nil || len(found) != 1 {
		t.Fatalf("Alerts(ID %d) = %v, %v", id, found, err)
	}
	return found[0]
}

// events returns the queued notifications as "receiver event alert-ID".
func (s *alertServer) events(t *testing.T) []string {
	t.Helper()
	ns, err := s.st.PendingNotifications(t.Context(), "", alertsNow.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.Receiver+" "+n.Event+" "+n.Alert.Key())
	}
	return out
}

// TestAlertActions: an admin acknowledges and resolves alerts with the
// session's CSRF token; each change is stored, by the admin, and its
// notification queued for every receiver; a resolved alert cannot be
// acknowledged or resolved again, an unknown one is 404.
func TestAlertActions(t *testing.T) {
	t.Parallel()
	s := newAlertServer(t, Options{})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")

	res := do(t, admin, "POST", s.URL+"/api/v1/alerts/1/acknowledge", url.Values{"csrf": {token}, "note": {"looking at it"}})
	var got store.Alert
	if err := json.Unmarshal([]byte(res.body), &got); res.status != http.StatusOK || err != nil {
		t.Fatalf("acknowledge: %d %s", res.status, res.body)
	}
	a := s.alert(t, 1)
	if a.State != store.AlertAcknowledged || a.By != "alice" || a.Note != "looking at it" || !a.Updated.Equal(alertsNow) || got.State != a.State {
		t.Errorf("after acknowledge: stored %+v, answered state %q; want acknowledged by alice with the note", a, got.State)
	}
	// The header carries the token as well as the form (the page's fetch).
	res = do(t, admin, "POST", s.URL+"/api/v1/alerts/2/resolve", url.Values{"note": {"a known scanner"}}, "X-CSRF-Token", token)
	if b := s.alert(t, 2); res.status != http.StatusOK || b.State != store.AlertResolved || !b.Resolved.Equal(alertsNow) || b.By != "alice" {
		t.Errorf("resolve: %d %s; stored %+v", res.status, res.body, b)
	}
	want := []string{
		"webhook acknowledged port-surge sensor=jp-1,port=23/TCP", "mail acknowledged port-surge sensor=jp-1,port=23/TCP",
		"webhook resolved port-surge port=445/TCP", "mail resolved port-surge port=445/TCP",
	}
	if diff := cmp.Diff(s.events(t), want); diff != "" {
		t.Errorf("queued notifications (-got, +want):\n%s", diff)
	}

	for _, tt := range []struct {
		path   string
		form   url.Values
		status int
		msg    string
	}{
		{"/api/v1/alerts/2/acknowledge", nil, http.StatusConflict, "alert 2 is resolved already"},
		{"/api/v1/alerts/2/resolve", nil, http.StatusConflict, "alert 2 is resolved already"},
		{"/api/v1/alerts/99/resolve", nil, http.StatusNotFound, "no alert 99"},
		{"/api/v1/alerts/x/acknowledge", nil, http.StatusBadRequest, `alert ID "x" is not a positive whole number`},
		{"/api/v1/alerts/1/resolve", url.Values{"note": {strings.Repeat("é", 1001)}}, http.StatusBadRequest, "note: 1001 characters, at most 1000"},
	} {
		form := url.Values{"csrf": {token}}
		for k, v := range tt.form {
			form[k] = v
		}
		res := do(t, admin, "POST", s.URL+tt.path, form)
		if res.status != tt.status || !strings.Contains(errorOf(t, res), tt.msg) || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("POST %s: %d %s, want %d %q", tt.path, res.status, res.body, tt.status, tt.msg)
		}
	}
	if n := len(s.events(t)); n != len(want) {
		t.Errorf("%d notifications after the refused changes, want still %d", n, len(want))
	}
}

// TestAlertActionsRefused: without the CSRF token, with another session's,
// as a viewer or anonymously, no action changes anything or notifies.
func TestAlertActionsRefused(t *testing.T) {
	t.Parallel()
	s := newAlertServer(t, Options{})
	admin, viewer, anon := s.client(t), s.client(t), s.client(t)
	s.login(t, admin, "alice", "alice-password")
	viewerToken := s.login(t, viewer, "victor", "victor-password")
	for _, tt := range []struct {
		who    string
		c      *http.Client
		form   url.Values
		header []string
		msg    string
	}{
		{"admin without a token", admin, url.Values{}, nil, "The form expired or came from another page"},
		{"admin with the viewer's token", admin, url.Values{"csrf": {viewerToken}}, nil, "The form expired"},
		{"admin from another site", admin, url.Values{}, []string{"Sec-Fetch-Site", "cross-site"}, "cross-origin request refused"},
		{"viewer with its token", viewer, url.Values{"csrf": {viewerToken}}, nil, "This needs an admin login."},
		{"anonymous", anon, url.Values{}, nil, "This needs an admin login."},
	} {
		for _, path := range []string{"/api/v1/alerts/1/acknowledge", "/api/v1/alerts/1/resolve", "/api/v1/silences", "/api/v1/silences/1/delete"} {
			form := url.Values{"scope": {"fleet"}, "duration": {"1h"}, "comment": {"x"}}
			for k, v := range tt.form {
				form[k] = v
			}
			res := do(t, tt.c, "POST", s.URL+path, form, tt.header...)
			if res.status != http.StatusForbidden || !strings.Contains(res.body, tt.msg) { // the cross-origin refusal is text
				t.Errorf("%s: POST %s = %d %s, want 403 %q", tt.who, path, res.status, res.body, tt.msg)
			}
		}
	}
	if a := s.alert(t, 1); a.State != store.AlertOpen || a.By != "" {
		t.Errorf("alert 1 after refused actions: %+v, want open", a)
	}
	if ev := s.events(t); len(ev) != 0 {
		t.Errorf("notifications after refused actions: %v", ev)
	}
	if sil, err := s.st.Silences(t.Context(), time.Time{}); err != nil || len(sil) != 0 {
		t.Errorf("silences after refused actions: %v, %v", sil, err)
	}
}

// TestSilences: an admin adds a silence of a scope, for a duration or up
// to an end, and deletes it; bad forms are a 400 that says what is wrong.
func TestSilences(t *testing.T) {
	t.Parallel()
	s := newAlertServer(t, Options{})
	admin := s.client(t)
	token := s.login(t, admin, "alice", "alice-password")
	res := do(t, admin, "POST", s.URL+"/api/v1/silences", url.Values{"csrf": {token}, "scope": {"sensor=jp-1,port=23/TCP"}, "detector": {"port-surge"}, "duration": {"3d"}, "comment": {"maintenance"}})
	var got store.Silence
	if err := json.Unmarshal([]byte(res.body), &got); res.status != http.StatusCreated || err != nil {
		t.Fatalf("silence: %d %s", res.status, res.body)
	}
	want := store.Silence{ID: got.ID, Detector: "port-surge", Scope: store.Scope{Sensor: "jp-1", Port: "23/TCP"}, Start: alertsNow, End: alertsNow.Add(72 * time.Hour),
		By: "alice", Comment: "maintenance", Created: alertsNow}
	stored, err := s.st.Silences(t.Context(), alertsNow)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, []store.Silence{want}); diff != "" {
		t.Errorf("stored silences (-got, +want):\n%s", diff)
	}
	// The API marks the alert it covers silenced.
	var list api.AlertsResponse
	if err := json.Unmarshal([]byte(do(t, admin, "GET", s.URL+"/api/v1/alerts", nil).body), &list); err != nil {
		t.Fatal(err)
	}
	var silenced []int64
	for _, a := range list.Alerts {
		if a.Silenced {
			silenced = append(silenced, a.ID)
		}
	}
	if !slices.Equal(silenced, []int64{1}) {
		t.Errorf("silenced alerts %v, want [1]", silenced)
	}
	// An end instead of a duration, as the datetime-local input sends it.
	res = do(t, admin, "POST", s.URL+"/api/v1/silences", url.Values{"csrf": {token}, "scope": {"fleet"}, "end": {"2024-08-02T06:30"}, "comment": {"noisy day"}})
	got = store.Silence{}
	if err := json.Unmarshal([]byte(res.body), &got); res.status != http.StatusCreated || err != nil || !got.End.Equal(time.Date(2024, 8, 2, 6, 30, 0, 0, time.UTC)) || got.Detector != "" {
		t.Errorf("silence until an end: %d %s", res.status, res.body)
	}

	for _, tt := range []struct {
		form url.Values
		msg  string
	}{
		{url.Values{"duration": {"1h"}, "comment": {"c"}}, "scope: give the scope to silence"},
		{url.Values{"scope": {"city=Tokyo"}, "duration": {"1h"}, "comment": {"c"}}, `unknown key "city"`},
		{url.Values{"scope": {"port"}, "duration": {"1h"}, "comment": {"c"}}, `"port" is not key=value`},
		{url.Values{"scope": {"fleet"}, "detector": {"magic"}, "duration": {"1h"}, "comment": {"c"}}, `detector: unknown detector "magic"`},
		{url.Values{"scope": {"fleet"}, "duration": {"1h"}}, "comment: say why"},
		{url.Values{"scope": {"fleet"}, "comment": {"c"}}, "give how long (duration: 2h, 3d) or until when (end)"},
		{url.Values{"scope": {"fleet"}, "duration": {"1h"}, "end": {"2024-08-02T00:00"}, "comment": {"c"}}, "either duration or end, not both"},
		{url.Values{"scope": {"fleet"}, "duration": {"soon"}, "comment": {"c"}}, `duration: "soon" is not a duration`},
		{url.Values{"scope": {"fleet"}, "duration": {"0d"}, "comment": {"c"}}, `"0d" is not a number of days`},
		{url.Values{"scope": {"fleet"}, "duration": {"-1h"}, "comment": {"c"}}, "not after now"},
		{url.Values{"scope": {"fleet"}, "end": {"2024-07-01T00:00:00Z"}, "comment": {"c"}}, "would end at 2024-07-01T00:00:00Z, not after now"},
		{url.Values{"scope": {"fleet"}, "end": {"tomorrow"}, "comment": {"c"}}, `end: "tomorrow" is neither an RFC 3339 time`},
		{url.Values{"scope": {"fleet"}, "duration": {"400d"}, "comment": {"c"}}, "more than 366 days"},
	} {
		tt.form.Set("csrf", token)
		res := do(t, admin, "POST", s.URL+"/api/v1/silences", tt.form)
		if res.status != http.StatusBadRequest || !strings.Contains(errorOf(t, res), tt.msg) {
			t.Errorf("POST /api/v1/silences %v: %d %s, want 400 %q", tt.form, res.status, res.body, tt.msg)
		}
	}

	path := s.URL + "/api/v1/silences/" + jsonNumber(want.ID) + "/delete"
	if res := do(t, admin, "POST", path, url.Values{"csrf": {token}}); res.status != http.StatusOK || res.body != `{"deleted":`+jsonNumber(want.ID)+"}\n" {
		t.Errorf("delete silence: %d %s", res.status, res.body)
	}
	if res := do(t, admin, "POST", path, url.Values{"csrf": {token}}); res.status != http.StatusNotFound {
		t.Errorf("delete the silence again: %d %s, want 404", res.status, res.body)
	}
	if stored, _ := s.st.Silences(t.Context(), alertsNow); len(stored) != 1 || stored[0].Scope.String() != "fleet" {
		t.Errorf("silences after the deletion: %+v, want the fleet's only", stored)
	}
}

// errorOf returns the message of a JSON error answer.
func errorOf(t *testing.T, res response) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(res.body), &e); err != nil {
		t.Errorf("not a JSON error: %s", res.body)
	}
	return e.Error
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestAlertsPage: the alerts page shows viewers the filters and, to
// admins only, the silence form with the session's token; the API behind
// it answers the stored alert; every POST the OpenAPI document lists is
// served here (refused without a session, never unknown).
func TestAlertsPage(t *testing.T) {
	t.Parallel()
	s := newAlertServer(t, Options{})
	admin, viewer := s.client(t), s.client(t)
	token := s.login(t, admin, "alice", "alice-password")
	s.login(t, viewer, "victor", "victor-password")

	page := do(t, viewer, "GET", s.URL+"/alerts", nil)
	for _, want := range []string{`<table id="alerts"`, `<option>port-surge</option>`, `<option>sensor-silent</option>`, `<script type="module" src="/assets/js/alerts.js">`} {
		if page.status != 200 || !strings.Contains(page.body, want) {
			t.Errorf("viewer GET /alerts = %d, lacks %s", page.status, want)
		}
	}
	if strings.Contains(page.body, `id="silence-form"`) || strings.Contains(page.body, "data-alert-admin") {
		t.Error("a viewer's alerts page offers the admins' actions")
	}
	page = do(t, admin, "GET", s.URL+"/alerts", nil)
	if !strings.Contains(page.body, `data-alert-admin="1"`) || !strings.Contains(page.body, `id="silence-form"`) || formToken(t, page.body[strings.Index(page.body, `id="silence-form"`):]) != token {
		t.Error("the admin's alerts page lacks the actions, or the silence form the session's token")
	}

	var a api.AlertAnswer
	if err := json.Unmarshal([]byte(do(t, viewer, "GET", s.URL+"/api/v1/alerts/1", nil).body), &a); err != nil || a.Summary != s.alert(t, 1).Summary {
		t.Errorf("GET /api/v1/alerts/1 through the UI: %+v, %v", a, err)
	}

	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(do(t, viewer, "GET", s.URL+"/api/v1/openapi.json", nil).body), &doc); err != nil {
		t.Fatal(err)
	}
	anon := s.client(t)
	posts := 0
	for path, ops := range doc.Paths {
		if _, ok := ops["post"]; !ok {
			continue
		}
		posts++
		target := s.URL + strings.ReplaceAll(path, "{id}", "1")
		if res := do(t, anon, "POST", target, url.Values{}); res.status != http.StatusForbidden || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("anonymous POST %s (documented) = %d %s, want a JSON 403", path, res.status, res.body)
		}
	}
	if posts != 4 {
		t.Errorf("the document lists %d POST operations, want 4 (acknowledge, resolve, add and delete a silence)", posts)
	}
}

// TestPublicAlerts: anonymous visitors of the public port graphs get the
// alerts of the fleet and of large groups, never a sensor's.
func TestPublicAlerts(t *testing.T) {
	t.Parallel()
	s := newAlertServer(t, Options{Public: true})
	anon := s.client(t)
	res := do(t, anon, "GET", s.URL+"/api/v1/alerts?port=445/TCP", nil)
	var list api.AlertsResponse
	if err := json.Unmarshal([]byte(res.body), &list); res.status != 200 || err != nil || len(list.Alerts) != 1 || list.Alerts[0].ID != 2 {
		t.Errorf("anonymous GET /api/v1/alerts?port=445/TCP: %d %s, want the fleet's alert 2", res.status, res.body)
	}
	if err := json.Unmarshal([]byte(do(t, anon, "GET", s.URL+"/api/v1/alerts", nil).body), &list); err != nil || len(list.Alerts) != 1 {
		t.Errorf("anonymous GET /api/v1/alerts: %+v, %v; want the fleet's alert only (not jp-1's)", list, err)
	}
	for _, path := range []string{"/api/v1/alerts?sensor=jp-1", "/api/v1/alerts/1", "/api/v1/silences"} {
		if res := do(t, anon, "GET", s.URL+path, nil); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s = %d, want 401", path, res.status)
		}
	}
}
