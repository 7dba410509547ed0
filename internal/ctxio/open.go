package ctxio

import (
	"context"
	"os"
)

// Open opens path for reading, unless ctx ends first: opening a FIFO
// waits until a writer opens it too, for ever if nobody does.
func Open(ctx context.Context, path string) (*os.File, error) {
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
