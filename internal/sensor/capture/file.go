package capture

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// FileOptions configures the replay of a capture file.
type FileOptions struct {
	// Restamp replaces each frame's time with the clock when Next
	// returns it, so that a replayed capture looks live.
	Restamp bool
	// Now is the clock of Restamp (time.Now when nil): the demo runs its
	// sensors at the instant of `nightjar --now`.
	Now func() time.Time
	// Rate, when positive, paces the replay at Rate frames per second.
	Rate float64
	// Original paces the replay with the capture's own inter-arrival times
	// (a frame older than one before it is not waited for). Exclusive with
	// Rate.
	Original bool
}

// minWait: a frame due sooner than this is returned at once; the schedule
// (not the gaps) decides, so early frames are made up for by later waits.
const minWait = 50 * time.Microsecond

// File replays a capture file (pcap or pcapng, possibly gzip- or
// zstd-compressed) as a Source.
type File struct {
	gate
	r    *capfile.Reader
	opts FileOptions
	pkt  capfile.Packet
	held bool // pkt was read but not returned (a pacing wait was cut short)

	// pacing
	n       int64     // frames returned
	start   time.Time // when the first frame was returned
	first   int64     // capture time of the first frame (Original)
	latest  int64     // latest capture time seen (Original)
	timer   *time.Timer
	started bool
}

var _ Source = (*File)(nil)

// OpenFile opens the capture file at path ("-" is standard input).
func OpenFile(path string, opts FileOptions) (*File, error) {
	if opts.Rate < 0 || math.IsNaN(opts.Rate) || math.IsInf(opts.Rate, 0) {
		return nil, fmt.Errorf("replay %q: rate %v frames/s", path, opts.Rate)
	}
	if opts.Rate > 0 && opts.Original {
		return nil, fmt.Errorf("replay %q: a rate and the original timing are exclusive", path)
	}
	r, err := capfile.Open(path)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &File{gate: newGate(), r: r, opts: opts}, nil
}

// Next returns the next frame of the file, io.EOF at its end, or the
// *capfile.FormatError of a corrupt file.
func (f *File) Next(ctx context.Context) (Frame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(ctx); err != nil {
		return Frame{}, err
	}
	if !f.held {
		if err := f.r.Next(&f.pkt); err != nil {
			return Frame{}, err
		}
		f.held = true
	}
	if f.opts.Rate > 0 || f.opts.Original {
		if err := f.pace(ctx); err != nil {
			return Frame{}, err
		}
	}
	f.held = false
	t := f.pkt.Time
	if f.opts.Restamp {
		t = f.opts.Now().UnixNano()
	}
	return Frame{Time: t, Link: decode.LinkType(f.pkt.LinkType), Data: f.pkt.Data, OrigLen: f.pkt.OrigLen}, nil
}

// pace waits until the held frame is due.
func (f *File) pace(ctx context.Context) error {
	now := time.Now()
	if !f.started {
		f.started, f.start, f.first, f.latest = true, now, f.pkt.Time, f.pkt.Time
	}
	var due time.Duration
	if f.opts.Rate > 0 {
		due = time.Duration(float64(f.n) / f.opts.Rate * 1e9)
	} else {
		f.latest = max(f.latest, f.pkt.Time)
		due = time.Duration(f.latest - f.first)
	}
	if wait := due - now.Sub(f.start); wait >= minWait {
		if f.timer == nil {
			f.timer = time.NewTimer(wait)
		} else {
			f.timer.Reset(wait)
		}
		select {
		case <-f.timer.C:
		case <-ctx.Done():
			f.timer.Stop()
			return ctx.Err()
		case <-f.done:
			f.timer.Stop()
			return ErrClosed
		}
	}
	f.n++
	return nil
}

// Stats returns zeros: no kernel is involved.
func (f *File) Stats() (Stats, error) { return Stats{}, nil }

// Close closes the file; a Next waiting to pace a frame returns ErrClosed.
func (f *File) Close() error {
	return f.shut(f.r.Close)
}
