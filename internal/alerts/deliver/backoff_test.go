package deliver

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := map[string]struct {
		attempts int
		r        float64
		want     time.Duration
	}{
		"first, jitter low":     {1, 0, 5 * time.Second},
		"first, jitter middle":  {1, 0.5, 7500 * time.Millisecond},
		"first, jitter high":    {1, 0.999, 9995 * time.Millisecond},
		"second":                {2, 0, 10 * time.Second},
		"fifth":                 {5, 0, 80 * time.Second},
		"seventh, under cap":    {7, 0.5, 480 * time.Second},
		"eighth, capped":        {8, 0, 450 * time.Second},
		"eighth, capped, high":  {8, 0.999, 899550 * time.Millisecond},
		"a day of attempts":     {10000, 0.5, 675 * time.Second},
		"zero counts as first":  {0, 0, 5 * time.Second},
		"shift past int64 bits": {64, 0, 450 * time.Second},
	}
	for name, tt := range tests {
		if got := Backoff(tt.attempts, tt.r); got != tt.want {
			t.Errorf("%s: Backoff(%d, %v) = %v, want %v", name, tt.attempts, tt.r, got, tt.want)
		}
	}
}
