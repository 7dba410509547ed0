package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Simulated fills s with the capture cfg simulates, as nightjar ingest
// would store it (cfg.Fleet's sensors; frames decoded, tagged, attributed
// to their sensor, appended in batches, synced), and returns the
// simulator's ground truth. It is for the tests of packages that read a
// store (the API), which want realistic data without a capture file.
func Simulated(tb testing.TB, s store.Store, cfg simulate.Config) *simulate.Truth {
	tb.Helper()
	ctx := tb.Context()
	ids, err := s.PutSensors(ctx, cfg.Fleet.Sensors)
	if err != nil {
		tb.Fatal(err)
	}
	rec := &recorder{matcher: fleet.NewMatcher(cfg.Fleet), tagger: fingerprint.NewTagger(0), ids: ids}
	truth, err := simulate.Run(ctx, cfg, rec, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for recs, sensors := rec.recs, rec.sensors; len(recs) > 0; {
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

// recorder is a simulate.PacketWriter that keeps each frame as a tagged
// record of the sensor that monitors its destination.
type recorder struct {
	matcher *fleet.Matcher
	tagger  *fingerprint.Tagger
	ids     []int32 // store IDs of the fleet's sensors

	recs    []record.Record
	sensors []int32
}

func (r *recorder) WritePacket(ts int64, data []byte) error {
	var rec record.Record
	if decode.Decode(decode.LinkEthernet, data, &rec) != decode.OK {
		return errors.New("simulated frame does not decode")
	}
	rec.Time = ts
	r.tagger.Tag(&rec)
	i := r.matcher.Lookup(rec.Dst.Netip())
	if i < 0 {
		return fmt.Errorf("simulated packet to %s matches no sensor", rec.Dst)
	}
	r.recs = append(r.recs, rec)
	r.sensors = append(r.sensors, r.ids[i])
	return nil
}
