package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
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
	return a.read(ctx, path, progress, func() (*capfile.Reader, error) { return capfile.Open(path) })
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
	b := a.batch()
	// capfile maps regular files into memory: if another process truncates
	// the file under us, reading the lost pages faults. Turn that fault into
	// an error for this file instead of a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			// SetPanicOnFault's panics carry the faulting address.
			if _, ok := p.(interface{ Addr() uintptr }); ok {
				a.addBatch(b) // the records decoded before the fault
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
			a.addBatch(b)
			if errors.Is(err, io.EOF) {
				err = nil
			}
			if progress != nil {
				done, total := r.Progress()
				progress(path, done, total, res.Frames)
			}
			return err
		}
		full := a.decodeInto(b, decode.LinkType(p.LinkType), p.Data, p.Time) && len(b.recs) == cap(b.recs)
		res.Frames++
		a.frames++
		if full {
			a.addBatch(b)
		}
		if res.Frames%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				a.addBatch(b)
				return err
			}
			if progress != nil {
				done, total := r.Progress()
				progress(path, done, total, res.Frames)
			}
		}
	}
}

// decodeInto decodes a frame into the next record of the batch and reports
// whether it produced one; skips are counted by reason.
func (a *Analyzer) decodeInto(b *batch, link decode.LinkType, frame []byte, ts int64) bool {
	// The batch grows only by complete records: a fault while decoding
	// (see readAll) leaves it consistent.
	n := len(b.recs)
	rec := &b.recs[:n+1][n]
	if reason := decode.Decode(link, frame, rec); reason != decode.OK {
		if reason == decode.UnsupportedLinkType {
			a.linkSkips[link]++
		} else {
			a.reasonCounts[reason]++
		}
		return false
	}
	rec.Time = ts
	rec.Tags = fingerprint.Tag(rec)
	b.recs = b.recs[:n+1]
	return true
}
