package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// rolledUpTables are every table a rollup writes, with the order that
// makes their dumps comparable.
var rolledUpTables = []string{
	"rollup_port_hour", "rollup_tag_hour", "rollup_source_day",
	"rollup_port_month", "rollup_port_quarter", "sensors", "rollup_origin_day",
}

// TestIncrementalRollupsEqualOneRebuild: records arriving in many small
// commits, each rolled up at once (hour by hour on the live days, by the
// differences for months and quarters, whole days for late records of
// older days), leave every rollup table equal, row for row, to one
// rebuild of all of them, wholly from the raw records, in a single Sync.
// The records cross a month and
// a quarter (31 March to 2 April 2028), an hour boundary to the
// nanosecond, and include late records of an older day.
func TestIncrementalRollupsEqualOneRebuild(t *testing.T) {
	ctx := t.Context()
	recs, sensors := incrementalRecords()
	incremental, whole := openTemp(t).(*Store), openTemp(t).(*Store)
	defer incremental.Close()
	defer whole.Close()
	for _, s := range []*Store{incremental, whole} {
		if _, err := s.PutSensors(ctx, []fleet.Sensor{
			{Name: "jp-1", Group: "Japan", Addresses: []string{"198.18.1.0/24"}},
			{Name: "us-1", Group: "overseas", Addresses: []string{"198.18.2.0/24"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	commits := 0
	for i := 0; i < len(recs); commits++ {
		j := min(len(recs), i+1+rng.IntN(400))
		if err := incremental.Append(ctx, recs[i:j], sensors[i:j]); err != nil {
			t.Fatal(err)
		}
		if err := incremental.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		roll := incremental.RollUp
		if commits%7 == 0 {
			roll = incremental.Sync
		}
		if err := roll(ctx); err != nil {
			t.Fatal(err)
		}
		i = j
	}
	// The rebuild keeps no day by hour: every day from its raw records.
	if _, err := whole.db.ExecContext(ctx, `UPDATE live_from SET from_day = 1099511627776`); err != nil {
		t.Fatal(err)
	}
	if err := whole.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := whole.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var hourly int
	if err := incremental.db.QueryRowContext(ctx, `SELECT count(*) FROM rollup_source_hour`).Scan(&hourly); err != nil {
		t.Fatal(err)
	}
	if hourly == 0 {
		t.Fatal("no hourly source rows: the live days were not rolled up by hour")
	}
	for _, table := range rolledUpTables {
		got, want := dumpTable(t, incremental.db, table), dumpTable(t, whole.db, table)
		if len(want) == 0 {
			t.Fatalf("%s is empty after the rebuild", table)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s after %d incremental rollups differs from one rebuild (-rebuild +incremental):\n%s", table, commits, diff)
		}
	}
	// The origin rollup counts what the raw records say (a source's
	// origin is fixed within a day here, so each record's is its row's).
	direct := `SELECT day, sensor, country, asn, scanner, count(*), count(DISTINCT (ip_version, src_hi, src_lo)) FROM (
			SELECT ` + dayOf + ` AS day, sensor, ` + countryText("src_country") + ` AS country, src_asn AS asn,
				` + scannerText("src_scanner") + ` AS scanner, ip_version, src_hi, src_lo FROM packets)
		GROUP BY ALL ORDER BY ALL`
	if diff := cmp.Diff(dumpQuery(t, whole.db, direct), dumpTable(t, incremental.db, "rollup_origin_day")); diff != "" {
		t.Errorf("rollup_origin_day differs from a count of the raw records (-raw +rollup):\n%s", diff)
	}
	t.Logf("%d records in %d commits; %d hourly source rows", len(recs), commits, hourly)
}

// incrementalRecords returns records of two sensors from 31 March to 2
// April 2028 in time order, with late records of 20 March among them,
// and their sensors' store IDs (1 and 2).
func incrementalRecords() ([]record.Record, []int32) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2028, 3, 31, 0, 0, 0, 0, time.UTC).UnixNano()
	late := time.Date(2028, 3, 20, 5, 0, 0, 0, time.UTC).UnixNano()
	boundary := time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC).UnixNano() // a month, a quarter
	const n = 12_000
	var (
		recs    []record.Record
		sensors []int32
	)
	for i := range n {
		t := start + int64(i)*int64(3*24*time.Hour)/n
		switch {
		case i%997 == 0:
			t = late + int64(i)
		case i == n/3:
			t = boundary - 1
		case i == n/3+1:
			t = boundary
		}
		sensor := int32(1 + rng.IntN(2))
		r := record.Record{
			Time: t, Src: record.AddrFromUint32(0x2d000000 + uint32(rng.IntN(300))), IPVersion: 4,
			Dst: record.AddrFromUint32(0xc6120000 + uint32(sensor)<<8 + 1), HasTransport: true,
			Protocol: record.ProtoTCP, DstPort: uint16(20 + rng.IntN(40)), IPLen: uint16(40 + rng.IntN(20)),
			Tags: record.Tags(rng.IntN(1 << 4)),
		}
		if rng.IntN(5) == 0 {
			r.Protocol = record.ProtoUDP
		}
		// Each source's origin, which changes from one day to the next
		// for some (a database update).
		src, day := r.Src.Uint32()&0xffff, uint32(floorDiv(t, dayNs))
		if src%3 == 0 {
			src += day
		}
		if src%11 != 0 {
			r.Origin = record.Origin{Country: record.CountryOf([]string{"JP", "US", "CN", "DE"}[src%4]), ASN: 64500 + src%7,
				Org: record.Intern(fmt.Sprintf("Org %d", src%7))}
		}
		if src%5 == 0 {
			r.Origin.Scanner = record.Intern([]string{"censys", "censys,shodan"}[src%2])
		}
		recs, sensors = append(recs, r), append(sensors, sensor)
	}
	return recs, sensors
}

// dumpTable returns the rows of table as strings, in order.
func dumpTable(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	return dumpQuery(t, db, `SELECT * FROM `+table+` ORDER BY ALL`)
}

// dumpQuery returns the rows of a query as strings, in its order.
func dumpQuery(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	_, values := scanAll(t, rows)
	var out []string
	for _, vals := range values {
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// scanAll reads and closes rows: their column names and every row's
// values.
func scanAll(t *testing.T, rows *sql.Rows) ([]string, [][]any) {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}

// TestPendingDaysOfSchema3: a database of schema 3, with a day flushed
// but not rolled up (pending_rollups), opens with that day pending by
// hours; its days are rebuilt wholly (live_from starts after its newest
// source rows), and the rollups then count every record.
func TestPendingDaysOfSchema3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v3.duckdb")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.PutSensors(ctx, []fleet.Sensor{{Name: "s1", Group: "g", Addresses: []string{"198.18.1.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC)
	at := func(h int, n int) []record.Record {
		recs := make([]record.Record, n)
		for i := range recs {
			recs[i] = record.Record{Time: day.Add(time.Duration(h)*time.Hour + time.Duration(i)).UnixNano(), Src: record.AddrFromUint32(0x2d000000 + uint32(i%7)),
				Dst: record.MustParseAddr("198.18.1.1"), IPVersion: 4, Protocol: record.ProtoTCP, HasTransport: true, DstPort: 23}
		}
		return recs
	}
	if err := s.Append(ctx, at(1, 30), repeat(ids[0], 30)); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, at(10, 12), repeat(ids[0], 12)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.abandon(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	dayNum := day.Unix() / 86400
	for _, q := range append(UndoSince5(), // as schema 3 left it
		`DROP TABLE pending_hours`, `DROP TABLE rollup_source_hour`, `DROP TABLE live_from`,
		`CREATE TABLE pending_rollups (from_day BIGINT NOT NULL, to_day BIGINT NOT NULL)`,
		fmt.Sprintf(`INSERT INTO pending_rollups VALUES (%d, %d)`, dayNum, dayNum+1),
		`UPDATE nightjar_schema SET version = 3`,
	) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var from, to, liveFrom int64
	if err := s.db.QueryRowContext(ctx, `SELECT from_hour, to_hour, (SELECT from_day FROM live_from) FROM pending_hours`).Scan(&from, &to, &liveFrom); err != nil {
		t.Fatal(err)
	}
	if from != dayNum*24 || to != (dayNum+1)*24 || liveFrom != dayNum+1 {
		t.Errorf("after the migration: pending hours [%d, %d), live from day %d; want [%d, %d), %d", from, to, liveFrom, dayNum*24, (dayNum+1)*24, dayNum+1)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var packets, sources, hourly int64
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT sum(packets) FROM rollup_port_hour), (SELECT sum(packets) FROM rollup_source_day), (SELECT count(*) FROM rollup_source_hour)`).Scan(&packets, &sources, &hourly); err != nil {
		t.Fatal(err)
	}
	if packets != 42 || sources != 42 || hourly != 0 {
		t.Errorf("after Sync: %d packets by port, %d by source, %d hourly source rows; want 42, 42, 0 (the day rebuilt wholly)", packets, sources, hourly)
	}
}

// TestCutAtDays: a span is cut before every third day with packets, at
// its UTC midnight, and the pieces cover the span (also before 1970, and
// across empty years).
func TestCutAtDays(t *testing.T) {
	for _, tt := range []struct {
		span [2]int64
		days []int64
		want [][2]int64
	}{
		{[2]int64{5, 24 * 5}, []int64{0, 1, 2, 3, 4}, [][2]int64{{5, 24 * 3}, {24 * 3, 24 * 5}}},
		{[2]int64{-50, 24 * 400}, []int64{-3, -2, 0, 399}, [][2]int64{{-50, 24 * 399}, {24 * 399, 24 * 400}}},
		{[2]int64{10, 24 * 9}, []int64{0, 1, 8}, [][2]int64{{10, 24 * 9}}},
		{[2]int64{10, 24 * 9}, nil, [][2]int64{{10, 24 * 9}}},
	} {
		if got := cutAtDays(tt.span, tt.days, 3); !cmp.Equal(got, tt.want) {
			t.Errorf("cutAtDays(%v, %v, 3) = %v, want %v", tt.span, tt.days, got, tt.want)
		}
	}
}
