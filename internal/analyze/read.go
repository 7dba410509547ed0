package analyze

import (
	"context"
	"errors"
	"io"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// Progress receives the reading position of the current file.
type Progress func(file string, done, total int64, frames uint64)

// progressEvery is how many frames pass between progress calls and
// cancellation checks: rare enough to cost nothing per packet.
const progressEvery = 1 << 16

// ReadFile reads one capture ("-" for standard input) through the decoder
// into the analyzer. A corrupt or truncated file ends with an error naming
// the file and byte offset; the frames read before it stay counted, and the
// error is also kept in the report's file list.
func (a *Analyzer) ReadFile(ctx context.Context, path string, progress Progress) error {
	res := FileResult{Path: path}
	err := a.readFile(ctx, path, progress, &res)
	if err != nil {
		res.Error = err.Error()
	}
	a.files = append(a.files, res)
	return err
}

func (a *Analyzer) readFile(ctx context.Context, path string, progress Progress, res *FileResult) error {
	r, err := capfile.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()

	var p capfile.Packet
	b := a.batch()
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
		res.Frames++
		a.frames++
		if a.decodeInto(b, decode.LinkType(p.LinkType), p.Data, p.Time) && len(b.recs) == cap(b.recs) {
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

// AddFrame decodes one frame and counts it, or counts why it was skipped.
func (a *Analyzer) AddFrame(link decode.LinkType, frame []byte, ts int64) {
	b := a.batch()
	a.decodeInto(b, link, frame, ts)
	a.addBatch(b)
}

// decodeInto decodes a frame into the next record of the batch and reports
// whether it produced one; skips are counted by reason.
func (a *Analyzer) decodeInto(b *batch, link decode.LinkType, frame []byte, ts int64) bool {
	n := len(b.recs)
	b.recs = b.recs[:n+1]
	rec := &b.recs[n]
	if reason := decode.Decode(link, frame, rec); reason != decode.OK {
		b.recs = b.recs[:n]
		if reason == decode.UnsupportedLinkType {
			a.linkSkips[link]++
		} else {
			a.reasonCounts[reason]++
		}
		return false
	}
	rec.Time = ts
	return true
}
