package record

import (
	"math"
	"time"
)

// Earliest is the oldest record time a sensor or a capture file may
// claim: a time before it comes from a broken clock or a forged input.
var Earliest = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// Why a record time is implausible (a metric's reason label).
const (
	TimeBefore1990 = "time_before_1990"
	TimeInFuture   = "time_in_future"
)

// ImplausibleTime returns why ns (a Record.Time) is outside [Earliest,
// now+maxFuture], or "" if it is inside.
func ImplausibleTime(ns int64, now time.Time, maxFuture time.Duration) string {
	switch {
	case ns < Earliest.UnixNano():
		return TimeBefore1990
	case ns > addSaturated(now.UnixNano(), int64(maxFuture)):
		return TimeInFuture
	}
	return ""
}

func addSaturated(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
