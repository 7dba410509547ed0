package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The store's alert store is an Outbox.
var _ Outbox = store.AlertStore(nil)

// memOutbox is the outbox of store.AlertStore in memory, as its contract
// says: pending means undelivered and due, oldest first.
type memOutbox struct {
	mu   sync.Mutex
	rows []store.Notification
	// failReads and failWrites, when set, are the errors of the reads and
	// the writes.
	failReads, failWrites error
}

// queue queues an event of the alert for each receiver, as PutAlerts
// does, and returns the notifications' IDs.
func (o *memOutbox) queue(at time.Time, event string, a store.Alert, receivers ...string) []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []int64
	for _, r := range receivers {
		id := int64(len(o.rows) + 1)
		o.rows = append(o.rows, store.Notification{ID: id, Receiver: r, Event: event, Alert: a, Queued: at, NextAttempt: at})
		ids = append(ids, id)
	}
	return ids
}

func (o *memOutbox) PendingNotifications(_ context.Context, receiver string, now time.Time, limit int) ([]store.Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failReads != nil {
		return nil, o.failReads
	}
	var due []store.Notification
	for _, n := range o.rows {
		if n.Delivered.IsZero() && !n.NextAttempt.After(now) && (receiver == "" || n.Receiver == receiver) && len(due) < limit {
			due = append(due, n)
		}
	}
	return due, nil
}

func (o *memOutbox) PutNotification(_ context.Context, n store.Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failWrites != nil {
		return o.failWrites
	}
	if n.ID < 1 || int(n.ID) > len(o.rows) {
		return fmt.Errorf("unknown notification %d", n.ID)
	}
	if !o.rows[n.ID-1].Delivered.IsZero() {
		return fmt.Errorf("notification %d written after its delivery", n.ID)
	}
	o.rows[n.ID-1] = n
	return nil
}

// get returns the stored notification of an ID.
func (o *memOutbox) get(id int64) store.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.rows[id-1]
}

// all returns every notification, in ID order.
func (o *memOutbox) all() []store.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.rows)
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// t0 is when the tests' alerts are queued.
var t0 = time.Date(2024, 7, 15, 5, 0, 10, 0, time.UTC)

// baseURL is the tests' dashboard, behind a path prefix.
const baseURL = "https://nightjar.example/telescope"

// testAlert is alert id of a port surge at tokyo-1.
func testAlert(id int64, severity store.Severity) store.Alert {
	return store.Alert{
		ID: id, Detector: "port-surge", Scope: store.Scope{Sensor: "tokyo-1", Port: "23/TCP"},
		State: store.AlertOpen, Severity: severity,
		Start: time.Date(2024, 7, 15, 3, 0, 0, 0, time.UTC), LastSeen: time.Date(2024, 7, 15, 4, 0, 0, 0, time.UTC),
		Summary: fmt.Sprintf("23/TCP at tokyo-1: 4,210 packets in the hour against 310 usually (#%d)", id),
		Evidence: store.Evidence{
			Measure: "packets", Hour: time.Date(2024, 7, 15, 4, 0, 0, 0, time.UTC), Observed: 4210, Baseline: 310,
			Spread: 40, Score: 97.5, Method: "same hour of the previous 4 weeks, median",
			Others: []store.PeerChange{{Sensor: "osaka-1", Observed: 300, Baseline: 290, Score: 0.3}},
		},
		Link: "/ports?sensor=tokyo-1&port=23%2FTCP",
	}
}

// halfRand is the jitter draw of the tests: the middle of the range.
func halfRand() float64 { return 0.5 }

// startDispatcher makes and starts a Dispatcher on the outbox and clock,
// stopped when the test ends. Its loops wait an hour: the test calls Flush.
func startDispatcher(t *testing.T, out Outbox, clk *fakeClock, receivers ...ReceiverConfig) *Dispatcher {
	t.Helper()
	cfg := Config{BaseURL: baseURL, Interval: time.Hour, Receivers: receivers}
	d, err := New(slog.New(slog.NewTextHandler(t.Output(), nil)), cfg, Deps{Outbox: out, Clock: clk.Now, Rand: halfRand})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func flush(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Flush(t.Context()); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
}

// webhookReceiver is a receiver of the json format at url.
func webhookReceiver(name, url string) ReceiverConfig {
	return ReceiverConfig{Name: name, Webhook: &WebhookConfig{URL: url}}
}
