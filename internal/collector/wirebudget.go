package collector

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// wireBudget bounds the bytes of the requests that all streams have read
// and not yet decoded (Config.QueueBytes). Connect reads a whole message
// into memory before the stream sees it, so the budget is taken where the
// bytes enter: in the request body, when a message's 5-byte envelope
// prefix has told its size and before its payload is read. A stream that
// finds no room stops reading; HTTP/2 flow control then stops its sensor,
// as the record queue does.
//
// A message's whole size is reserved at once: a stream never holds part
// of a message while it waits for the rest of the room, so two streams
// cannot each hold half of the budget and wait for each other. What a
// stream holds is released when it has decoded the message (Config
// documents what a reserved byte costs in memory).
type wireBudget struct {
	sem  *semaphore.Weighted
	max  int64
	held atomic.Int64
}

func newWireBudget(max int64) *wireBudget {
	return &wireBudget{sem: semaphore.NewWeighted(max), max: max}
}

// meter is one stream's request body, read through the budget. Reads
// come from connect's receiving goroutine; done and close come from the
// stream's.
type meter struct {
	body   io.ReadCloser
	budget *wireBudget
	ctx    context.Context

	prefix  [5]byte
	prefixN int   // bytes of the current prefix read so far
	left    int64 // payload bytes of the current message still to read

	mu      sync.Mutex
	charges []int64 // reserved for the messages read and not yet decoded, oldest first
	closed  bool
}

func (b *wireBudget) meter(ctx context.Context, body io.ReadCloser) *meter {
	return &meter{body: body, budget: b, ctx: ctx}
}

func (m *meter) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if m.left > 0 {
		n, err := m.body.Read(p[:min(int64(len(p)), m.left)])
		m.left -= int64(n)
		return n, err
	}
	n, err := m.body.Read(p[:min(len(p), len(m.prefix)-m.prefixN)])
	m.prefixN += copy(m.prefix[m.prefixN:], p[:n])
	if m.prefixN == len(m.prefix) {
		m.prefixN = 0
		m.left = int64(binary.BigEndian.Uint32(m.prefix[1:]))
		if rerr := m.reserve(m.left); rerr != nil {
			return n, rerr
		}
	}
	return n, err
}

// reserve waits for room for a message of size payload bytes. A message
// larger than connect accepts is refused and discarded by connect as it
// is read, never held, so it takes no room.
func (m *meter) reserve(payload int64) error {
	charge := payload + int64(len(m.prefix))
	if payload > maxMessageBytes {
		charge = 0
	}
	charge = min(charge, m.budget.max)
	if err := m.budget.sem.Acquire(m.ctx, charge); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed { // the stream ended while this read waited
		m.budget.sem.Release(charge)
		return io.ErrClosedPipe
	}
	m.budget.held.Add(charge)
	m.charges = append(m.charges, charge)
	return nil
}

// done releases the room of the oldest message read: the stream has
// decoded it.
func (m *meter) done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.charges) == 0 {
		return
	}
	m.release(m.charges[0])
	m.charges = m.charges[1:]
}

// close releases everything the stream still holds; later reservations
// are refused.
func (m *meter) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.charges {
		m.release(c)
	}
	m.charges, m.closed = nil, true
}

func (m *meter) release(charge int64) {
	m.budget.held.Add(-charge)
	m.budget.sem.Release(charge)
}

func (m *meter) Close() error { return m.body.Close() }
