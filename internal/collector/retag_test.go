package collector_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// TestRetag: the collector stores the tags its own rules give the headers
// a sensor sent, not the sensor's, and counts the records whose tags it
// changed.
func TestRetag(t *testing.T) {
	b := newBed(t, "s1")
	dst := record.MustParseAddr("198.18.1.7")
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	recs := make([]record.Record, 10)
	for i := range recs {
		// Mirai's SYN (seq = destination), which this sensor's (older)
		// rules took for ZMap's.
		recs[i] = record.Record{Time: base + int64(i), Src: record.AddrFromUint32(0xc0000210 + uint32(i)), Dst: dst,
			IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64, HasTransport: true, SrcPort: 40000, DstPort: 23,
			TCPFlags: record.FlagSYN, Seq: dst.Uint32(), Window: 5840, Tags: record.TagZMap}
	}
	recs[9].Tags = record.TagMirai // a record the sensor tagged right
	batch, err := wire.EncodeBatch(1, 1, time.Now(), recs)
	if err != nil {
		t.Fatal(err)
	}
	acks, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1", Batch: batch})
	if err != nil || statuses(acks) != "STORED" {
		t.Fatalf("acks %s, %v", statuses(acks), err)
	}
	ctx := context.Background()
	if err := b.st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := period.Parse("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	counts, err := b.st.TagCounts(ctx, store.TagCountsQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for name, n := range counts.Tags {
		if n > 0 {
			got[name] = n
		}
	}
	if diff := cmp.Diff(got, map[string]uint64{"mirai": 10}); diff != "" {
		t.Errorf("stored tags (-got, +want):\n%s", diff)
	}
	if n := retagged(t, b, "s1"); n != 9 {
		t.Errorf("nightjar_collector_records_retagged_total{sensor=s1} = %v, want 9", n)
	}
}

// retagged reads the collector's retag counter of a sensor.
func retagged(t *testing.T, b *bed, sensor string) float64 {
	t.Helper()
	return counter(t, b, "nightjar_collector_records_retagged_total", map[string]string{"sensor": sensor})
}

// counter reads the collector's counter name of the series with labels
// (0 if it has none).
func counter(t *testing.T, b *bed, name string, labels map[string]string) float64 {
	t.Helper()
	for _, f := range gather(t, b) {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if maps.Equal(got, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// gather returns the collector's metrics.
func gather(t *testing.T, b *bed) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.c.Metrics()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return families
}
