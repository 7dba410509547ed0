package deliver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestReceiverDownThenUp: a webhook that answers 503 is retried after 7.5,
// 15, 30 and 60 s (the back-off with the jitter drawn at 0.5), only its
// oldest notification tried meanwhile; once it answers 200 it gets every
// notification exactly once, in queue order.
func TestReceiverDownThenUp(t *testing.T) {
	hook := NewRecorder(t)
	hook.SetStatus(http.StatusServiceUnavailable)
	out := &memOutbox{}
	for id := int64(1); id <= 3; id++ {
		out.queue(t0, "opened", testAlert(id, store.SeverityCritical), "soc")
	}
	clk := &fakeClock{t: t0}
	d := startDispatcher(t, out, clk, webhookReceiver("soc", hook.URL))

	for attempt, wait := range []time.Duration{7500 * time.Millisecond, 15 * time.Second, 30 * time.Second, 60 * time.Second} {
		flush(t, d)
		head := out.get(1)
		want := store.Notification{Attempts: attempt + 1, NextAttempt: clk.Now().Add(wait),
			LastError: "POST " + strings.TrimSuffix(hook.URL, "/hook") + `: 503 Service Unavailable "Service Unavailable"`}
		got := store.Notification{Attempts: head.Attempts, NextAttempt: head.NextAttempt, LastError: head.LastError}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Fatalf("after attempt %d: the oldest notification (-got, +want):\n%s", attempt+1, diff)
		}
		if n := len(hook.Requests()); n != attempt+1 {
			t.Fatalf("after attempt %d: the webhook got %d requests, want %d (only the oldest is tried)", attempt+1, n, attempt+1)
		}
		clk.Set(head.NextAttempt.Add(-time.Second))
		flush(t, d)
		if n := len(hook.Requests()); n != attempt+1 {
			t.Fatalf("a second before attempt %d is due: the webhook got %d requests, want %d", attempt+2, n, attempt+1)
		}
		clk.Set(head.NextAttempt)
	}

	hook.SetStatus(http.StatusOK)
	flush(t, d)
	flush(t, d)
	var want []Message
	for _, n := range out.all() {
		if n.Delivered.IsZero() || !n.Delivered.Equal(clk.Now()) {
			t.Errorf("notification %d: Delivered %v, want %v", n.ID, n.Delivered, clk.Now())
		}
		a := n.Alert
		a.Link = baseURL + a.Link
		want = append(want, Message{Notification: n.ID, Receiver: "soc", Event: "opened", Queued: t0, Alert: a})
	}
	if diff := cmp.Diff(hook.Delivered(t), want, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("the webhook received (-got, +want):\n%s", diff)
	}
	if got := out.get(2).Attempts; got != 1 {
		t.Errorf("notification 2: %d attempts, want 1 (not tried while the one before waited)", got)
	}

	const metrics = `
# HELP nightjar_alerts_notifications_pending Notifications in the outbox not yet delivered, by receiver, as of its last read (counted up to 500).
# TYPE nightjar_alerts_notifications_pending gauge
nightjar_alerts_notifications_pending{receiver="soc"} 0
# HELP nightjar_alerts_notifications_total Notification attempts by receiver and outcome (delivered; skipped: an alert the receiver does not want; failed and rejected: retried, rejected being a 4xx or SMTP 5xx, likely a configuration error).
# TYPE nightjar_alerts_notifications_total counter
nightjar_alerts_notifications_total{outcome="delivered",receiver="soc"} 3
nightjar_alerts_notifications_total{outcome="failed",receiver="soc"} 4
nightjar_alerts_notifications_total{outcome="rejected",receiver="soc"} 0
nightjar_alerts_notifications_total{outcome="skipped",receiver="soc"} 0
`
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d.Metrics()...)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(metrics)); err != nil {
		t.Error(err)
	}
}

// TestReceiverDownForADay: alerts keep coming for a day while the
// receiver is down; it is tried at least every 15 minutes, and within 15
// minutes of coming back it has every one, once, in order.
func TestReceiverDownForADay(t *testing.T) {
	hook := NewRecorder(t)
	hook.SetStatus(http.StatusBadGateway)
	out := &memOutbox{}
	clk := &fakeClock{t: t0}
	d := startDispatcher(t, out, clk, webhookReceiver("soc", hook.URL))
	var queued []int64
	for clk.Now().Before(t0.Add(24 * time.Hour)) {
		if clk.Now().Sub(t0)%time.Hour == 0 {
			queued = append(queued, out.queue(clk.Now(), "opened", testAlert(int64(len(queued)+1), store.SeverityWarning), "soc")...)
		}
		flush(t, d)
		clk.Advance(time.Minute)
	}
	tried := len(hook.Requests())
	if head := out.get(1); head.Attempts != tried || tried < 24*4 {
		t.Errorf("after a day down: the oldest notification was tried %d times and the webhook got %d requests, want the same, at least 96", head.Attempts, tried)
	}

	hook.SetStatus(http.StatusNoContent)
	back := clk.Now()
	for len(hook.Delivered(t)) < len(queued) && clk.Now().Sub(back) <= backoffCap {
		flush(t, d)
		clk.Advance(time.Minute)
	}
	var got []int64
	for _, m := range hook.Delivered(t) {
		got = append(got, m.Notification)
	}
	if diff := cmp.Diff(got, queued); diff != "" {
		t.Errorf("within 15 minutes of coming back, the webhook received (-got, +want):\n%s", diff)
	}
}

// TestWebhookAnswers: what each answer of a webhook counts as. Every
// failure is retried; a 4xx (but 408 and 429) and a redirect are rejected,
// the configuration's fault. An error never shows the URL's path, which is
// often the webhook's secret.
func TestWebhookAnswers(t *testing.T) {
	tests := map[int]string{
		http.StatusOK:                  outcomeDelivered,
		http.StatusAccepted:            outcomeDelivered,
		http.StatusFound:               outcomeRejected,
		http.StatusBadRequest:          outcomeRejected,
		http.StatusUnauthorized:        outcomeRejected,
		http.StatusNotFound:            outcomeRejected,
		http.StatusRequestTimeout:      outcomeFailed,
		http.StatusTooManyRequests:     outcomeFailed,
		http.StatusInternalServerError: outcomeFailed,
		http.StatusServiceUnavailable:  outcomeFailed,
	}
	for code, want := range tests {
		t.Run(http.StatusText(code), func(t *testing.T) {
			t.Parallel()
			hook := NewRecorder(t)
			hook.SetStatus(code)
			out := &memOutbox{}
			out.queue(t0, "opened", testAlert(1, store.SeverityCritical), "soc")
			d := startDispatcher(t, out, &fakeClock{t: t0}, webhookReceiver("soc", hook.URL+"/T0000/B0000/s3cret"))
			flush(t, d)
			n := out.get(1)
			if got := outcomeOf(n); got != want {
				t.Errorf("HTTP %d: outcome %s (%q), want %s", code, got, n.LastError, want)
			}
			if strings.Contains(n.LastError, "s3cret") {
				t.Errorf("HTTP %d: LastError %q shows the URL's secret", code, n.LastError)
			}
			if got := testutil.ToFloat64(d.metrics.attempts.WithLabelValues("soc", want)); got != 1 {
				t.Errorf("HTTP %d: nightjar_alerts_notifications_total{outcome=%q} = %v, want 1", code, want, got)
			}
		})
	}
}

// outcomeOf reads a notification's last outcome from what is stored.
func outcomeOf(n store.Notification) string {
	switch {
	case strings.HasPrefix(n.LastError, "skipped: "):
		return outcomeSkipped
	case !n.Delivered.IsZero():
		return outcomeDelivered
	case strings.Contains(n.LastError, ErrRejected.Error()):
		return outcomeRejected
	}
	return outcomeFailed
}

// TestSlowReceiver: a receiver that never answers times out and is
// retried, and meanwhile another receiver gets its notifications at once.
func TestSlowReceiver(t *testing.T) {
	var answer atomic.Bool
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answer.Load() {
			return // 200
		}
		select { // holds the request until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close, which waits for the handlers
	fast := NewRecorder(t)
	out := &memOutbox{}
	out.queue(t0, "opened", testAlert(1, store.SeverityCritical), "slow", "fast")
	clk := &fakeClock{t: t0}
	slowReceiver := webhookReceiver("slow", slow.URL)
	slowReceiver.Timeout = time.Second
	d := startDispatcher(t, out, clk, slowReceiver, webhookReceiver("fast", fast.URL))

	flushed := make(chan error)
	go func() { flushed <- d.Flush(t.Context()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := fast.Wait(ctx, 1); err != nil {
		t.Fatalf("the fast receiver got nothing: %v", err)
	}
	select {
	case <-flushed:
		t.Error("the fast receiver was served only once the slow one had timed out")
	default:
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	n := out.get(1)
	if n.Attempts != 1 || !n.Delivered.IsZero() || !strings.Contains(n.LastError, context.DeadlineExceeded.Error()) {
		t.Fatalf("the slow receiver's notification: %d attempts, delivered %v, LastError %q; want 1 attempt failed on its timeout", n.Attempts, n.Delivered, n.LastError)
	}

	answer.Store(true)
	clk.Set(n.NextAttempt)
	flush(t, d)
	if n := out.get(1); n.Attempts != 2 || n.Delivered.IsZero() {
		t.Errorf("the slow receiver's notification, once it answers: %d attempts, delivered %v; want 2, delivered", n.Attempts, n.Delivered)
	}
}

// TestSkipped: the alerts a receiver does not want (below its
// min_severity, of research scanners) are recorded delivered and skipped,
// and counted; a receiver that wants everything gets them.
func TestSkipped(t *testing.T) {
	soc, all := NewRecorder(t), NewRecorder(t)
	out := &memOutbox{}
	info := testAlert(1, store.SeverityInfo)
	research := testAlert(2, store.SeverityCritical)
	research.Research = true
	warning := testAlert(3, store.SeverityWarning)
	for _, a := range []store.Alert{info, research, warning} {
		out.queue(t0, "opened", a, "soc", "all")
	}
	everything := webhookReceiver("all", all.URL)
	everything.MinSeverity, everything.Research = store.SeverityInfo, true
	d := startDispatcher(t, out, &fakeClock{t: t0}, webhookReceiver("soc", soc.URL), everything)
	flush(t, d)

	var got []string
	for _, n := range out.all() {
		got = append(got, n.Receiver+": "+outcomeOf(n)+" "+n.LastError)
	}
	want := []string{
		"soc: skipped skipped: severity info below the receiver's min_severity warning", "all: delivered ",
		"soc: skipped skipped: research-scanner activity (the receiver's research option is off)", "all: delivered ",
		"soc: delivered ", "all: delivered ",
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("the outcomes (-got, +want):\n%s", diff)
	}
	if got := len(soc.Requests()); got != 1 {
		t.Errorf("soc got %d requests, want 1", got)
	}
	if got := len(all.Requests()); got != 3 {
		t.Errorf("all got %d requests, want 3", got)
	}
	for outcome, want := range map[string]float64{outcomeSkipped: 2, outcomeDelivered: 1} {
		if got := testutil.ToFloat64(d.metrics.attempts.WithLabelValues("soc", outcome)); got != want {
			t.Errorf("nightjar_alerts_notifications_total{receiver=soc,outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
}

// TestLoop: after Start, Wake delivers at once (the interval is an hour).
func TestLoop(t *testing.T) {
	hook := NewRecorder(t)
	out := &memOutbox{}
	d := startDispatcher(t, out, &fakeClock{t: t0}, webhookReceiver("soc", hook.URL))
	out.queue(t0, "opened", testAlert(1, store.SeverityCritical), "soc")
	d.Wake()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := hook.Wait(ctx, 1); err != nil {
		t.Fatalf("after Wake, the webhook got nothing: %v", err)
	}
}

// TestOutboxFails: a store that fails is Flush's error; a notification
// delivered whose outcome was not stored is delivered again, with the same
// notification ID for the receiver to drop.
func TestOutboxFails(t *testing.T) {
	hook := NewRecorder(t)
	out := &memOutbox{failReads: errors.New("database is locked")}
	out.queue(t0, "opened", testAlert(1, store.SeverityCritical), "soc")
	d := startDispatcher(t, out, &fakeClock{t: t0}, webhookReceiver("soc", hook.URL))
	if err := d.Flush(t.Context()); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Flush() with the reads failing = %v, want their error", err)
	}
	out.failReads, out.failWrites = nil, errors.New("disk full")
	if err := d.Flush(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush() with the writes failing = %v, want their error", err)
	}
	out.failWrites = nil
	flush(t, d)
	var got []int64
	for _, m := range hook.Delivered(t) {
		got = append(got, m.Notification)
	}
	if diff := cmp.Diff(got, []int64{1, 1}); diff != "" {
		t.Errorf("the webhook received (-got, +want):\n%s", diff)
	}
	if n := out.get(1); n.Delivered.IsZero() {
		t.Error("the notification is still pending")
	}
}

// TestFlushBeforeStart: Flush needs the receivers Start makes.
func TestFlushBeforeStart(t *testing.T) {
	d, err := New(nil, Config{BaseURL: baseURL, Receivers: []ReceiverConfig{webhookReceiver("soc", "http://127.0.0.1:1/")}}, Deps{Outbox: &memOutbox{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(t.Context()); !errors.Is(err, errNotStarted) {
		t.Errorf("Flush() before Start = %v, want errNotStarted", err)
	}
	if err := d.Stop(); err != nil {
		t.Errorf("Stop() before Start = %v", err)
	}
}
