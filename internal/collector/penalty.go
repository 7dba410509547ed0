package collector

import (
	"context"
	"sync"
	"time"
)

// penalties slow down the sensors whose batches are refused whole
// (corrupt, a compression bomb, too large): each refusal doubles the
// pause before that sensor's next message is read, from 50 ms up to a
// second, and each stored batch halves it. Decoding a bomb up to its
// limit costs the collector real work; the pause charges it to the
// sensor that sent it, whichever of its streams it uses, instead of to
// the honest sensors sharing the cores. An honest sensor never sends such
// a batch, so it never waits.
type penalties struct {
	mu sync.Mutex
	by map[string]*penalty
}

type penalty struct {
	pause time.Duration
	until time.Time
}

const (
	minPenalty = 50 * time.Millisecond
	maxPenalty = time.Second
)

func newPenalties() *penalties { return &penalties{by: map[string]*penalty{}} }

// refused notes a refused batch of sensor at now.
func (p *penalties) refused(sensor string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.by[sensor]
	if q == nil {
		q = &penalty{}
		p.by[sensor] = q
	}
	q.pause = min(max(2*q.pause, minPenalty), maxPenalty)
	q.until = now.Add(q.pause)
}

// stored notes a stored batch: the pause halves, and goes once below the
// minimum.
func (p *penalties) stored(sensor string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q := p.by[sensor]; q != nil {
		if q.pause /= 2; q.pause < minPenalty {
			delete(p.by, sensor)
		}
	}
}

// wait returns when sensor's pause is over, or ctx is done.
func (p *penalties) wait(ctx context.Context, sensor string) error {
	p.mu.Lock()
	var d time.Duration
	if q := p.by[sensor]; q != nil {
		d = time.Until(q.until)
	}
	p.mu.Unlock()
	if d <= 0 {
		return nil
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
