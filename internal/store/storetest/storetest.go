// Package storetest is the conformance suite of store.Store: every backend
// runs Run with a function that opens a fresh, empty store, and must pass
// the same assertions (VictoriaMetrics runs its suite this way against
// single-node and cluster).
//
// The suite checks the write contract of the store package documentation
// and nothing stricter: records appended are seen by no reader before their
// Flush, nor ever if a crash discards them; flushed records and their
// imports survive a crash together; after Sync every reader sees every
// flushed record exactly once. Between a Flush and the next Sync it accepts
// any answer between the one after the last Sync and the one after the
// next, so a backend that shows records only after Sync (DuckDB, which
// rebuilds its rollups then) and one that shows them as soon as Flush
// inserts them (rollups kept by materialized views) both pass; the DuckDB
// tests run the suite in both ways.
package storetest

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Opener opens a new, empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

// Crasher stops s as a crash of its process would — what it flushed stays
// stored; nothing else is done: no Sync, no commit of later appends — and
// opens the same database again. The suite closes the store it returns.
type Crasher func(t *testing.T, s store.Store) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, open Opener, crash Crasher) {
	t.Run("sensors", func(t *testing.T) { testSensors(t, open(t)) })
	runWrites(t, open, crash)
	t.Run("top ports and previous rank", func(t *testing.T) { testTopPorts(t, open(t)) })
	t.Run("previous rank ties", func(t *testing.T) { testPreviousRankTies(t, open(t)) })
	t.Run("bad questions", func(t *testing.T) { testBadQuestions(t, open(t)) })
	t.Run("simulated quarter equals analyze", func(t *testing.T) { testAgainstAnalyze(t, open(t)) })
	runQuestions(t, open)
	runSourceHistory(t, open)
	runCounts(t, open)
	runExports(t, open)
	runOrigins(t, open)
	runDevices(t, open)
	runAlerts(t, open)
}

var twoSensors = []fleet.Sensor{
	{Name: "jp-1", Group: "Japan", Country: "JP", Description: "campus", Addresses: []string{"198.18.1.1"}},
	{Name: "us-1", Group: "overseas", Country: "US", Description: "cloud", Addresses: []string{"198.19.0.0/28", "2001:db8::/64"}},
}

func testSensors(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("PutSensors() IDs = %v, want two distinct", ids)
	}
	changed := twoSensors[1]
	changed.Group, changed.Addresses = "Europe", []string{"198.19.0.0/27"}
	again, err := s.PutSensors(ctx, []fleet.Sensor{changed})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != ids[1] {
		t.Errorf("updating %q gave ID %d, want its ID %d", changed.Name, again[0], ids[1])
	}
	got, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Sensor{{Sensor: twoSensors[0], ID: ids[0]}, {Sensor: changed, ID: ids[1]}}
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(fleet.Sensor{})); diff != "" {
		t.Errorf("Sensors() (-got, +want):\n%s", diff)
	}
}

// syn builds a tagged TCP SYN record.
func syn(src, dst string, port uint16, when time.Time) record.Record {
	r := record.Record{
		Time: when.UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr(dst),
		IPVersion: 4, Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true,
		SrcPort: 40000, DstPort: port, TCPFlags: record.FlagSYN, Seq: 1,
	}
	r.Tags = fingerprint.Tag(&r)
	return r
}

func testTopPorts(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	q2 := time.Date(2024, 5, 10, 3, 0, 0, 0, time.UTC)
	q3 := time.Date(2024, 8, 20, 17, 30, 0, 0, time.UTC)
	var recs []record.Record
	var sensors []int32
	add := func(n int, src, dst string, port uint16, when time.Time, sensor int32) {
		for i := range n {
			recs = append(recs, syn(src, dst, port, when.Add(time.Duration(i)*time.Second)))
			sensors = append(sensors, sensor)
		}
	}
	// Q2 at jp-1: 445 first, then 23, then 22.
	add(5, "192.0.2.1", "198.18.1.1", 445, q2, ids[0])
	add(3, "192.0.2.2", "198.18.1.1", 23, q2, ids[0])
	add(1, "192.0.2.2", "198.18.1.1", 22, q2, ids[0])
	// Q3 at jp-1: 23 first (was #2), 8728 new, 22 and 445 tie at 1 ("22/TCP" < "445/TCP").
	add(4, "192.0.2.3", "198.18.1.1", 23, q3, ids[0])
	add(2, "192.0.2.3", "198.18.1.1", 8728, q3, ids[0])
	add(1, "192.0.2.4", "198.18.1.1", 445, q3, ids[0])
	add(1, "192.0.2.4", "198.18.1.1", 22, q3, ids[0])
	// Q3 at us-1.
	add(2, "192.0.2.5", "198.19.0.3", 80, q3, ids[1])
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := period.Parse("2024Q3")
	got, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SensorPorts{
		{Sensor: "jp-1", Group: "Japan", Packets: 8, Ports: []store.RankedPort{
			{Rank: 1, Port: "23/TCP", Packets: 4, PreviousRank: 2},
			{Rank: 2, Port: "8728/TCP", Packets: 2, PreviousRank: 0},
			{Rank: 3, Port: "22/TCP", Packets: 1, PreviousRank: 3},
		}},
		{Sensor: "us-1", Group: "overseas", Packets: 2, Ports: []store.RankedPort{
			{Rank: 1, Port: "80/TCP", Packets: 2, PreviousRank: 0},
		}},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("TopPorts(2024Q3) (-got, +want):\n%s", diff)
	}

	// A custom range that does not start on the hour reads raw records and
	// must agree: the quarter shifted by 30 minutes holds the same packets.
	shifted, _ := period.Range(p.Start.Add(30*time.Minute), p.End.Add(30*time.Minute))
	raw, err := s.TopPorts(ctx, store.TopPortsQuery{Period: shifted, N: 3, Sensors: []string{"us-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1 || raw[0].Packets != 2 || raw[0].Ports[0].Port != "80/TCP" {
		t.Errorf("TopPorts(shifted, us-1) = %+v, want us-1 with 2 packets on 80/TCP", raw)
	}

	sensorsAfter, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := sensorsAfter[0].FirstSeen, sensorsAfter[0].LastSeen; !first.Equal(q2) || !last.Equal(q3.Add(3*time.Second)) {
		t.Errorf("jp-1 first/last seen = %v, %v; want %v, %v", first, last, q2, q3.Add(3*time.Second))
	}

	// An empty period is a clear empty answer, not an error.
	empty, _ := period.Parse("2020Q1")
	none, err := s.TopPorts(ctx, store.TopPortsQuery{Period: empty, N: 3})
	if err != nil || len(none) != 2 || none[0].Packets != 0 || len(none[0].Ports) != 0 {
		t.Errorf("TopPorts(2020Q1) = %+v, %v; want both sensors with no packets", none, err)
	}
}

// testPreviousRankTies: in the previous period 443, 80 and 8080 had the
// same count, so their ranks follow the labels: "443/TCP" < "80/TCP" <
// "8080/TCP". Ports below the current top N still have previous ranks.
func testPreviousRankTies(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors[:1])
	if err != nil {
		t.Fatal(err)
	}
	june := time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC)
	july := time.Date(2024, 7, 10, 0, 0, 0, 0, time.UTC)
	var recs []record.Record
	add := func(n int, port uint16, when time.Time) {
		for i := range n {
			recs = append(recs, syn("192.0.2.1", "198.18.1.1", port, when.Add(time.Duration(i)*time.Minute)))
		}
	}
	add(5, 22, june)
	add(2, 443, june)
	add(2, 80, june)
	add(2, 8080, june)
	add(1, 23, june)
	add(3, 8080, july)
	add(2, 80, july)
	add(1, 23, july)
	add(1, 443, july)
	sensors := make([]int32, len(recs))
	for i := range sensors {
		sensors[i] = ids[0]
	}
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := period.Parse("2024-07")
	got, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RankedPort{
		{Rank: 1, Port: "8080/TCP", Packets: 3, PreviousRank: 4},
		{Rank: 2, Port: "80/TCP", Packets: 2, PreviousRank: 3},
		{Rank: 3, Port: "23/TCP", Packets: 1, PreviousRank: 5},
	}
	if len(got) != 1 || got[0].Packets != 7 {
		t.Fatalf("TopPorts(2024-07) = %+v, want one sensor with 7 packets", got)
	}
	if diff := cmp.Diff(got[0].Ports, want); diff != "" {
		t.Errorf("TopPorts(2024-07) (-got, +want):\n%s", diff)
	}

	// June and July together (two whole months): 22 and 8080 tie at 5.
	twoMonths, _ := period.ParseRange("2024-06-01", "2024-07-31")
	got, err = s.TopPorts(ctx, store.TopPortsQuery{Period: twoMonths, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	want = []store.RankedPort{
		{Rank: 1, Port: "22/TCP", Packets: 5},
		{Rank: 2, Port: "8080/TCP", Packets: 5},
		{Rank: 3, Port: "80/TCP", Packets: 4},
	}
	if len(got) != 1 || got[0].Packets != 19 {
		t.Fatalf("TopPorts(June-July) = %+v, want one sensor with 19 packets", got)
	}
	if diff := cmp.Diff(got[0].Ports, want); diff != "" {
		t.Errorf("TopPorts(June-July) (-got, +want):\n%s", diff)
	}
}

func testBadQuestions(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	if _, err := s.PutSensors(ctx, twoSensors); err != nil {
		t.Fatal(err)
	}
	p, _ := period.Parse("2024Q3")
	if _, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 10, Sensors: []string{"nope"}}); !errors.Is(err, store.ErrUnknownSensor) {
		t.Errorf("TopPorts(unknown sensor) error = %v, want ErrUnknownSensor", err)
	}
	if _, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 0}); err == nil {
		t.Error("TopPorts(N=0) succeeded, want an error")
	}
	if err := s.Append(ctx, make([]record.Record, 2), []int32{1}); err == nil {
		t.Error("Append with mismatched lengths succeeded, want an error")
	}
}

// testAgainstAnalyze stores a simulated quarter and checks that the top
// ports of every sensor equal what nightjar analyze reports on the same
// capture.
func testAgainstAnalyze(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	cfg := simulate.DefaultConfig()
	cfg.Packets = 200_000
	cfg.Sources = 5_000
	cfg.Start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 92 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	path := filepath.Join(t.TempDir(), "q3.pcap")
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := simulate.Run(ctx, cfg, w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	a := analyze.New(analyze.Config{Top: 10}, cfg.Fleet)
	if err := a.ReadFile(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()

	storeCapture(t, s, cfg.Fleet, path)
	q3, _ := period.Parse("2024Q3")
	got, err := s.TopPorts(ctx, store.TopPortsQuery{Period: q3, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	type column struct {
		Packets uint64
		Ports   []portcountView
	}
	gotCols, wantCols := map[string]column{}, map[string]column{}
	for _, sp := range got {
		c := column{Packets: sp.Packets}
		for _, rp := range sp.Ports {
			c.Ports = append(c.Ports, portcountView{rp.Port, rp.Packets})
		}
		gotCols[sp.Sensor] = c
	}
	for _, sr := range rep.Sensors {
		c := column{Packets: sr.Packets}
		for _, pc := range sr.TopPorts {
			c.Ports = append(c.Ports, portcountView{pc.Port, pc.Packets})
		}
		wantCols[sr.Name] = c
	}
	if diff := cmp.Diff(gotCols, wantCols); diff != "" {
		t.Errorf("store top ports (-store, +analyze):\n%s", diff)
	}
}

type portcountView struct {
	Port    string
	Packets uint64
}
