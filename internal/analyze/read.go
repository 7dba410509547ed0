package analyze

import (
	"context"
	"errors"
	"io"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/record"
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

	var (
		p   capfile.Packet
		rec record.Record
	)
	for {
		if err := r.Next(&p); err != nil {
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
		a.AddFrame(decode.LinkType(p.LinkType), p.Data, p.Time, &rec)
		if res.Frames%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				done, total := r.Progress()
				progress(path, done, total, res.Frames)
			}
		}
	}
}

// AddFrame decodes one frame into rec and counts it, or counts why it was
// skipped. rec is scratch space reused across calls.
func (a *Analyzer) AddFrame(link decode.LinkType, frame []byte, ts int64, rec *record.Record) {
	if reason := decode.Decode(link, frame, rec); reason != decode.OK {
		if reason == decode.UnsupportedLinkType {
			a.linkSkips[link]++
			return
		}
		a.reasonCounts[reason]++
		return
	}
	rec.Time = ts
	a.Add(rec)
}
