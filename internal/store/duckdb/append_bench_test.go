package duckdb

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// BenchmarkAppend measures the stages of an import: decoding and tagging a
// capture, appending its records, and Sync (rollups, retention), and the
// bytes on disk per packet of the raw records and of the rollups.
//
// NIGHTJAR_BENCH_PCAP and NIGHTJAR_BENCH_FLEET name a capture and its fleet
// (nightjar simulate --out --fleet-out); without them it simulates 1M
// packets. Run with -benchtime=1x: each iteration imports the whole capture
// into a new database.
//
//	go test ./internal/store/duckdb -run '^$' -bench Append -benchtime 1x
func BenchmarkAppend(b *testing.B) {
	recs, sensors := benchRecords(b)
	b.Run("batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dir := b.TempDir()
			path := filepath.Join(dir, "bench.duckdb")
			s, err := Open(b.Context(), path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if os.Getenv("NIGHTJAR_BENCH_UNORDERED") != "" {
				if _, err := s.db.Exec(`SET preserve_insertion_order = false`); err != nil {
					b.Fatal(err)
				}
			}
			if c := os.Getenv("NIGHTJAR_BENCH_COMPRESSION"); c != "" {
				if _, err := s.db.Exec(`SET force_compression = '` + c + `'`); err != nil {
					b.Fatal(err)
				}
			}
			batch := 1 << 16
			if v, err := strconv.Atoi(os.Getenv("NIGHTJAR_BENCH_BATCH")); err == nil {
				batch = v
			}
			start := time.Now()
			for i := 0; i < len(recs); i += batch {
				j := min(i+batch, len(recs))
				if err := s.Append(b.Context(), recs[i:j], sensors[i:j]); err != nil {
					b.Fatal(err)
				}
			}
			appended := time.Now()
			if err := s.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			synced := time.Now()
			if _, err := s.db.ExecContext(b.Context(), `CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			n := float64(len(recs))
			b.ReportMetric(n/appended.Sub(start).Seconds(), "append-pkts/s")
			b.ReportMetric(n/synced.Sub(appended).Seconds(), "sync-pkts/s")
			b.ReportMetric(n/synced.Sub(start).Seconds(), "store-pkts/s")
			raw := tableBytes(b, s.db, dir, "packets")
			rollups := tableBytes(b, s.db, dir, "rollup_port_hour", "rollup_tag_hour", "rollup_source_day")
			b.ReportMetric(raw/n, "raw-B/pkt")
			b.ReportMetric(rollups/n, "rollup-B/pkt")
			s.Close()
		}
	})
}

// tableBytes copies tables into a new database file and returns its size
// less that of an empty database: their bytes on disk.
func tableBytes(b *testing.B, db *sql.DB, dir string, tables ...string) float64 {
	b.Helper()
	size := func(name string, tables []string) int64 {
		path := filepath.Join(dir, name+".duckdb")
		if _, err := db.Exec(`ATTACH '` + path + `' AS sizing`); err != nil {
			b.Fatal(err)
		}
		for _, t := range tables {
			if _, err := db.Exec(`CREATE TABLE sizing.` + t + ` AS SELECT * FROM ` + t); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.Exec(`DETACH sizing`); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	return float64(size(tables[0], tables) - size("empty"+tables[0], nil))
}

// benchRecords decodes and tags the benchmark capture, reporting the time
// it took per packet.
func benchRecords(b *testing.B) ([]record.Record, []int32) {
	b.Helper()
	path, fleetPath := os.Getenv("NIGHTJAR_BENCH_PCAP"), os.Getenv("NIGHTJAR_BENCH_FLEET")
	var fl *fleet.Fleet
	if path == "" {
		cfg := simulate.DefaultConfig()
		cfg.Packets = 1_000_000
		cfg.Start = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
		cfg.Duration = 92 * 24 * time.Hour
		cfg.Fleet = simulate.DefaultFleet()
		fl = cfg.Fleet
		path = filepath.Join(b.TempDir(), "sim.pcap")
		w, err := capfile.Create(path, uint32(decode.LinkEthernet))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := simulate.Run(b.Context(), cfg, w, nil); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	} else {
		var err error
		if fl, err = fleet.Load(fleetPath); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	matcher := fleet.NewMatcher(fl)
	tagger := fingerprint.NewTagger(1 << 22)
	r, err := capfile.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var (
		p       capfile.Packet
		recs    []record.Record
		sensors []int32
	)
	for r.Next(&p) == nil {
		recs = append(recs, record.Record{})
		rec := &recs[len(recs)-1]
		if decode.Decode(decode.LinkType(p.LinkType), p.Data, rec) != decode.OK {
			b.Fatal("benchmark frame does not decode")
		}
		rec.Time = p.Time
		tagger.Tag(rec)
		sensors = append(sensors, int32(matcher.Lookup(rec.Dst.Netip())+1))
	}
	b.Logf("decode+match+tag: %d packets in %.2fs, %.0f packets/s", len(recs), time.Since(start).Seconds(), float64(len(recs))/time.Since(start).Seconds())
	return recs, sensors
}
