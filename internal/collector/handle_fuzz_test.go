package collector

import (
	"context"
	"crypto/x509"
	"net/netip"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// fuzzStore is never called: the fuzz target stops at the writer's queue.
type fuzzStore struct{ Store }

type fuzzRegistry struct{}

func (fuzzRegistry) SensorName(*x509.Certificate) (string, error) { return "s1", nil }
func (fuzzRegistry) Sensors() []fleet.Sensor                      { return nil }

// FuzzHandle: whatever batch and health a sensor sends — a claimed count,
// compressed bytes, a health counter — the stream's handling (health
// check, size check, queue room, decoding, screening, re-tagging) neither
// panics nor fails the stream; the batch is either refused with an
// answer or queued for the writer, never both, with no more records than
// it claimed, all of a plausible time and for the sensor's own addresses;
// and the queue's room comes back whole.
func FuzzHandle(f *testing.F) {
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	recs := []record.Record{
		{Time: now.Add(-time.Minute).UnixNano(), Dst: record.AddrFromUint32(0xc6120107), IPVersion: 4, Protocol: record.ProtoTCP, HasTransport: true, DstPort: 23},
		{Time: now.Add(48 * time.Hour).UnixNano(), Dst: record.AddrFromUint32(0xc6120107), IPVersion: 4},
		{Time: now.UnixNano(), Dst: record.AddrFromUint32(0xc6120207), IPVersion: 4},
	}
	good, err := wire.EncodeBatch(1, 1, now, recs)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(3), good.GetRecordsZstd(), uint64(7))
	f.Add(uint32(1), enc.EncodeAll(make([]byte, 1<<20), nil), uint64(0))     // a bomb claiming one record
	f.Add(uint32(1<<10), enc.EncodeAll(make([]byte, 1<<20), nil), uint64(0)) // one claiming 1,024
	f.Add(uint32(wire.MaxBatchRecords), []byte("x"), uint64(0))              // too many records
	f.Add(uint32(3), good.GetRecordsZstd()[:len(good.GetRecordsZstd())/2], uint64(1)<<63)
	f.Add(uint32(0), []byte{}, uint64(0))
	const maxBatch = 1 << 12
	f.Fuzz(func(t *testing.T, count uint32, payload []byte, counter uint64) {
		c, err := New(Config{Store: fuzzStore{}, Registry: fuzzRegistry{}, QueueRecords: 4 * maxBatch, MaxBatchRecords: maxBatch,
			Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		s := newStream(c, "s1", 1, nil, "fuzz", nil)
		s.screen = screen{prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24")}, maxFuture: 24 * time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := &sensorv1.SendRequest{Sensor: "s1", Health: &sensorv1.Health{PacketsSeen: counter},
			Batch: &sensorv1.Batch{Epoch: 1, Seq: 1, Count: count, RecordsZstd: payload}}
		if err := s.handle(ctx, req); err != nil {
			t.Fatalf("handle: %v", err)
		}
		select {
		case j := <-c.jobs:
			if n := len(j.batch.records); n > int(count) {
				t.Fatalf("%d records queued from a batch that claimed %d", n, count)
			}
			for _, r := range j.batch.records {
				if r.Dst.Uint32()>>8 != 0xc61201 || record.ImplausibleTime(r.Time, now, 24*time.Hour) != "" {
					t.Fatalf("queued a record the screen must refuse: %+v", r)
				}
			}
			select {
			case a := <-s.acks:
				t.Fatalf("a queued batch was also answered %v", a)
			default:
			}
			s.release(j.batch.weight)
		case a := <-s.acks:
			if a.GetStatus() != sensorv1.Status_STATUS_REJECTED || a.GetMessage() == "" {
				t.Fatalf("answered %v, want REJECTED with a reason", a)
			}
		default:
			t.Fatal("the batch was neither queued nor answered")
		}
		if n := c.QueuedRecords(); n != 0 {
			t.Fatalf("%d records of room still taken", n)
		}
	})
}
