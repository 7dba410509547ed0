package capfile

import (
	"context"
	"fmt"
	"os"

	"github.com/nightjar-telescope/nightjar/internal/ctxio"
)

// OpenContext is Open for a reader that gives up when ctx is done: it
// stops waiting for a FIFO's writer, a blocked read of a FIFO or pipe
// returns (the file is closed), and every read of the stream first checks
// ctx. Next then returns an error wrapping ctx.Err(). Memory-mapped files
// need no reads: their caller checks ctx between packets.
func OpenContext(ctx context.Context, path string) (*Reader, error) {
	return openContext(ctx, path, true)
}

// OpenForRanges is OpenContext for a file to be read by Range readers on
// several goroutines: a memory-mapped file's pages are not all mapped up
// front, on the opening goroutine, but by each Range reader's Populate.
func OpenForRanges(ctx context.Context, path string) (*Reader, error) {
	return openContext(ctx, path, false)
}

func openContext(ctx context.Context, path string, populate bool) (*Reader, error) {
	if path == "-" {
		return newReader(ctx, "-", os.Stdin, nil)
	}
	f, err := ctxio.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	if r, ok := openMapped(path, f, populate); ok {
		if err := r.start(); err != nil {
			r.Close()
			return nil, err
		}
		return r, nil
	}
	r, err := newReader(ctx, path, f, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}
