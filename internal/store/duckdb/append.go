package duckdb

import (
	"context"
	"fmt"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

const hourNs = int64(3600e9)

// hourOf and dayOf are SQL for the hour and day numbers of time_ns,
// rounding down also before 1970 (DuckDB's // truncates toward zero), as
// floorDiv does in Go.
const (
	hourOf = `CASE WHEN time_ns >= 0 THEN time_ns // 3600000000000 ELSE -((-time_ns - 1) // 3600000000000) - 1 END`
	dayOf  = `CASE WHEN time_ns >= 0 THEN time_ns // 86400000000000 ELSE -((-time_ns - 1) // 86400000000000) - 1 END`
	dayNs  = 24 * hourNs
)

// Append implements store.Store. Records go through DuckDB's appender; they
// are visible to questions after Sync.
func (s *Store) Append(ctx context.Context, recs []record.Record, sensors []int32) error {
	if len(recs) != len(sensors) {
		return fmt.Errorf("append: %d records but %d sensor IDs", len(recs), len(sensors))
	}
	if len(recs) == 0 {
		return nil
	}
	if s.appender == nil {
		conn, err := s.connector.Connect(ctx)
		if err != nil {
			return fmt.Errorf("append: connect: %w", err)
		}
		a, err := duck.NewAppenderFromConn(conn, "", "packets")
		if err != nil {
			conn.Close()
			return fmt.Errorf("append: %w", err)
		}
		s.conn, s.appender = conn, a
	}
	for i := range recs {
		r := &recs[i]
		var version uint8 = 6
		if r.Src.Is4() {
			version = 4
		}
		srcHi, srcLo := r.Src.Halves()
		dstHi, dstLo := r.Dst.Halves()
		err := s.appender.AppendRow(r.Time, sensors[i], version, srcHi, srcLo, dstHi, dstLo,
			r.Protocol, int32(portcount.Slot(r.Key())), r.SrcPort, r.DstPort, r.TCPFlags,
			r.Seq, r.Ack, r.Window, r.IPID, r.TTL, r.IPLen,
			r.Options.Layout, r.Options.LayoutLen, r.Fragment, uint16(r.Tags))
		if err != nil {
			return fmt.Errorf("append record: %w", err)
		}
		if !s.dirty || r.Time < s.dirtyMin {
			s.dirtyMin = r.Time
		}
		if !s.dirty || r.Time > s.dirtyMax {
			s.dirtyMax = r.Time
		}
		s.dirty = true
	}
	return nil
}

// Sync implements store.Store: it flushes the appender, then rebuilds the
// rollups of every day the appends touched from the raw records (so that
// distinct counts stay exact) and the sensors' first and last seen.
func (s *Store) Sync(ctx context.Context) error {
	if s.appender != nil {
		if err := s.appender.Flush(); err != nil {
			return fmt.Errorf("sync: flush appender: %w", err)
		}
	}
	if !s.dirty {
		return nil
	}
	// Rebuild whole days (they contain whole hours) so that every rollup of
	// a touched day is recomputed from all of its raw records.
	from := floorDiv(s.dirtyMin, dayNs)
	to := floorDiv(s.dirtyMax, dayNs) + 1 // exclusive
	fromNs, toNs := from*dayNs, to*dayNs
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	steps := []struct {
		what, sql string
		args      []any
	}{
		{"clear port rollups", `DELETE FROM rollup_port_hour WHERE hour >= ? AND hour < ?`, []any{fromNs / hourNs, toNs / hourNs}},
		{"build port rollups", `INSERT INTO rollup_port_hour
			SELECT ` + hourOf + ` AS hour, sensor, slot, count(*), sum(ip_len), count(DISTINCT (ip_version, src_hi, src_lo)),
				count(*) FILTER (WHERE tags & 1 <> 0)
			FROM packets WHERE time_ns >= ? AND time_ns < ?
			GROUP BY ALL`, []any{fromNs, toNs}},
		{"clear tag rollups", `DELETE FROM rollup_tag_hour WHERE hour >= ? AND hour < ?`, []any{fromNs / hourNs, toNs / hourNs}},
		{"build tag rollups", `INSERT INTO rollup_tag_hour
			SELECT ` + hourOf + ` AS hour, sensor, bit AS tag, count(*)
			FROM packets, range(16) AS bits(bit)
			WHERE time_ns >= ? AND time_ns < ? AND (tags >> bit) & 1 = 1
			GROUP BY ALL`, []any{fromNs, toNs}},
		{"clear source rollups", `DELETE FROM rollup_source_day WHERE day >= ? AND day < ?`, []any{from, to}},
		{"build source rollups", `INSERT INTO rollup_source_day
			SELECT ` + dayOf + ` AS day, sensor, ip_version, src_hi, src_lo, count(*), count(DISTINCT slot),
				bit_or(tags), min(time_ns), max(time_ns)
			FROM packets WHERE time_ns >= ? AND time_ns < ?
			GROUP BY ALL`, []any{fromNs, toNs}},
		{"update sensors", `UPDATE sensors SET
				first_seen_ns = least(coalesce(first_seen_ns, seen.first), seen.first),
				last_seen_ns = greatest(coalesce(last_seen_ns, seen.last), seen.last)
			FROM (SELECT sensor, min(time_ns) AS first, max(time_ns) AS last
			      FROM packets WHERE time_ns >= ? AND time_ns <= ? GROUP BY sensor) AS seen
			WHERE sensors.id = seen.sensor`, []any{s.dirtyMin, s.dirtyMax}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("sync: %s: %w", st.what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.dirty = false
	return nil
}

// floorDiv divides rounding toward negative infinity (times before 1970
// exist in old captures).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
