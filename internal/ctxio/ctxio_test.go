package ctxio

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// closedOnCancel fails its reads, as a file closed under a read does,
// once cancel was called.
type closedOnCancel struct {
	r         io.Reader
	cancelled *bool
}

func (c closedOnCancel) Read(p []byte) (int, error) {
	if *c.cancelled {
		return 0, errors.New("read on closed file")
	}
	return c.r.Read(p)
}

// TestReader: reads pass through until the context ends, then fail with
// its error, also a read that fails with an error of its own meanwhile.
func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var cancelled bool
	r := Reader(ctx, closedOnCancel{strings.NewReader("abcdef"), &cancelled})
	buf := make([]byte, 3)
	if n, err := r.Read(buf); n != 3 || err != nil || string(buf) != "abc" {
		t.Fatalf("Read() = %d, %v (%q); want 3, nil (abc)", n, err, buf)
	}
	cancelled = true
	if _, err := r.Read(buf); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Read() of the closed file before the context ends = %v, want its own error", err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Errorf("Read() after cancel = %v, want context.Canceled", err)
	}
	cancelled = false
	if n, err := Reader(ctx, strings.NewReader("x")).Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("Read() with an ended context = %d, %v; want 0, context.Canceled", n, err)
	}
}
