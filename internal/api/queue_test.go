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

// stuck is a store whose Sensors answers only when released (or when the
// request ends), and says when a request is inside.
type stuck struct {
	Store
	inside  chan struct{}
	release chan struct{}
}

func (s stuck) Sensors(ctx context.Context) ([]store.Sensor, error) {
	s.inside <- struct{}{}
	select {
	case <-s.release:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestQueriesQueue: with every turn taken by a heavy query, another
// request waits QueueWait and is refused with 503 and Retry-After,
// instead of piling onto the database; once the turn is free, requests
// are answered again.
func TestQueriesQueue(t *testing.T) {
	t.Parallel()
	st := stuck{inside: make(chan struct{}, 2), release: make(chan struct{})}
	h := New(st, Options{Limits: Limits{MaxQueries: 1, QueueWait: 50 * time.Millisecond}})
	get := func(ctx context.Context) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/groups", nil))
		return rec
	}
	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- get(t.Context()) }()
	<-st.inside

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	rec := get(ctx)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "busy") {
		t.Errorf("a request while the only turn is taken = %d (Retry-After %q) %s, want 503 busy with Retry-After", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("the refused request waited %v, want about the 50 ms QueueWait", waited)
	}

	close(st.release)
	if rec := <-first; rec.Code != http.StatusOK {
		t.Errorf("the heavy query = %d, want 200", rec.Code)
	}
	go func() { <-st.inside }()
	if rec := get(t.Context()); rec.Code != http.StatusOK {
		t.Errorf("a request after the turn was freed = %d %s, want 200", rec.Code, rec.Body)
	}
}
