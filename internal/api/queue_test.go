package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// stuck is a store whose TagCounts answers only when released (or when
// the request ends), and says when a request is inside; Sensors answers
// at once.
type stuck struct {
	Store
	inside  chan struct{}
	release chan struct{}
}

func (s stuck) TagCounts(ctx context.Context, _ store.TagCountsQuery) (store.TagCounts, error) {
	s.inside <- struct{}{}
	select {
	case <-s.release:
		return store.TagCounts{}, nil
	case <-ctx.Done():
		return store.TagCounts{}, ctx.Err()
	}
}

func (stuck) Sensors(context.Context) ([]store.Sensor, error) { return nil, nil }

// TestHeavyQueriesQueue: with every turn taken by a heavy query (a period
// of years), another heavy request waits QueueWait and is refused with
// 503 and Retry-After instead of piling onto the database; a light
// request is answered meanwhile; once the turn is free, heavy requests
// are answered again.
func TestHeavyQueriesQueue(t *testing.T) {
	t.Parallel()
	st := stuck{inside: make(chan struct{}, 2), release: make(chan struct{})}
	h := New(st, Options{Limits: Limits{MaxHeavy: 1, QueueWait: 50 * time.Millisecond}})
	get := func(ctx context.Context, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		return rec
	}
	const heavy = "/api/v1/tags?from=2016-01-01&to=2025-12-31"
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- get(t.Context(), heavy) }()
	<-st.inside

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	rec := get(ctx, heavy)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "busy") {
		t.Errorf("a heavy request while the only turn is taken = %d (Retry-After %q) %s, want 503 busy with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("the refused request waited %v, want about the 50 ms QueueWait", waited)
	}
	if rec := get(t.Context(), "/api/v1/groups"); rec.Code != http.StatusOK {
		t.Errorf("a light request while the heavy turn is taken = %d %s, want 200", rec.Code, rec.Body)
	}

	close(st.release)
	if rec := <-first; rec.Code != http.StatusOK {
		t.Errorf("the heavy query = %d %s, want 200", rec.Code, rec.Body)
	}
	go func() { <-st.inside }()
	if rec := get(t.Context(), heavy); rec.Code != http.StatusOK {
		t.Errorf("a heavy request after the turn was freed = %d %s, want 200", rec.Code, rec.Body)
	}
}
