package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The batch ledger (store.Batch) is the table batch_ranges: runs of stored
// sequence numbers per sensor and epoch, merged as batches fill the gaps
// between them. It has no index: it holds a row per epoch and per gap, and
// DuckDB scans that faster than it maintains an ART index on every Flush.

// ledgerRun is a row of batch_ranges.
type ledgerRun struct {
	sensor      string
	epoch       uint64
	first, last uint64
	newest      int64
}

// newestAppended returns an upper bound of the newest record time appended
// since the last Flush (math.MinInt64 if none).
func (s *Store) newestAppended() int64 {
	newest := int64(math.MinInt64)
	if s.recent {
		newest = s.recentMax
	}
	for d := range s.oldDays {
		newest = max(newest, dayEnd(d))
	}
	return newest
}

// recordBatches merges batches, whose records are no newer than newest,
// into the ledger, in the transaction of conn, in two statements however
// many batches a commit holds: one deletes the runs they touch (overlap
// or adjoin) and returns them, the other inserts the merged runs.
func recordBatches(ctx context.Context, conn *sql.Conn, batches []store.Batch, newest int64) error {
	if len(batches) == 0 {
		return nil
	}
	for _, b := range batches {
		if err := checkText("sensor name", b.Sensor); err != nil {
			return fmt.Errorf("batch %x/%d: %w", b.Epoch, b.Seq, err)
		}
	}
	runs := batchRuns(batches, newest)
	touched, err := takeTouchedRuns(ctx, conn, runs)
	if err != nil {
		return err
	}
	merged := mergeRuns(append(runs, touched...))
	if _, err := conn.ExecContext(ctx, `INSERT INTO batch_ranges (sensor, epoch, first_seq, last_seq, newest_ns)
		SELECT * FROM `+runsTable, runLists(merged)...); err != nil {
		return fmt.Errorf("insert the runs: %w", err)
	}
	return nil
}

// batchRuns returns the runs of consecutive sequence numbers in batches.
func batchRuns(batches []store.Batch, newest int64) []ledgerRun {
	runs := make([]ledgerRun, len(batches))
	for i, b := range batches {
		runs[i] = ledgerRun{sensor: b.Sensor, epoch: b.Epoch, first: b.Seq, last: b.Seq, newest: newest}
	}
	return mergeRuns(runs)
}

// mergeRuns sorts runs and merges those of the same sensor and epoch that
// overlap or adjoin; a merged run's newest is the largest of its parts.
func mergeRuns(runs []ledgerRun) []ledgerRun {
	slices.SortFunc(runs, func(a, b ledgerRun) int {
		return cmp.Or(strings.Compare(a.sensor, b.sensor), cmp.Compare(a.epoch, b.epoch), cmp.Compare(a.first, b.first))
	})
	out := runs[:0]
	for _, r := range runs {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.sensor == r.sensor && p.epoch == r.epoch && (p.last == math.MaxUint64 || r.first <= p.last+1) {
				p.last, p.newest = max(p.last, r.last), max(p.newest, r.newest)
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// takeTouchedRuns deletes the ledger's runs that overlap or adjoin one of
// runs, and returns them (a run touched by several is returned once, and
// mergeRuns would absorb a repeat anyway).
func takeTouchedRuns(ctx context.Context, conn *sql.Conn, runs []ledgerRun) ([]ledgerRun, error) {
	rows, err := conn.QueryContext(ctx, `DELETE FROM batch_ranges r USING `+runsTable+` v
		WHERE r.sensor = v.sensor AND r.epoch = v.epoch
			AND r.first_seq::HUGEINT <= v.last_seq::HUGEINT + 1 AND r.last_seq::HUGEINT + 1 >= v.first_seq::HUGEINT
		RETURNING r.sensor, r.epoch, r.first_seq, r.last_seq, r.newest_ns`, runLists(runs)...)
	if err != nil {
		return nil, fmt.Errorf("take the runs the batches touch: %w", err)
	}
	defer rows.Close()
	var touched []ledgerRun
	for rows.Next() {
		var r ledgerRun
		if err := rows.Scan(&r.sensor, &r.epoch, &r.first, &r.last, &r.newest); err != nil {
			return nil, fmt.Errorf("take the runs the batches touch: %w", err)
		}
		touched = append(touched, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("take the runs the batches touch: %w", err)
	}
	return touched, nil
}

// runsTable is SQL for a table of runs with batch_ranges' columns, from
// the lists of runLists. Lists are bound as one parameter each, so the
// statement costs DuckDB the same to plan for one run or thousands; a
// VALUES list of placeholders grew by about 0.05 ms per run and statement.
const runsTable = `(SELECT unnest(?::VARCHAR[]) AS sensor, unnest(?::UBIGINT[]) AS epoch,
	unnest(?::UBIGINT[]) AS first_seq, unnest(?::UBIGINT[]) AS last_seq, unnest(?::BIGINT[]) AS newest_ns)`

// runLists returns the arguments of runsTable: a list per column. Lists
// of uint64 keep the full range (database/sql refuses a lone uint64 with
// the high bit set, as random epochs have).
func runLists(runs []ledgerRun) []any {
	sensors, newest := make([]string, len(runs)), make([]int64, len(runs))
	epochs, firsts, lasts := make([]uint64, len(runs)), make([]uint64, len(runs)), make([]uint64, len(runs))
	for i, r := range runs {
		sensors[i], epochs[i], firsts[i], lasts[i], newest[i] = r.sensor, r.epoch, r.first, r.last, r.newest
	}
	return []any{sensors, epochs, firsts, lasts, newest}
}

// checkText refuses text that is not UTF-8, as DuckDB's VARCHAR does; it
// must be checked before it is bound in a list, which duckdb-go crashes on
// (a lone parameter fails with an error).
func checkText(what, text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, text)
	}
	return nil
}

// u64 passes a UBIGINT argument as text (cast in the SQL): database/sql
// refuses uint64 values with the high bit set, as random epochs have.
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// BatchRanges implements store.Store.
func (s *Store) BatchRanges(ctx context.Context, sensor string, epoch uint64, n int) ([]store.SeqRange, error) {
	var out []store.SeqRange
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var r store.SeqRange
		if err := scan(&r.First, &r.Last); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}, `SELECT first_seq, last_seq FROM batch_ranges WHERE sensor = ? AND epoch = ?::UBIGINT ORDER BY first_seq DESC LIMIT ?`, sensor, u64(epoch), n)
	if err != nil {
		return nil, fmt.Errorf("read the batch ledger of %s epoch %x: %w", sensor, epoch, err)
	}
	return out, nil
}

// BatchStored implements store.Store.
func (s *Store) BatchStored(ctx context.Context, b store.Batch) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM batch_ranges WHERE sensor = ? AND epoch = ?::UBIGINT AND first_seq <= ?::UBIGINT AND last_seq >= ?::UBIGINT`,
		b.Sensor, u64(b.Epoch), u64(b.Seq), u64(b.Seq)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up batch %s/%x/%d in the ledger: %w", b.Sensor, b.Epoch, b.Seq, err)
	}
	return n > 0, nil
}
