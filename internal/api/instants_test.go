package api

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// TestDefaultPeriodsAtInstants asks the API for its default views at the
// instants where calendar arithmetic trips — the first minute of a month,
// the first hour of a quarter, New Year, 29 February, the last second of a
// month — over 92 days of traffic up to that instant. Every default answer
// must have data, and a period under way must be compared with the same
// elapsed part of the previous one.
func TestDefaultPeriodsAtInstants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, now string
		// The default period: the last 30 days, today included.
		period string
		// A period under way asked explicitly, and what it is compared with.
		asked, current, previous string
		// The previous part is seconds long, or before the 92 days of
		// data: it may rightly hold no packet.
		quietPrevious bool
	}{
		{"first minute of a month", "2026-12-01T00:00:30Z", "2026-11-02T00:00:00Z/2026-12-02T00:00:00Z",
			"2026-12", "2026-12-01T00:00:00Z/2026-12-01T00:00:30Z", "2026-11-01T00:00:00Z/2026-11-01T00:00:30Z", true},
		{"first hour of a quarter", "2027-04-01T00:20:00Z", "2027-03-03T00:00:00Z/2027-04-02T00:00:00Z",
			"2027Q2", "2027-04-01T00:00:00Z/2027-04-01T00:20:00Z", "2027-01-01T00:00:00Z/2027-01-01T00:20:00Z", false},
		{"New Year", "2027-01-01T00:00:30Z", "2026-12-03T00:00:00Z/2027-01-02T00:00:00Z",
			"2027", "2027-01-01T00:00:00Z/2027-01-01T00:00:30Z", "2026-01-01T00:00:00Z/2026-01-01T00:00:30Z", true},
		{"New Year's Eve", "2026-12-31T18:10:00Z", "2026-12-02T00:00:00Z/2027-01-01T00:00:00Z",
			"2026-12-31", "2026-12-31T00:00:00Z/2026-12-31T18:00:00Z", "2026-12-30T00:00:00Z/2026-12-30T18:00:00Z", false},
		{"29 February", "2028-02-29T12:00:00Z", "2028-01-31T00:00:00Z/2028-03-01T00:00:00Z",
			"2028-02", "2028-02-01T00:00:00Z/2028-02-29T12:00:00Z", "2028-01-01T00:00:00Z/2028-01-29T12:00:00Z", false},
		{"last second of a month", "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z/2026-12-01T00:00:00Z",
			"2026-11", "2026-11-01T00:00:00Z/2026-11-30T23:00:00Z", "2026-10-01T00:00:00Z/2026-10-30T23:00:00Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now, err := time.Parse(time.RFC3339, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			st, err := duckdb.Open(t.Context(), filepath.Join(t.TempDir(), "t.duckdb"), duckdb.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			cfg := simulate.DefaultConfig()
			cfg.Seed, cfg.Packets, cfg.Sources = 3, 40_000, 2_000
			cfg.Duration = 92 * 24 * time.Hour
			cfg.Start = now.Add(-cfg.Duration)
			cfg.Fleet = simulate.DefaultFleet()
			storetest.Simulated(t, st, cfg)
			f := &fixture{st: st, now: now, h: New(st, Options{Now: func() time.Time { return now }})}

			var top TopPortsResponse
			f.getJSON(t, "/api/v1/top-ports", &top)
			if top.Period != tc.period || len(top.Sensors) != 6 || len(top.Sensors[0].Ports) == 0 {
				t.Errorf("default top-ports: period %s with %d sensors, want %s with 6 sensors with ports", top.Period, len(top.Sensors), tc.period)
			}
			var ga GroupAveragesResponse
			f.getJSON(t, "/api/v1/group-averages", &ga)
			if ga.Period != tc.period || len(ga.Groups) != 2 || len(ga.Groups[0].Months) == 0 {
				t.Errorf("default group-averages: period %s, %d groups; want %s and 2 groups with months", ga.Period, len(ga.Groups), tc.period)
			}

			var ov OverviewResponse
			f.getJSON(t, "/api/v1/overview", &ov)
			if ov.Period != tc.period || ov.PeriodPackets == 0 || !ov.Change.Partial || ov.Change.PreviousPackets == 0 || ov.Change.CurrentPackets == 0 {
				t.Errorf("default overview: period %s, %d packets, change %+v; want %s with packets, partial, both sides with packets",
					ov.Period, ov.PeriodPackets, ov.Change, tc.period)
			}
			if want := now.Format(time.DateOnly); ov.Today != want || ov.Daily.Days[len(ov.Daily.Days)-1] != want {
				t.Errorf("overview: today %s, daily series ending %s; want %s", ov.Today, ov.Daily.Days[len(ov.Daily.Days)-1], want)
			}

			f.getJSON(t, "/api/v1/overview?period="+tc.asked, &ov)
			got := [3]any{ov.Change.Current, ov.Change.Previous, ov.Change.Partial}
			if diff := cmp.Diff(got, [3]any{tc.current, tc.previous, true}); diff != "" {
				t.Errorf("overview of %s at %s: comparison (-got, +want):\n%s", tc.asked, tc.now, diff)
			}
			if ov.Change.PreviousPackets == 0 && !tc.quietPrevious {
				t.Errorf("overview of %s at %s: no packets in the previous part %s", tc.asked, tc.now, ov.Change.Previous)
			}
		})
	}
}
