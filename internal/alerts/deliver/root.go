// Package deliver owns the delivery of the alerts' notifications: it reads
// the outbox that store.AlertStore.PutAlerts fills (one store.Notification
// per alert event and receiver, queued with the alert), sends each to its
// receiver — a webhook (JSON, or Slack's incoming-webhook shape) or a
// mailbox over SMTP — and records the outcome, with Prometheus metrics of
// the deliveries and of the open alerts.
//
// No notification is dropped: a failed attempt is retried after an
// exponential back-off with jitter (Backoff: 10 s doubling to 15 min),
// without limit, and a receiver gets its notifications in queue order, the
// next only once the one before is delivered. A receiver that answers 4xx
// (but 408 and 429) is retried too, and logged as misconfigured. The
// alerts a receiver does not want (below its min_severity, or of research
// scanners) are recorded delivered with LastError "skipped: ...", and
// counted. Delivery is at least once: a receiver that took a notification
// whose outcome could not be stored gets it again, with the same
// Message.Notification ID.
//
// Wiring (a process that runs the alerts engine):
//
//	d, err := deliver.New(logger, cfg, deliver.Deps{Outbox: alertStore, Clock: now})
//	runner.Add("notifications", d)         // after the store, before the engine
//	metrics.Serve(addr, append(d.Metrics(), open)...)
//
// where the engine stores its alerts with
// alertStore.PutAlerts(ctx, writes, cfg.ReceiverNames()), then calls
// d.Wake() to deliver at once rather than at the next interval, and sets
// the open-alerts gauge (open := deliver.NewOpenAlerts()) with
// open.SetOpen(alerts) after each run.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Outbox is the part of store.AlertStore the Dispatcher reads and writes.
type Outbox interface {
	PendingNotifications(ctx context.Context, receiver string, now time.Time, limit int) ([]store.Notification, error)
	PutNotification(ctx context.Context, n store.Notification) error
}

// Deps are what a Dispatcher works with.
type Deps struct {
	Outbox Outbox
	// Clock stamps the attempts and decides what is due (clock.System
	// when nil). The interval between outbox reads is real time.
	Clock clock.Clock
	// Rand draws the back-off's jitter in [0, 1) (math/rand/v2's Float64
	// when nil).
	Rand func() float64
}

// Dispatcher delivers the outbox's notifications, each receiver on its
// own so that one down or slow delays no other.
type Dispatcher struct {
	log       *slog.Logger
	cfg       Config
	deps      Deps
	metrics   *metrics
	receivers []*receiver

	started atomic.Bool
	cancel  context.CancelFunc // ends the loops' outbox reads and waits
	wg      sync.WaitGroup
}

// receiver is one receiver's state: its sender, and the lock that keeps
// its deliveries one at a time (the loop's and Flush's).
type receiver struct {
	cfg  ReceiverConfig
	log  *slog.Logger
	send sender // set by Start
	wake chan struct{}
	mu   sync.Mutex
}

// sender delivers one notification to a receiver, within ctx.
type sender interface {
	send(ctx context.Context, n store.Notification) error
}

// ErrRejected marks a delivery the receiver refused as it would refuse
// it again (an HTTP 4xx but 408 and 429, a redirect, an SMTP 5xx): its
// configuration is likely wrong. It is retried all the same, so that
// nothing is lost while it is being fixed.
var ErrRejected = errors.New("rejected by the receiver")

// errNotStarted is Flush's error before Start.
var errNotStarted = errors.New("deliver: the dispatcher is not started")

// pageSize is how many notifications one outbox read returns.
const pageSize = 500

// New checks cfg and returns a Dispatcher; it does no I/O.
func New(logger *slog.Logger, cfg Config, deps Deps) (*Dispatcher, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if deps.Outbox == nil {
		return nil, errors.New("notifications: no outbox")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if deps.Clock == nil {
		deps.Clock = clock.System
	}
	if deps.Rand == nil {
		deps.Rand = rand.Float64
	}
	d := &Dispatcher{log: logger, cfg: cfg, deps: deps, metrics: newMetrics(cfg.ReceiverNames())}
	for _, rc := range cfg.Receivers {
		d.receivers = append(d.receivers, &receiver{cfg: rc, log: logger.With("receiver", rc.Name), wake: make(chan struct{}, 1)})
	}
	return d, nil
}

// Start reads the receivers' files (passwords, CAs) and starts one
// delivery loop per receiver, which reads the outbox every interval and
// at each Wake.
func (d *Dispatcher) Start(ctx context.Context) error {
	for _, r := range d.receivers {
		s, err := newSender(r.cfg, d.cfg.BaseURL, d.deps.Clock, r.log)
		if err != nil {
			return fmt.Errorf("notifications: receiver %s: %w", r.cfg.Name, err)
		}
		r.send = s
	}
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.started.Store(true)
	for _, r := range d.receivers {
		d.wg.Go(func() { d.loop(ctx, r) })
	}
	return nil
}

// Stop ends the loops once their deliveries in flight have ended (each
// within its receiver's timeout).
func (d *Dispatcher) Stop() error {
	if !d.started.Swap(false) {
		return nil
	}
	d.cancel()
	d.wg.Wait()
	return nil
}

// Wake makes every receiver's loop read the outbox now rather than at the
// next interval; it does not wait. Call it after storing alerts.
func (d *Dispatcher) Wake() {
	for _, r := range d.receivers {
		select {
		case r.wake <- struct{}{}:
		default: // a read is already due
		}
	}
}

// Flush delivers, for every receiver at once, what is due now, and
// returns when each has delivered all it could: its outbox empty, or its
// oldest notification failed or waiting for its next attempt. Its error
// is the outbox's (a failed delivery is recorded, not returned).
func (d *Dispatcher) Flush(ctx context.Context) error {
	if !d.started.Load() {
		return errNotStarted
	}
	errs := make([]error, len(d.receivers))
	var wg sync.WaitGroup
	for i, r := range d.receivers {
		wg.Go(func() { errs[i] = d.pass(ctx, r) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Metrics returns the delivery metrics for a Prometheus registry.
func (d *Dispatcher) Metrics() []prometheus.Collector { return d.metrics.collectors() }

func (d *Dispatcher) loop(ctx context.Context, r *receiver) {
	tick := time.NewTicker(d.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.wake:
		}
		if err := d.pass(ctx, r); err != nil && ctx.Err() == nil {
			r.log.Warn("read or write the outbox", "err", err)
		}
	}
}

// pass delivers the receiver's notifications in queue order until one
// fails or waits for its next attempt. It reads every undelivered one, not
// only those due, so that a later notification is never sent before an
// earlier one that waits.
func (d *Dispatcher) pass(ctx context.Context, r *receiver) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		now := d.deps.Clock()
		page, err := d.deps.Outbox.PendingNotifications(ctx, r.cfg.Name, everything, pageSize)
		if err != nil {
			return fmt.Errorf("pending notifications of %s: %w", r.cfg.Name, err)
		}
		for i, n := range page {
			d.metrics.pending.WithLabelValues(r.cfg.Name).Set(float64(len(page) - i))
			if n.NextAttempt.After(now) || ctx.Err() != nil {
				return nil
			}
			n, ok := d.attempt(ctx, r, n)
			// The outcome is stored even when ctx ends meanwhile: a
			// delivered notification recorded as pending would be sent
			// again.
			putCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
			err := d.deps.Outbox.PutNotification(putCtx, n)
			cancel()
			if err != nil {
				return fmt.Errorf("record notification %d to %s: %w", n.ID, r.cfg.Name, err)
			}
			if !ok {
				return nil
			}
		}
		d.metrics.pending.WithLabelValues(r.cfg.Name).Set(0)
		if len(page) < pageSize {
			return nil
		}
	}
}

// everything is the "now" of an outbox read that returns every
// undelivered notification, due or not.
var everything = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// maxErrorLen bounds the LastError stored of an attempt.
const maxErrorLen = 1000

// attempt delivers n, or skips it when the receiver does not want its
// alert, and returns it with the outcome recorded; false when it failed.
func (d *Dispatcher) attempt(ctx context.Context, r *receiver, n store.Notification) (store.Notification, bool) {
	if reason := r.unwanted(n.Alert); reason != "" {
		n.Delivered, n.LastError = d.deps.Clock(), "skipped: "+reason
		d.metrics.count(r.cfg.Name, outcomeSkipped)
		return n, true
	}
	// A delivery in flight is not cut short by Stop, only by its timeout:
	// cut, it could reach the receiver and still count as failed.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	err := r.send.send(sendCtx, n)
	cancel()
	now := d.deps.Clock()
	n.Attempts++
	if err == nil {
		n.Delivered, n.LastError = now, ""
		d.metrics.count(r.cfg.Name, outcomeDelivered)
		return n, true
	}
	wait := Backoff(n.Attempts, d.deps.Rand())
	n.NextAttempt, n.LastError = now.Add(wait), truncate(err.Error(), maxErrorLen)
	attrs := []any{"notification", n.ID, "alert", n.Alert.ID, "attempts", n.Attempts, "retry_seconds", wait.Seconds(), "err", err}
	if errors.Is(err, ErrRejected) {
		d.metrics.count(r.cfg.Name, outcomeRejected)
		r.log.Error("the receiver refuses the notification: check its configuration; retrying", attrs...)
	} else {
		d.metrics.count(r.cfg.Name, outcomeFailed)
		r.log.Warn("notification not delivered; retrying", attrs...)
	}
	return n, false
}

// unwanted says why the receiver does not want the alert, "" when it does.
func (r *receiver) unwanted(a store.Alert) string {
	switch {
	case a.Research && !r.cfg.Research:
		return "research-scanner activity (the receiver's research option is off)"
	case a.Severity.Rank() < r.cfg.MinSeverity.Rank():
		return fmt.Sprintf("severity %s below the receiver's min_severity %s", a.Severity, r.cfg.MinSeverity)
	}
	return ""
}

// truncate cuts s to at most n bytes, at a character's start.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
