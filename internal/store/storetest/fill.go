package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Simulated fills s with the capture cfg simulates, as nightjar ingest
// would store it (cfg.Fleet's sensors; frames through the packet pipeline,
// enriched by enrichers, appended in batches, synced), and returns the
// simulator's ground truth. It is for the tests of packages that read a
// store (the API), which want realistic data without a capture file.
func Simulated(tb testing.TB, s store.Store, cfg simulate.Config, enrichers ...pipeline.Enricher) *simulate.Truth {
	tb.Helper()
	ctx := tb.Context()
	ids, err := s.PutSensors(ctx, cfg.Fleet.Sensors)
	if err != nil {
		tb.Fatal(err)
	}
	l := newLoader(tb, cfg.Fleet, enrichers...)
	truth, err := simulate.Run(ctx, cfg, l, nil)
	if err != nil {
		tb.Fatal(err)
	}
	recs, sensors, err := l.done(ids)
	if err != nil {
		tb.Fatal(err)
	}
	for len(recs) > 0 {
		n := min(len(recs), 50_000)
		if err := s.Append(ctx, recs[:n], sensors[:n]); err != nil {
			tb.Fatal(err)
		}
		recs, sensors = recs[n:], sensors[n:]
	}
	if err := s.Sync(ctx); err != nil {
		tb.Fatal(err)
	}
	return truth
}

// loader runs frames through the packet pipeline as nightjar ingest does
// and keeps every record with the fleet index of its sensor. It is a
// simulate.PacketWriter; every frame must decode and match a sensor.
type loader struct {
	path    *pipeline.Pipeline
	recs    []record.Record
	sensors []int32 // fleet index
}

func newLoader(tb testing.TB, f *fleet.Fleet, enrichers ...pipeline.Enricher) *loader {
	tb.Helper()
	l := &loader{}
	p, err := pipeline.New(pipeline.Config{Attributor: pipeline.Fleet(fleet.NewMatcher(f)), Sink: l, Enrichers: enrichers})
	if err != nil {
		tb.Fatal(err)
	}
	l.path = p
	return l
}

func (l *loader) WritePacket(ts int64, data []byte) error {
	return l.frame(ts, decode.LinkEthernet, data)
}

func (l *loader) frame(ts int64, link decode.LinkType, data []byte) error {
	switch l.path.Frame(ts, link, data) {
	case pipeline.Skipped:
		return errors.New("simulated frame does not decode")
	case pipeline.Unmatched, pipeline.Excluded:
		return fmt.Errorf("simulated packet at %d matches no sensor", ts)
	}
	if l.path.Full() {
		return l.path.Flush()
	}
	return nil
}

// Write is the pipeline's sink.
func (l *loader) Write(recs []record.Record, sensors []int32) error {
	l.recs = append(l.recs, recs...)
	l.sensors = append(l.sensors, sensors...)
	return nil
}

// done flushes the last batch and returns the records with their sensors'
// store IDs.
func (l *loader) done(ids []int32) ([]record.Record, []int32, error) {
	if err := l.path.Flush(); err != nil {
		return nil, nil, err
	}
	stored := make([]int32, len(l.sensors))
	for i, s := range l.sensors {
		stored[i] = ids[s]
	}
	return l.recs, stored, nil
}
