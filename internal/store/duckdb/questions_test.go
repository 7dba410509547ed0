package duckdb

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestDistinctAfterRetention: once raw records of a period are gone (as
// retention removes them), distinct ports per source stay exact (the daily
// rollups list them), and distinct sources per port fall back to the
// rollups and say they are lower bounds.
func TestDistinctAfterRetention(t *testing.T) {
	t.Parallel()
	s := openTemp(t).(*Store)
	defer s.Close()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "jp-1", Group: "Japan", Addresses: []string{"198.18.1.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	var recs []record.Record
	add := func(src string, port uint16, when time.Time) {
		recs = append(recs, record.Record{Time: when.UnixNano(), Src: record.MustParseAddr(src), Dst: record.MustParseAddr("198.18.1.1"),
			IPVersion: 4, Protocol: record.ProtoTCP, TTL: 50, IPLen: 40, HasTransport: true, DstPort: port, TCPFlags: record.FlagSYN})
	}
	add("192.0.2.1", 23, day1)
	add("192.0.2.1", 80, day2)
	add("192.0.2.1", 22, day2.Add(time.Second))
	add("192.0.2.2", 23, day2.Add(time.Hour))
	if err := s.Append(ctx, recs, []int32{ids[0], ids[0], ids[0], ids[0]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	july, _ := period.Parse("2024-07")
	before, err := s.TopSources(ctx, store.TopSourcesQuery{Period: july, N: 1})
	if err != nil || len(before) != 1 || before[0].Ports != 3 || !before[0].PortsExact {
		t.Fatalf("TopSources() before retention = %+v, %v; want 3 exact ports", before, err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM packets WHERE time_ns < ?`, day2.UnixNano()); err != nil {
		t.Fatal(err)
	}

	got, err := s.TopSources(ctx, store.TopSourcesQuery{Period: july, N: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Source{{IP: "192.0.2.1", Packets: 3, Ports: 3, PortsExact: true, Tags: []string{}, Sensors: 1,
		FirstSeen: day1, LastSeen: day2.Add(time.Second), Verdict: store.VerdictUnknown}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("TopSources() after retention (-got, +want):\n%s", diff)
	}
	ports, err := s.PortSources(ctx, store.PortSourcesQuery{Period: july, N: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 23/TCP had sources .1 (day 1, removed) and .2: the hourly rollups
	// and the retained records each show 1.
	if diff := cmp.Diff(ports, []store.PortSources{{Rank: 1, Port: "23/TCP", Packets: 2, Sources: 1, SourcesExact: false}}); diff != "" {
		t.Errorf("PortSources() after retention (-got, +want):\n%s", diff)
	}
}
