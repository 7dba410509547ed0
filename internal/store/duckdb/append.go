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
	if err := s.labels.note(recs); err != nil {
		return err
	}
	if err := s.appendBatch(ctx, recs, sensors); err != nil {
		return err
	}
	s.names.note(recs)
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
		raw, err := newRawWriter(conn, &s.labels)
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
	s.names.reset()
	s.labels.reset()
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
// since the last Flush together with the imports and the hours to roll up
// (the table pending_hours): the range of the records since the
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
	failpoint.Hit("duckdb.flush.after-raw")
	for _, imp := range imports {
		if err := recordImport(ctx, conn, imp); err != nil {
			return s.abort(fmt.Sprintf("flush: record import %q", imp.Key), err)
		}
	}
	if err := recordBatches(ctx, conn, batches, s.newestAppended()); err != nil {
		return s.abort("flush: record the batches in the ledger", err)
	}
	if err := s.names.write(ctx, conn); err != nil {
		return s.abort("flush: record the AS names", err)
	}
	if err := s.labels.write(ctx, conn); err != nil {
		return s.abort("flush: record the scanner labels", err)
	}
	failpoint.Hit("duckdb.flush.after-ledger")
	var hours []string
	if s.recent {
		hours = append(hours, fmt.Sprintf("(%d, %d)", floorDiv(s.recentMin, hourNs), floorDiv(s.recentMax, hourNs)+1))
	}
	for d := range s.oldDays {
		hours = append(hours, fmt.Sprintf("(%d, %d)", d*24, (d+1)*24))
	}
	if len(hours) > 0 {
		if _, err := conn.ExecContext(ctx, `INSERT INTO pending_hours VALUES `+strings.Join(hours, ", ")); err != nil {
			return s.abort("flush: note the hours to roll up", err)
		}
	}
	s.inTx = false
	failpoint.Hit("duckdb.flush.before-commit")
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		s.recent, s.oldDays = false, nil
		s.names.reset()
		s.labels.reset()
		return fmt.Errorf("flush: commit (the records appended since the last Flush were discarded): %w", err)
	}
	failpoint.Hit("duckdb.flush.after-commit")
	s.recent, s.oldDays = false, nil
	s.flushed = s.flushed || len(hours) > 0
	return nil
}
