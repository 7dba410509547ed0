package main

import (
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

func TestHeld(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2024, 7, d, 12, 0, 0, 0, time.UTC) }
	tests := []struct {
		name    string
		sensors []store.Sensor
		want    string
	}{
		{"no sensors", nil, "the database holds no packets yet"},
		{"quiet sensors", []store.Sensor{{ID: 1}, {ID: 2}}, "the database holds no packets yet"},
		{"earliest first, latest last", []store.Sensor{
			{ID: 1, FirstSeen: day(3), LastSeen: day(20)},
			{ID: 2},
			{ID: 3, FirstSeen: day(1), LastSeen: day(9)},
		}, "the database holds packets from 2024-07-01 to 2024-07-20"},
	}
	for _, tt := range tests {
		if got := held(tt.sensors); got != tt.want {
			t.Errorf("%s: held() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
