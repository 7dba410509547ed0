package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/failpoint"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

const hourNs = int64(3600e9)

// hourOf and dayOf are SQL for the hour and day numbers of time_ns,
// rounding down also before 1970 (DuckDB's // truncates toward zero), as
// floorDiv does in Go, and without overflow at the first int64.
const (
	hourOf = `CASE WHEN time_ns >= 0 THEN time_ns // 3600000000000 ELSE -(-(time_ns + 1) // 3600000000000) - 1 END`
	dayOf  = `CASE WHEN time_ns >= 0 THEN time_ns // 86400000000000 ELSE -(-(time_ns + 1) // 86400000000000) - 1 END`
	dayNs  = 24 * hourNs
)

// Append implements store.Store. Records are durable after Flush, and
// visible to questions after Sync (see Flush).
//
// Retention: the raw records of the days before the horizon (PrunedBefore)
// are gone and those days' rollups are final, so Append refuses, storing
// nothing of the batch, a record of such a day that already has packets
// (store.ErrPruned). A record of an older day without any packet is
// accepted: Sync rolls it up exactly, then prunes it. So captures can be
// imported in any order, and none is ever merged inexactly.
//
// The records reach DuckDB through a rawWriter, within one transaction
// per Flush: built with the duckdb_arrow tag, as Arrow columns in batches
// of whole row groups; without it, through a vectorised table function.
// A rawWriter may hold records until Flush; if an insert fails, the
// records appended since the last Flush are discarded.
func (s *Store) Append(ctx context.Context, recs []record.Record, sensors []int32) error {
	if len(recs) != len(sensors) {
		return fmt.Errorf("append: %d records but %d sensor IDs", len(recs), len(sensors))
	}
	if len(recs) == 0 {
		return nil
	}
	rlo, rhi, recent := int64(math.MaxInt64), int64(math.MinInt64), false
	var old map[int64]bool
	for i := range recs {
		t := recs[i].Time
		if t >= s.prunedBefore {
			rlo, rhi, recent = min(rlo, t), max(rhi, t), true
			continue
		}
		if d := floorDiv(t, dayNs); !s.oldDays[d] {
			if old == nil {
				old = map[int64]bool{}
			}
			old[d] = true
		}
	}
	if err := s.checkOldDays(ctx, old); err != nil {
		return err
	}
	if err := s.appendBatch(ctx, recs, sensors); err != nil {
		return err
	}
	if recent {
		if !s.recent || rlo < s.recentMin {
			s.recentMin = rlo
		}
		if !s.recent || rhi > s.recentMax {
			s.recentMax = rhi
		}
		s.recent = true
	}
	for d := range old {
		if s.oldDays == nil {
			s.oldDays = map[int64]bool{}
		}
		s.oldDays[d] = true
	}
	return nil
}

// checkOldDays returns store.ErrPruned if one of days, before the
// retention horizon, has rollups: its raw records were pruned.
func (s *Store) checkOldDays(ctx context.Context, days map[int64]bool) error {
	if len(days) == 0 {
		return nil
	}
	list := make([]string, 0, len(days))
	for d := range days {
		list = append(list, strconv.FormatInt(d, 10))
	}
	var day sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(day) FROM rollup_source_day WHERE day IN (`+strings.Join(list, ",")+`)`).Scan(&day)
	if err != nil {
		return fmt.Errorf("append: check the days before the retention horizon: %w", err)
	}
	if day.Valid {
		return fmt.Errorf("append: a record of %s: %w %s (that day's raw records were pruned and its rollups are final)",
			time.Unix(0, dayStart(day.Int64)).UTC().Format(time.DateOnly), store.ErrPruned, s.PrunedBefore().Format(time.DateOnly))
	}
	return nil
}

// begin returns the write connection, opening it on first use, with a
// transaction of appends open on it.
func (s *Store) begin(ctx context.Context) (*sql.Conn, error) {
	if s.wconn == nil {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		raw, err := newRawWriter(conn)
		if err != nil {
			conn.Close()
			return nil, err
		}
		s.raw = raw
		s.wconn = conn
	}
	if !s.inTx {
		// One transaction from the first Append to Flush: DuckDB writes
		// the row groups of a large transaction straight to the file,
		// compressed, instead of logging every row to the WAL.
		if _, err := s.wconn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			return nil, err
		}
		s.inTx = true
	}
	return s.wconn, nil
}

// abort rolls back the transaction of appends after err, which DuckDB
// aborted it for: every append since the last Flush is lost, and the store
// starts afresh from the last Flush.
func (s *Store) abort(what string, err error) error {
	rbErr := s.rollback(context.Background())
	return errors.Join(fmt.Errorf("%s (the records appended since the last Flush were discarded): %w", what, err), rbErr)
}

// Discard implements store.Store: it rolls back the transaction of the
// appends since the last Flush.
func (s *Store) Discard(ctx context.Context) error {
	if !s.inTx {
		return nil
	}
	if err := s.rollback(ctx); err != nil {
		return fmt.Errorf("discard the records appended since the last Flush: %w", err)
	}
	return nil
}

// rollback rolls back the transaction of appends, even when ctx has
// ended: an open transaction would hold the appends until the next Flush.
func (s *Store) rollback(ctx context.Context) error {
	_, err := s.wconn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	s.inTx = false
	s.recent, s.oldDays = false, nil
	s.raw.reset()
	return err
}

// appendBatch hands recs to the raw writer.
func (s *Store) appendBatch(ctx context.Context, recs []record.Record, sensors []int32) error {
	if _, err := s.begin(ctx); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if err := s.raw.write(ctx, recs, sensors); err != nil {
		return s.abort("append", err)
	}
	return nil
}

// tagCount is the number of tag bits the tag rollup covers.
var tagCount = len(record.AllTags())

// Flush implements store.Store. It commits the transaction of the appends
// since the last Flush together with the imports and the days to roll up
// (the table pending_rollups): the range of the records since the
// retention horizon, and each older day (which had no packets before, see
// Append). Until Sync rebuilds their rollups, the questions answered from
// rollups (whole hours) do not see them; those answered from raw records
// (periods that start or end within an hour) do.
func (s *Store) Flush(ctx context.Context, imports ...store.Import) error {
	return s.flush(ctx, imports, nil)
}

// FlushBatches implements store.Store: Flush, with the batches' runs in
// the ledger (batch_ranges) in the same transaction.
func (s *Store) FlushBatches(ctx context.Context, batches []store.Batch) error {
	return s.flush(ctx, nil, batches)
}

func (s *Store) flush(ctx context.Context, imports []store.Import, batches []store.Batch) error {
	if !s.inTx && len(imports) == 0 && len(batches) == 0 {
		return nil
	}
	conn, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := s.raw.flush(ctx); err != nil {
		return s.abort("flush: append", err)
	}
	for _, imp := range imports {
		if err := recordImport(ctx, conn, imp); err != nil {
			return s.abort(fmt.Sprintf("flush: record import %q", imp.Key), err)
		}
	}
	if err := recordBatches(ctx, conn, batches, s.newestAppended()); err != nil {
		return s.abort("flush: record the batches in the ledger", err)
	}
	var days []string
	if s.recent {
		days = append(days, fmt.Sprintf("(%d, %d)", floorDiv(s.recentMin, dayNs), floorDiv(s.recentMax, dayNs)+1))
	}
	for d := range s.oldDays {
		days = append(days, fmt.Sprintf("(%d, %d)", d, d+1))
	}
	if len(days) > 0 {
		if _, err := conn.ExecContext(ctx, `INSERT INTO pending_rollups VALUES `+strings.Join(days, ", ")); err != nil {
			return s.abort("flush: note the days to roll up", err)
		}
	}
	s.inTx = false
	failpoint.Hit("duckdb.flush.before-commit")
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		s.recent, s.oldDays = false, nil
		return fmt.Errorf("flush: commit (the records appended since the last Flush were discarded): %w", err)
	}
	failpoint.Hit("duckdb.flush.after-commit")
	s.recent, s.oldDays = false, nil
	s.flushed = s.flushed || len(days) > 0
	return nil
}

// Sync implements store.Store: it flushes, then rebuilds from the raw
// records the rollups of every day noted in pending_rollups — by this
// process or, after a crash, by an earlier one — so that distinct counts
// stay exact, and the sensors' first and last seen, then prunes the raw
// records older than the retention (Options.Retention, stored in the
// database).
func (s *Store) Sync(ctx context.Context) error {
	if err := s.Flush(ctx); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := s.rollUpPending(ctx, true); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.flushed = false
	return nil
}

// RollUp implements store.BackgroundRoller: it rebuilds the rollups of
// the days noted in pending_rollups, as Sync does, without flushing or
// pruning, in its own transaction — so it may run in another goroutine
// while the writer goes on appending and committing. A Flush that
// commits meanwhile notes its days again (rows the rebuild's snapshot
// does not see, so it does not delete them) and the next RollUp or Sync
// rebuilds them: no record is missed. Pruning moves the horizon that
// Append checks, so it stays with the writer, in Sync.
func (s *Store) RollUp(ctx context.Context) error {
	if err := s.rollUpPending(ctx, false); err != nil {
		return fmt.Errorf("roll up: %w", err)
	}
	return nil
}

// rollUpPending rebuilds the rollups of the pending days and, if prune
// (the writer's Sync), prunes the raw records past the retention. One
// runs at a time.
func (s *Store) rollUpPending(ctx context.Context, prune bool) error {
	s.rolling.Lock()
	defer s.rolling.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	spans, err := pendingDays(ctx, tx)
	if err != nil {
		return err
	}
	if len(spans) == 0 {
		return nil
	}
	// Rebuild whole days (they contain whole hours) so that every rollup of
	// a touched day is recomputed from all of its raw records: never a
	// final day, whose raw records were pruned (Append refuses its records).
	old := false
	for _, span := range spans {
		if err := s.rollUp(ctx, tx, span[0], span[1]); err != nil {
			return err
		}
		old = old || dayStart(span[0]) < s.prunedBefore
	}
	horizon := s.prunedBefore
	if prune {
		if horizon, err = s.prune(ctx, tx, old); err != nil {
			return err
		}
	}
	// Only the rows this transaction sees: those a concurrent Flush added
	// stay for the next rebuild.
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_rollups`); err != nil {
		return err
	}
	failpoint.Hit("duckdb.rollup.before-commit")
	if err := tx.Commit(); err != nil {
		return err
	}
	if prune { // the writer's: Append reads the horizon without a lock
		s.prunedBefore = horizon
	}
	return nil
}

// pendingDays returns the spans of days [from, to) noted in
// pending_rollups, overlapping and adjacent ones merged (Flush notes the
// same days again and again when records arrive in time order), in order.
func pendingDays(ctx context.Context, tx *sql.Tx) ([][2]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT from_day, to_day FROM pending_rollups ORDER BY from_day, to_day`)
	if err != nil {
		return nil, fmt.Errorf("read the days to roll up: %w", err)
	}
	defer rows.Close()
	var spans [][2]int64
	for rows.Next() {
		var from, to int64
		if err := rows.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("read the days to roll up: %w", err)
		}
		if n := len(spans); n > 0 && from <= spans[n-1][1] {
			spans[n-1][1] = max(spans[n-1][1], to)
			continue
		}
		spans = append(spans, [2]int64{from, to})
	}
	return spans, rows.Err()
}

// rollUp rebuilds the rollups of the days [from, to) from the raw records.
// Its bounds are inclusive and clamped to the int64 range, so that a record
// at any int64 time (the last day's end does not fit) is rolled up with
// its day instead of turning the span's end negative.
func (s *Store) rollUp(ctx context.Context, tx *sql.Tx, from, to int64) error {
	fromNs, lastNs := dayStart(from), dayEnd(to-1)
	fromHour, lastHour := floorDiv(fromNs, hourNs), floorDiv(lastNs, hourNs)
	// The tag rollup counts each tag bit in one pass (a filtered count per
	// tag), then unpivots the few grouped rows; a cross join of the packets
	// with range(16) was 16 passes over the expanded rows.
	var tagCounts, tagRows []string
	for bit := range tagCount {
		tagCounts = append(tagCounts, fmt.Sprintf("count(*) FILTER (WHERE tags & %d <> 0) AS t%d", 1<<bit, bit))
		tagRows = append(tagRows, fmt.Sprintf("(%d, t%d)", bit, bit))
	}
	steps := []syncStep{
		{"clear port rollups", `DELETE FROM rollup_port_hour WHERE hour >= ? AND hour <= ?`, []any{fromHour, lastHour}},
		{"build port rollups", `INSERT INTO rollup_port_hour
			SELECT ` + hourOf + ` AS hour, sensor, slot, count(*), sum(ip_len), count(DISTINCT (ip_version, src_hi, src_lo)),
				count(*) FILTER (WHERE tags & 1 <> 0)
			FROM packets WHERE time_ns >= ? AND time_ns <= ?
			GROUP BY ALL`, []any{fromNs, lastNs}},
		{"clear tag rollups", `DELETE FROM rollup_tag_hour WHERE hour >= ? AND hour <= ?`, []any{fromHour, lastHour}},
		{"build tag rollups", `INSERT INTO rollup_tag_hour
			SELECT hour, sensor, tc.tag, tc.packets
			FROM (SELECT ` + hourOf + ` AS hour, sensor, ` + strings.Join(tagCounts, ", ") + `
			      FROM packets WHERE time_ns >= ? AND time_ns <= ? AND tags <> 0
			      GROUP BY ALL) AS g,
			     (VALUES ` + strings.Join(tagRows, ", ") + `) AS tc(tag, packets)
			WHERE tc.packets > 0`, []any{fromNs, lastNs}},
		{"clear source rollups", `DELETE FROM rollup_source_day WHERE day >= ? AND day < ?`, []any{from, to}},
		{"build source rollups", `INSERT INTO rollup_source_day
			SELECT ` + dayOf + ` AS day, sensor, ip_version, src_hi, src_lo, count(*), list(DISTINCT slot ORDER BY slot),
				bit_or(tags), min(time_ns), max(time_ns)
			FROM packets WHERE time_ns >= ? AND time_ns <= ?
			GROUP BY ALL`, []any{fromNs, lastNs}},
		{"update the sensors' first and last seen", `UPDATE sensors SET
				first_seen_ns = least(coalesce(first_seen_ns, seen.first), seen.first),
				last_seen_ns = greatest(coalesce(last_seen_ns, seen.last), seen.last)
			FROM (SELECT sensor, min(first_ns) AS first, max(last_ns) AS last
			      FROM rollup_source_day WHERE day >= ? AND day < ? GROUP BY sensor) AS seen
			WHERE sensors.id = seen.sensor`, []any{from, to}},
	}
	// The monthly port rollup sums the hourly one (kept forever, so a month
	// can be rebuilt whatever the raw retention), over whole months, and the
	// quarterly one sums the monthly one: a quarter holds over a million
	// (sensor, port) pairs, too many to sum from hours for every report.
	firstMonth, lastMonth := monthIndex(fromNs), monthIndex(lastNs)
	steps = append(steps,
		syncStep{"clear monthly port rollups", `DELETE FROM rollup_port_month WHERE month >= ? AND month <= ?`, []any{firstMonth, lastMonth}},
		syncStep{"build monthly port rollups", `INSERT INTO rollup_port_month
			SELECT ` + monthOfHour + ` AS month, sensor, slot, sum(packets), sum(bytes), sum(mirai)
			FROM rollup_port_hour WHERE hour >= ? AND hour <= ?
			GROUP BY ALL`, []any{floorDiv(monthStart(firstMonth), hourNs), floorDiv(monthEnd(lastMonth), hourNs)}},
		syncStep{"clear quarterly port rollups", `DELETE FROM rollup_port_quarter WHERE quarter >= ? AND quarter <= ?`, []any{firstMonth / 3, lastMonth / 3}},
		syncStep{"build quarterly port rollups", `INSERT INTO rollup_port_quarter
			SELECT month // 3 AS quarter, sensor, slot, sum(packets), sum(bytes), sum(mirai)
			FROM rollup_port_month WHERE month >= ? AND month < ?
			GROUP BY ALL`, []any{firstMonth / 3 * 3, (lastMonth/3 + 1) * 3}},
	)
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("sync: %s: %w", st.what, err)
		}
	}
	return nil
}

// futureSlack is how far past the wall clock the newest packet may move the
// retention horizon: one packet with a corrupt timestamp in 2099 must not
// prune every raw record.
const futureSlack = 24 * time.Hour

// prune deletes the raw records older than the retention and returns the
// new horizon. The clock is the data's: the horizon is the newest stored
// packet time (capped at the wall clock plus futureSlack) minus the
// retention, rounded down to a UTC day, so that whole days are pruned and
// the rollups of the days before it, already built, are final. old: days
// before the current horizon were just rolled up, and their raw records
// must go. The ledger's runs older than the horizon go with them.
func (s *Store) prune(ctx context.Context, tx *sql.Tx, old bool) (int64, error) {
	keep := s.Retention()
	if keep <= 0 && !old {
		return s.prunedBefore, nil
	}
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(time_ns) FROM packets`).Scan(&newest); err != nil {
		return 0, fmt.Errorf("prune: newest packet: %w", err)
	}
	if !newest.Valid {
		return s.prunedBefore, nil
	}
	horizon := s.prunedBefore
	if keep > 0 {
		// Packet times come from 32-bit pcap seconds: no overflow here.
		latest := min(newest.Int64, time.Now().Add(futureSlack).UnixNano())
		if latest >= math.MinInt64+int64(keep) { // else nothing is that old
			horizon = max(dayStart(floorDiv(latest-int64(keep), dayNs)), horizon)
		}
	}
	if horizon == s.prunedBefore && !old {
		return horizon, nil // nothing new before the horizon
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM packets WHERE time_ns < ?`, horizon); err != nil {
		return 0, fmt.Errorf("prune raw records before %s: %w", time.Unix(0, horizon).UTC().Format(time.DateOnly), err)
	}
	if horizon == s.prunedBefore {
		return horizon, nil
	}
	// A batch whose records are all before the horizon would be refused
	// if sent again (ErrPruned): the ledger need not know it any more.
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_ranges WHERE newest_ns < ?`, horizon); err != nil {
		return 0, fmt.Errorf("prune the batch ledger: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pruned`); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pruned VALUES (?)`, horizon); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return horizon, nil
}

// syncStep is one statement of a rollup rebuild, named for errors.
type syncStep struct {
	what, sql string
	args      []any
}

// monthOfHour is SQL for the month index (year*12 + month-1, UTC) of an
// hour number.
const monthOfHour = `(year(to_timestamp(hour * 3600)) * 12 + month(to_timestamp(hour * 3600)) - 1)::INTEGER`

// monthIndex returns the month index (year*12 + month-1, UTC) of a time in ns.
func monthIndex(ns int64) int64 {
	t := time.Unix(0, ns).UTC()
	return int64(t.Year())*12 + int64(t.Month()) - 1
}

// monthStart returns the first instant, in ns, of a month index, clamped
// to the int64 range.
func monthStart(month int64) int64 {
	t := time.Date(int(month/12), time.Month(month%12+1), 1, 0, 0, 0, 0, time.UTC)
	switch {
	case t.After(lastTime):
		return math.MaxInt64
	case t.Before(firstTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

// monthEnd returns the last instant, in ns, of a month index.
func monthEnd(month int64) int64 { return endBefore(monthStart(month + 1)) }

// The instants of the first and last int64 nanoseconds.
var firstTime, lastTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// dayStart returns the first instant, in ns, of a day number, clamped to
// the int64 range.
func dayStart(day int64) int64 {
	switch {
	case day > math.MaxInt64/dayNs:
		return math.MaxInt64
	case day < math.MinInt64/dayNs:
		return math.MinInt64
	}
	return day * dayNs
}

// dayEnd returns the last instant, in ns, of a day number: the last
// int64 for the day that holds it.
func dayEnd(day int64) int64 { return endBefore(dayStart(day + 1)) }

// endBefore returns the instant before next, the clamped start of a
// period: math.MaxInt64 itself when next was clamped there.
func endBefore(next int64) int64 {
	if next == math.MaxInt64 {
		return next
	}
	return next - 1
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
