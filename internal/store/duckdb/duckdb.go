// Package duckdb is the embedded default store: one DuckDB file on disk, no
// server to install (github.com/duckdb/duckdb-go/v2, pinned at v2.10506.0:
// see ARCHITECTURE.md). It needs cgo; the sensor binary never imports it.
package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/nightjar-telescope/nightjar/internal/filelock"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Store is the DuckDB backend of store.Store. It is safe for use by one
// writer goroutine at a time; questions may run concurrently with it.
type Store struct {
	path      string
	lock      *os.File
	connector *duck.Connector
	db        *sql.DB

	// wconn serves Append and Flush, created lazily, and raw inserts
	// the records on it.
	wconn *sql.Conn
	raw   rawWriter
	inTx  bool // wconn has an open transaction of appends
	// Of the records appended since the last Flush: recentMin/recentMax is
	// the time range, in ns, of those at or after prunedBefore, and
	// oldDays the days (since the epoch) of those before it. Flush notes
	// their hours in pending_hours.
	recentMin, recentMax int64
	recent               bool
	oldDays              map[int64]bool
	// names are the AS organisations of the records appended since the
	// last Flush, which Flush writes to as_names; labels the IDs of the
	// records' scanner labels.
	names  asNames
	labels scannerLabels
	// flushed: a Flush of this Store noted hours in pending_hours since
	// the last Sync.
	flushed bool
	// rolling lets one rollup rebuild run at a time: Sync's (the writer's)
	// or a background RollUp.
	rolling sync.Mutex

	// retention is the raw-record retention in ns, from the settings table
	// (0 keeps them forever); atomic because an admin may change it
	// (SetRetention) while the writer syncs.
	retention atomic.Int64
	// alertWrites serialises the writes of the alert store: the engine,
	// the notifier and the API's acknowledgements write from goroutines
	// of their own, and DuckDB fails the second of two transactions that
	// update one row.
	alertWrites sync.Mutex

	// prunedBefore is the retention horizon in ns: raw records before it
	// were deleted, and Append refuses records of the days before it that
	// have (final) rollups. math.MinInt64 until the first prune.
	prunedBefore int64
}

// DefaultRetention is how long raw packet records are kept by default.
const DefaultRetention = 90 * 24 * time.Hour

// Options say how to open a Store. Retention changes a setting of the
// database, stored in it so that every later writer keeps it: a writer
// that does not mention the retention never prunes more than the user
// asked for.
type Options struct {
	// MustExist refuses to create the database: Open of a missing file
	// fails with store.ErrNotExist (read commands set it, so that a
	// mistyped path does not answer from a new, empty database).
	MustExist bool
	// Retention, when non-nil, sets how long raw packet records are kept,
	// measured back from the newest stored packet (data time, not the
	// wall clock, so that importing old captures works), rounded down to
	// whole UTC days. Zero keeps raw records forever. Rollups are kept
	// forever. A new database starts with DefaultRetention.
	Retention *time.Duration
	// MemoryLimit is DuckDB's memory_limit for this process ("2GiB"; "":
	// DuckDB's default, 80 % of RAM). Beyond it DuckDB spills to disk or,
	// where it cannot, fails the statement.
	MemoryLimit string
}

var (
	_ store.Store            = (*Store)(nil)
	_ store.RetentionSetter  = (*Store)(nil)
	_ store.Horizoner        = (*Store)(nil)
	_ store.BackgroundRoller = (*Store)(nil)
)

// Open opens the database at path, creating it unless opts.MustExist, and
// applies opts. A second
// Open of the same path, from this process or another, fails with
// store.ErrInUse; a database written by a newer Nightjar fails with
// store.ErrNewerSchema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if opts.Retention != nil && *opts.Retention < 0 {
		return nil, fmt.Errorf("open database %s: negative retention %v", path, *opts.Retention)
	}
	if dir := filepath.Dir(path); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("open database %s: directory %s does not exist", path, dir)
		}
	}
	if opts.MustExist {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open database %s: %w", path, store.ErrNotExist)
		} else if err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, lock: lock, prunedBefore: math.MinInt64}
	s.connector, err = duck.NewConnector(path, nil)
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.db = sql.OpenDB(s.connector)
	if opts.MemoryLimit != "" {
		// A setting of the database instance, which every connection shares.
		if _, err := s.db.ExecContext(ctx, "SET memory_limit = ?", opts.MemoryLimit); err != nil {
			s.Close()
			return nil, fmt.Errorf("open database %s: memory limit %q: %w", path, opts.MemoryLimit, err)
		}
	}
	if err := migrate(ctx, s.db); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.loadRetention(ctx, opts.Retention); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := s.labels.load(ctx, s.db); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	var before sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(before_ns) FROM pruned`).Scan(&before); err != nil {
		s.Close()
		return nil, fmt.Errorf("open database %s: read retention horizon: %w", path, err)
	}
	if before.Valid {
		s.prunedBefore = before.Int64
	}
	return s, nil
}

// loadRetention reads the stored retention, first storing set if given.
func (s *Store) loadRetention(ctx context.Context, set *time.Duration) error {
	if set != nil {
		if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO settings VALUES ('retention_ns', ?)`, strconv.FormatInt(int64(*set), 10)); err != nil {
			return fmt.Errorf("store retention: %w", err)
		}
	}
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'retention_ns'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		s.retention.Store(int64(DefaultRetention))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read retention: %w", err)
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ns < 0 {
		return fmt.Errorf("stored retention %q is not a duration in nanoseconds", v)
	}
	s.retention.Store(ns)
	return nil
}

// Retention implements store.RetentionSetter: how long raw records are
// kept (0: forever).
func (s *Store) Retention() time.Duration { return time.Duration(s.retention.Load()) }

// SetRetention implements store.RetentionSetter: it changes how long raw
// records are kept (0: forever; else at least a day), durably. The next
// Sync prunes by it; records pruned under a shorter retention do not come
// back.
func (s *Store) SetRetention(ctx context.Context, keep time.Duration) error {
	if keep < 0 || keep > 0 && keep < 24*time.Hour {
		return fmt.Errorf("retention %v: want 0 (keep raw records forever) or at least a day", keep)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO settings VALUES ('retention_ns', ?)`, strconv.FormatInt(int64(keep), 10)); err != nil {
		return fmt.Errorf("store retention: %w", err)
	}
	s.retention.Store(int64(keep))
	return nil
}

// PrunedBefore implements store.Horizoner: the retention horizon, a UTC
// midnight. Raw records before it were pruned, and Append refuses records
// of the days before it that had packets (store.ErrPruned). It is the zero
// Time until the first prune, and moves only in Sync.
func (s *Store) PrunedBefore() time.Time {
	if s.prunedBefore == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, s.prunedBefore).UTC()
}

// lockFile takes an exclusive, non-blocking lock on path, which holds the
// PID of the owner so that the error can name it. DuckDB locks its file
// too, but reports a conflict only as a generic I/O error and lets a second
// open in the same process through.
func lockFile(path string) (*os.File, error) {
	f, err := filelock.TryLock(path, 0o644)
	if err != nil {
		owner, _ := os.ReadFile(path)
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("%s: %w (held by process %s); stop the other nightjar first",
				strings.TrimSuffix(path, ".lock"), store.ErrInUse, strings.TrimSpace(string(owner)))
		}
		return nil, fmt.Errorf("lock database: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func (s *Store) unlock() {
	if s.lock != nil {
		filelock.Unlock(s.lock)
		s.lock = nil
	}
}

// Close implements store.Store: it discards the records appended since the
// last Flush, rebuilds the rollups of what this Store flushed (see Sync)
// and closes the database.
func (s *Store) Close() error {
	var errs []error
	if s.inTx {
		errs = append(errs, s.rollback(context.Background()))
	}
	if s.flushed {
		errs = append(errs, s.Sync(context.Background()))
	}
	// A background RollUp finishes before the database closes.
	s.rolling.Lock()
	defer s.rolling.Unlock()
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
		s.wconn = nil
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.connector != nil {
		errs = append(errs, s.connector.Close())
	}
	s.unlock()
	return errors.Join(errs...)
}

// PutSensors implements store.Store.
func (s *Store) PutSensors(ctx context.Context, sensors []fleet.Sensor) ([]int32, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ids := make([]int32, len(sensors))
	for i, sen := range sensors {
		addrs := strings.Join(sen.Addresses, "\n")
		err := tx.QueryRowContext(ctx, `SELECT id FROM sensors WHERE name = ?`, sen.Name).Scan(&ids[i])
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `INSERT INTO sensors (id, name, grp, country, description, addresses)
				SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ? FROM sensors RETURNING id`,
				sen.Name, sen.Group, sen.Country, sen.Description, addrs).Scan(&ids[i])
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE sensors SET grp = ?, country = ?, description = ?, addresses = ? WHERE id = ?`,
				sen.Group, sen.Country, sen.Description, addrs, ids[i])
		}
		if err != nil {
			return nil, fmt.Errorf("store sensor %q: %w", sen.Name, err)
		}
	}
	return ids, tx.Commit()
}

// Sensors implements store.Store.
func (s *Store) Sensors(ctx context.Context) ([]store.Sensor, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, grp, country, description, addresses, first_seen_ns, last_seen_ns FROM sensors ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list sensors: %w", err)
	}
	defer rows.Close()
	var out []store.Sensor
	for rows.Next() {
		var (
			sen         store.Sensor
			addrs       string
			first, last sql.NullInt64
		)
		if err := rows.Scan(&sen.ID, &sen.Name, &sen.Group, &sen.Country, &sen.Description, &addrs, &first, &last); err != nil {
			return nil, fmt.Errorf("list sensors: %w", err)
		}
		if addrs != "" {
			sen.Addresses = strings.Split(addrs, "\n")
		}
		if first.Valid {
			sen.FirstSeen = time.Unix(0, first.Int64).UTC()
			sen.LastSeen = time.Unix(0, last.Int64).UTC()
		}
		out = append(out, sen)
	}
	return out, rows.Err()
}
