package collector

import (
	"context"
	"testing"
	"time"
)

// TestPenalties: each refused batch doubles a sensor's pause from 50 ms
// up to a second, each stored one halves it, and another sensor never
// waits.
func TestPenalties(t *testing.T) {
	p := newPenalties()
	now := time.Now()
	var pauses []time.Duration
	for range 7 {
		p.refused("bad", now)
		pauses = append(pauses, p.by["bad"].pause)
	}
	want := []time.Duration{50, 100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if pauses[i] != want[i]*time.Millisecond {
			t.Fatalf("pauses after each refusal = %v, want %v ms", pauses, want)
		}
	}
	if q := p.by["bad"]; !q.until.Equal(now.Add(time.Second)) {
		t.Errorf("paused until %v, want a second after the refusal", q.until)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx, "bad"); err == nil {
		t.Errorf("wait of a paused sensor returned before its pause")
	}
	if err := p.wait(context.Background(), "good"); err != nil {
		t.Errorf("wait of another sensor: %v", err)
	}
	for range 4 {
		p.stored("bad")
	}
	if q := p.by["bad"]; q == nil || q.pause != 62500*time.Microsecond {
		t.Fatalf("pause after four stored batches = %v, want 62.5 ms", q)
	}
	p.stored("bad")
	if _, ok := p.by["bad"]; ok {
		t.Errorf("a pause below the minimum is kept, want it gone")
	}
}
