package backend

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

func TestOpenDuckDB(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	if _, err := Open(t.Context(), path, Options{MustExist: true}); !errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(missing, MustExist) = %v, want store.ErrNotExist naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open(missing, MustExist) created %s", path)
	}

	keep := 48 * time.Hour
	st, err := Open(t.Context(), path, Options{Retention: &keep})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(t.Context(), path, Options{MustExist: true})
	if err != nil {
		t.Fatalf("Open(existing, MustExist): %v", err)
	}
	defer st.Close()
	rs, ok := st.(store.RetentionSetter)
	if !ok {
		t.Fatalf("the DuckDB store is not a store.RetentionSetter")
	}
	if got := rs.Retention(); got != keep {
		t.Errorf("Retention() = %v, want %v (set by the first Open)", got, keep)
	}
	if _, ok := st.(store.Horizoner); !ok {
		t.Errorf("the DuckDB store is not a store.Horizoner")
	}
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ location, want string }{
		{"clickhouse://db.example:9000/nightjar", "ClickHouse backend is not built yet"},
		{"CLICKHOUSE://db.example", "ClickHouse backend is not built yet"},
		{"postgres://db.example/nightjar", `unsupported store backend "postgres://"`},
	}
	for _, tt := range tests {
		st, err := Open(t.Context(), tt.location, Options{})
		if st != nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) = %v, %v; want ErrUnsupported mentioning %q", tt.location, st, err, tt.want)
		}
	}
}
