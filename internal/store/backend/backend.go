// Package backend opens the store that one setting names, so that every
// command chooses its backend the same way: a file path is the embedded
// DuckDB store (store/duckdb); a URL names a server backend by its scheme
// (clickhouse://, not built yet). It sits apart from package store because
// the backends import store.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// ErrUnsupported: the location names a backend this build does not have.
var ErrUnsupported = errors.New("unsupported store backend")

// Options say how to open a store.
type Options struct {
	// MustExist refuses to create the database: opening a missing one
	// fails with store.ErrNotExist. Commands that only read set it.
	MustExist bool
	// Retention, when non-nil, sets how long raw packet records are kept
	// (0: forever), durably; nil keeps the database's own setting.
	Retention *time.Duration
	// MemoryLimit bounds the database engine's own memory ("2GiB"; "":
	// the engine's default, 80 % of RAM for DuckDB, which spills to disk
	// beyond it). A daemon's memory formula includes it.
	MemoryLimit string
}

// Open opens the store at location: a DuckDB file path, or a URL whose
// scheme names another backend. Its optional capabilities (such as
// store.RetentionSetter) are for the caller to assert.
func Open(ctx context.Context, location string, opts Options) (store.Store, error) {
	if scheme, _, ok := strings.Cut(location, "://"); ok {
		if strings.EqualFold(scheme, "clickhouse") {
			return nil, fmt.Errorf("open %s: %w: the ClickHouse backend is not built yet; give the path of a DuckDB file", location, ErrUnsupported)
		}
		return nil, fmt.Errorf("open %s: %w %q: give the path of a DuckDB file", location, ErrUnsupported, scheme+"://")
	}
	st, err := duckdb.Open(ctx, location, duckdb.Options{MustExist: opts.MustExist, Retention: opts.Retention, MemoryLimit: opts.MemoryLimit})
	if err != nil {
		return nil, err // a *duckdb.Store nil pointer must not become a non-nil store.Store
	}
	return st, nil
}
