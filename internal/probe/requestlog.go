package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Outcome is how a request ended, or why a target was not contacted.
type Outcome string

// Outcomes.
const (
	// OutcomeStatus: the service answered HTTP (Request.Status says how).
	OutcomeStatus Outcome = "status"
	// OutcomeRefused: the connection was refused.
	OutcomeRefused Outcome = "refused"
	// OutcomeTimeout: connect, handshake or response took longer than the
	// timeout.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeError: any other failure (reset, not HTTP, bad TLS).
	OutcomeError Outcome = "error"
	// OutcomeCancelled: the run was cancelled before the request ended.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeExcluded: the target was never contacted (Request.Reason says
	// why).
	OutcomeExcluded Outcome = "excluded"
)

// Reasons a target is not contacted.
const (
	ReasonExcluded  = "exclude list"
	ReasonNotGlobal = "not a global address"
	ReasonOverLimit = "over max_targets"
	ReasonDuplicate = "duplicate"
)

// Request is one line of the request log: a request the probe made, or a
// target it did not contact (Outcome excluded, no port).
type Request struct {
	Time   time.Time  `json:"time"`
	Target netip.Addr `json:"target"`
	Port   uint16     `json:"port,omitempty"`
	Scheme string     `json:"scheme,omitempty"`
	Path   string     `json:"path,omitempty"`
	// Outcome is how the request ended; Status the HTTP status when it
	// answered, Location the redirect it named (never followed).
	Outcome  Outcome `json:"outcome"`
	Status   int     `json:"status,omitempty"`
	Location string  `json:"location,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Error    string  `json:"error,omitempty"`
	// Seconds is how long the connection took, from the dial to the end of
	// the body; Bytes how many bytes it received (TLS included).
	Seconds float64 `json:"duration_seconds"`
	Bytes   int64   `json:"bytes"`
}

// requestLog writes each Request to the logger and, when set, as a JSON
// line to a file. The first write error is kept: a run whose log fails
// stops, since its requests would go unrecorded.
type requestLog struct {
	logger *slog.Logger

	mu  sync.Mutex
	enc *json.Encoder // nil: no file
	err error
}

func (l *requestLog) add(r Request) {
	attrs := []any{"target", r.Target, "outcome", string(r.Outcome)}
	if r.Port != 0 {
		attrs = append(attrs, "port", r.Port, "scheme", r.Scheme, "path", r.Path,
			"status", r.Status, "duration_seconds", r.Seconds, "bytes", r.Bytes)
	}
	for _, kv := range [...]struct{ k, v string }{{"location", r.Location}, {"reason", r.Reason}, {"error", r.Error}} {
		if kv.v != "" {
			attrs = append(attrs, kv.k, kv.v)
		}
	}
	l.logger.Info("probe request", attrs...)
	if l.enc == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		if err := l.enc.Encode(r); err != nil {
			l.err = fmt.Errorf("write the request log: %w", err)
		}
	}
}

func (l *requestLog) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func newRequestLog(logger *slog.Logger, w io.Writer) *requestLog {
	l := &requestLog{logger: logger}
	if w != nil {
		l.enc = json.NewEncoder(w)
	}
	return l
}
