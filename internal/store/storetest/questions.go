package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runQuestions runs the conformance tests of the questions beyond TopPorts.
func runQuestions(t *testing.T, open Opener) {
	t.Run("questions on a small month", func(t *testing.T) { testSmallMonth(t, open(t)) })
	t.Run("bad questions beyond top ports", func(t *testing.T) { testBadQuestions2(t, open(t)) })
	t.Run("questions to a store without sensors", func(t *testing.T) { testNoSensors(t, open(t)) })
	t.Run("simulated capture equals truth and analyze", func(t *testing.T) { testQuestionsTruth(t, open(t), nil) })
}

// threeSensors: groups appear in the order Japan, overseas (sensor ID
// order), and jp-2 is a quiet sensor that still counts in Japan's average.
var threeSensors = []fleet.Sensor{
	twoSensors[0], twoSensors[1],
	{Name: "jp-2", Group: "Japan", Country: "JP", Description: "quiet", Addresses: []string{"198.18.2.0/24"}},
}

// storeSmallMonth stores a June and a July whose every answer is worked
// out by hand in testSmallMonth. Addresses: A 192.0.2.1, B .3 (Mirai:
// sequence number = destination), C .4, D .5.
func storeSmallMonth(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, threeSensors)
	if err != nil {
		t.Fatal(err)
	}
	jp1, us1 := ids[0], ids[1]
	var (
		recs    []record.Record
		sensors []int32
	)
	add := func(n int, src, dst string, port uint16, mirai bool, when string, sensor int32) {
		at, err := time.Parse(time.RFC3339, when)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			r := syn(src, dst, port, at.Add(time.Duration(i)*time.Second))
			if mirai {
				r.Seq = r.Dst.Uint32()
				r.Tags = fingerprint.Tag(&r)
			}
			recs = append(recs, r)
			sensors = append(sensors, sensor)
		}
	}
	add(5, "192.0.2.1", "198.18.1.1", 445, false, "2024-06-10T03:00:00Z", jp1) // the previous month
	add(4, "192.0.2.3", "198.18.1.1", 23, true, "2024-07-01T00:10:00Z", jp1)
	add(1, "192.0.2.4", "198.18.1.1", 445, false, "2024-07-02T05:00:00Z", jp1)
	add(2, "192.0.2.3", "198.19.0.3", 23, true, "2024-07-02T05:30:00Z", us1)
	add(1, "192.0.2.4", "198.19.0.3", 23, false, "2024-07-02T06:45:00Z", us1)
	add(1, "192.0.2.3", "198.18.1.1", 2323, true, "2024-07-03T12:00:00Z", jp1)
	add(2, "192.0.2.5", "198.19.0.3", 80, false, "2024-07-31T23:00:00Z", us1)
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustRange(t *testing.T, from, to string) period.Period {
	t.Helper()
	p, err := period.ParseRange(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testSmallMonth(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	storeSmallMonth(t, s)
	july, _ := period.Parse("2024-07")
	// July shifted by five minutes: not whole hours or days, so the raw
	// records answer, and must agree with the rollups.
	julyRaw := mustRange(t, "2024-07-01T00:05:00Z", "2024-08-01T00:05:00Z")
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}

	t.Run("group top ports", func(t *testing.T) {
		want := store.GroupTopPorts{
			Groups: []store.GroupPorts{
				{Group: "Japan", Sensors: 2, Packets: 6, AvgPacketsPerSensor: 3, Ports: []store.AvgRankedPort{
					{Rank: 1, Port: "23/TCP", Packets: 4, AvgPacketsPerSensor: 2},
					{Rank: 2, Port: "2323/TCP", Packets: 1, AvgPacketsPerSensor: 0.5},
					{Rank: 3, Port: "445/TCP", Packets: 1, AvgPacketsPerSensor: 0.5, PreviousRank: 1},
				}},
				{Group: "overseas", Sensors: 1, Packets: 5, AvgPacketsPerSensor: 5, Ports: []store.AvgRankedPort{
					{Rank: 1, Port: "23/TCP", Packets: 3, AvgPacketsPerSensor: 3},
					{Rank: 2, Port: "80/TCP", Packets: 2, AvgPacketsPerSensor: 2},
				}},
			},
			Fleet: store.GroupPorts{Sensors: 3, Packets: 11, AvgPacketsPerSensor: 11.0 / 3, Ports: []store.AvgRankedPort{
				{Rank: 1, Port: "23/TCP", Packets: 7, AvgPacketsPerSensor: 7.0 / 3},
				{Rank: 2, Port: "80/TCP", Packets: 2, AvgPacketsPerSensor: 2.0 / 3},
				{Rank: 3, Port: "2323/TCP", Packets: 1, AvgPacketsPerSensor: 1.0 / 3},
			}},
		}
		// The previous period of the shifted July (from May 31, 00:05) still
		// holds June's 445/TCP.
		for _, p := range []period.Period{july, julyRaw} {
			got, err := s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: 3})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("GroupTopPorts(%s) (-got, +want):\n%s", p, diff)
			}
		}
		one, err := s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: july, N: 1, Groups: []string{"overseas"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(one.Groups) != 1 || one.Groups[0].Group != "overseas" || len(one.Groups[0].Ports) != 1 || one.Fleet.Packets != 11 {
			t.Errorf("GroupTopPorts(overseas, N=1) = %+v; want overseas's top port and the fleet", one)
		}
	})

	t.Run("group averages", func(t *testing.T) {
		p := mustRange(t, "2024-06-30", "2024-07-02") // whole days: rollups
		want := []store.GroupAverages{
			{Name: "Japan", Sensors: 2, Packets: 5,
				Months: []store.GroupMonth{{Month: "2024-06", AvgPacketsPerSensor: 0}, {Month: "2024-07", AvgPacketsPerSensor: 2.5}},
				Days:   []store.GroupDay{{Day: "2024-06-30", AvgPacketsPerSensor: 0}, {Day: "2024-07-01", AvgPacketsPerSensor: 2}, {Day: "2024-07-02", AvgPacketsPerSensor: 0.5}}},
			{Name: "overseas", Sensors: 1, Packets: 3,
				Months: []store.GroupMonth{{Month: "2024-06", AvgPacketsPerSensor: 0}, {Month: "2024-07", AvgPacketsPerSensor: 3}},
				Days:   []store.GroupDay{{Day: "2024-06-30", AvgPacketsPerSensor: 0}, {Day: "2024-07-01", AvgPacketsPerSensor: 0}, {Day: "2024-07-02", AvgPacketsPerSensor: 3}}},
		}
		got, err := s.GroupAverages(ctx, store.GroupAveragesQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("GroupAverages(%s) (-got, +want):\n%s", p, diff)
		}
		// Ending at 06:00 on July 2: raw records; the 06:45 packet is out.
		raw := mustRange(t, "2024-06-30T00:00:00Z", "2024-07-02T06:00:00Z")
		want[1].Packets, want[1].Months[1].AvgPacketsPerSensor, want[1].Days[2].AvgPacketsPerSensor = 2, 2, 2
		got, err = s.GroupAverages(ctx, store.GroupAveragesQuery{Period: raw, Groups: []string{"overseas", "Japan"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("GroupAverages(%s) (-got, +want):\n%s", raw, diff)
		}
	})

	t.Run("port series", func(t *testing.T) {
		tests := []struct {
			name string
			q    store.PortSeriesQuery
			want store.PortSeries
		}{{
			name: "by group, hours of a range starting mid-hour",
			q: store.PortSeriesQuery{Period: mustRange(t, "2024-07-02T04:30:00Z", "2024-07-02T07:00:00Z"), Resolution: store.Hour,
				Ports: []string{"23/tcp", "ICMP"}, By: store.ByGroup},
			want: store.PortSeries{Resolution: "hour",
				Buckets: []time.Time{at("2024-07-02T04:30:00Z"), at("2024-07-02T05:00:00Z"), at("2024-07-02T06:00:00Z")},
				Series: []store.Series{
					{Group: "Japan", Port: "23/TCP", Packets: []uint64{0, 0, 0}},
					{Group: "Japan", Port: "ICMP", Packets: []uint64{0, 0, 0}},
					{Group: "overseas", Port: "23/TCP", Packets: []uint64{0, 2, 1}},
					{Group: "overseas", Port: "ICMP", Packets: []uint64{0, 0, 0}},
				}},
		}, {
			name: "fleet, days of a month",
			q:    store.PortSeriesQuery{Period: july, Resolution: store.Day, Ports: []string{"23/TCP"}, By: store.ByFleet},
			want: func() store.PortSeries {
				ps := store.PortSeries{Resolution: "day", Series: []store.Series{{Port: "23/TCP", Packets: make([]uint64, 31)}}}
				for d := range 31 {
					ps.Buckets = append(ps.Buckets, july.Start.AddDate(0, 0, d))
				}
				ps.Series[0].Packets[0], ps.Series[0].Packets[1] = 4, 3
				return ps
			}(),
		}, {
			name: "one sensor, months of a quarter",
			q: store.PortSeriesQuery{Period: period.Of(period.Quarter, july.Start), Resolution: store.Month,
				Ports: []string{"445/TCP", "2323/TCP", "445/TCP"}, By: store.BySensor, Sensors: []string{"jp-1"}},
			want: store.PortSeries{Resolution: "month",
				Buckets: []time.Time{at("2024-07-01T00:00:00Z"), at("2024-08-01T00:00:00Z"), at("2024-09-01T00:00:00Z")},
				Series: []store.Series{
					{Sensor: "jp-1", Group: "Japan", Port: "445/TCP", Packets: []uint64{1, 0, 0}},
					{Sensor: "jp-1", Group: "Japan", Port: "2323/TCP", Packets: []uint64{1, 0, 0}},
				}},
		}}
		for _, tt := range tests {
			got, err := s.PortSeries(ctx, tt.q)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("%s: PortSeries() (-got, +want):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("top sources", func(t *testing.T) {
		// B's ports: 23 on two days, 2323 on a third (2 distinct, at most 1
		// a day); C's: 445 and 23 on the same day but at two sensors.
		b := store.Source{IP: "192.0.2.3", Packets: 7, Ports: 2, PortsExact: true, Tags: []string{"mirai"}, Sensors: 2,
			FirstSeen: at("2024-07-01T00:10:00Z"), LastSeen: at("2024-07-03T12:00:00Z"), Verdict: store.VerdictMalicious, Reason: "Mirai fingerprint"}
		c := store.Source{IP: "192.0.2.4", Packets: 2, Ports: 2, PortsExact: true, Tags: []string{}, Sensors: 2,
			FirstSeen: at("2024-07-02T05:00:00Z"), LastSeen: at("2024-07-02T06:45:00Z"), Verdict: store.VerdictUnknown}
		d := store.Source{IP: "192.0.2.5", Packets: 2, Ports: 1, PortsExact: true, Tags: []string{}, Sensors: 1,
			FirstSeen: at("2024-07-31T23:00:00Z"), LastSeen: at("2024-07-31T23:00:01Z"), Verdict: store.VerdictUnknown}
		for _, p := range []period.Period{july, julyRaw} {
			got, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 3})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, []store.Source{b, c, d}); diff != "" {
				t.Errorf("TopSources(%s) (-got, +want):\n%s", p, diff)
			}
		}
		atUS := b
		atUS.Packets, atUS.Ports, atUS.Sensors, atUS.FirstSeen, atUS.LastSeen = 2, 1, 1, at("2024-07-02T05:30:00Z"), at("2024-07-02T05:30:01Z")
		got, err := s.TopSources(ctx, store.TopSourcesQuery{Period: july, N: 2, Sensors: []string{"us-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, []store.Source{atUS, d}); diff != "" {
			t.Errorf("TopSources(us-1) (-got, +want):\n%s", diff)
		}
		// Of one port: the packets to it only.
		at2323 := b
		at2323.Packets, at2323.Ports, at2323.Sensors, at2323.FirstSeen, at2323.LastSeen = 1, 1, 1, at("2024-07-03T12:00:00Z"), at("2024-07-03T12:00:00Z")
		got, err = s.TopSources(ctx, store.TopSourcesQuery{Period: july, N: 3, Port: "2323/TCP"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, []store.Source{at2323}); diff != "" {
			t.Errorf("TopSources(2323/TCP) (-got, +want):\n%s", diff)
		}
		if _, err := s.TopSources(ctx, store.TopSourcesQuery{Period: july, N: 3, Port: "23/XYZ"}); err == nil {
			t.Error("TopSources(23/XYZ): no error")
		}
	})

	t.Run("port sources", func(t *testing.T) {
		// 23/TCP: B in hour 00 at jp-1 and hour 05 at us-1, C in hour 06 at
		// us-1: 2 distinct sources, though the hourly counts sum to 3 and
		// peak at 1.
		want := []store.PortSources{
			{Rank: 1, Port: "23/TCP", Packets: 7, Sources: 2, SourcesExact: true, Mirai: 6, MiraiShare: 6.0 / 7},
			{Rank: 2, Port: "80/TCP", Packets: 2, Sources: 1, SourcesExact: true},
			{Rank: 3, Port: "2323/TCP", Packets: 1, Sources: 1, SourcesExact: true, Mirai: 1, MiraiShare: 1},
		}
		for _, p := range []period.Period{july, julyRaw} {
			got, err := s.PortSources(ctx, store.PortSourcesQuery{Period: p, N: 3})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("PortSources(%s) (-got, +want):\n%s", p, diff)
			}
		}
	})

	t.Run("tag counts", func(t *testing.T) {
		zero := func(mirai uint64) map[string]uint64 {
			m := map[string]uint64{}
			for _, tag := range record.AllTags() {
				m[tag.String()] = 0
			}
			m["mirai"] = mirai
			return m
		}
		want := store.TagCounts{Tags: zero(7), Sensors: []store.SensorTags{
			{Sensor: "jp-1", Group: "Japan", Tags: zero(5)},
			{Sensor: "us-1", Group: "overseas", Tags: zero(2)},
			{Sensor: "jp-2", Group: "Japan", Tags: zero(0)},
		}}
		for _, p := range []period.Period{july, julyRaw} {
			got, err := s.TagCounts(ctx, store.TagCountsQuery{Period: p})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("TagCounts(%s) (-got, +want):\n%s", p, diff)
			}
		}
		got, err := s.TagCounts(ctx, store.TagCountsQuery{Period: july, Sensors: []string{"us-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, store.TagCounts{Tags: zero(2), Sensors: want.Sensors[1:2]}); diff != "" {
			t.Errorf("TagCounts(us-1) (-got, +want):\n%s", diff)
		}
	})

	t.Run("empty period", func(t *testing.T) {
		empty, _ := period.Parse("2020-02")
		srcs, err := s.TopSources(ctx, store.TopSourcesQuery{Period: empty, N: 5})
		if err != nil || srcs == nil || len(srcs) != 0 {
			t.Errorf("TopSources(empty) = %v, %v; want an empty list", srcs, err)
		}
		ports, err := s.PortSources(ctx, store.PortSourcesQuery{Period: empty, N: 5})
		if err != nil || len(ports) != 0 {
			t.Errorf("PortSources(empty) = %v, %v; want none", ports, err)
		}
		avgs, err := s.GroupAverages(ctx, store.GroupAveragesQuery{Period: empty})
		if err != nil || len(avgs) != 2 || len(avgs[0].Days) != 29 || avgs[0].Packets != 0 {
			t.Errorf("GroupAverages(empty) = %+v, %v; want two groups with 29 zero days", avgs, err)
		}
	})
}

func testBadQuestions2(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	if _, err := s.PutSensors(ctx, threeSensors); err != nil {
		t.Fatal(err)
	}
	p, _ := period.Parse("2024Q3")
	century := mustRange(t, "2000-01-01", "2099-12-31")
	series := func(mod func(*store.PortSeriesQuery)) error {
		q := store.PortSeriesQuery{Period: p, Resolution: store.Day, Ports: []string{"23/TCP"}, By: store.BySensor}
		mod(&q)
		_, err := s.PortSeries(ctx, q)
		return err
	}
	tests := []struct {
		name string
		err  error
		is   error  // for errors.Is, or nil
		want string // in the message
	}{
		{"group ports: unknown group", second(s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: 3, Groups: []string{"Mars"}})), store.ErrUnknownGroup, `"Mars"`},
		{"group ports: N = 0", second(s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: 0})), nil, "at least 1"},
		{"group averages: unknown group", second(s.GroupAverages(ctx, store.GroupAveragesQuery{Period: p, Groups: []string{"Japan", "Mars"}})), store.ErrUnknownGroup, `"Mars"`},
		{"series: unknown sensor", series(func(q *store.PortSeriesQuery) { q.Sensors = []string{"mars-1"} }), store.ErrUnknownSensor, `"mars-1"`},
		{"series: unknown group", series(func(q *store.PortSeriesQuery) { q.By, q.Groups = store.ByGroup, []string{"Mars"} }), store.ErrUnknownGroup, `"Mars"`},
		{"series: no port", series(func(q *store.PortSeriesQuery) { q.Ports = nil }), nil, "no port"},
		{"series: bad port", series(func(q *store.PortSeriesQuery) { q.Ports = []string{"99999/TCP"} }), nil, "not a port number"},
		{"series: no resolution", series(func(q *store.PortSeriesQuery) { q.Resolution = 0 }), nil, "unknown resolution"},
		{"series: too many buckets", series(func(q *store.PortSeriesQuery) { q.Period, q.Resolution = century, store.Hour }), nil, "coarser resolution"},
		{"series: no split", series(func(q *store.PortSeriesQuery) { q.By = 0 }), nil, "unknown split"},
		{"series: groups by sensor", series(func(q *store.PortSeriesQuery) { q.Groups = []string{"Japan"} }), nil, "split by group"},
		{"series: sensors by fleet", series(func(q *store.PortSeriesQuery) { q.By, q.Sensors = store.ByFleet, []string{"jp-1"} }), nil, "split by sensor"},
		{"sources: unknown sensor", second(s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 3, Sensors: []string{"mars-1"}})), store.ErrUnknownSensor, `"mars-1"`},
		{"sources: N = 0", second(s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 0})), nil, "at least 1"},
		{"port sources: unknown sensor", second(s.PortSources(ctx, store.PortSourcesQuery{Period: p, N: 3, Sensors: []string{"mars-1"}})), store.ErrUnknownSensor, `"mars-1"`},
		{"port sources: N = -1", second(s.PortSources(ctx, store.PortSourcesQuery{Period: p, N: -1})), nil, "at least 1"},
		{"tags: unknown sensor", second(s.TagCounts(ctx, store.TagCountsQuery{Period: p, Sensors: []string{"mars-1"}})), store.ErrUnknownSensor, `"mars-1"`},
	}
	for _, tt := range tests {
		if tt.err == nil || (tt.is != nil && !errors.Is(tt.err, tt.is)) || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %v mentioning %q", tt.name, tt.err, tt.is, tt.want)
		}
	}
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }

// testNoSensors: a new store answers every question, with nothing.
func testNoSensors(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	p, _ := period.Parse("2024Q3")
	var errs []error
	ports, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 10})
	errs = append(errs, err)
	groups, err := s.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: 10})
	errs = append(errs, err)
	averages, err := s.GroupAverages(ctx, store.GroupAveragesQuery{Period: p})
	errs = append(errs, err)
	sources, err := s.TopSources(ctx, store.TopSourcesQuery{Period: p, N: 10})
	errs = append(errs, err)
	portSources, err := s.PortSources(ctx, store.PortSourcesQuery{Period: p, N: 10})
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(ports) != 0 || len(groups.Groups) != 0 || groups.Fleet.Packets != 0 || len(groups.Fleet.Ports) != 0 ||
		len(averages) != 0 || len(sources) != 0 || len(portSources) != 0 {
		t.Errorf("answers of a store without sensors: %+v, %+v, %+v, %+v, %+v; want none", ports, groups, averages, sources, portSources)
	}
}
