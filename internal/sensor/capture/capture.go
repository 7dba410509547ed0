// Package capture owns where the sensor's frames come from: a live network
// interface, read with AF_PACKET TPACKET_V3 rings (gopacket's pure-Go
// afpacket, fanned out over several sockets, one reader goroutine each),
// or a capture file replayed through internal/capfile, optionally
// restamped with the current time and paced.
//
// Capture is passive: nothing in this package writes to a socket. A live
// interface is put in promiscuous mode by default (a telescope receives
// frames for addresses the interface does not own) for as long as its
// sockets are open.
//
// # Reading
//
// Every source is a Source: Next returns the next frame, whose Data aliases
// the source's buffer (the kernel ring, or the file's buffer or mapping)
// and is valid only until the next call to Next or Close. One goroutine
// reads one Source. Next returns promptly — within the interface's poll
// timeout — when its context is cancelled (ctx.Err()) or the source is
// closed (ErrClosed), so that the daemon can stop cleanly; a file ends with
// io.EOF.
//
// A live frame's time is the kernel's receive timestamp. AF_PACKET hands
// over frames with their 802.1Q tag removed when the NIC offloads VLANs;
// the tag is then not in Data.
//
// # Kernel statistics
//
// Stats reports what the kernel counted for the AF_PACKET sockets
// (PACKET_STATISTICS): the packets that reached them, those dropped because
// the ring was full, and how often the ring froze. The kernel resets its
// counters on each read; Stats accumulates them since the source was
// opened. For a file every count is zero.
package capture

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// Frame is one captured frame.
type Frame struct {
	Time    int64           // capture time, ns since the Unix epoch
	Link    decode.LinkType // link type of Data
	Data    []byte          // the captured bytes; valid until the next Next or Close, not to be modified
	OrigLen uint32          // length on the wire (len(Data) or more, when the frame was truncated)
}

// Stats are a source's kernel statistics, cumulative since it was opened.
type Stats struct {
	// Packets counts the frames the kernel passed to the socket(s),
	// including the dropped ones (the kernel's tp_packets).
	Packets uint64
	// Drops counts the frames the kernel dropped because a ring was full.
	Drops uint64
	// QueueFreezes counts the times a ring filled up (TPACKET_V3
	// tp_freeze_q_cnt).
	QueueFreezes uint64
	// LinkErrors counts the errors the sockets reported, such as the
	// interface going down (ENETDOWN); capture resumes when it comes back.
	LinkErrors uint64
}

func (s *Stats) add(o Stats) {
	s.Packets += o.Packets
	s.Drops += o.Drops
	s.QueueFreezes += o.QueueFreezes
	s.LinkErrors += o.LinkErrors
}

// Source yields frames.
type Source interface {
	// Next returns the next frame. It returns ctx.Err() when ctx is done,
	// ErrClosed after Close, io.EOF at the end of a file, or another error
	// when the source fails. The frame's Data is valid until the next call
	// to Next or Close.
	Next(ctx context.Context) (Frame, error)
	// Stats returns the kernel statistics (all zero for a file).
	Stats() (Stats, error)
	// Close releases the source; a Next in progress returns ErrClosed.
	Close() error
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("capture source closed")

// gate lets Close stop a reader and wait until it no longer uses the
// underlying handle (a ring or a file mapping), so that the handle is
// released only when nobody reads it: Next holds mu while it reads, and
// waits no longer than a poll timeout (or a pacing wait that also watches
// done) before it checks again.
type gate struct {
	mu     sync.Mutex // held by Next
	closed atomic.Bool
	done   chan struct{}
	once   sync.Once
}

func newGate() gate { return gate{done: make(chan struct{})} }

// shut marks the gate closed, waits for the reader to leave, and releases
// the handle, once.
func (g *gate) shut(release func() error) error {
	var err error
	g.once.Do(func() {
		g.closed.Store(true)
		close(g.done)
		g.mu.Lock()
		defer g.mu.Unlock()
		err = release()
	})
	return err
}

// check returns why the reader must stop, if it must.
func (g *gate) check(ctx context.Context) error {
	if g.closed.Load() {
		return ErrClosed
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	default:
		return nil
	}
}
