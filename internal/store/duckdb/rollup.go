package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/failpoint"
)

// Sync implements store.Store: it flushes, then rebuilds the rollups of
// every hour noted in pending_hours — by this process or, after a crash,
// by an earlier one (see rollUp) — and the sensors' first and last seen,
// then prunes the raw records older than the retention
// (Options.Retention, stored in the database).
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
// the hours noted in pending_hours, as Sync does, without flushing or
// pruning, in its own transaction — so it may run in another goroutine
// while the writer goes on appending and committing. A Flush that
// commits meanwhile notes its hours again (rows the rebuild's snapshot
// does not see, so it does not delete them) and the next RollUp or Sync
// rebuilds them: no record is missed. Pruning moves the horizon that
// Append checks, so it stays with the writer, in Sync.
func (s *Store) RollUp(ctx context.Context) error {
	if err := s.rollUpPending(ctx, false); err != nil {
		return fmt.Errorf("roll up: %w", err)
	}
	return nil
}

// liveDays is the number of days, up to that of the newest pending
// record, whose source rollup is also kept by hour (rollup_source_hour),
// so that a rebuild of an hour updates those days' source rows from the
// hours instead of from all of the day's raw records. Records of an
// older day (a late spool, an import) rebuild the whole day.
const liveDays = 2

// rollUpPending rebuilds the rollups of the pending hours and, if prune
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
	spans, err := pendingHours(ctx, tx)
	if err != nil {
		return err
	}
	if len(spans) == 0 {
		return nil
	}
	hourly, err := s.moveLiveDays(ctx, tx, spans[len(spans)-1][1]-1)
	if err != nil {
		return err
	}
	old := false
	for _, span := range spans {
		spanChunks, err := rollupChunks(ctx, tx, span)
		if err != nil {
			return err
		}
		for _, chunk := range spanChunks {
			if err := s.rollUp(ctx, tx, chunk[0], chunk[1], hourly); err != nil {
				return err
			}
		}
		old = old || hourStart(span[0]) < s.prunedBefore
	}
	horizon := s.prunedBefore
	if prune {
		if horizon, err = s.prune(ctx, tx, old); err != nil {
			return err
		}
	}
	// Only the rows this transaction sees: those a concurrent Flush added
	// stay for the next rebuild.
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_hours`); err != nil {
		return err
	}
	for _, t := range rollupTemps {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return err
		}
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

// rollupChunkDays is the most days with packets that one rebuild's
// statements cover: a whole import is rebuilt a week of data at a time,
// so that its aggregations fit in DuckDB's memory limit (the source
// rollup's port lists cannot spill: 92 days of 100 M packets at once ran
// out of ingest's 384 MiB).
const rollupChunkDays = 7

// rollupChunks cuts the span of hours [from, to) into pieces that each hold at
// most rollupChunkDays days with packets, cut at UTC day boundaries. The
// pieces cover the span; a span of at most that many days is one piece.
func rollupChunks(ctx context.Context, tx *sql.Tx, span [2]int64) ([][2]int64, error) {
	if span[1]-span[0] <= rollupChunkDays*24 {
		return [][2]int64{span}, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT `+dayOf+` AS day FROM packets WHERE time_ns >= ? AND time_ns <= ? ORDER BY day`,
		hourStart(span[0]), hourEnd(span[1]-1))
	if err != nil {
		return nil, fmt.Errorf("read the days to roll up: %w", err)
	}
	defer rows.Close()
	var days []int64
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("read the days to roll up: %w", err)
		}
		days = append(days, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the days to roll up: %w", err)
	}
	return cutAtDays(span, days, rollupChunkDays), nil
}

// cutAtDays cuts span before every perChunk-th of days (sorted day
// numbers inside it).
func cutAtDays(span [2]int64, days []int64, perChunk int) [][2]int64 {
	var out [][2]int64
	from := span[0]
	for i := perChunk; i < len(days); i += perChunk {
		if cut := days[i] * 24; cut > from && cut < span[1] {
			out = append(out, [2]int64{from, cut})
			from = cut
		}
	}
	return append(out, [2]int64{from, span[1]})
}

// moveLiveDays returns the first day whose source rollup is kept by hour
// (the table live_from), after moving it up to liveDays before the day of
// newestHour (capped at the wall clock plus futureSlack, as the retention
// is), dropping the hourly source rows of the days it leaves.
func (s *Store) moveLiveDays(ctx context.Context, tx *sql.Tx, newestHour int64) (int64, error) {
	var from int64
	if err := tx.QueryRowContext(ctx, `SELECT from_day FROM live_from`).Scan(&from); err != nil {
		return 0, fmt.Errorf("read the first live day: %w", err)
	}
	newest := min(floorDiv(newestHour, 24), floorDiv(time.Now().Add(futureSlack).UnixNano(), dayNs))
	want := newest - liveDays + 1
	if want <= from {
		return from, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rollup_source_hour WHERE hour < ?`, want*24); err != nil {
		return 0, fmt.Errorf("drop the hourly source rollups before %s: %w", dayName(want), err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE live_from SET from_day = ?`, want); err != nil {
		return 0, fmt.Errorf("move the first live day: %w", err)
	}
	return want, nil
}

// dayName is a day number as a date.
func dayName(day int64) string { return time.Unix(0, dayStart(day)).UTC().Format(time.DateOnly) }

// pendingHours returns the spans of hours [from, to) noted in
// pending_hours, overlapping and adjacent ones merged (Flush notes the
// same hours again and again when records arrive in time order), in order.
func pendingHours(ctx context.Context, tx *sql.Tx) ([][2]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT from_hour, to_hour FROM pending_hours ORDER BY from_hour, to_hour`)
	if err != nil {
		return nil, fmt.Errorf("read the hours to roll up: %w", err)
	}
	defer rows.Close()
	var spans [][2]int64
	for rows.Next() {
		var from, to int64
		if err := rows.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("read the hours to roll up: %w", err)
		}
		if n := len(spans); n > 0 && from <= spans[n-1][1] {
			spans[n-1][1] = max(spans[n-1][1], to)
			continue
		}
		spans = append(spans, [2]int64{from, to})
	}
	return spans, rows.Err()
}

// rollupTemps are the temporary tables of a rollup rebuild, dropped
// before it commits (they would outlive it on the pooled connection).
var rollupTemps = []string{"nj_port_delta", "nj_month_delta", "nj_touched"}

// rollUp rebuilds the rollups of the hours [from, to), where records were
// added, at a cost that follows those hours' records, not the size of
// their days or months:
//   - the hourly port and tag rollups of those hours, from their raw
//     records (exact distinct sources per port and hour);
//   - the monthly and quarterly port rollups, by the difference between
//     the rebuilt hours' new and old rows;
//   - the hourly source rollup of those hours on live days (from
//     hourlyFrom on, see liveDays), then, for the sources seen in them
//     only, those days' source rows, from the hourly ones (exact distinct
//     ports per source and day);
//   - the daily source rollup of older days, wholly, from their raw
//     records (late records are rare);
//   - the sensors' first and last seen.
//
// Its bounds are inclusive and clamped to the int64 range, so that a record
// at any int64 time (the last hour's end does not fit) is rolled up with
// its hour instead of turning the span's end negative.
func (s *Store) rollUp(ctx context.Context, tx *sql.Tx, from, to, hourlyFrom int64) error {
	fromNs, lastNs := hourStart(from), hourEnd(to-1)
	lastHour := to - 1
	// The tag rollup counts each tag bit in one pass (a filtered count per
	// tag), then unpivots the few grouped rows; a cross join of the packets
	// with range(16) was 16 passes over the expanded rows.
	var tagCounts, tagRows []string
	for bit := range tagCount {
		tagCounts = append(tagCounts, fmt.Sprintf("count(*) FILTER (WHERE tags & %d <> 0) AS t%d", 1<<bit, bit))
		tagRows = append(tagRows, fmt.Sprintf("(%d, t%d)", bit, bit))
	}
	portSums := `SELECT ` + monthOfHour + ` AS month, sensor, slot, sum(packets)::HUGEINT AS packets, sum(bytes)::HUGEINT AS bytes, sum(mirai)::HUGEINT AS mirai
			FROM rollup_port_hour WHERE hour >= ? AND hour <= ? GROUP BY ALL`
	steps := []syncStep{
		{"note the old port rollups", `CREATE OR REPLACE TEMP TABLE nj_port_delta AS
			SELECT month, sensor, slot, -packets AS packets, -bytes AS bytes, -mirai AS mirai FROM (` + portSums + `)`, []any{from, lastHour}},
		{"clear port rollups", `DELETE FROM rollup_port_hour WHERE hour >= ? AND hour <= ?`, []any{from, lastHour}},
		{"build port rollups", `INSERT INTO rollup_port_hour
			SELECT ` + hourOf + ` AS hour, sensor, slot, count(*), sum(ip_len), count(DISTINCT (ip_version, src_hi, src_lo)),
				count(*) FILTER (WHERE tags & 1 <> 0)
			FROM packets WHERE time_ns >= ? AND time_ns <= ?
			GROUP BY ALL`, []any{fromNs, lastNs}},
		{"note the new port rollups", `INSERT INTO nj_port_delta ` + portSums, []any{from, lastHour}},
		{"clear tag rollups", `DELETE FROM rollup_tag_hour WHERE hour >= ? AND hour <= ?`, []any{from, lastHour}},
		{"build tag rollups", `INSERT INTO rollup_tag_hour
			SELECT hour, sensor, tc.tag, tc.packets
			FROM (SELECT ` + hourOf + ` AS hour, sensor, ` + strings.Join(tagCounts, ", ") + `
			      FROM packets WHERE time_ns >= ? AND time_ns <= ? AND tags <> 0
			      GROUP BY ALL) AS g,
			     (VALUES ` + strings.Join(tagRows, ", ") + `) AS tc(tag, packets)
			WHERE tc.packets > 0`, []any{fromNs, lastNs}},
	}
	steps = append(steps, periodDeltaSteps(monthIndex(fromNs), monthIndex(lastNs))...)
	labels, err := labelsSQL(ctx, tx)
	if err != nil {
		return err
	}
	steps = append(steps, sourceSteps(from, to, hourlyFrom, labels)...)
	steps = append(steps, originSteps(floorDiv(from, 24), floorDiv(to-1, 24))...)
	steps = append(steps, syncStep{"update the sensors' first and last seen", `UPDATE sensors SET
			first_seen_ns = least(coalesce(first_seen_ns, seen.first), seen.first),
			last_seen_ns = greatest(coalesce(last_seen_ns, seen.last), seen.last)
		FROM (SELECT sensor, min(time_ns) AS first, max(time_ns) AS last
		      FROM packets WHERE time_ns >= ? AND time_ns <= ? GROUP BY sensor) AS seen
		WHERE sensors.id = seen.sensor`, []any{fromNs, lastNs}})
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("sync: %s: %w", st.what, err)
		}
	}
	return nil
}

// periodDeltaSteps add the difference between the rebuilt hours' new and
// old port rollups (nj_port_delta) to the monthly rollup of the months
// [firstMonth, lastMonth], and the quarterly one: a month or a quarter
// holds over a million (sensor, port) pairs, too many to sum from hours
// again whenever an hour changes.
func periodDeltaSteps(firstMonth, lastMonth int64) []syncStep {
	firstQuarter, lastQuarter := floorDiv(firstMonth, 3), floorDiv(lastMonth, 3)
	apply := func(table, period string, first, last int64, source string) []syncStep {
		match := table + `.` + period + ` = d.` + period + ` AND ` + table + `.sensor = d.sensor AND ` + table + `.slot = d.slot`
		return []syncStep{
			{"add to the " + table + " rows", `UPDATE ` + table + ` SET
					packets = (` + table + `.packets + d.packets)::UBIGINT,
					bytes = (` + table + `.bytes + d.bytes)::UBIGINT,
					mirai = (` + table + `.mirai + d.mirai)::UBIGINT
				FROM (` + source + `) AS d
				WHERE ` + table + `.` + period + ` >= ? AND ` + table + `.` + period + ` <= ? AND ` + match, []any{first, last}},
			{"insert the new " + table + " rows", `INSERT INTO ` + table + `
				SELECT d.` + period + `, d.sensor, d.slot, d.packets::UBIGINT, d.bytes::UBIGINT, d.mirai::UBIGINT
				FROM (` + source + `) AS d
				WHERE NOT EXISTS (SELECT 1 FROM ` + table + ` WHERE ` + table + `.` + period + ` >= ? AND ` + table + `.` + period + ` <= ? AND ` + match + `)`, []any{first, last}},
			{"drop the empty " + table + " rows", `DELETE FROM ` + table + ` WHERE ` + period + ` >= ? AND ` + period + ` <= ? AND packets = 0`, []any{first, last}},
		}
	}
	var steps []syncStep
	steps = append(steps, syncStep{"sum the monthly port differences", `CREATE OR REPLACE TEMP TABLE nj_month_delta AS
		SELECT month, sensor, slot, sum(packets) AS packets, sum(bytes) AS bytes, sum(mirai) AS mirai
		FROM nj_port_delta GROUP BY ALL
		HAVING sum(packets) <> 0 OR sum(bytes) <> 0 OR sum(mirai) <> 0`, nil})
	steps = append(steps, apply("rollup_port_month", "month", firstMonth, lastMonth, `SELECT * FROM nj_month_delta`)...)
	steps = append(steps, apply("rollup_port_quarter", "quarter", firstQuarter, lastQuarter,
		`SELECT `+floorDivSQL("month", 3)+` AS quarter, sensor, slot, sum(packets) AS packets, sum(bytes) AS bytes, sum(mirai) AS mirai
		 FROM nj_month_delta GROUP BY ALL`)...)
	return steps
}

// sourceSteps rebuild the source rollups of the hours [from, to): the
// days before hourlyFrom wholly from their raw records, the live days'
// hourly rows from the raw records of those hours and, for the sources
// they hold, the daily rows from the hourly ones. labels is labelsSQL's.
func sourceSteps(from, to, hourlyFrom int64, labels string) []syncStep {
	firstDay, lastDay := floorDiv(from, 24), floorDiv(to-1, 24)
	var steps []syncStep
	if firstDay < hourlyFrom { // days rebuilt wholly
		last := min(lastDay, hourlyFrom-1)
		steps = append(steps,
			syncStep{"clear source rollups", `DELETE FROM rollup_source_day WHERE day >= ? AND day <= ?`, []any{firstDay, last}},
			syncStep{"build source rollups", `INSERT INTO rollup_source_day
				SELECT ` + dayOf + ` AS day, sensor, ip_version, src_hi, src_lo, ` + rawSourceColumns(labels) + `
				FROM packets WHERE time_ns >= ? AND time_ns <= ?
				GROUP BY ALL`, []any{dayStart(firstDay), dayEnd(last)}})
	}
	if lastDay < hourlyFrom {
		return steps
	}
	hourFrom := max(from, hourlyFrom*24)
	hourDay := floorDivSQL("hour", 24)
	srcKey := func(a, b string) string {
		return a + `.sensor = ` + b + `.sensor AND ` + a + `.ip_version = ` + b + `.ip_version AND ` + a + `.src_hi = ` + b + `.src_hi AND ` + a + `.src_lo = ` + b + `.src_lo`
	}
	liveFirst := max(firstDay, hourlyFrom)
	return append(steps,
		syncStep{"clear hourly source rollups", `DELETE FROM rollup_source_hour WHERE hour >= ? AND hour < ?`, []any{hourFrom, to}},
		syncStep{"build hourly source rollups", `INSERT INTO rollup_source_hour
			SELECT ` + hourOf + ` AS hour, sensor, ip_version, src_hi, src_lo, ` + rawSourceColumns(labels) + `
			FROM packets WHERE time_ns >= ? AND time_ns <= ?
			GROUP BY ALL`, []any{hourStart(hourFrom), hourEnd(to - 1)}},
		syncStep{"note the sources of the rebuilt hours", `CREATE OR REPLACE TEMP TABLE nj_touched AS
			SELECT DISTINCT ` + hourDay + ` AS day, sensor, ip_version, src_hi, src_lo
			FROM rollup_source_hour WHERE hour >= ? AND hour < ?`, []any{hourFrom, to}},
		syncStep{"clear their source rollups", `DELETE FROM rollup_source_day USING nj_touched AS t
			WHERE rollup_source_day.day >= ? AND rollup_source_day.day <= ? AND rollup_source_day.day = t.day AND ` + srcKey("rollup_source_day", "t"), []any{liveFirst, lastDay}},
		syncStep{"build their source rollups", `INSERT INTO rollup_source_day
			SELECT t.day, h.sensor, h.ip_version, h.src_hi, h.src_lo, ` + summedSourceColumns("h") + `
			FROM rollup_source_hour AS h JOIN nj_touched AS t ON ` + floorDivSQL("h.hour", 24) + ` = t.day AND ` + srcKey("h", "t") + `
			WHERE h.hour >= ? AND h.hour < ?
			GROUP BY ALL`, []any{liveFirst * 24, (lastDay + 1) * 24}},
	)
}

// floorDivSQL is SQL for expr divided by the positive n, rounded down
// also below zero (DuckDB's // truncates toward zero).
func floorDivSQL(expr string, n int) string {
	return fmt.Sprintf(`(CASE WHEN %[1]s >= 0 THEN %[1]s // %[2]d ELSE -(-(%[1]s + 1) // %[2]d) - 1 END)`, expr, n)
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
	// The days before the horizon are final: no rebuild reads their
	// hourly source rows.
	if _, err := tx.ExecContext(ctx, `DELETE FROM rollup_source_hour WHERE hour < ?`, floorDiv(horizon, hourNs)); err != nil {
		return 0, fmt.Errorf("prune the hourly source rollups: %w", err)
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

// hourStart returns the first instant, in ns, of an hour number, clamped
// to the int64 range.
func hourStart(hour int64) int64 { return unitStart(hour, hourNs) }

// hourEnd returns the last instant, in ns, of an hour number: the last
// int64 for the hour that holds it.
func hourEnd(hour int64) int64 { return endBefore(hourStart(hour + 1)) }

// dayStart returns the first instant, in ns, of a day number, clamped to
// the int64 range.
func dayStart(day int64) int64 { return unitStart(day, dayNs) }

// unitStart returns the first instant, in ns, of the nth period of unit
// ns since the epoch, clamped to the int64 range.
func unitStart(n, unit int64) int64 {
	switch {
	case n > math.MaxInt64/unit:
		return math.MaxInt64
	case n < math.MinInt64/unit:
		return math.MinInt64
	}
	return n * unit
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
