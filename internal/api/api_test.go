package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/store/storetest"
)

// fixture is the API over a DuckDB store filled with a simulated capture
// of the default fleet, from June 20 to August 19, 2024, with a clock on
// August 25 (after the capture: no packets today) and two health reports.
type fixture struct {
	st  *duckdb.Store
	h   http.Handler
	now time.Time
}

func newFixture(tb testing.TB, packets int) *fixture {
	tb.Helper()
	st, err := duckdb.Open(tb.Context(), filepath.Join(tb.TempDir(), "api.duckdb"), duckdb.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	cfg := simulate.DefaultConfig()
	cfg.Seed = 5
	cfg.Packets = uint64(packets)
	cfg.Sources = packets / 15
	cfg.Start = time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 60 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	storetest.Simulated(tb, st, cfg)
	f := &fixture{st: st, now: time.Date(2024, 8, 25, 12, 0, 0, 0, time.UTC)}
	sensors, err := st.Sensors(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	// jp-tokyo-1 reported a minute ago (active), us-sjc-1 ten minutes ago.
	err = st.PutHealth(tb.Context(), []store.Health{
		{SensorID: sensors[0].ID, Received: f.now.Add(-time.Minute), Reported: f.now.Add(-time.Minute), Version: "test", Uptime: time.Hour, PacketsSeen: 10},
		{SensorID: sensors[3].ID, Received: f.now.Add(-10 * time.Minute), Reported: f.now.Add(-10 * time.Minute), Version: "test", KernelDrops: 3, Lag: time.Second},
	})
	if err != nil {
		tb.Fatal(err)
	}
	putDevices(tb, st)
	putAlerts(tb, st, f.now)
	f.h = New(st, Options{Now: func() time.Time { return f.now }, Alerts: st})
	return f
}

// putDevices attributes devices to the top sources of 2024Q3: three in
// four get one of three models, one of them a conflict, each with its
// evidence.
func putDevices(tb testing.TB, st store.Store) {
	tb.Helper()
	q3, _ := period.Parse("2024Q3")
	top, err := st.TopSources(tb.Context(), store.TopSourcesQuery{Period: q3, N: 40})
	if err != nil {
		tb.Fatal(err)
	}
	models := []store.Device{
		{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Firmware: "1.0.11 Build 20200915 rel.67051", Released: time.Date(2020, 9, 15, 0, 0, 0, 0, time.UTC), Rule: "tplink-archer-title", Confidence: 0.9},
		{Vendor: "MikroTik", Model: "RouterOS", Kind: "router", Rule: "mikrotik-webfig-title", Confidence: 0.9},
		{Vendor: "Hikvision", Model: "IP camera", Kind: "camera", Rule: "hikvision-webs-server", Confidence: 0.8, Conflict: true},
	}
	var devs []store.Device
	var ev []store.DeviceEvidence
	for i, s := range top {
		if i%4 == 3 {
			continue
		}
		d := models[i%3]
		d.Addr, d.Evidence, d.Attributed, d.Alternatives = netip.MustParseAddr(s.IP), 1, time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC), []string{}
		if d.Conflict {
			d.Alternatives = []string{"Dahua DVR"}
		}
		devs = append(devs, d)
		ev = append(ev, store.DeviceEvidence{Addr: d.Addr, Port: 80, Transport: "tcp", Seen: d.Attributed, Source: "shodan", File: "export.json.gz",
			Rule: d.Rule, Field: "http.title", Value: d.Model, Vendor: d.Vendor, Model: d.Model, Kind: d.Kind, Firmware: d.Firmware, Confidence: d.Confidence, Imported: d.Attributed})
	}
	if _, err := st.PutDeviceEvidence(tb.Context(), ev); err != nil {
		tb.Fatal(err)
	}
	if err := st.PutDevices(tb.Context(), devs); err != nil {
		tb.Fatal(err)
	}
}

// do serves a request of method to target (a path and query).
func (f *fixture) do(method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// getJSON gets target, checks that it is a 200 JSON answer and decodes it
// into v.
func (f *fixture) getJSON(t *testing.T, target string, v any) {
	t.Helper()
	rec := f.do(http.MethodGet, target)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %s: %d, %v: %s", target, rec.Code, rec.Header(), rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
}

// generic is v as encoding/json decodes it into an any.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustPeriod(t *testing.T, s string) period.Period {
	t.Helper()
	if from, to, ok := strings.Cut(s, ".."); ok {
		p, err := period.ParseRange(from, to)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p, err := period.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 30_000)
	t.Run("endpoints equal the store's answers", func(t *testing.T) { testEndpoints(t, f) })
	t.Run("overview", func(t *testing.T) { testOverview(t, f) })
	t.Run("csv", func(t *testing.T) { testCSV(t, f) })
	t.Run("bad input", func(t *testing.T) { testBadInput(t, f) })
	t.Run("methods and paths", func(t *testing.T) { testMethods(t, f) })
	t.Run("edge periods", func(t *testing.T) { testEdgePeriods(t, f) })
	t.Run("openapi", func(t *testing.T) { testOpenAPI(t, f) })
	t.Run("alerts", func(t *testing.T) { testAlerts(t, f) })
}

// endpointCase is a request and the store's answer it must equal.
type endpointCase struct {
	target string
	want   func(t *testing.T) any
}

// endpointCases are requests of every endpoint but the overview and the
// document, with the answers the store gives directly.
func endpointCases(t *testing.T, f *fixture) []endpointCase {
	check := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	top := topSource(t, f)
	return []endpointCase{
		{"/api/v1/sensors", func(t *testing.T) any {
			sensors, err := f.st.Sensors(t.Context())
			check(t, err)
			health, err := f.st.Health(t.Context())
			check(t, err)
			return NewSensorsResponse(sensors, health)
		}},
		{"/api/v1/groups", func(t *testing.T) any {
			sensors, err := f.st.Sensors(t.Context())
			check(t, err)
			return NewGroupsResponse(sensors)
		}},
		{"/api/v1/top-ports?period=2024-07&top=5&sensor=de-fra-1&sensor=jp-tokyo-1", func(t *testing.T) any {
			p := mustPeriod(t, "2024-07")
			ans, err := f.st.TopPorts(t.Context(), store.TopPortsQuery{Period: p, N: 5, Sensors: []string{"de-fra-1", "jp-tokyo-1"}})
			check(t, err)
			return NewTopPortsResponse(p, ans)
		}},
		{"/api/v1/top-ports", func(t *testing.T) any { // the last 30 days, top 10
			p := mustPeriod(t, "2024-07-27..2024-08-25")
			ans, err := f.st.TopPorts(t.Context(), store.TopPortsQuery{Period: p, N: 10})
			check(t, err)
			return NewTopPortsResponse(p, ans)
		}},
		{"/api/v1/group-top-ports?period=2024Q3&group=overseas&top=3", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.GroupTopPorts(t.Context(), store.GroupTopPortsQuery{Period: p, N: 3, Groups: []string{"overseas"}})
			check(t, err)
			return NewGroupTopPortsResponse(p, ans)
		}},
		{"/api/v1/group-averages?from=2024-06-25&to=2024-07-05", func(t *testing.T) any {
			p := mustPeriod(t, "2024-06-25..2024-07-05")
			ans, err := f.st.GroupAverages(t.Context(), store.GroupAveragesQuery{Period: p})
			check(t, err)
			return NewGroupAveragesResponse(p, ans, false)
		}},
		{"/api/v1/port-series?period=2024Q3&port=23/TCP&port=icmp&by=group&resolution=month&group=Japan", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.PortSeries(t.Context(), store.PortSeriesQuery{Period: p, Resolution: store.Month, Ports: []string{"23/TCP", "icmp"}, By: store.ByGroup, Groups: []string{"Japan"}})
			check(t, err)
			return NewPortSeriesResponse(p, store.ByGroup, ans)
		}},
		{"/api/v1/port-series?from=2024-07-01T06:30:00Z&to=2024-07-03T00:00:00Z&port=445/TCP&resolution=hour&sensor=us-sjc-1", func(t *testing.T) any {
			p := mustPeriod(t, "2024-07-01T06:30:00Z..2024-07-03T00:00:00Z")
			ans, err := f.st.PortSeries(t.Context(), store.PortSeriesQuery{Period: p, Resolution: store.Hour, Ports: []string{"445/TCP"}, By: store.BySensor, Sensors: []string{"us-sjc-1"}})
			check(t, err)
			return NewPortSeriesResponse(p, store.BySensor, ans)
		}},
		{"/api/v1/port-series?period=2024-07&port=23/TCP&by=fleet", func(t *testing.T) any {
			p := mustPeriod(t, "2024-07")
			ans, err := f.st.PortSeries(t.Context(), store.PortSeriesQuery{Period: p, Resolution: store.Day, Ports: []string{"23/TCP"}, By: store.ByFleet})
			check(t, err)
			return NewPortSeriesResponse(p, store.ByFleet, ans)
		}},
		{"/api/v1/top-sources?period=2024-07&top=20&sensor=jp-osaka-1", func(t *testing.T) any {
			p := mustPeriod(t, "2024-07")
			ans, err := f.st.TopSources(t.Context(), store.TopSourcesQuery{Period: p, N: 20, Sensors: []string{"jp-osaka-1"}})
			check(t, err)
			return NewTopSourcesResponse(p, ans)
		}},
		{"/api/v1/devices?period=2024Q3&top=5", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.Devices(t.Context(), store.DevicesQuery{Period: p, N: 5})
			check(t, err)
			if len(ans.Models) != 3 || ans.Identified != 30 || ans.Conflicts != 10 {
				t.Errorf("devices of 2024Q3: %d models, %d identified, %d conflicts; want the fixture's 3, 30, 10", len(ans.Models), ans.Identified, ans.Conflicts)
			}
			return DevicesResponse{p.String(), ans}
		}},
		{"/api/v1/devices?period=2024Q3&group=Japan&vendor=tp-link", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.Devices(t.Context(), store.DevicesQuery{Period: p, N: 10, Groups: []string{"Japan"}, Vendor: "tp-link"})
			check(t, err)
			if len(ans.Models) != 1 || ans.Models[0].Vendor != "TP-Link" {
				t.Errorf("TP-Link devices of Japan's sources: %+v, want the Archer AX50s", ans.Models)
			}
			return DevicesResponse{p.String(), ans}
		}},
		{"/api/v1/device-series?period=2024Q3&bucket=month&top=2", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.DeviceSeries(t.Context(), store.DeviceSeriesQuery{Period: p, N: 2, Bucket: "month"})
			check(t, err)
			if len(ans.Buckets) != 3 || len(ans.Models) != 2 {
				t.Errorf("device series: %d buckets, %d models; want 3 months of 2 models", len(ans.Buckets), len(ans.Models))
			}
			return DeviceSeriesResponse{p.String(), ans}
		}},
		{"/api/v1/port-sources?period=2024Q3&top=15", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.PortSources(t.Context(), store.PortSourcesQuery{Period: p, N: 15})
			check(t, err)
			return NewPortSourcesResponse(p, ans)
		}},
		{"/api/v1/tags?period=2024&sensor=sg-sin-1", func(t *testing.T) any {
			p := mustPeriod(t, "2024")
			ans, err := f.st.TagCounts(t.Context(), store.TagCountsQuery{Period: p, Sensors: []string{"sg-sin-1"}})
			check(t, err)
			return NewTagsResponse(p, ans)
		}},
		{"/api/v1/sources/" + top + "?period=2024Q3", func(t *testing.T) any {
			p := mustPeriod(t, "2024Q3")
			ans, err := f.st.SourceHistory(t.Context(), store.SourceHistoryQuery{Period: p, IP: netip.MustParseAddr(top)})
			check(t, err)
			if len(ans.Days) < 2 {
				t.Errorf("the top source has %d days; want a history", len(ans.Days))
			}
			dev, ev, ok, err := f.st.SourceDevice(t.Context(), netip.MustParseAddr(top))
			check(t, err)
			if !ok || ans.Device == nil || len(ev) != 1 {
				t.Fatalf("the top source has no device (%v, %+v, %d evidence rows): the fixture is wrong", ok, ans.Device, len(ev))
			}
			return SourceResponse{Period: p.String(), SourceHistory: ans, Attribution: &dev, Evidence: ev}
		}},
		// As a browser's encodeURIComponent writes an IPv6 address.
		{"/api/v1/sources/2001%3Adb8%3A%3A99?from=2024-07-01T12:00:00Z&to=2024-07-02T12:00:00Z", func(t *testing.T) any {
			p := mustPeriod(t, "2024-07-01T12:00:00Z..2024-07-02T12:00:00Z")
			return SourceResponse{Period: p.String(), SourceHistory: store.SourceHistory{IP: "2001:db8::99", PortsExact: true, Tags: []string{}, SensorNames: []string{}, Days: []store.SourceDay{}}, Evidence: []store.DeviceEvidence{}}
		}},
	}
}

// topSource is the busiest source of July.
func topSource(t *testing.T, f *fixture) string {
	t.Helper()
	srcs, err := f.st.TopSources(t.Context(), store.TopSourcesQuery{Period: mustPeriod(t, "2024-07"), N: 1})
	if err != nil || len(srcs) == 0 {
		t.Fatalf("TopSources(2024-07) = %v, %v", srcs, err)
	}
	return srcs[0].IP
}

func testEndpoints(t *testing.T, f *fixture) {
	for _, tt := range endpointCases(t, f) {
		var got any
		f.getJSON(t, tt.target, &got)
		if diff := cmp.Diff(got, generic(t, tt.want(t))); diff != "" {
			t.Errorf("GET %s (-got, +store):\n%s", tt.target, diff)
		}
		if head := f.do(http.MethodHead, tt.target); head.Code != http.StatusOK {
			t.Errorf("HEAD %s: %d", tt.target, head.Code)
		}
	}
}

// testOverview checks the overview against other questions: the packets of
// a day or month are the sum of the sensors' packets in TopPorts.
func testOverview(t *testing.T, f *fixture) {
	packets := func(t *testing.T, p period.Period) uint64 {
		t.Helper()
		ans, err := f.st.TopPorts(t.Context(), store.TopPortsQuery{Period: p, N: 1})
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, sp := range ans {
			n += sp.Packets
		}
		return n
	}
	for _, tt := range []struct {
		query, period string
		top           int
		change        Change // without its packets
	}{
		// By default the last 30 days, under way: compared up to now
		// (12:00, a whole hour) with as long a part of the 30 days before.
		{"", "2024-07-27..2024-08-25", 10, Change{Current: "2024-07-27T00:00:00Z/2024-08-25T12:00:00Z", Previous: "2024-06-27T00:00:00Z/2024-07-26T12:00:00Z", Partial: true}},
		{"?period=2024-07&top=3", "2024-07", 3, Change{Current: "2024-07-01T00:00:00Z/2024-08-01T00:00:00Z", Previous: "2024-06-01T00:00:00Z/2024-07-01T00:00:00Z"}},
		// This month so far against the same part of July.
		{"?period=2024-08", "2024-08", 10, Change{Current: "2024-08-01T00:00:00Z/2024-08-25T12:00:00Z", Previous: "2024-07-01T00:00:00Z/2024-07-25T12:00:00Z", Partial: true}},
	} {
		var got OverviewResponse
		f.getJSON(t, "/api/v1/overview"+tt.query, &got)
		p := mustPeriod(t, tt.period)
		ports, err := f.st.GroupTopPorts(t.Context(), store.GroupTopPortsQuery{Period: p, N: tt.top})
		if err != nil {
			t.Fatal(err)
		}
		// No packets on August 25: jp-tokyo-1 is active by its health
		// report; us-sjc-1's is too old.
		change := tt.change
		change.CurrentPackets = packets(t, mustPeriod(t, strings.Replace(change.Current, "/", "..", 1)))
		change.PreviousPackets = packets(t, mustPeriod(t, strings.Replace(change.Previous, "/", "..", 1)))
		if change.CurrentPackets == 0 || change.PreviousPackets == 0 {
			t.Fatalf("%s: the fixture has no packets to compare: %+v", tt.query, change)
		}
		want := OverviewResponse{Time: f.now, Today: "2024-08-25", Month: "2024-08", PacketsToday: 0, PacketsThisMonth: packets(t, mustPeriod(t, "2024-08")),
			Sensors: 6, ActiveSensors: 1, Period: p.String(), Previous: p.Previous().String(), PeriodPackets: packets(t, p), Change: change, Fleet: ports.Fleet}
		daily := got.Daily
		got.Daily = DailyPackets{}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("GET /api/v1/overview%s (-got, +want):\n%s", tt.query, diff)
		}
		if len(daily.Days) != 90 || daily.Days[0] != "2024-05-28" || daily.Days[89] != "2024-08-25" || len(daily.Fleet) != 90 || len(daily.Groups) != 2 {
			t.Fatalf("daily series: %d days from %v, %d fleet, %d groups; want 90 days, May 28 to August 25, 2 groups", len(daily.Days), daily.Days[:1], len(daily.Fleet), len(daily.Groups))
		}
		var total uint64
		for i, day := range daily.Days {
			total += daily.Fleet[i]
			if sum := daily.Groups[0].Packets[i] + daily.Groups[1].Packets[i]; sum != daily.Fleet[i] {
				t.Errorf("%s: groups sum to %d, fleet %d", day, sum, daily.Fleet[i])
			}
			if i%9 == 4 {
				if want := packets(t, mustPeriod(t, day)); daily.Fleet[i] != want {
					t.Errorf("%s: fleet %d packets, TopPorts %d", day, daily.Fleet[i], want)
				}
			}
		}
		if want := packets(t, mustPeriod(t, "2024-05-28..2024-08-25")); total != want || total == 0 {
			t.Errorf("the daily series sums to %d packets, TopPorts over the 90 days to %d", total, want)
		}
	}
}

// tableOf returns a new answer of the endpoint of path, to decode its JSON
// into.
func tableOf(path string) Table {
	for prefix, t := range map[string]Table{
		"/api/v1/sensors": &SensorsResponse{}, "/api/v1/groups": &GroupsResponse{}, "/api/v1/top-ports": &TopPortsResponse{},
		"/api/v1/group-top-ports": &GroupTopPortsResponse{}, "/api/v1/group-averages": &GroupAveragesResponse{},
		"/api/v1/port-series": &PortSeriesResponse{}, "/api/v1/top-sources": &TopSourcesResponse{},
		"/api/v1/port-sources": &PortSourcesResponse{}, "/api/v1/tags": &TagsResponse{}, "/api/v1/sources/": &SourceResponse{},
		"/api/v1/devices": &DevicesResponse{}, "/api/v1/device-series": &DeviceSeriesResponse{},
	} {
		if path == prefix || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(path, prefix)) {
			return t
		}
	}
	return nil
}

// testCSV: every table answers format=csv with a header row and the rows
// of its JSON answer.
func testCSV(t *testing.T, f *fixture) {
	targets := []string{"/api/v1/group-averages?period=2024-07&daily=true"}
	for _, tt := range endpointCases(t, f) {
		targets = append(targets, tt.target)
	}
	for _, target := range targets {
		path, query, _ := strings.Cut(target, "?")
		ans := tableOf(path)
		f.getJSON(t, target, ans)
		if g, ok := ans.(*GroupAveragesResponse); ok {
			g.Daily = strings.Contains(query, "daily=true")
		}
		rec := f.do(http.MethodGet, path+"?"+strings.TrimPrefix(query+"&format=csv", "&"))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(rec.Header().Get("Content-Disposition"), `attachment; filename="nightjar-`) {
			t.Errorf("GET %s&format=csv: %d, %v", target, rec.Code, rec.Header())
			continue
		}
		got, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
		if err != nil {
			t.Errorf("GET %s&format=csv: %v", target, err)
			continue
		}
		header, rows := ans.CSV()
		if diff := cmp.Diff(got, append([][]string{header}, rows...)); diff != "" || len(header) < 2 {
			t.Errorf("GET %s&format=csv (-got, +rows of the JSON answer):\n%s", target, diff)
		}
		if len(rows) == 0 && !strings.Contains(path, "2001%3Adb8%3A%3A99") {
			t.Errorf("GET %s&format=csv: no rows", target)
		}
	}
	rec := f.do(http.MethodGet, "/api/v1/top-sources?from=2024-07-01T00:00:00Z&to=2024-07-02T00:00:00Z&format=csv")
	if want := `attachment; filename="nightjar-top-sources-2024-07-01T000000Z_2024-07-02T000000Z.csv"`; rec.Header().Get("Content-Disposition") != want {
		t.Errorf("Content-Disposition = %q, want %q", rec.Header().Get("Content-Disposition"), want)
	}
}

// badInputs are requests that must be answered 400, the parameter named
// and a part of the message.
var badInputs = []struct {
	target, param, want string
}{
	{"/api/v1/top-ports?foo=1", "foo", `unknown parameter "foo" (/api/v1/top-ports accepts: top, sensor, period, from, to, format)`},
	{"/api/v1/top-ports?period=2024Q5", "period", "quarter must be 1 to 4"},
	{"/api/v1/top-ports?period=July", "period", `period "July": want one of 2024 (a year)`},
	{"/api/v1/top-ports?period=2024-07&from=2024-07-01", "period", "either period or from and to, not both"},
	{"/api/v1/top-ports?from=2024-07-01", "to", "needs both from and to"},
	{"/api/v1/top-ports?to=2024-07-01", "from", "needs both from and to"},
	{"/api/v1/top-ports?from=2024-13-01&to=2024-07-01", "from", `from: "2024-13-01" is neither a date`},
	{"/api/v1/top-ports?from=2024-07-01&to=xyz", "to", `to: "xyz" is neither a date`},
	{"/api/v1/top-ports?from=2024-07-10&to=2024-07-01", "to", "empty period"},
	{"/api/v1/top-ports?from=2000-01-01&to=2012-01-01", "to", "longer than 10 years"},
	{"/api/v1/top-ports?period=1969", "period", "outside the years 1970 to 2199"},
	{"/api/v1/top-ports?period=2200", "period", "outside the years 1970 to 2199"},
	{"/api/v1/top-ports?from=1969-12-31T23:00:00Z&to=1970-01-02", "to", "outside the years"},
	{"/api/v1/top-ports?top=0", "top", "top must be between 1 and 1000, got 0"},
	{"/api/v1/top-ports?top=1001", "top", "top must be between 1 and 1000, got 1001"},
	{"/api/v1/top-ports?top=ten", "top", `top: "ten" is not a whole number`},
	{"/api/v1/top-ports?top=5&top=6", "top", "top is given 2 times"},
	{"/api/v1/top-ports?sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/group-top-ports?group=Mars", "group", `unknown group: "Mars"`},
	{"/api/v1/group-top-ports?top=-1", "top", "between 1 and 1000"},
	{"/api/v1/group-averages?group=Japan&group=Mars", "group", `unknown group: "Mars"`},
	{"/api/v1/group-averages?daily=maybe", "daily", `daily: "maybe" is not true or false`},
	{"/api/v1/port-series?period=2024-07", "port", "give at least one port"},
	{"/api/v1/port-series?port=99999/TCP", "port", "not a port number"},
	{"/api/v1/port-series?port=23/ICMP", "port", "only TCP and UDP have ports"},
	{"/api/v1/port-series?port=telnet", "port", "want PORT/TCP"},
	{"/api/v1/port-series?" + strings.Repeat("port=1/TCP&", 21), "port", "21 ports given, at most 20"},
	{"/api/v1/port-series?port=23/TCP&resolution=week", "resolution", `unknown resolution "week"`},
	{"/api/v1/port-series?port=23/TCP&by=country", "by", `unknown split "country"`},
	{"/api/v1/port-series?port=23/TCP&resolution=hour&period=2024Q3", "resolution", "hourly series cover at most 62 days"},
	{"/api/v1/port-series?port=23/TCP&by=group&sensor=jp-tokyo-1", "sensor", "sensor= chooses sensors of by=sensor"},
	{"/api/v1/port-series?port=23/TCP&group=Japan", "group", "group= chooses groups of by=group"},
	{"/api/v1/port-series?port=23/TCP&by=fleet&group=Japan", "group", "group= chooses groups of by=group"},
	{"/api/v1/port-series?port=23/TCP&by=group&group=Mars", "group", `unknown group: "Mars"`},
	{"/api/v1/port-series?port=23/TCP&sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/top-sources?top=0", "top", "between 1 and 1000"},
	{"/api/v1/top-sources?sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/port-sources?sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/port-sources?top=100000", "top", "between 1 and 1000"},
	{"/api/v1/tags?sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/tags?" + strings.Repeat("sensor=jp-tokyo-1&", 1001), "sensor", "sensor is given 1001 times, more than 1000"},
	{"/api/v1/tags?top=5", "top", `unknown parameter "top"`},
	{"/api/v1/sources/not-an-ip", "ip", `"not-an-ip" is not an IP address`},
	{"/api/v1/sources/fe80::1%25eth0", "ip", `"fe80::1%eth0" is not an IP address`},
	{"/api/v1/sources/192.0.2.1?top=3", "top", `unknown parameter "top"`},
	{"/api/v1/sources/192.0.2.1?period=2024Q0", "period", "quarter must be 1 to 4"},
	{"/api/v1/sensors?period=2024", "period", `unknown parameter "period" (/api/v1/sensors accepts: format)`},
	{"/api/v1/groups?format=csv&format=json", "format", "format is given 2 times"},
	{"/api/v1/overview?format=csv", "format", "/api/v1/overview answers in JSON only"},
	{"/api/v1/overview?top=0", "top", "between 1 and 1000"},
	{"/api/v1/overview?period=2024-7", "period", "want one of"},
	{"/api/v1/top-ports?format=xml", "format", `unknown format "xml" (want json or csv)`},
	{"/api/v1/openapi.json?x=1", "x", `unknown parameter "x" (/api/v1/openapi.json accepts: none)`},
	{"/api/v1/top-ports?%zz", "", "malformed query string"},
	{"/api/v1/top-ports?period=2024;x=1", "", "malformed query string"},
	{"/api/v1/origins?group=Japan", "group", "groups choose the tables of the split by group, not by sensor"},
	{"/api/v1/origins?by=fleet&sensor=jp-tokyo-1", "sensor", "sensors choose the tables of the split by sensor"},
	{"/api/v1/origins?kind=city", "kind", `unknown origin kind "city"`},
	{"/api/v1/origin-ports?period=2024Q3", "country", "name the origin"},
	{"/api/v1/top-sources?country=Japan", "country", "want a two-letter ISO 3166 code"},
	{"/api/v1/top-sources?asn=ASX", "asn", "want an AS number"},
	{"/api/v1/top-sources?prefix=192.0.2.0/33", "prefix", "want a network"},
	{"/api/v1/top-sources?verdict=evil", "verdict", "want one of benign, malicious, unknown"},
	{"/api/v1/alerts?state=closed", "state", `unknown alert state "closed" (want open, acknowledged or resolved)`},
	{"/api/v1/alerts?severity=high", "severity", `unknown severity "high" (want info, warning or critical)`},
	{"/api/v1/alerts?detector=magic", "detector", `unknown detector "magic" (want one of port-surge, new-campaign`},
	{"/api/v1/alerts?sensor=mars-1", "sensor", `unknown sensor: "mars-1"`},
	{"/api/v1/alerts?group=Mars", "group", `unknown group: "Mars"`},
	{"/api/v1/alerts?sensor=a&sensor=b", "sensor", "sensor is given 2 times"},
	{"/api/v1/alerts?port=telnet", "port", "want PORT/TCP"},
	{"/api/v1/alerts?tag=evil", "tag", `unknown tag "evil" (want one of`},
	{"/api/v1/alerts?since=yesterday", "since", `since: "yesterday" is neither an RFC 3339 time`},
	{"/api/v1/alerts?since=2024-08-01&until=2024-07-01", "until", "until (2024-07-01T00:00:00Z) must be after since (2024-08-01T00:00:00Z)"},
	{"/api/v1/alerts?limit=0", "limit", "limit must be between 1 and 1000, got 0"},
	{"/api/v1/alerts?period=2024Q3", "period", `unknown parameter "period" (/api/v1/alerts accepts: state, severity`},
	{"/api/v1/alerts?format=csv", "format", "/api/v1/alerts answers in JSON only"},
	{"/api/v1/alerts/-1", "id", `alert ID "-1" is not a positive whole number`},
	{"/api/v1/silences?state=open", "state", `unknown parameter "state" (/api/v1/silences accepts: format)`},
}

func testBadInput(t *testing.T, f *fixture) {
	for _, tt := range badInputs {
		rec := f.do(http.MethodGet, tt.target)
		var e Error
		err := json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || err != nil || e.Param != tt.param || !strings.Contains(e.Message, tt.want) ||
			rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s; want 400 about %q mentioning %q", tt.target, rec.Code, rec.Body, tt.param, tt.want)
		}
	}
	// A series larger than the limit of numbers.
	small := New(f.st, Options{Now: func() time.Time { return f.now }, Limits: Limits{MaxPoints: 100}})
	rec := httptest.NewRecorder()
	small.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/port-series?period=2024-07&port=23/TCP&port=ICMP", nil))
	if want := "the series would hold 372 numbers (12 series of 31 buckets), more than 100"; rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("a series of 372 numbers with MaxPoints 100: %d %s; want 400 mentioning %q", rec.Code, rec.Body, want)
	}
}

func testMethods(t *testing.T, f *fixture) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := f.do(method, "/api/v1/top-ports?period=2024-07")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(rec.Body.String(), `"error":"method `+method+` not allowed`) {
			t.Errorf("%s /api/v1/top-ports: %d %v %s; want 405, Allow: GET, HEAD", method, rec.Code, rec.Header(), rec.Body)
		}
	}
	for _, target := range []string{"/api/v1/nope", "/api/v1/", "/api/v2/sensors", "/api/v1/sources/", "/api/v1/sources/192.0.2.1/days", "/"} {
		rec := f.do(http.MethodGet, target)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), "no such endpoint") {
			t.Errorf("GET %s: %d %s; want a JSON 404", target, rec.Code, rec.Body)
		}
	}
}

// failing is a store whose every answer fails.
type failing struct{ Store }

func (failing) Sensors(ctx context.Context) ([]store.Sensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("disk on fire")
}

// TestStoreFailure: a failing store is a logged 500 that says no more; a
// request cancelled by its client is not logged.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	h := New(failing{}, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/sensors", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "fire") || !strings.Contains(log.String(), "disk on fire") {
		t.Errorf("a failing store: %d %s, log %q; want 500 without the cause, logged", rec.Code, rec.Body, log.String())
	}
	log.Reset()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/groups", nil).WithContext(ctx))
	if rec.Code != http.StatusServiceUnavailable || log.Len() != 0 {
		t.Errorf("a cancelled request: %d %s, log %q; want 503, not logged", rec.Code, rec.Body, log.String())
	}
}

// testEdgePeriods: the first and last periods the API accepts, and odd
// ranges, are answered (with nothing) by every endpoint.
func testEdgePeriods(t *testing.T, f *fixture) {
	for _, rt := range (&handler{}).routes() {
		if !slices.Contains(rt.params, "period") {
			continue
		}
		path := strings.Replace(rt.path, "{ip}", "192.0.2.1", 1)
		for _, p := range []string{"period=1970", "period=1970-01-01", "period=2199Q4", "from=1970-01-01&to=1979-12-31",
			"from=2199-12-31T23:59:59.999999999Z&to=2199-12-31", "from=2024-07-01T00:00:00%2B14:00&to=2024-07-01T00:00:00.000000001Z"} {
			target := path + "?" + p
			switch rt.path {
			case "/api/v1/port-series":
				target += "&port=23/TCP&by=fleet"
			case "/api/v1/origin-ports":
				target += "&country=JP"
			}
			if rec := f.do(http.MethodGet, target); rec.Code != http.StatusOK {
				t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
			}
		}
	}
}
