package collector_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/common/expfmt"

	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// The tests of this file play an enrolled sensor that is hostile: each
// sends what a compromised sensor could, through the real protocol, and
// checks that the collector refuses it, counts it against that sensor,
// and goes on serving the others.

// timedBatch is a batch of one SYN to dst at each of times.
func timedBatch(t *testing.T, seq uint64, dst string, times ...int64) *sensorv1.Batch {
	t.Helper()
	recs := make([]record.Record, len(times))
	for i, ns := range times {
		recs[i] = record.Record{Time: ns, Src: record.AddrFromUint32(0xc0000201), Dst: record.MustParseAddr(dst),
			IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64, HasTransport: true, SrcPort: 40000, DstPort: 23, TCPFlags: record.FlagSYN}
	}
	b, err := wire.EncodeBatch(1, seq, testNow, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCompressionBombRefused: a batch that claims one record and expands
// to 128 MiB is refused as oversized without the collector holding the
// expansion, counted against its sensor, and the stream goes on.
func TestCompressionBombRefused(t *testing.T) {
	b := newBed(t, "s1")
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	bomb := &sensorv1.Batch{Epoch: 1, Seq: 1, Count: 1, RecordsZstd: enc.EncodeAll(make([]byte, 128<<20), nil)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	acks, err := exchange(t, b.client("s1"),
		&sensorv1.SendRequest{Sensor: "s1", Batch: bomb},
		&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 2, 10, "198.18.1.1")})
	runtime.ReadMemStats(&after)
	if err != nil || statuses(acks) != "REJECTED,STORED" || !strings.Contains(acks[0].GetMessage(), "decompresses beyond its record count") {
		t.Errorf("acks %s (%v), %v; want the bomb REJECTED as decompressing beyond its record count", statuses(acks), acks, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("a %d-byte bomb of 128 MiB made the process allocate %d MiB, want at most 64", len(bomb.RecordsZstd), alloc>>20)
	}
	if n := counter(t, b, "nightjar_collector_batches_rejected_total", map[string]string{"sensor": "s1", "reason": "oversized"}); n != 1 {
		t.Errorf("nightjar_collector_batches_rejected_total{sensor=s1,reason=oversized} = %v, want 1", n)
	}
}

// TestImplausibleTimesRefused: a sensor that sends one record stamped now
// among records at the end of int64 and before 1990 has only the plausible
// one stored, the others counted; another sensor's fresh data is still in
// the rollups.
func TestImplausibleTimesRefused(t *testing.T) {
	b := newBed(t, "s1", "s2")
	now := testNow.Add(-time.Hour).UnixNano()
	future := testNow.Add(25 * time.Hour).UnixNano()
	acks, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1",
		Batch: timedBatch(t, 1, "198.18.1.1", now, math.MaxInt64, future, 0, -1, math.MinInt64)})
	if err != nil || statuses(acks) != "STORED" {
		t.Fatalf("poisoned batch: %s, %v", statuses(acks), err)
	}
	if _, err := exchange(t, b.client("s2"), &sensorv1.SendRequest{Sensor: "s2", Batch: batch(t, 1, 1, 40, "198.18.2.1")}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(storedPackets(t, b.st), map[string]uint64{"s1": 1, "s2": 40}); diff != "" {
		t.Errorf("stored packets (-got, +want):\n%s", diff)
	}
	for reason, want := range map[string]float64{"time_in_future": 2, "time_before_1990": 3} {
		if n := counter(t, b, "nightjar_collector_records_rejected_total", map[string]string{"sensor": "s1", "reason": reason}); n != want {
			t.Errorf("nightjar_collector_records_rejected_total{sensor=s1,reason=%s} = %v, want %v", reason, n, want)
		}
	}
}

// TestMaxFutureSkewConfigurable: with a skew of a minute, a record two
// minutes ahead of the collector's clock is refused.
func TestMaxFutureSkewConfigurable(t *testing.T) {
	b := newBedWith(t, func(c *collector.Config) { c.MaxFutureSkew = time.Minute }, "s1")
	acks, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1",
		Batch: timedBatch(t, 1, "198.18.1.1", testNow.UnixNano(), testNow.Add(2*time.Minute).UnixNano())})
	if err != nil || statuses(acks) != "STORED" {
		t.Fatalf("acks %s, %v", statuses(acks), err)
	}
	if n := counter(t, b, "nightjar_collector_records_rejected_total", map[string]string{"sensor": "s1", "reason": "time_in_future"}); n != 1 {
		t.Errorf("nightjar_collector_records_rejected_total{sensor=s1,reason=time_in_future} = %v, want 1", n)
	}
}

// TestBadHealthAffectsOnlyItsSensor: a health counter of 2^63 is refused
// and counted; the other sensor's health, received in the same commit
// interval, is stored.
func TestBadHealthAffectsOnlyItsSensor(t *testing.T) {
	b := newBedWith(t, func(c *collector.Config) { c.CommitInterval = 300 * time.Millisecond }, "s1", "s2")
	bad := &sensorv1.SendRequest{Sensor: "s1", Health: &sensorv1.Health{Version: "bad", PacketsSeen: 1 << 63, KernelDrops: math.MaxUint64}}
	good := &sensorv1.SendRequest{Sensor: "s2", Health: &sensorv1.Health{Version: "good", PacketsSeen: 7}}
	for name, req := range map[string]*sensorv1.SendRequest{"s1": bad, "s2": good} {
		if _, err := exchange(t, b.client(name), req); err != nil {
			t.Fatal(err)
		}
	}
	var health []store.Health
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if health, err = b.st.Health(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(health) == 2 {
			break
		}
	}
	type summary struct {
		Sensor, Version string
		PacketsSeen     uint64
	}
	var got []summary
	for _, h := range health {
		got = append(got, summary{h.Sensor, h.Version, h.PacketsSeen})
	}
	// The store lists sensors in the order it first heard of them, which
	// the map above leaves to chance.
	slices.SortFunc(got, func(a, b summary) int { return strings.Compare(a.Sensor, b.Sensor) })
	// s1 is known to have been heard from, without its refused report.
	if diff := cmp.Diff(got, []summary{{"s1", "", 0}, {"s2", "good", 7}}); diff != "" {
		t.Errorf("stored health (-got, +want):\n%s", diff)
	}
	if n := counter(t, b, "nightjar_collector_health_rejected_total", map[string]string{"sensor": "s1", "reason": "out_of_range"}); n != 1 {
		t.Errorf("nightjar_collector_health_rejected_total{sensor=s1,reason=out_of_range} = %v, want 1", n)
	}
}

// TestRecordsForAnotherSensorsAddressesRefused: records to s2's prefix sent
// by s1 are not stored under s1, and counted.
func TestRecordsForAnotherSensorsAddressesRefused(t *testing.T) {
	b := newBed(t, "s1", "s2")
	at := testNow.Add(-time.Hour).UnixNano()
	acks, err := exchange(t, b.client("s1"),
		&sensorv1.SendRequest{Sensor: "s1", Batch: timedBatch(t, 1, "198.18.2.7", at, at+1, at+2)},
		&sensorv1.SendRequest{Sensor: "s1", Batch: timedBatch(t, 2, "198.18.1.7", at, at+1)})
	if err != nil || statuses(acks) != "STORED,STORED" {
		t.Fatalf("acks %s, %v", statuses(acks), err)
	}
	if diff := cmp.Diff(storedPackets(t, b.st), map[string]uint64{"s1": 2}); diff != "" {
		t.Errorf("stored packets (-got, +want):\n%s", diff)
	}
	if n := counter(t, b, "nightjar_collector_records_rejected_total", map[string]string{"sensor": "s1", "reason": "destination_not_enrolled"}); n != 3 {
		t.Errorf("nightjar_collector_records_rejected_total{sensor=s1,reason=destination_not_enrolled} = %v, want 3", n)
	}
}

// gatedStore is a store whose Appends wait until gate is closed.
type gatedStore struct {
	collector.Store
	gate chan struct{}
}

func (s gatedStore) Append(ctx context.Context, recs []record.Record, sensors []int32) error {
	<-s.gate
	return s.Store.Append(ctx, recs, sensors)
}

// TestQueueRoomBeforeDecoding: a stream takes the queue's room for a
// batch's claimed records before it decodes the batch, so that the
// decoded records of every stream are inside the queue bound. With the
// queue full, a (corrupt) next batch is not even decoded — no answer —
// until the store frees room; then it is rejected.
func TestQueueRoomBeforeDecoding(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	b := newBedWith(t, func(c *collector.Config) { c.Store = gatedStore{c.Store, gate}; c.QueueRecords = 100 }, "s1")
	t.Cleanup(open) // before the bed stops
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := b.client("s1").Send(ctx)
	if err := s.Send(&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 1, 100, "198.18.1.1")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); b.c.QueuedRecords() < 100; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d records, want the 100 of the first batch", b.c.QueuedRecords())
		}
	}
	bad := batch(t, 1, 2, 100, "198.18.1.1")
	bad.RecordsZstd = bad.RecordsZstd[:len(bad.RecordsZstd)/2]
	if err := s.Send(&sensorv1.SendRequest{Sensor: "s1", Batch: bad}); err != nil {
		t.Fatal(err)
	}
	answers := make(chan *sensorv1.Ack, 2)
	go func() {
		for range 2 {
			resp, err := s.Receive()
			if err != nil {
				close(answers)
				return
			}
			answers <- resp.GetAck()
		}
	}()
	select {
	case a := <-answers:
		t.Fatalf("batch %d answered %s while the queue was full: the second was decoded before it had room", a.GetSeq(), a.GetStatus())
	case <-time.After(300 * time.Millisecond):
	}
	open()
	var got []string
	for a := range answers {
		got = append(got, fmt.Sprintf("%d %s", a.GetSeq(), strings.TrimPrefix(a.GetStatus().String(), "STATUS_")))
		if len(got) == 2 {
			break
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(got, []string{"1 STORED", "2 REJECTED"}); diff != "" {
		t.Errorf("acks once the queue had room (-got, +want):\n%s", diff)
	}
}

// TestNewerStreamReplacesOlder: a sensor holds one stream; a second one
// ends the first (a compromised sensor cannot multiply what it holds),
// is served, and is counted.
func TestNewerStreamReplacesOlder(t *testing.T) {
	b := newBed(t, "s1")
	first := openStream(t, b.client("s1"), "s1")
	second := b.client("s1").Send(t.Context())
	if err := second.Send(&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 2, 10, "198.18.1.1")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := second.Receive(); err != nil || resp.GetAck().GetStatus() != sensorv1.Status_STATUS_STORED {
		t.Fatalf("newer stream: %v, %v; want its batch STORED", resp, err)
	}
	_, err := first.Receive()
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "newer stream") {
		t.Errorf("older stream ended with %v, want unavailable: the sensor opened a newer stream", err)
	}
	if n := counter(t, b, "nightjar_collector_streams_replaced_total", map[string]string{"sensor": "s1"}); n != 1 {
		t.Errorf("nightjar_collector_streams_replaced_total{sensor=s1} = %v, want 1", n)
	}
}

// TestCompressedEnvelopeRefused: a request compressed at the protocol
// layer (gzip) could expand to 64 MiB after the wire budget saw its
// compressed size; the collector accepts no such compression.
func TestCompressedEnvelopeRefused(t *testing.T) {
	b := newBed(t, "s1")
	dir := b.sensors["s1"]
	cfg, err := pki.ClientTLS(filepath.Join(dir, pki.SensorCertFile), filepath.Join(dir, pki.SensorKeyFile), filepath.Join(dir, pki.SensorCAFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	gz := sensorv1connect.NewCollectorServiceClient(hc, "https://"+b.addr, connect.WithSendGzip())
	_, err = exchange(t, gz, &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 1, 10, "198.18.1.1")})
	if connect.CodeOf(err) != connect.CodeUnimplemented {
		t.Errorf("gzip'd stream: %v, want unimplemented (unknown compression)", err)
	}
	if got := storedPackets(t, b.st); len(got) != 0 {
		t.Errorf("stored %v from a gzip'd stream, want nothing", got)
	}
}

// TestTooLargeBatchRefusedUndecoded: a batch of more records than
// max_batch_records is refused from its claimed count, without being
// decoded (its records are garbage here), counted, and the stream goes on.
func TestTooLargeBatchRefusedUndecoded(t *testing.T) {
	b := newBedWith(t, func(c *collector.Config) { c.MaxBatchRecords = 100 }, "s1")
	big := &sensorv1.Batch{Epoch: 1, Seq: 1, Count: 101, RecordsZstd: []byte("not zstd at all")}
	acks, err := exchange(t, b.client("s1"),
		&sensorv1.SendRequest{Sensor: "s1", Batch: big},
		&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 2, 100, "198.18.1.1")})
	if err != nil || statuses(acks) != "REJECTED,STORED" || !strings.Contains(acks[0].GetMessage(), "at most 100 (max_batch_records)") {
		t.Errorf("acks %s (%v), %v; want the 101-record batch REJECTED naming max_batch_records, then STORED", statuses(acks), acks, err)
	}
	if n := counter(t, b, "nightjar_collector_batches_rejected_total", map[string]string{"sensor": "s1", "reason": "too_large"}); n != 1 {
		t.Errorf("nightjar_collector_batches_rejected_total{sensor=s1,reason=too_large} = %v, want 1", n)
	}
}

// TestOneStreamCannotTakeTheQueue: a sensor with a backlog holds at most
// its share of the queue (a quarter), so that another sensor's batch gets
// room at once instead of waiting behind that backlog.
func TestOneStreamCannotTakeTheQueue(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	b := newBedWith(t, func(c *collector.Config) {
		c.Store = gatedStore{c.Store, gate}
		c.QueueRecords, c.MaxBatchRecords = 400, 100
	}, "s1", "s2")
	t.Cleanup(open)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The other sensor connects first: a new stream registers through the
	// writer, which the gate is about to block.
	other := b.client("s2").Send(ctx)
	if err := other.Send(&sensorv1.SendRequest{Sensor: "s2", Health: &sensorv1.Health{Version: "test"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(metricsText(t, b), `nightjar_sensor_info{sensor="s2"`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("sensor s2 not heard from")
		}
	}
	busy := b.client("s1").Send(ctx)
	for seq := range uint64(4) {
		if err := busy.Send(&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, seq+1, 100, "198.18.1.1")}); err != nil {
			t.Fatal(err)
		}
	}
	waitQueued := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); b.c.QueuedRecords() < want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("queue holds %d records, want %d", b.c.QueuedRecords(), want)
			}
		}
	}
	waitQueued(100)
	time.Sleep(200 * time.Millisecond)
	if n := b.c.QueuedRecords(); n != 100 {
		t.Fatalf("one sensor's backlog holds %d records of a 400-record queue, want its share of 100", n)
	}
	if err := other.Send(&sensorv1.SendRequest{Sensor: "s2", Batch: batch(t, 1, 1, 100, "198.18.2.1")}); err != nil {
		t.Fatal(err)
	}
	waitQueued(200) // the other sensor's batch is queued beside the backlog
	open()
	for name, s := range map[string]*connect.BidiStreamForClient[sensorv1.SendRequest, sensorv1.SendResponse]{"s1": busy, "s2": other} {
		want := map[string]int{"s1": 4, "s2": 1}[name]
		for range want {
			resp, err := s.Receive()
			if err != nil || resp.GetAck().GetStatus() != sensorv1.Status_STATUS_STORED {
				t.Fatalf("%s: %v, %v; want every batch STORED", name, resp, err)
			}
		}
	}
}

// metricsText is the collector's metrics in the text format.
func metricsText(t *testing.T, b *bed) string {
	t.Helper()
	var out strings.Builder
	for _, f := range gather(t, b) {
		if _, err := expfmt.MetricFamilyToText(&out, f); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}
