package alerts

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Book is where alerts are kept: the store (store.AlertStore), or a
// MemoryBook for a backtest.
type Book interface {
	PutAlerts(ctx context.Context, writes []store.AlertWrite, receivers []string) ([]int64, error)
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.Alert, error)
	Silences(ctx context.Context, at time.Time) ([]store.Silence, error)
}

// MemoryBook is a Book in memory, without silences or receivers: what a
// backtest fills, so that a look at the past never writes to the store.
type MemoryBook struct {
	mu     sync.Mutex
	alerts []store.Alert // index ID-1
}

// PutAlerts implements Book; receivers are ignored.
func (b *MemoryBook) PutAlerts(_ context.Context, writes []store.AlertWrite, _ []string) ([]int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range writes {
		if w.Alert.ID < 0 || w.Alert.ID > int64(len(b.alerts)) {
			return nil, fmt.Errorf("put alert %d: %w", w.Alert.ID, store.ErrUnknownAlert)
		}
	}
	ids := make([]int64, len(writes))
	for i, w := range writes {
		a := w.Alert
		if a.ID == 0 {
			a.ID = int64(len(b.alerts)) + 1
			b.alerts = append(b.alerts, a)
		} else {
			b.alerts[a.ID-1] = a
		}
		ids[i] = a.ID
	}
	return ids, nil
}

// Alerts implements Book.
func (b *MemoryBook) Alerts(_ context.Context, q store.AlertQuery) ([]store.Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []store.Alert
	for _, a := range b.alerts {
		if Selects(q, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y store.Alert) int {
		if c := y.Start.Compare(x.Start); c != 0 {
			return c
		}
		return cmp.Compare(y.ID, x.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Silences implements Book: a MemoryBook has none.
func (b *MemoryBook) Silences(context.Context, time.Time) ([]store.Silence, error) { return nil, nil }

// Selects reports whether q selects a, as store.AlertStore's Alerts
// documents (the Limit aside).
func Selects(q store.AlertQuery, a store.Alert) bool {
	return (len(q.IDs) == 0 || slices.Contains(q.IDs, a.ID)) &&
		(len(q.States) == 0 || slices.Contains(q.States, a.State)) &&
		(q.Detector == "" || q.Detector == a.Detector) &&
		q.Scope.Covers(a.Scope) &&
		(q.Since.IsZero() || !a.LastSeen.Before(q.Since)) &&
		(q.Until.IsZero() || a.Start.Before(q.Until))
}
