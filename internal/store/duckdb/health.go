package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// PutHealth implements store.Store. It runs in a transaction of its own,
// not in that of the appends: a health report is kept even if the records
// appended since the last Flush are not, and it never touches the rows the
// appends write, so it does not conflict with them.
func (s *Store) PutHealth(ctx context.Context, reports []store.Health) error {
	if len(reports) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put health: %w", err)
	}
	defer tx.Rollback()
	ids := make([]int32, len(reports))
	for i, h := range reports {
		ids[i] = h.SensorID
	}
	known := map[int32]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM sensors WHERE true`+inList("id", ids))
	if err != nil {
		return fmt.Errorf("put health: %w", err)
	}
	for rows.Next() {
		var id int32
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("put health: %w", err)
		}
		known[id] = true
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("put health: %w", err)
	}
	if i := slices.IndexFunc(ids, func(id int32) bool { return !known[id] }); i >= 0 {
		return fmt.Errorf("put health: %w: ID %d", store.ErrUnknownSensor, ids[i])
	}
	for _, h := range reports {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO sensor_health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.SensorID, nsOrNull(h.Received), nsOrNull(h.Reported), h.Version, int64(h.Uptime),
			h.PacketsSeen, h.PacketsIgnored, h.PacketsExcluded, h.PacketsSkipped, h.KernelDrops,
			h.SpoolBatches, h.SpoolBytes, h.DroppedBatches, h.DroppedRecords, int64(h.Lag))
		if err != nil {
			return fmt.Errorf("put health of sensor %d: %w", h.SensorID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put health: %w", err)
	}
	return nil
}

// Health implements store.Store.
func (s *Store) Health(ctx context.Context) ([]store.Health, error) {
	var out []store.Health
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			h                  store.Health
			received, reported sql.NullInt64
			uptime, lag        int64
		)
		err := scan(&h.SensorID, &h.Sensor, &received, &reported, &h.Version, &uptime,
			&h.PacketsSeen, &h.PacketsIgnored, &h.PacketsExcluded, &h.PacketsSkipped, &h.KernelDrops,
			&h.SpoolBatches, &h.SpoolBytes, &h.DroppedBatches, &h.DroppedRecords, &lag)
		if err != nil {
			return err
		}
		h.Received, h.Reported = timeOrZero(received), timeOrZero(reported)
		h.Uptime, h.Lag = time.Duration(uptime), time.Duration(lag)
		out = append(out, h)
		return nil
	}, `SELECT h.sensor, s.name, h.received_ns, h.reported_ns, h.version, h.uptime_ns,
			h.packets_seen, h.packets_ignored, h.packets_excluded, h.packets_skipped, h.kernel_drops,
			h.spool_batches, h.spool_bytes, h.dropped_batches, h.dropped_records, h.lag_ns
		FROM sensor_health h JOIN sensors s ON s.id = h.sensor ORDER BY h.sensor`)
	if err != nil {
		return nil, fmt.Errorf("read sensor health: %w", err)
	}
	return out, nil
}

// nsOrNull is t in ns since the epoch, or NULL for the zero Time (whose
// UnixNano is undefined).
func nsOrNull(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// timeOrZero is the inverse of nsOrNull, in UTC.
func timeOrZero(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64).UTC()
}
