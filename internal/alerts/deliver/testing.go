package deliver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Recorder is a webhook receiver for tests: an HTTP server on loopback
// that records every request and answers it with the status set (200 at
// first), closed when the test ends. Point a receiver's webhook.url at
// URL.
type Recorder struct {
	URL string

	mu       sync.Mutex
	status   int
	requests []Request
	arrived  chan struct{} // a request arrived (buffered: a wake-up, not a count)
}

// Request is one request the Recorder received, and its answer.
type Request struct {
	Header http.Header
	Body   []byte
	Status int
}

// NewRecorder starts a Recorder.
func NewRecorder(t testing.TB) *Recorder {
	r := &Recorder{status: http.StatusOK, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	status := r.status
	r.requests = append(r.requests, Request{Header: req.Header.Clone(), Body: body, Status: status})
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status))
}

// SetStatus makes the Recorder answer the next requests with code.
func (r *Recorder) SetStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

// Requests returns every request received, failed ones included.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// Delivered decodes the Messages (the json format) of the requests
// answered 2xx, in the order they arrived.
func (r *Recorder) Delivered(t testing.TB) []Message {
	t.Helper()
	var msgs []Message
	for _, req := range r.Requests() {
		if req.Status/100 != 2 {
			continue
		}
		var m Message
		if err := json.Unmarshal(req.Body, &m); err != nil {
			t.Fatalf("the webhook received %q, not a Message: %v", req.Body, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// Wait waits until the Recorder has answered n requests 2xx, or ctx ends
// (its error).
func (r *Recorder) Wait(ctx context.Context, n int) error {
	for {
		ok := 0
		for _, req := range r.Requests() {
			if req.Status/100 == 2 {
				ok++
			}
		}
		if ok >= n {
			return nil
		}
		select {
		case <-r.arrived:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
