package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// Progress receives the reading position of the current file.
type Progress func(file string, done, total int64, frames uint64)

// progressEvery is how many frames pass between progress calls and
// cancellation checks: rare enough to cost nothing per packet.
const progressEvery = 1 << 16

// ReadFile reads one capture ("-" for the process's standard input)
// through the decoder into the analyzer. A corrupt or truncated file ends
// with an error naming the file and byte offset; the frames read before it
// stay counted, and the error is also kept in the report's file list.
func (a *Analyzer) ReadFile(ctx context.Context, path string, progress Progress) error {
	return a.read(ctx, path, progress, func() (*capfile.Reader, error) { return capfile.OpenContext(ctx, path) })
}

// ReadStream is ReadFile for a capture that is not a file, such as a
// command's standard input; name labels it in errors and the report.
func (a *Analyzer) ReadStream(ctx context.Context, name string, in io.Reader, progress Progress) error {
	return a.read(ctx, name, progress, func() (*capfile.Reader, error) { return capfile.NewReader(name, in) })
}

func (a *Analyzer) read(ctx context.Context, path string, progress Progress, open func() (*capfile.Reader, error)) error {
	res := FileResult{Path: path}
	r, err := open()
	if err == nil {
		err = a.readAll(ctx, r, path, progress, &res)
		r.Close()
	}
	if err != nil {
		res.Error = err.Error()
	}
	a.files = append(a.files, res)
	return err
}

// ErrFileChanged reports that a memory-mapped capture shrank while it was
// read (another process truncated it).
var ErrFileChanged = errors.New("capture file shrank while being read (truncated by another process?)")

func (a *Analyzer) readAll(ctx context.Context, r *capfile.Reader, path string, progress Progress, res *FileResult) (err error) {
	// capfile maps regular files into memory: if another process truncates
	// the file under us, reading the lost pages faults. Turn that fault into
	// an error for this file instead of a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			// SetPanicOnFault's panics carry the faulting address.
			if _, ok := p.(interface{ Addr() uintptr }); ok {
				a.flush() // the records decoded before the fault
				err = fmt.Errorf("%s: %w", path, ErrFileChanged)
				return
			}
			panic(p)
		}
	}()

	var p capfile.Packet
	for {
		err := r.Next(&p)
		if err != nil {
			a.flush()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			if progress != nil {
				done, total := r.Progress()
				progress(path, done, total, res.Frames)
			}
			return err
		}
		a.path.Frame(p.Time, decode.LinkType(p.LinkType), p.Data)
		res.Frames++
		if a.path.Full() {
			a.flush()
		}
		if res.Frames%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				a.flush()
				return err
			}
			if progress != nil {
				done, total := r.Progress()
				progress(path, done, total, res.Frames)
			}
		}
	}
}
