package web

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// TestPublicGraphsHideSmallGroups: with public port graphs, a group of one
// sensor is that sensor's traffic, which the public must not see; a
// logged-in viewer still does.
func TestPublicGraphsHideSmallGroups(t *testing.T) {
	t.Parallel()
	st, err := duckdb.Open(t.Context(), filepath.Join(t.TempDir(), "public.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := simulate.DefaultConfig()
	cfg.Seed, cfg.Packets, cfg.Sources = 7, 20_000, 500
	cfg.Start, cfg.Duration = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), 10*24*time.Hour
	// Japan has three sensors, overseas two, Singapore one.
	cfg.Fleet = simulate.DefaultFleet()
	for i, sensor := range cfg.Fleet.Sensors {
		if sensor.Name == "sg-sin-1" {
			cfg.Fleet.Sensors[i].Group = "Singapore"
		}
	}
	storetest.Simulated(t, st, cfg)
	now := func() time.Time { return time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC) }
	users := NewUsers(testUser(t, "victor", Viewer, "victor-password"))

	// groups returns the groups that the answers of path name.
	groups := func(t *testing.T, s *testServer, c *http.Client, path string) []string {
		t.Helper()
		res := do(t, c, "GET", s.URL+path, nil)
		if res.status != 200 {
			t.Fatalf("GET %s = %d:\n%s", path, res.status, res.body)
		}
		var ans struct {
			Groups []struct{ Group string }
			Fleet  struct{ Sensors int }
			Series []struct{ Group string }
		}
		if err := json.Unmarshal([]byte(res.body), &ans); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range ans.Groups {
			names = append(names, g.Group)
		}
		for _, s := range ans.Series {
			names = append(names, s.Group)
		}
		if ans.Fleet.Sensors > 0 {
			names = append(names, "fleet")
		}
		slices.Sort(names)
		return slices.Compact(names)
	}
	const (
		topPorts = "/api/v1/group-top-ports?period=2024-07"
		series   = "/api/v1/port-series?period=2024-07&port=23/TCP&port=445/TCP&by=group"
		fleet    = "/api/v1/port-series?period=2024-07&port=23/TCP&by=fleet"
	)
	for _, tc := range []struct {
		name      string
		min       int
		login     bool
		wantTop   []string
		wantSerie []string
		wantFleet []string // the fleet's series are named ""
	}{
		{"anonymous, default minimum", 0, false, []string{"Japan", "fleet", "overseas"}, []string{"Japan", "overseas"}, []string{""}},
		{"anonymous, minimum 3", 3, false, []string{"Japan", "fleet"}, []string{"Japan"}, []string{""}},
		{"anonymous, minimum 7", 7, false, nil, nil, nil},
		{"viewer", 0, true, []string{"Japan", "Singapore", "fleet", "overseas"}, []string{"Japan", "Singapore", "overseas"}, []string{""}},
	} {
		s := newTestServer(t, Options{Users: users, Public: true, PublicMinSensors: tc.min, Now: now, API: api.New(st, api.Options{Now: now})})
		c := s.client(t)
		if tc.login {
			s.login(t, c, "victor", "victor-password")
		}
		if diff := cmp.Diff(groups(t, s, c, topPorts), tc.wantTop); diff != "" {
			t.Errorf("%s: groups of %s (-got, +want):\n%s", tc.name, topPorts, diff)
		}
		if diff := cmp.Diff(groups(t, s, c, series), tc.wantSerie); diff != "" {
			t.Errorf("%s: groups of %s (-got, +want):\n%s", tc.name, series, diff)
		}
		if diff := cmp.Diff(groups(t, s, c, fleet), tc.wantFleet); diff != "" {
			t.Errorf("%s: series of %s (-got, +want):\n%s", tc.name, fleet, diff)
		}
	}
}
