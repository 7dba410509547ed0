package duckdb

import (
	"fmt"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// BenchmarkLiveRollUp measures what freshness costs: one rollup after a
// commit of 10,000 new records (the last minute of a busy collector) into
// a day that already holds day records, hour by hour ("hourly", the live
// days) and rebuilding the whole day from its raw records ("whole-day",
// as every rollup did before, and as records of older days still do).
// The hourly rollup's time must not grow with the day.
//
//	go test ./internal/store/duckdb -run '^$' -bench LiveRollUp -benchtime 20x
func BenchmarkLiveRollUp(b *testing.B) {
	for _, day := range []int{250_000, 2_000_000, 8_000_000} {
		for _, mode := range []string{"hourly", "whole-day"} {
			b.Run(fmt.Sprintf("day=%d/%s", day, mode), func(b *testing.B) {
				ctx := b.Context()
				s, err := Open(ctx, b.TempDir()+"/live.duckdb", Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.1.0/24"}}})
				if err != nil {
					b.Fatal(err)
				}
				if mode == "whole-day" {
					if _, err := s.db.ExecContext(ctx, `UPDATE live_from SET from_day = 1099511627776`); err != nil {
						b.Fatal(err)
					}
				}
				start := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).UnixNano()
				const commit = 10_000
				span := int64(20 * time.Hour) // the day so far; commits land in the hour after it
				next := 0
				batch := func(n int, from, width int64) []record.Record {
					recs := make([]record.Record, n)
					for j := range recs {
						k := next + j
						recs[j] = record.Record{Time: from + int64(j)*width/int64(n), Src: record.AddrFromUint32(0x2d000000 + uint32(k*7919%200_000)),
							Dst: record.MustParseAddr("198.18.1.1"), IPVersion: 4, Protocol: record.ProtoTCP, HasTransport: true,
							DstPort: uint16(k * 31 % 2000), IPLen: 40}
					}
					next += n
					return recs
				}
				if err := s.Append(ctx, batch(day, start, span), repeat(ids[0], day)); err != nil {
					b.Fatal(err)
				}
				if err := s.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				at := start + span
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					if err := s.Append(ctx, batch(commit, at, int64(time.Second)), repeat(ids[0], commit)); err != nil {
						b.Fatal(err)
					}
					if err := s.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					at += int64(time.Second)
					b.StartTimer()
					if err := s.RollUp(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rollup")
			})
		}
	}
}
