// Package ctxio makes opens and reads give up when a context ends: a command stopped
// by SIGINT or SIGTERM (main's signal.NotifyContext) stops reading a huge
// file, a FIFO or a parser's input at its next read.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r that fails with ctx's error once ctx has
// ended: each read checks ctx first, and a read that fails after ctx ended
// — one of a file closed on cancellation, say — reports ctx's error, not
// its own.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && c.ctx.Err() != nil {
		err = c.ctx.Err()
	}
	return n, err
}
