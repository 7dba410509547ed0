package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The events an alert's receivers are told of.
const (
	EventOpened       = "opened"
	EventReopened     = "reopened"
	EventEscalated    = "escalated"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
)

// maxSeries is how many hours an alert's evidence series keeps (a week).
const maxSeries = 7 * 24

// Lifecycle moves alerts through their states in a Book: from the
// findings of each hour (Observe), and by a person (Acknowledge,
// Resolve).
type Lifecycle struct {
	book      Book
	cfg       *Config
	receivers []string
}

// NewLifecycle keeps alerts in book, telling receivers of their changes.
func NewLifecycle(book Book, cfg *Config, receivers []string) *Lifecycle {
	return &Lifecycle{book: book, cfg: cfg, receivers: receivers}
}

// Observe applies the findings of the hour h, at instant now: a finding
// updates the alert of its detector and scope while it lasts (open or
// acknowledged), re-opens it if it was resolved within ReopenWithin,
// opens a new one otherwise; an alert of the book not seen for
// ResolveAfter is resolved. It returns what it wrote.
func (l *Lifecycle) Observe(ctx context.Context, now, h time.Time, findings []Finding) ([]store.AlertWrite, error) {
	live, err := l.book.Alerts(ctx, store.AlertQuery{States: []store.AlertState{store.AlertOpen, store.AlertAcknowledged}})
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	recent, err := l.book.Alerts(ctx, store.AlertQuery{States: []store.AlertState{store.AlertResolved}, Since: h.Add(-l.cfg.ReopenWithin)})
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	silences, err := l.book.Silences(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	byKey := map[string]store.Alert{}
	for _, a := range recent { // newest first: keep the newest of a key
		if _, ok := byKey[a.Key()]; !ok {
			byKey[a.Key()] = a
		}
	}
	for _, a := range live {
		byKey[a.Key()] = a
	}
	var writes []store.AlertWrite
	seen := map[string]bool{}
	for _, f := range strongestPerKey(findings) {
		a, had := byKey[f.key()]
		event := ""
		switch {
		case !had:
			a = store.Alert{Detector: f.Detector, Scope: f.Scope, State: store.AlertOpen, Start: f.Hour}
			event = EventOpened
		case a.State == store.AlertResolved:
			a.State, a.Resolved, a.By, a.Note = store.AlertOpen, time.Time{}, "", ""
			a.Reopened++
			event = EventReopened
		}
		if f.Hour.Before(a.LastSeen) {
			continue // a late look at an hour already past it
		}
		if had && f.Severity.Rank() > a.Severity.Rank() && event == "" {
			event = EventEscalated
		}
		update(&a, f, now)
		seen[a.Key()] = true
		writes = append(writes, store.AlertWrite{Alert: a, Notify: muted(silences, a, now, event)})
	}
	for _, a := range live {
		if seen[a.Key()] || h.Sub(a.LastSeen) < l.cfg.ResolveAfter {
			continue
		}
		a.State, a.Resolved, a.Updated = store.AlertResolved, now, now
		a.By, a.Note = "nightjar", fmt.Sprintf("not seen for %s", l.cfg.ResolveAfter)
		writes = append(writes, store.AlertWrite{Alert: a, Notify: muted(silences, a, now, EventResolved)})
	}
	if len(writes) == 0 {
		return nil, nil
	}
	ids, err := l.book.PutAlerts(ctx, writes, l.receivers)
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	for i := range writes {
		writes[i].Alert.ID = ids[i]
	}
	return writes, nil
}

func (f Finding) key() string { return f.Detector + " " + f.Scope.String() }

// strongestPerKey keeps, of findings with the same detector and scope,
// the one of the highest score.
func strongestPerKey(fs []Finding) []Finding {
	var out []Finding
	at := map[string]int{}
	for _, f := range fs {
		if i, ok := at[f.key()]; ok {
			if f.Evidence.Score > out[i].Evidence.Score {
				out[i] = f
			}
			continue
		}
		at[f.key()] = len(out)
		out = append(out, f)
	}
	return out
}

// update brings an alert up to a finding: last seen, the series, and the
// evidence and summary of its peak.
func update(a *store.Alert, f Finding, now time.Time) {
	if f.Hour.After(a.LastSeen) || a.LastSeen.IsZero() {
		a.LastSeen = f.Hour
	}
	series := a.Evidence.Series
	noticed := now
	if n := len(series); n > 0 && series[n-1].Hour.Equal(f.Hour) {
		noticed = series[n-1].Noticed // the hour so far, looked at again
		series = series[:n-1]
	}
	series = append(series, store.EvidencePoint{Hour: f.Hour, Observed: f.Evidence.Observed, Baseline: f.Evidence.Baseline, Noticed: noticed})
	if len(series) > maxSeries {
		series = series[len(series)-maxSeries:]
	}
	if a.Summary == "" || f.Evidence.Score >= a.Evidence.Score || f.Severity.Rank() > a.Severity.Rank() {
		a.Evidence, a.Summary = f.Evidence, f.Summary
	}
	a.Evidence.Series = series
	a.Severity = store.Severity(maxRank(a.Severity, f.Severity))
	a.Research = f.Research
	if f.Research {
		a.Severity = store.SeverityInfo
	}
	a.Updated = now
	a.Link = Link(*a)
}

func maxRank(a, b store.Severity) store.Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// muted returns event, or "" when a silence mutes the alert now.
func muted(silences []store.Silence, a store.Alert, now time.Time, event string) string {
	if slices.ContainsFunc(silences, func(s store.Silence) bool { return s.Mutes(a, now) }) {
		return ""
	}
	return event
}

// ErrAlreadyResolved: a resolved alert cannot be acknowledged (it is
// re-opened when it comes back).
var ErrAlreadyResolved = errors.New("alert is resolved")

// Acknowledge marks an open alert acknowledged by a person: someone is on
// it. It goes on being updated, and is resolved as any other.
func (l *Lifecycle) Acknowledge(ctx context.Context, id int64, by, note string, now time.Time) (store.Alert, error) {
	return l.byPerson(ctx, id, func(a *store.Alert) (string, error) {
		if a.State == store.AlertResolved {
			return "", fmt.Errorf("acknowledge alert %d: %w", id, ErrAlreadyResolved)
		}
		a.State = store.AlertAcknowledged
		return EventAcknowledged, nil
	}, by, note, now)
}

// Resolve marks an alert resolved by a person. If the change comes back
// within ReopenWithin, the alert is re-opened.
func (l *Lifecycle) Resolve(ctx context.Context, id int64, by, note string, now time.Time) (store.Alert, error) {
	return l.byPerson(ctx, id, func(a *store.Alert) (string, error) {
		if a.State == store.AlertResolved {
			return "", fmt.Errorf("resolve alert %d: %w", id, ErrAlreadyResolved)
		}
		a.State, a.Resolved = store.AlertResolved, now
		return EventResolved, nil
	}, by, note, now)
}

func (l *Lifecycle) byPerson(ctx context.Context, id int64, change func(*store.Alert) (string, error), by, note string, now time.Time) (store.Alert, error) {
	found, err := l.book.Alerts(ctx, store.AlertQuery{IDs: []int64{id}})
	if err != nil {
		return store.Alert{}, err
	}
	if len(found) == 0 {
		return store.Alert{}, fmt.Errorf("alert %d: %w", id, store.ErrUnknownAlert)
	}
	if by == "" {
		return store.Alert{}, fmt.Errorf("alert %d: say who you are (by)", id)
	}
	a := found[0]
	event, err := change(&a)
	if err != nil {
		return store.Alert{}, err
	}
	a.By, a.Note, a.Updated = by, note, now
	silences, err := l.book.Silences(ctx, now)
	if err != nil {
		return store.Alert{}, err
	}
	if _, err := l.book.PutAlerts(ctx, []store.AlertWrite{{Alert: a, Notify: muted(silences, a, now, event)}}, l.receivers); err != nil {
		return store.Alert{}, err
	}
	return a, nil
}
