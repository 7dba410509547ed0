package deliver

import "time"

// The back-off of a receiver that fails: the wait before the next attempt
// doubles from backoffBase up to backoffCap, so that a receiver down for a
// day is tried every quarter of an hour and gets everything within one
// when it comes back.
const (
	backoffBase = 10 * time.Second
	backoffCap  = 15 * time.Minute
)

// Backoff is the wait after a notification's attempts-th failed attempt
// (1 for the first), given r in [0, 1): "equal jitter", half the doubled
// wait plus r times the other half, so that receivers that failed together
// are not retried in step while none is retried much sooner than planned.
func Backoff(attempts int, r float64) time.Duration {
	d := backoffCap
	if attempts < 1 {
		attempts = 1
	}
	if shift := attempts - 1; shift < 30 { // past it, 10 s << shift is beyond the cap anyway
		d = min(backoffBase<<shift, backoffCap)
	}
	return d/2 + time.Duration(r*float64(d/2))
}
