package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// activityChunkHours is how many hours one query of PortHours or TagHours
// reads. duckdb-go materialises a query's whole result before its first
// row, so a quarter in one query would hold all of its rows in DuckDB's
// memory: a chunk at a time, memory is bounded by a week's rows (about
// 40,000 for the default simulated fleet), the first rows come after one
// week's sort, and the sorts together cost no more than one (measured:
// a day, a week, a month and the quarter at once all within the noise of
// BenchmarkActivity).
const activityChunkHours = 7 * 24

// PortHours implements store.ActivityQuestions from rollup_port_hour.
func (s *Store) PortHours(ctx context.Context, from, to time.Time, fn func(store.PortHour) error) error {
	var (
		h     store.PortHour
		hour  int64
		fnErr error // returned as it is, not as the store's
	)
	err := s.eachHourRow(ctx, "rollup_port_hour", from, to,
		`SELECT hour, sensor, slot, packets, sources, mirai FROM rollup_port_hour WHERE hour >= ? AND hour < ? ORDER BY hour, sensor, slot`,
		[]any{&hour, &h.Sensor, &h.Slot, &h.Packets, &h.Sources, &h.Mirai},
		func() error {
			h.Hour = time.Unix(hour*3600, 0).UTC()
			fnErr = fn(h)
			return fnErr
		})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("port hours %s: %w", hourRange(from, to), err)
	}
	return nil
}

// TagHours implements store.ActivityQuestions from rollup_tag_hour, whose
// tags are bit numbers: DuckDB names them, to order by name.
func (s *Store) TagHours(ctx context.Context, from, to time.Time, fn func(store.TagHour) error) error {
	var (
		h         store.TagHour
		hour, bit int64
		name      sql.NullString
		fnErr     error
	)
	err := s.eachHourRow(ctx, "rollup_tag_hour", from, to,
		`SELECT hour, sensor, tag, `+tagNameSQL("tag")+` AS name, packets FROM rollup_tag_hour WHERE hour >= ? AND hour < ? ORDER BY hour, sensor, name`,
		[]any{&hour, &h.Sensor, &bit, &name, &h.Packets},
		func() error {
			if !name.Valid {
				return fmt.Errorf("sensor %d, hour %d: tag bit %d has no name", h.Sensor, hour, bit)
			}
			h.Hour, h.Tag = time.Unix(hour*3600, 0).UTC(), name.String
			fnErr = fn(h)
			return fnErr
		})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("tag hours %s: %w", hourRange(from, to), err)
	}
	return nil
}

// tagNameSQL is SQL for the name of the tag whose bit number is col (NULL
// for a bit no tag has).
func tagNameSQL(col string) string {
	names := make([]string, 0, record.NumTags)
	for _, t := range record.AllTags() {
		names = append(names, "'"+t.String()+"'")
	}
	return "([" + strings.Join(names, ", ") + "])[" + col + " + 1]"
}

// eachHourRow runs query (which takes the hours [lo, hi) and orders its
// rows) over the hours of [from, to) that table has rows in, a chunk of
// hours at a time, scanning each row into dest and calling row. An error
// of row stops it.
func (s *Store) eachHourRow(ctx context.Context, table string, from, to time.Time, query string, dest []any, row func() error) error {
	lo, hi := floorDiv(from.Unix(), 3600), floorDiv(to.Unix(), 3600)
	if lo >= hi {
		return nil
	}
	// The hours that hold rows bound the chunks: a range that starts at
	// the zero Time costs one query, not one per week since year 1.
	var first, last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(hour), max(hour) FROM `+table+` WHERE hour >= ? AND hour < ?`, lo, hi).Scan(&first, &last); err != nil {
		return err
	}
	if !first.Valid {
		return nil
	}
	for start := first.Int64; start <= last.Int64; start += activityChunkHours {
		err := s.scanRows(ctx, func(scan func(...any) error) error {
			if err := scan(dest...); err != nil {
				return err
			}
			return row()
		}, query, start, min(start+activityChunkHours, last.Int64+1))
		if err != nil {
			return err
		}
	}
	return nil
}

// hourRange names the whole hours [from, to) for an error.
func hourRange(from, to time.Time) string {
	return fmt.Sprintf("from %s to %s", from.UTC().Truncate(time.Hour).Format(time.RFC3339), to.UTC().Truncate(time.Hour).Format(time.RFC3339))
}

// PartHour implements store.ActivityQuestions from the raw records.
func (s *Store) PartHour(ctx context.Context, from, to time.Time, ports func(store.PortHour) error, tags func(store.TagHour) error) error {
	hour := from.UTC().Truncate(time.Hour)
	if !from.Before(to) || to.After(hour.Add(time.Hour)) {
		return fmt.Errorf("part of an hour: [%s, %s) is not within one hour", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))
	}
	if horizon := s.PrunedBefore(); from.Before(horizon) {
		return fmt.Errorf("part of the hour %s: %w (the raw records before %s were pruned)", hour.Format(time.RFC3339), store.ErrPruned, horizon.Format(time.DateOnly))
	}
	var fnErr error
	p := store.PortHour{Hour: hour}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		if err := scan(&p.Sensor, &p.Slot, &p.Packets, &p.Sources, &p.Mirai); err != nil {
			return err
		}
		fnErr = ports(p)
		return fnErr
	}, `SELECT sensor, slot, count(*)::UBIGINT, count(DISTINCT (ip_version, src_hi, src_lo))::UBIGINT, (count(*) FILTER (WHERE tags & 1 <> 0))::UBIGINT
		FROM packets WHERE time_ns >= ? AND time_ns < ? GROUP BY sensor, slot ORDER BY sensor, slot`, from.UnixNano(), to.UnixNano())
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("ports of part of the hour %s: %w", hour.Format(time.RFC3339), err)
	}
	t := store.TagHour{Hour: hour}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		if err := scan(&t.Sensor, &t.Tag, &t.Packets); err != nil {
			return err
		}
		fnErr = tags(t)
		return fnErr
	}, `SELECT sensor, `+tagNameSQL("bit")+` AS name, count(*)::UBIGINT
		FROM packets, (SELECT range::INTEGER AS bit FROM range(`+fmt.Sprint(record.NumTags)+`)) b
		WHERE time_ns >= ? AND time_ns < ? AND (tags >> bit) & 1 = 1 GROUP BY sensor, bit ORDER BY sensor, name`, from.UnixNano(), to.UnixNano())
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("tags of part of the hour %s: %w", hour.Format(time.RFC3339), err)
	}
	return nil
}
