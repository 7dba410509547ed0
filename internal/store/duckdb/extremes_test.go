package duckdb

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// TestExtremeTimesRollUp: records at the first and last int64 instants
// (the end of the last day does not fit in an int64) are rolled up with
// their days and do not hide another sensor's records of the same Sync
// from the rollups.
func TestExtremeTimesRollUp(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t).(*Store)
	defer s.Close()
	ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "poisoned", Addresses: []string{"198.18.1.1"}}, {Name: "fresh", Addresses: []string{"198.18.1.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(ns int64) record.Record { return synAt("192.0.2.1", 23, time.Unix(0, ns)) }
	recs := []record.Record{at(math.MaxInt64), at(math.MinInt64), at(julyDay(3, 10).UnixNano()), at(julyDay(3, 11).UnixNano())}
	if err := s.Append(ctx, recs, []int32{ids[0], ids[0], ids[1], ids[1]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// No period reaches the int64 ends (their days' ends do not fit), so
	// the hourly rollup the questions read is read itself.
	type row struct{ Sensor, Hour, Packets int64 }
	var got []row
	rows, err := s.db.QueryContext(ctx, `SELECT sensor, hour, sum(packets) FROM rollup_port_hour GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.Sensor, &r.Hour, &r.Packets); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	poisoned, fresh := int64(ids[0]), int64(ids[1])
	july3 := floorDiv(julyDay(3, 0).UnixNano(), hourNs)
	want := []row{
		{poisoned, floorDiv(math.MinInt64, hourNs), 1}, {poisoned, floorDiv(math.MaxInt64, hourNs), 1},
		{fresh, july3 + 10, 1}, {fresh, july3 + 11, 1},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("hourly rollup (-got, +want):\n%s", diff)
	}
}

func TestDayBoundsClamp(t *testing.T) {
	last := floorDiv(math.MaxInt64, dayNs)
	first := floorDiv(math.MinInt64, dayNs)
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"start of day 1", dayStart(1), dayNs},
		{"end of day 0", dayEnd(0), dayNs - 1},
		{"end of day -1", dayEnd(-1), -1},
		{"end of the last day", dayEnd(last), math.MaxInt64},
		{"start of the last day", dayStart(last), last * dayNs},
		{"start of the first day", dayStart(first), math.MinInt64},
		{"end of the last month", monthEnd(monthIndex(math.MaxInt64)), math.MaxInt64},
		{"start of the first month", monthStart(monthIndex(math.MinInt64)), math.MinInt64},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
