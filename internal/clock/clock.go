// Package clock is the time that Nightjar's commands run on. Every command
// reads "now" through a Clock, so that a person (`nightjar --now`, or
// NIGHTJAR_NOW) or a test can run the whole system as if it were another
// instant — the first minute of a month, New Year, 29 February — and see
// what a user sees then. Certificates and TLS are the exception: they are
// checked against the real time, whatever the clock says.
package clock

import (
	"fmt"
	"strings"
	"time"
)

// Clock returns the current instant.
type Clock func() time.Time

// EnvVar is the environment variable every command reads as --now.
const EnvVar = "NIGHTJAR_NOW"

// System is the wall clock.
func System() time.Time { return time.Now() }

// StartingAt returns a clock that reads t now and then advances with the
// wall clock, so that live traffic, timers and "5 minutes ago" keep their
// meaning. The monotonic reading drives it: changes of the wall clock do
// not move it.
func StartingAt(t time.Time) Clock {
	base := time.Now()
	t = t.UTC()
	return func() time.Time { return t.Add(time.Since(base)) }
}

// Parse reads the instant of --now: an RFC 3339 time
// ("2027-01-01T00:01:00Z", any offset) or a date ("2024-02-29", its first
// second in UTC). The empty string is the wall clock.
func Parse(s string) (Clock, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return System, nil
	}
	t, err := parseInstant(s)
	if err != nil {
		return nil, err
	}
	return StartingAt(t), nil
}

// parseInstant reads an RFC 3339 time or a date, as Parse does.
func parseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2027-01-01T00:01:00Z) nor a date (2024-02-29)", s)
}
