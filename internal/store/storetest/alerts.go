package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runAlerts runs the conformance tests of the alert store. Those of the
// activity questions run on the simulated capture of testQuestionsTruth
// (testActivity).
func runAlerts(t *testing.T, open Opener) {
	t.Run("alerts: IDs, replacement, unknown IDs", func(t *testing.T) { testAlertWrites(t, open(t)) })
	t.Run("alerts: the notification outbox", func(t *testing.T) { testOutbox(t, open(t)) })
	t.Run("alerts: every filter of a query", func(t *testing.T) { testAlertQuery(t, open(t)) })
	t.Run("alerts: silences", func(t *testing.T) { testSilences(t, open(t)) })
	t.Run("alerts: evidence and hostile text", func(t *testing.T) { testAlertText(t, open(t)) })
}

// alertHour is the hour the alert tests' alerts start around.
var alertHour = time.Date(2024, 7, 15, 10, 0, 0, 0, time.UTC)

// newAlert is an open alert of detector at scope, from start for hours
// hours, written at its last hour.
func newAlert(detector string, scope store.Scope, start time.Time, hours int) store.Alert {
	last := start.Add(time.Duration(hours-1) * time.Hour)
	return store.Alert{Detector: detector, Scope: scope, State: store.AlertOpen, Severity: store.SeverityWarning,
		Start: start, LastSeen: last, Updated: last.Add(5 * time.Minute), Summary: detector + " at " + scope.String(),
		Evidence: store.Evidence{Measure: "packets", Hour: last, Observed: 4210, Baseline: 310, Spread: 40, Score: 97.5,
			Method: "same hour of the previous 4 weeks, median"},
		Link: "/ports?" + scope.String()}
}

// withID is a with an ID.
func withID(a store.Alert, id int64) store.Alert {
	a.ID = id
	return a
}

// writes makes an AlertWrite of each alert, none notifying.
func writes(alerts ...store.Alert) []store.AlertWrite {
	out := make([]store.AlertWrite, len(alerts))
	for i, a := range alerts {
		out[i] = store.AlertWrite{Alert: a}
	}
	return out
}

// checkAlerts checks every stored alert, in the store's order.
func checkAlerts(t *testing.T, s store.Store, when string, want ...store.Alert) {
	t.Helper()
	got, err := s.Alerts(t.Context(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Alerts() %s (-got, +want):\n%s", when, diff)
	}
}

// testAlertWrites: a new alert gets the next ID, in the order given (a
// refused call takes none); one with an ID replaces it (the last of a
// call standing); an unknown ID or a bad alert fails the whole call and
// stores nothing.
func testAlertWrites(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	checkAlerts(t, s, "of a new store")
	surge := newAlert("port-surge", store.Scope{Sensor: "jp-1", Port: "23/TCP"}, alertHour, 3)
	silent := newAlert("sensor-silent", store.Scope{Sensor: "us-1"}, alertHour.Add(-time.Hour), 1)
	ids, err := s.PutAlerts(ctx, writes(surge, silent), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] <= 0 || ids[1] != ids[0]+1 {
		t.Fatalf("PutAlerts() IDs = %v, want two in order", ids)
	}
	surge, silent = withID(surge, ids[0]), withID(silent, ids[1])
	checkAlerts(t, s, "after two new alerts", surge, silent)

	// Acknowledged, then seen an hour more: the call's last write stands.
	acked := surge
	acked.State, acked.By, acked.Note = store.AlertAcknowledged, "admin", "looking"
	later := acked
	later.LastSeen, later.Updated = later.LastSeen.Add(time.Hour), later.Updated.Add(time.Hour)
	third := newAlert("port-new", store.Scope{Group: "Japan", Port: "8728/TCP"}, alertHour.Add(2*time.Hour), 1)
	again, err := s.PutAlerts(ctx, writes(acked, third, later), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{surge.ID, ids[1] + 1, surge.ID}; !slices.Equal(again, want) {
		t.Fatalf("PutAlerts(replace, new, replace) IDs = %v, want %v", again, want)
	}
	third = withID(third, again[1])
	checkAlerts(t, s, "after a replacement", third, later, silent)

	unknown := withID(silent, third.ID+100)
	fresh := newAlert("port-new", store.Scope{Sensor: "jp-1", Port: "445/TCP"}, alertHour, 1)
	if _, err := s.PutAlerts(ctx, writes(fresh, unknown), []string{"webhook"}); !errors.Is(err, store.ErrUnknownAlert) {
		t.Errorf("PutAlerts(new, unknown ID) error = %v, want ErrUnknownAlert", err)
	}
	bad := fresh
	bad.State = "closed"
	if _, err := s.PutAlerts(ctx, writes(fresh, bad), nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("PutAlerts(state %q) error = %v, want one naming it", bad.State, err)
	}
	backwards := fresh
	backwards.LastSeen = fresh.Start.Add(-time.Hour)
	if _, err := s.PutAlerts(ctx, writes(backwards), nil); err == nil {
		t.Error("PutAlerts(last seen before start) succeeded, want an error")
	}
	checkAlerts(t, s, "after refused calls", third, later, silent)

	next, err := s.PutAlerts(ctx, writes(fresh), nil)
	if err != nil || len(next) != 1 || next[0] != third.ID+1 {
		t.Errorf("PutAlerts(new) after refused calls = %v, %v; want ID %d (a refused call takes none)", next, err, third.ID+1)
	}
}

// testOutbox: a write with an event queues one notification per receiver
// in the same transaction as the alert, with the alert as written; one
// without queues none. Pending ones come oldest first, when due, per
// receiver, up to the limit; a delivered one never comes back.
func testOutbox(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	receivers := []string{"webhook", "mail"}
	surge := newAlert("port-surge", store.Scope{Sensor: "jp-1", Port: "23/TCP"}, alertHour, 2)
	quiet := newAlert("port-new", store.Scope{Sensor: "us-1", Port: "80/TCP"}, alertHour, 1)
	ids, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: surge, Notify: "opened"}, {Alert: quiet}}, receivers)
	if err != nil {
		t.Fatal(err)
	}
	surge, quiet = withID(surge, ids[0]), withID(quiet, ids[1])
	queued := surge.Updated
	pending := func(receiver string, now time.Time, limit int) []store.Notification {
		t.Helper()
		got, err := s.PendingNotifications(ctx, receiver, now, limit)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(when string, got []store.Notification, want ...store.Notification) {
		t.Helper()
		if diff := gocmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("PendingNotifications() %s (-got, +want):\n%s", when, diff)
		}
	}
	all := pending("", queued.Add(time.Hour), 10)
	if len(all) != 2 || all[0].ID == all[1].ID {
		t.Fatalf("PendingNotifications() = %+v, want two, with distinct IDs", all)
	}
	webhook := store.Notification{ID: all[0].ID, Receiver: "webhook", Event: "opened", Alert: surge, Queued: queued, NextAttempt: queued}
	mail := webhook
	mail.ID, mail.Receiver = all[1].ID, "mail"
	check("after one notified write of two", all, webhook, mail)
	check("of one receiver", pending("mail", queued, 10), mail)
	check("before they are due", pending("", queued.Add(-time.Nanosecond), 10))
	check("with a limit of 1", pending("", queued, 1), webhook)

	// The webhook is down: it is tried again in 5 minutes.
	webhook.Attempts, webhook.NextAttempt, webhook.LastError = 1, queued.Add(5*time.Minute), "503 Service Unavailable"
	if err := s.PutNotification(ctx, webhook); err != nil {
		t.Fatal(err)
	}
	check("after a failed attempt", pending("", queued.Add(time.Minute), 10), mail)
	check("once the retry is due", pending("", queued.Add(5*time.Minute), 10), webhook, mail)
	farFuture := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) // every undelivered one, due or not
	check("at the end of time", pending("", farFuture, 10), webhook, mail)

	// The mail is delivered, and stays delivered.
	delivered := mail
	delivered.Attempts, delivered.Delivered = 1, queued.Add(time.Second)
	if err := s.PutNotification(ctx, delivered); err != nil {
		t.Fatal(err)
	}
	check("after a delivery", pending("", queued.Add(time.Hour), 10), webhook)
	if err := s.PutNotification(ctx, mail); err != nil {
		t.Fatal(err)
	}
	check("after a delivered notification was put undelivered", pending("mail", queued.Add(time.Hour), 10))

	// A later event queues after the pending ones; a refused call queues
	// nothing, nor does a write to no receiver.
	escalated := surge
	escalated.Severity, escalated.Updated = store.SeverityCritical, surge.Updated.Add(time.Hour)
	if _, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: escalated, Notify: "escalated"}}, receivers[:1]); err != nil {
		t.Fatal(err)
	}
	unknown := withID(quiet, quiet.ID+100)
	if _, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: quiet, Notify: "resolved"}, {Alert: unknown}}, receivers); !errors.Is(err, store.ErrUnknownAlert) {
		t.Errorf("PutAlerts(notified, unknown ID) error = %v, want ErrUnknownAlert", err)
	}
	if _, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: quiet, Notify: "acknowledged"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: quiet, Notify: "opened"}}, []string{"mail", "mail"}); err == nil {
		t.Error("PutAlerts(a receiver named twice) succeeded, want an error")
	}
	all = pending("", escalated.Updated, 10)
	if len(all) != 2 {
		t.Fatalf("PendingNotifications() after an escalation = %+v, want the webhook's two", all)
	}
	third := store.Notification{ID: all[1].ID, Receiver: "webhook", Event: "escalated", Alert: escalated, Queued: escalated.Updated, NextAttempt: escalated.Updated}
	check("after an escalation", all, webhook, third)
	if all[1].ID <= webhook.ID {
		t.Errorf("the escalation's notification has ID %d, want one above %d", all[1].ID, webhook.ID)
	}
	checkAlerts(t, s, "after the outbox's writes", quiet, escalated)

	if err := s.PutNotification(ctx, store.Notification{ID: third.ID + 100, NextAttempt: queued}); err == nil {
		t.Error("PutNotification(unknown ID) succeeded, want an error")
	}
}

// testAlertQuery: each filter of AlertQuery alone and together, and the
// order (newest start first, then ID descending).
func testAlertQuery(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	h := func(n int) time.Time { return alertHour.Add(time.Duration(n) * time.Hour) }
	jp23 := store.Scope{Sensor: "jp-1", Group: "Japan", Port: "23/TCP"}
	// Hours seen: a [0, 2], b [3, 3], c [1, 5], d [3, 4], e [6, 6].
	alerts := []store.Alert{
		newAlert("port-surge", jp23, h(0), 3),
		newAlert("port-surge", store.Scope{Sensor: "us-1", Group: "overseas", Port: "23/TCP"}, h(3), 1),
		newAlert("peer-only", store.Scope{Sensor: "jp-1", Group: "Japan", Port: "445/TCP"}, h(1), 5),
		newAlert("origin-surge", store.Scope{Country: "CN", ASN: 4134}, h(3), 2),
		newAlert("port-surge", store.Scope{Group: "Japan", Port: "23/TCP"}, h(6), 1),
	}
	alerts[1].State = store.AlertAcknowledged
	alerts[2].State = store.AlertResolved
	alerts[2].Resolved = h(6)
	ids, err := s.PutAlerts(ctx, writes(alerts...), nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int64{}
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		byName[name] = ids[i]
	}
	for _, tt := range []struct {
		name string
		q    store.AlertQuery
		want string // the alerts, in order
	}{
		{name: "all, by start then ID descending", q: store.AlertQuery{}, want: "e d b c a"},
		{name: "IDs", q: store.AlertQuery{IDs: []int64{byName["c"], byName["a"], byName["e"] + 100}}, want: "c a"},
		{name: "states", q: store.AlertQuery{States: []store.AlertState{store.AlertOpen, store.AlertResolved}}, want: "e d c a"},
		{name: "one state", q: store.AlertQuery{States: []store.AlertState{store.AlertAcknowledged}}, want: "b"},
		{name: "detector", q: store.AlertQuery{Detector: "port-surge"}, want: "e b a"},
		{name: "scope: a sensor covers its ports", q: store.AlertQuery{Scope: store.Scope{Sensor: "jp-1"}}, want: "c a"},
		{name: "scope: a port", q: store.AlertQuery{Scope: store.Scope{Port: "23/TCP"}}, want: "e b a"},
		{name: "scope: a group and a port", q: store.AlertQuery{Scope: store.Scope{Group: "Japan", Port: "23/TCP"}}, want: "e a"},
		{name: "scope: an exact scope", q: store.AlertQuery{Scope: jp23}, want: "a"},
		{name: "scope: an AS", q: store.AlertQuery{Scope: store.Scope{ASN: 4134}}, want: "d"},
		{name: "scope: nothing has it", q: store.AlertQuery{Scope: store.Scope{Tag: "mirai"}}, want: ""},
		{name: "since: seen at or after", q: store.AlertQuery{Since: h(3)}, want: "e d b c"},
		{name: "until: seen before", q: store.AlertQuery{Until: h(3)}, want: "c a"},
		{name: "since and until: overlapping the hour", q: store.AlertQuery{Since: h(2), Until: h(3)}, want: "c a"},
		{name: "since and until: within an alert", q: store.AlertQuery{Since: h(5), Until: h(6)}, want: "c"},
		{name: "limit", q: store.AlertQuery{Limit: 2}, want: "e d"},
		{name: "since and until beyond any time stored", q: store.AlertQuery{Since: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
			Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, want: "e d b c a"},
		{name: "everything together", q: store.AlertQuery{Detector: "port-surge", States: []store.AlertState{store.AlertOpen},
			Scope: store.Scope{Port: "23/TCP"}, Since: h(1), Limit: 1}, want: "e"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Alerts(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			gotNames := []string{}
			for _, a := range got {
				for name, id := range byName {
					if a.ID == id {
						gotNames = append(gotNames, name)
					}
				}
			}
			if diff := gocmp.Diff(gotNames, strings.Fields(tt.want)); diff != "" {
				t.Errorf("Alerts(%+v) (-got, +want):\n%s", tt.q, diff)
			}
		})
	}
	if _, err := s.Alerts(ctx, store.AlertQuery{States: []store.AlertState{"closed"}}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Alerts(state closed) error = %v, want one naming it", err)
	}
	if _, err := s.Alerts(ctx, store.AlertQuery{Limit: -1}); err == nil {
		t.Error("Alerts(limit -1) succeeded, want an error")
	}
}

// testSilences: silences are created, replaced, listed by ID (those not
// ended by a time) and deleted; unknown IDs fail with ErrUnknownSilence.
func testSilences(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	if got, err := s.Silences(ctx, time.Time{}); err != nil || len(got) != 0 {
		t.Fatalf("Silences() of a new store = %v, %v; want none", got, err)
	}
	created := alertHour.Add(-time.Minute)
	maint := store.Silence{Scope: store.Scope{Sensor: "jp-1"}, Start: alertHour, End: alertHour.Add(2 * time.Hour),
		By: "admin", Comment: "maintenance", Created: created}
	scanner := store.Silence{Detector: "port-new", Scope: store.Scope{Port: "8728/TCP"}, Start: alertHour, End: alertHour.Add(24 * time.Hour),
		By: "admin", Comment: "a known campaign", Created: created}
	var err error
	if maint.ID, err = s.PutSilence(ctx, maint); err != nil {
		t.Fatal(err)
	}
	if scanner.ID, err = s.PutSilence(ctx, scanner); err != nil {
		t.Fatal(err)
	}
	if maint.ID <= 0 || scanner.ID <= maint.ID {
		t.Fatalf("PutSilence() IDs = %d, %d; want two increasing", maint.ID, scanner.ID)
	}
	check := func(when string, at time.Time, want ...store.Silence) {
		t.Helper()
		got, err := s.Silences(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Silences(%s) %s (-got, +want):\n%s", at.Format(time.RFC3339), when, diff)
		}
	}
	check("all", time.Time{}, maint, scanner)
	check("before either ends", alertHour.Add(time.Hour), maint, scanner)
	check("when the first ends", maint.End, scanner)
	check("after both ended", scanner.End.Add(time.Hour))
	check("at the end of time", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))

	longer := scanner
	longer.End, longer.Comment = scanner.End.Add(24*time.Hour), "longer"
	if id, err := s.PutSilence(ctx, longer); err != nil || id != scanner.ID {
		t.Fatalf("PutSilence(replace %d) = %d, %v", scanner.ID, id, err)
	}
	check("after a replacement", scanner.End, longer)
	if _, err := s.PutSilence(ctx, store.Silence{ID: longer.ID + 100, Start: alertHour, End: alertHour.Add(time.Hour)}); !errors.Is(err, store.ErrUnknownSilence) {
		t.Errorf("PutSilence(unknown ID) error = %v, want ErrUnknownSilence", err)
	}
	if _, err := s.PutSilence(ctx, store.Silence{Start: alertHour, End: alertHour}); err == nil {
		t.Error("PutSilence(ending as it starts) succeeded, want an error")
	}

	if err := s.DeleteSilence(ctx, longer.ID); err != nil {
		t.Fatal(err)
	}
	check("after a deletion", time.Time{}, maint)
	if err := s.DeleteSilence(ctx, longer.ID); !errors.Is(err, store.ErrUnknownSilence) {
		t.Errorf("DeleteSilence(deleted) error = %v, want ErrUnknownSilence", err)
	}
	fresh := scanner
	fresh.ID = 0
	next, err := s.PutSilence(ctx, fresh)
	if err != nil || next <= longer.ID {
		t.Errorf("PutSilence(new) after deleting %d = %d, %v; want a new ID above it", longer.ID, next, err)
	}
}

// testAlertText: evidence reads back as written, its times in UTC; text
// of any kind is either stored exactly or refused with an error naming
// its field, and a value JSON cannot hold is refused.
func testAlertText(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	tokyo := time.FixedZone("JST", 9*3600)
	a := newAlert("peer-only", store.Scope{Sensor: "jp-1", Group: "Japan", Port: "23/TCP"}, alertHour.In(tokyo), 3)
	a.Evidence.Hour = alertHour.Add(time.Hour).In(tokyo)
	a.Evidence.Observed, a.Evidence.Baseline, a.Evidence.Spread, a.Evidence.Score = 1.0/3, 1e-300, math.SmallestNonzeroFloat64, -0.25
	a.Evidence.Others = []store.PeerChange{{Sensor: "jp-2", Observed: 12, Baseline: 11.5, Score: 0.3}, {Group: "overseas", Observed: 40, Baseline: 38, Score: 0.1}}
	for i := range 3 {
		a.Evidence.Series = append(a.Evidence.Series, store.EvidencePoint{Hour: alertHour.Add(time.Duration(i) * time.Hour).In(tokyo), Observed: float64(i * 1000), Baseline: 310})
	}
	ids, err := s.PutAlerts(ctx, []store.AlertWrite{{Alert: a, Notify: "opened"}}, []string{"webhook"})
	if err != nil {
		t.Fatal(err)
	}
	want := withID(a, ids[0])
	got, err := s.Alerts(ctx, store.AlertQuery{IDs: ids})
	if err != nil || len(got) != 1 {
		t.Fatalf("Alerts(ID %d) = %v, %v", ids[0], got, err)
	}
	if diff := gocmp.Diff(got[0], want); diff != "" {
		t.Errorf("Alerts() (-got, +want):\n%s", diff)
	}
	utc := []time.Time{got[0].Start, got[0].LastSeen, got[0].Updated, got[0].Evidence.Hour}
	for _, p := range got[0].Evidence.Series {
		utc = append(utc, p.Hour)
	}
	for _, at := range utc {
		if at.Location() != time.UTC {
			t.Errorf("a time of the alert read back in %v, want UTC", at.Location())
		}
	}
	notes, err := s.PendingNotifications(ctx, "", a.Updated, 1)
	if err != nil || len(notes) != 1 {
		t.Fatalf("PendingNotifications() = %v, %v; want the alert's", notes, err)
	}
	if diff := gocmp.Diff(notes[0].Alert, want); diff != "" {
		t.Errorf("the notification's alert (-got, +want):\n%s", diff)
	}

	// Text that is valid UTF-8 without NUL bytes is stored exactly by
	// every backend; the rest may be refused.
	hostile := map[string]struct {
		text      string
		mayRefuse bool
	}{
		"quotes and SQL": {`it's "23/TCP"; DROP TABLE alerts; --`, false},
		"backslashes":    {`C:\temp\%s\n`, false},
		"Japanese":       {"東京のセンサーだけ", false},
		"a NUL byte":     {"before\x00after", true},
		"invalid UTF-8":  {"bad \xff\xfe byte", true},
	}
	fields := []struct {
		name string
		set  func(a *store.Alert, text string)
	}{
		{"summary", func(a *store.Alert, text string) { a.Summary = text }},
		{"sensor", func(a *store.Alert, text string) { a.Scope.Sensor = text }},
		{"detector", func(a *store.Alert, text string) { a.Detector = text }},
		{"method", func(a *store.Alert, text string) { a.Evidence.Method = text }},
	}
	for _, name := range slices.Sorted(maps.Keys(hostile)) {
		for _, f := range fields {
			field := f.name
			w := newAlert("port-surge", store.Scope{Port: "23/TCP"}, alertHour, 1)
			f.set(&w, hostile[name].text)
			ids, err := s.PutAlerts(ctx, writes(w), nil)
			if err != nil {
				if !hostile[name].mayRefuse || !strings.Contains(err.Error(), field) {
					t.Errorf("PutAlerts(%s in the %s) error = %v, want it stored, or refused naming the field", name, field, err)
				}
				continue
			}
			got, err := s.Alerts(ctx, store.AlertQuery{IDs: ids, Detector: w.Detector, Scope: w.Scope})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(got, []store.Alert{withID(w, ids[0])}); diff != "" {
				t.Errorf("%s in the %s: Alerts() (-got, +want):\n%s", name, field, diff)
			}
		}
	}

	before, err := s.Alerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	inf := newAlert("port-surge", store.Scope{Port: "23/TCP"}, alertHour, 1)
	inf.Evidence.Score = math.Inf(1)
	if _, err := s.PutAlerts(ctx, writes(inf), nil); err == nil {
		t.Error("PutAlerts(an infinite score) succeeded, want an error")
	}
	if after, err := s.Alerts(ctx, store.AlertQuery{}); err != nil || len(after) != len(before) {
		t.Errorf("Alerts() after a refused write: %d alerts, %v; want %d", len(after), err, len(before))
	}
}

// testActivity checks PortHours and TagHours over the simulated capture
// of testQuestionsTruth against its reference model, per hour, sensor and
// port (or tag), over a range that starts and ends within the data and
// within an hour; and their totals over the whole capture against the
// simulator's truth.
func testActivity(t *testing.T, s store.Store, model []stored, truth *simulate.Truth) {
	ctx := t.Context()
	sensors, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[int32]string{}
	for _, sen := range sensors {
		names[sen.ID] = sen.Name
	}
	type key struct {
		hour          time.Time
		sensor, label string
	}
	type counts struct{ Packets, Sources, Mirai uint64 }
	from, to := truth.Start.Add(10*24*time.Hour+30*time.Minute), truth.End.Add(-10*24*time.Hour+20*time.Minute)
	first, end := from.Truncate(time.Hour), to.Truncate(time.Hour)

	wantPorts, wantTags := map[key]counts{}, map[key]uint64{}
	sources := map[key]map[string]bool{}
	for _, r := range model {
		if r.time.Before(first) || !r.time.Before(end) {
			continue
		}
		k := key{r.time.Truncate(time.Hour), r.sensor, r.port}
		c := wantPorts[k]
		c.Packets++
		if r.tags.Has(record.TagMirai) {
			c.Mirai++
		}
		wantPorts[k] = c
		if sources[k] == nil {
			sources[k] = map[string]bool{}
		}
		sources[k][r.src] = true
		for _, tag := range r.tags.Names() {
			wantTags[key{k.hour, r.sensor, tag}]++
		}
	}
	for k, set := range sources {
		c := wantPorts[k]
		c.Sources = uint64(len(set))
		wantPorts[k] = c
	}

	gotPorts := map[key]counts{}
	var prev *store.PortHour
	disorder := ""
	err = s.PortHours(ctx, from, to, func(h store.PortHour) error {
		if prev != nil && disorder == "" && cmp.Or(h.Hour.Compare(prev.Hour), cmp.Compare(h.Sensor, prev.Sensor), cmp.Compare(h.Slot, prev.Slot)) <= 0 {
			disorder = fmt.Sprintf("PortHours: %+v after %+v, want hour, sensor, slot increasing", h, *prev)
		}
		prev = &h
		k := key{h.Hour, names[h.Sensor], portcount.Key(uint32(h.Slot)).Label()}
		if h.Hour.Location() != time.UTC || h.Packets == 0 {
			t.Errorf("PortHours: %+v, want an hour in UTC with packets", h)
		}
		gotPorts[k] = counts{h.Packets, h.Sources, h.Mirai}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(wantPorts) == 0 {
		t.Fatal("the model has no packets in the range")
	}
	if diff := gocmp.Diff(gotPorts, wantPorts, gocmp.AllowUnexported(key{})); diff != "" {
		t.Errorf("PortHours(%s, %s) (-got, +model):\n%s", from, to, diff)
	}

	gotTags := map[key]uint64{}
	var prevTag *store.TagHour
	err = s.TagHours(ctx, from, to, func(h store.TagHour) error {
		if prevTag != nil && disorder == "" && cmp.Or(h.Hour.Compare(prevTag.Hour), cmp.Compare(h.Sensor, prevTag.Sensor), cmp.Compare(h.Tag, prevTag.Tag)) <= 0 {
			disorder = fmt.Sprintf("TagHours: %+v after %+v, want hour, sensor, tag increasing", h, *prevTag)
		}
		prevTag = &h
		gotTags[key{h.Hour, names[h.Sensor], h.Tag}] = h.Packets
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(gotTags, wantTags, gocmp.AllowUnexported(key{})); diff != "" {
		t.Errorf("TagHours(%s, %s) (-got, +model):\n%s", from, to, diff)
	}
	if disorder != "" {
		t.Error(disorder) // the first only
	}

	// The whole capture sums to the simulator's truth.
	ports, tags := map[string]map[string]uint64{}, map[string]map[string]uint64{}
	for name := range truth.Sensors {
		ports[name], tags[name] = map[string]uint64{}, map[string]uint64{}
	}
	if err := s.PortHours(ctx, truth.Start, truth.End, func(h store.PortHour) error {
		ports[names[h.Sensor]][portcount.Key(uint32(h.Slot)).Label()] += h.Packets
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.TagHours(ctx, truth.Start, truth.End, func(h store.TagHour) error {
		tags[names[h.Sensor]][h.Tag] += h.Packets
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for name, st := range truth.Sensors {
		if diff := gocmp.Diff(ports[name], nonZero(st.Ports)); diff != "" {
			t.Errorf("PortHours(the capture) of %s per port (-got, +truth):\n%s", name, diff)
		}
		if diff := gocmp.Diff(tags[name], nonZero(st.Tags)); diff != "" {
			t.Errorf("TagHours(the capture) of %s per tag (-got, +truth):\n%s", name, diff)
		}
	}

	// An error of fn stops the calls and is returned; an empty range or
	// one without data makes none.
	stop := errors.New("enough")
	calls := 0
	if err := s.PortHours(ctx, from, to, func(store.PortHour) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("PortHours(fn failing) = %v after %d calls, want %v after 1", err, calls, stop)
	}
	calls = 0
	if err := s.TagHours(ctx, from, to, func(store.TagHour) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("TagHours(fn failing) = %v after %d calls, want %v after 1", err, calls, stop)
	}
	calls = 0
	for _, r := range [][2]time.Time{
		{from, from.Add(10 * time.Minute)}, // within one hour: no whole hour
		{to, from},
		{truth.Start.AddDate(-1, 0, 0), truth.Start},
	} {
		if err := s.PortHours(ctx, r[0], r[1], func(store.PortHour) error { calls++; return nil }); err != nil {
			t.Error(err)
		}
		if err := s.TagHours(ctx, r[0], r[1], func(store.TagHour) error { calls++; return nil }); err != nil {
			t.Error(err)
		}
		if calls != 0 {
			t.Errorf("PortHours and TagHours(%s, %s): %d calls, want none", r[0], r[1], calls)
		}
	}
	testPartHour(t, s, model, names, from.Add(20*24*time.Hour+7*time.Minute))
}

// testPartHour: PartHour counts the part [at, at+20m) of an hour as the
// model does, ordered by sensor and slot (tag), stamped with the hour; a
// span over two hours is refused.
func testPartHour(t *testing.T, s store.Store, model []stored, names map[int32]string, at time.Time) {
	ctx := t.Context()
	end := at.Add(20 * time.Minute)
	hour := at.Truncate(time.Hour)
	type counts struct{ Packets, Sources, Mirai uint64 }
	wantPorts, wantTags := map[string]counts{}, map[string]uint64{}
	sources := map[string]map[string]bool{}
	for _, r := range model {
		if r.time.Before(at) || !r.time.Before(end) {
			continue
		}
		k := r.sensor + " " + r.port
		c := wantPorts[k]
		c.Packets++
		if r.tags.Has(record.TagMirai) {
			c.Mirai++
		}
		wantPorts[k] = c
		if sources[k] == nil {
			sources[k] = map[string]bool{}
		}
		sources[k][r.src] = true
		for _, tag := range r.tags.Names() {
			wantTags[r.sensor+" "+tag]++
		}
	}
	for k, set := range sources {
		c := wantPorts[k]
		c.Sources = uint64(len(set))
		wantPorts[k] = c
	}
	if len(wantPorts) == 0 {
		t.Fatal("the model has no packets in the part of the hour")
	}
	gotPorts, gotTags := map[string]counts{}, map[string]uint64{}
	var lastPort, lastTag string
	err := s.PartHour(ctx, at, end, func(h store.PortHour) error {
		k := names[h.Sensor] + " " + portcount.Key(uint32(h.Slot)).Label()
		order := fmt.Sprintf("%010d %010d", h.Sensor, h.Slot)
		if !h.Hour.Equal(hour) || order <= lastPort {
			t.Errorf("PartHour: %+v after %s, want the hour %s, by sensor and slot", h, lastPort, hour)
		}
		lastPort = order
		gotPorts[k] = counts{h.Packets, h.Sources, h.Mirai}
		return nil
	}, func(h store.TagHour) error {
		order := fmt.Sprintf("%010d %s", h.Sensor, h.Tag)
		if !h.Hour.Equal(hour) || order <= lastTag {
			t.Errorf("PartHour: %+v after %s, want the hour %s, by sensor and tag", h, lastTag, hour)
		}
		lastTag = order
		gotTags[names[h.Sensor]+" "+h.Tag] = h.Packets
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(gotPorts, wantPorts); diff != "" {
		t.Errorf("PartHour(%s, %s) ports (-got, +model):\n%s", at, end, diff)
	}
	if diff := gocmp.Diff(gotTags, wantTags); diff != "" {
		t.Errorf("PartHour(%s, %s) tags (-got, +model):\n%s", at, end, diff)
	}
	nop := func(store.PortHour) error { return nil }
	if err := s.PartHour(ctx, at, at.Add(time.Hour), nop, func(store.TagHour) error { return nil }); err == nil {
		t.Error("PartHour over two hours: no error")
	}
}
