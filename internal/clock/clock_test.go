package clock

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2027-01-01T00:01:00Z", time.Date(2027, 1, 1, 0, 1, 0, 0, time.UTC)},
		{"2027-01-01T09:01:00+09:00", time.Date(2027, 1, 1, 0, 1, 0, 0, time.UTC)},
		{" 2028-02-29 ", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"2026-11-30T23:59:59.5Z", time.Date(2026, 11, 30, 23, 59, 59, 5e8, time.UTC)},
	} {
		c, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		got := c()
		if got.Before(tc.want) || got.Sub(tc.want) > time.Second || got.Location() != time.UTC {
			t.Errorf("Parse(%q)() = %v, want %v (advancing from it, in UTC)", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"tomorrow", "2027-02-29", "2027-01-01 00:01", "1735689600"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
	if c, err := Parse(""); err != nil || time.Since(c()) > time.Second {
		t.Errorf("Parse(\"\") is not the wall clock: %v", err)
	}
}

func TestStartingAtAdvances(t *testing.T) {
	start := time.Date(2026, 12, 31, 23, 59, 59, 900e6, time.UTC)
	c := StartingAt(start)
	first := c()
	time.Sleep(150 * time.Millisecond)
	second := c()
	if d := second.Sub(first); d < 150*time.Millisecond {
		t.Errorf("the clock advanced %v in 150 ms of sleep", d)
	}
	if second.Year() != 2027 {
		t.Errorf("150 ms after %v the clock reads %v, want the new year", start, second)
	}
}
