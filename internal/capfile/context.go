package capfile

import (
	"context"
	"fmt"
	"os"
)

// OpenContext is Open for a reader that gives up when ctx is done: it
// stops waiting for a FIFO's writer, a blocked read of a FIFO or pipe
// returns (the file is closed), and every read of the stream first checks
// ctx. Next then returns an error wrapping ctx.Err(). Memory-mapped files
// need no reads: their caller checks ctx between packets.
func OpenContext(ctx context.Context, path string) (*Reader, error) {
	if path == "-" {
		return newReader(ctx, "-", os.Stdin, nil)
	}
	f, err := openFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	if r, ok := openMapped(path, f); ok {
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

// openFile opens path for reading, unless ctx ends first: opening a FIFO
// waits until a writer opens it too, for ever if nobody does.
func openFile(ctx context.Context, path string) (*os.File, error) {
	if ctx.Done() == nil {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
		wakeOpen(path)
		go func() { // the open returns once woken (or by itself): close its file
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
