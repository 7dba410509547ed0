package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The import ledger is the table imports, a row per imported file, and
// import_spans, a row per file and sensor: the period of the packets
// stored from it.

// recordImport records imp and its spans, replacing an import of the same
// key, in the transaction of conn.
func recordImport(ctx context.Context, conn *sql.Conn, imp store.Import) error {
	if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO imports (key, path, frames, packets, imported_ns) VALUES (?, ?, ?, ?, ?)`,
		imp.Key, imp.Path, imp.Frames, imp.Packets, imp.Imported.UnixNano()); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `DELETE FROM import_spans WHERE key = ?`, imp.Key); err != nil {
		return fmt.Errorf("replace its spans: %w", err)
	}
	if len(imp.Spans) == 0 {
		return nil
	}
	var args []any
	for _, sp := range imp.Spans {
		args = append(args, imp.Key, sp.Sensor, sp.First.UnixNano(), sp.Last.UnixNano(), sp.Packets)
	}
	rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(imp.Spans)), ", ")
	if _, err := conn.ExecContext(ctx, `INSERT INTO import_spans (key, sensor, first_ns, last_ns, packets) VALUES `+rows, args...); err != nil {
		return fmt.Errorf("record its spans: %w", err)
	}
	return nil
}

// scanSpan scans the columns sensor, first_ns, last_ns, packets.
func scanSpan(scan func(...any) error) (store.Span, error) {
	var (
		sp          store.Span
		first, last int64
	)
	if err := scan(&sp.Sensor, &first, &last, &sp.Packets); err != nil {
		return sp, err
	}
	sp.First, sp.Last = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	return sp, nil
}

// Imported implements store.Store.
func (s *Store) Imported(ctx context.Context, key string) (store.Import, bool, error) {
	imp := store.Import{Key: key}
	var when int64
	err := s.db.QueryRowContext(ctx, `SELECT path, frames, packets, imported_ns FROM imports WHERE key = ?`, key).
		Scan(&imp.Path, &imp.Frames, &imp.Packets, &when)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Import{}, false, nil
	}
	if err != nil {
		return store.Import{}, false, fmt.Errorf("look up import: %w", err)
	}
	imp.Imported = time.Unix(0, when).UTC()
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		span, err := scanSpan(scan)
		imp.Spans = append(imp.Spans, span)
		return err
	}, `SELECT sensor, first_ns, last_ns, packets FROM import_spans WHERE key = ? ORDER BY sensor`, key)
	if err != nil {
		return store.Import{}, false, fmt.Errorf("look up the spans of import %s: %w", key, err)
	}
	return imp, true, nil
}

// OverlappingImports implements store.Store.
func (s *Store) OverlappingImports(ctx context.Context, spans []store.Span) ([]store.Import, error) {
	if len(spans) == 0 {
		return nil, nil
	}
	var args []any
	for _, sp := range spans {
		args = append(args, sp.Sensor, sp.First.UnixNano(), sp.Last.UnixNano())
	}
	values := strings.TrimSuffix(strings.Repeat("(?::INTEGER, ?::BIGINT, ?::BIGINT), ", len(spans)), ", ")
	var out []store.Import
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			imp  store.Import
			when int64
		)
		span, err := scanSpan(func(dest ...any) error {
			return scan(append([]any{&imp.Key, &imp.Path, &imp.Frames, &imp.Packets, &when}, dest...)...)
		})
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && out[n-1].Key == imp.Key {
			out[n-1].Spans = append(out[n-1].Spans, span)
			return nil
		}
		imp.Imported, imp.Spans = time.Unix(0, when).UTC(), []store.Span{span}
		out = append(out, imp)
		return nil
	}, `SELECT DISTINCT i.key, i.path, i.frames, i.packets, i.imported_ns, s.sensor, s.first_ns, s.last_ns, s.packets
		FROM import_spans s JOIN imports i ON i.key = s.key
		JOIN (VALUES `+values+`) v(sensor, first_ns, last_ns)
			ON s.sensor = v.sensor AND s.first_ns <= v.last_ns AND v.first_ns <= s.last_ns
		ORDER BY i.imported_ns, i.key, s.sensor`, args...)
	if err != nil {
		return nil, fmt.Errorf("look up the imports that overlap: %w", err)
	}
	return out, nil
}
