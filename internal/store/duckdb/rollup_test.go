package duckdb

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestRollUpBesideTheWriter: background rollups run while the writer
// appends and commits, across two days; the writer is never held up by
// them (commits finish while a rebuild is under way), no record is missed
// or counted twice, and after the last RollUp the questions see every
// record.
func TestRollUpBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t).(*Store)
	defer s.Close()
	ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.1.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC).UnixNano()
	batch := func(i, n int) []record.Record {
		recs := make([]record.Record, n)
		for j := range recs {
			recs[j] = record.Record{Time: day + int64(i)*int64(time.Minute) + int64(j), Src: record.AddrFromUint32(0x2d000000 + uint32(j%1000)),
				Dst: record.MustParseAddr("198.18.1.1"), IPVersion: 4, Protocol: record.ProtoTCP, HasTransport: true, DstPort: uint16(20 + i%3)}
		}
		return recs
	}
	// A large first commit, so that the first rebuild takes a while.
	const big, small, commits = 500_000, 1000, 120
	if err := s.Append(ctx, batch(0, big), repeat(ids[0], big)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var rollups sync.WaitGroup
	var during int // commits that finished while the first rebuild ran
	rebuilt := make(chan struct{})
	rollups.Go(func() {
		defer close(rebuilt)
		if err := s.RollUp(ctx); err != nil {
			t.Errorf("RollUp: %v", err)
		}
	})
	for s.rolling.TryLock() { // until the rebuild has begun (it takes long)
		s.rolling.Unlock()
		select {
		case <-rebuilt:
			t.Fatal("the first rebuild ended before it was seen to begin")
		case <-time.After(time.Millisecond):
		}
	}
	for i := 1; i <= commits; i++ {
		if err := s.Append(ctx, batch(i, small), repeat(ids[0], small)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rebuilt:
		default:
			during++
		}
		if i%20 == 0 {
			rollups.Go(func() {
				if err := s.RollUp(ctx); err != nil {
					t.Errorf("RollUp: %v", err)
				}
			})
		}
	}
	rollups.Wait()
	if during == 0 {
		t.Errorf("no commit finished while the first rebuild ran: the writer waited for it")
	}
	if err := s.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := period.ParseRange("2026-11-30", "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := s.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	for _, c := range cols {
		got += c.Packets
	}
	if want := uint64(big + commits*small); got != want {
		t.Errorf("packets in the rollups after the last RollUp = %d, want %d", got, want)
	}
	t.Logf("%d of %d commits finished while the first rebuild ran", during, commits)
}

func repeat(id int32, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = id
	}
	return out
}
