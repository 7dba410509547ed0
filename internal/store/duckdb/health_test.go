package duckdb

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestPutHealthText: a version that is not UTF-8 fails the call with an
// error and stores none of its reports (binding it in a list would crash
// the driver); any other text, NUL included, is kept as sent.
func TestPutHealthText(t *testing.T) {
	ctx := t.Context()
	s, ids := openWithSensors(t, "a", "b")
	defer s.Close()
	if err := s.PutHealth(ctx, []store.Health{{SensorID: ids[0], Version: "v1"}, {SensorID: ids[1], Version: "v\xff"}}); err == nil {
		t.Error("PutHealth(version not UTF-8) = nil, want an error")
	}
	if got, err := s.Health(ctx); err != nil || len(got) != 0 {
		t.Errorf("Health() after a refused call = %v, %v; want none", got, err)
	}
	if err := s.PutHealth(ctx, []store.Health{{SensorID: ids[0], Version: "v\x00 é"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Health(ctx); err != nil || len(got) != 1 || got[0].Version != "v\x00 é" {
		t.Errorf(`Health() = %+v, %v; want version "v\x00 é"`, got, err)
	}
}

// TestPutHealthCounterRange: the counters' columns are UBIGINT, and a
// counter keeps its full uint64 range (the collector refuses those above
// 2^63-1 before the store, see collector.checkHealth).
func TestPutHealthCounterRange(t *testing.T) {
	ctx := t.Context()
	s, ids := openWithSensors(t, "a")
	defer s.Close()
	h := store.Health{SensorID: ids[0], Sensor: "a", Version: "v1", PacketsSeen: math.MaxUint64, DroppedRecords: 1 << 63, Lag: math.MinInt64}
	if err := s.PutHealth(ctx, []store.Health{h}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []store.Health{h}); diff != "" {
		t.Errorf("Health() (-got, +want):\n%s", diff)
	}
}

// openWithSensors opens a new store that knows the sensors of names.
func openWithSensors(t *testing.T, names ...string) (*Store, []int32) {
	t.Helper()
	s := openTemp(t).(*Store)
	sensors := make([]fleet.Sensor, len(names))
	for i, name := range names {
		sensors[i] = fleet.Sensor{Name: name, Group: "g", Addresses: []string{fmt.Sprintf("198.18.0.%d", i+1)}}
	}
	ids, err := s.PutSensors(t.Context(), sensors)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, ids
}
