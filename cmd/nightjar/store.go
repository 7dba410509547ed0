package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// openExisting opens the database of a command that only reads (query,
// export, report, serve). It never creates one: a mistyped --db fails,
// naming the path and how to make a database there.
func openExisting(ctx context.Context, db string) (store.Store, error) {
	st, err := backend.Open(ctx, db, backend.Options{MustExist: true})
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist: create it with nightjar ingest --db %s FILE... (captures) or nightjar collector --db %s (live sensors)", db, db, db)
	}
	return st, err
}
