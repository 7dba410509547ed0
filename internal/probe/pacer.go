package probe

import (
	"context"
	"sync"
	"time"
)

// pacer spaces the starts of connections at least interval apart, across
// all workers: a rate limit with a burst of one. It runs on the runtime's
// monotonic time, not on the injected clock, which may be set to another
// instant (--now) and stamps records only; testing/synctest fakes it.
type pacer struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // the earliest start of the next connection
}

func newPacer(perSecond float64) *pacer {
	return &pacer{interval: time.Duration(float64(time.Second) / perSecond)}
}

// wait reserves the next start and sleeps until it, or returns ctx's error
// (the reserved start is then lost: the run is ending).
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	start := p.next
	if start.Before(now) {
		start = now
	}
	p.next = start.Add(p.interval)
	p.mu.Unlock()
	d := start.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
