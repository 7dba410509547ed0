package sensor

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/sensor/capture"
)

// Source is where a pipeline's frames come from: one capture socket, or a
// replayed file.
type Source = capture.Source

// KernelStats are a source's kernel counters.
type KernelStats = capture.Stats

// openSources opens the configured capture: one source per fanout socket,
// or the replayed file; closeAll closes them all.
func openSources(cfg *Config, now func() time.Time) (sources []Source, closeAll func() error, err error) {
	if cfg.Replay != nil {
		opts := capture.FileOptions{Restamp: cfg.Replay.Realtime, Rate: cfg.Replay.Rate, Now: now}
		f, err := capture.OpenFile(cfg.Replay.File, opts)
		if err != nil {
			return nil, nil, err
		}
		var src Source = f
		if cfg.Replay.Loop > 1 {
			src = &loop{path: cfg.Replay.File, opts: opts, left: cfg.Replay.Loop - 1, cur: f}
		}
		return []Source{src}, src.Close, nil
	}
	opts := capture.DefaultInterfaceOptions()
	opts.Sockets = cfg.Sockets
	opts.BlockSize, opts.NumBlocks = cfg.Ring.blockBytes, cfg.Ring.Blocks
	in, err := capture.OpenInterface(cfg.Interface, opts)
	if err != nil {
		return nil, nil, err
	}
	return in.Sources(), in.Close, nil
}

// loop replays a file several times.
type loop struct {
	path string
	opts capture.FileOptions
	left int
	cur  *capture.File
}

func (l *loop) Next(ctx context.Context) (capture.Frame, error) {
	for {
		f, err := l.cur.Next(ctx)
		if !errors.Is(err, io.EOF) || l.left == 0 {
			return f, err
		}
		l.cur.Close()
		if l.cur, err = capture.OpenFile(l.path, l.opts); err != nil {
			return capture.Frame{}, err
		}
		l.left--
	}
}

func (l *loop) Stats() (capture.Stats, error) { return capture.Stats{}, nil }
func (l *loop) Close() error                  { return l.cur.Close() }
