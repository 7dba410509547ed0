package capture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/sys/unix"

	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// statsEvery: Next folds the kernel counters into the totals every this
// many frames, so that gopacket's 32-bit running sums cannot wrap between
// two reads, however rarely Stats is called.
const statsEvery = 1 << 20

// fanoutSeq makes the default fanout IDs of one process differ from each
// other (the only package-level state: a counter, never reset).
var fanoutSeq atomic.Uint32

// Interface is a live capture from one network interface: one or more
// AF_PACKET TPACKET_V3 sockets in a fanout group.
type Interface struct {
	name    string
	link    decode.LinkType
	sockets []*socket
}

// OpenInterface opens opts.Sockets capture sockets on the interface name,
// in the calling thread's network namespace; the sockets stay in that
// namespace. It needs CAP_NET_RAW.
func OpenInterface(name string, opts InterfaceOptions) (*Interface, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", name, err)
	}
	link, err := linkTypeOf(name)
	if err != nil {
		return nil, fmt.Errorf("capture %s: %w", name, err)
	}
	id := opts.FanoutID
	if id == 0 {
		id = uint16(os.Getpid()) + uint16(fanoutSeq.Add(1))<<10
	}
	in := &Interface{name: name, link: link}
	for i := range opts.Sockets {
		s, err := openSocket(name, link, opts, id)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("capture %s: socket %d of %d: %w", name, i+1, opts.Sockets, err)
		}
		in.sockets = append(in.sockets, s)
	}
	if len(in.sockets) > 1 {
		// A socket receives every frame from its bind until it joins the
		// fanout group, so a frame that arrived while the group was being
		// formed may be in two rings. Frames stamped before the group was
		// complete are skipped: the capture starts when it is whole.
		complete := time.Now().UnixNano()
		for _, s := range in.sockets {
			s.since = complete
		}
	}
	return in, nil
}

func openSocket(name string, link decode.LinkType, opts InterfaceOptions, fanoutID uint16) (*socket, error) {
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(name),
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(opts.BlockSize),
		afpacket.OptNumBlocks(opts.NumBlocks),
		afpacket.OptBlockTimeout(opts.BlockTimeout),
		afpacket.OptPollTimeout(opts.PollTimeout),
	)
	if err != nil {
		return nil, err
	}
	if opts.Sockets > 1 {
		if err := tp.SetFanout(afpacket.FanoutHash, fanoutID); err != nil {
			tp.Close()
			return nil, fmt.Errorf("join fanout group %d: %w", fanoutID, err)
		}
	}
	// Every socket holds its own membership (the kernel counts them), so
	// that closing any one of them leaves the interface promiscuous.
	if opts.Promiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	return &socket{gate: newGate(), tp: tp, fd: tpacketFD(tp), name: name, link: link, pollTimeout: opts.PollTimeout}, nil
}

// linkTypeOf maps the interface's hardware type to the link type of what
// an AF_PACKET SOCK_RAW socket reads from it.
func linkTypeOf(name string) (decode.LinkType, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("interface name: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("hardware type: %w", err)
	}
	switch hw := ifr.Uint16(); hw {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return decode.LinkEthernet, nil
	case unix.ARPHRD_NONE, unix.ARPHRD_RAWIP: // tun, WireGuard: IP packets
		return decode.LinkRaw, nil
	default:
		return 0, fmt.Errorf("hardware type %d not supported (Ethernet or raw IP interfaces)", hw)
	}
}

// Sources returns one Source per socket, each to be read by its own
// goroutine. Closing one closes only its socket.
func (in *Interface) Sources() []Source {
	out := make([]Source, len(in.sockets))
	for i, s := range in.sockets {
		out[i] = s
	}
	return out
}

// Link returns the link type of the interface's frames.
func (in *Interface) Link() decode.LinkType { return in.link }

// Stats returns the kernel statistics summed over the sockets.
func (in *Interface) Stats() (Stats, error) {
	var sum Stats
	var errs []error
	for _, s := range in.sockets {
		st, err := s.Stats()
		errs = append(errs, err)
		sum.add(st)
	}
	if err := errors.Join(errs...); err != nil {
		return sum, fmt.Errorf("capture %s: %w", in.name, err)
	}
	return sum, nil
}

// Close closes every socket (waiting, at most a poll timeout, for their
// readers to leave the rings); the interface leaves promiscuous mode when
// the last one closes.
func (in *Interface) Close() error {
	var errs []error
	for _, s := range in.sockets {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// socket is one TPACKET_V3 socket; it is a Source.
type socket struct {
	gate
	tp          *afpacket.TPacket
	fd          int // tp's socket, -1 if unknown
	name        string
	link        decode.LinkType
	pollTimeout time.Duration
	since       int64 // frames stamped before this (Unix ns) are skipped: see OpenInterface
	nframes     int   // frames since the counters were last folded in; guarded by gate.mu
	linkErrors  atomic.Uint64

	statsMu  sync.Mutex // guards below, and tp's release against reading its statistics
	released bool       // tp is closed
	last     [3]uint32  // gopacket's running sums at the last read
	total    Stats
}

var _ Source = (*socket)(nil)

// Next returns the next frame from the ring. It waits for frames at most
// PollTimeout at a time, then checks ctx and Close.
func (s *socket) Next(ctx context.Context) (Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if err := s.check(ctx); err != nil {
			return Frame{}, err
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		switch {
		case err == nil:
			if s.nframes++; s.nframes >= statsEvery {
				s.nframes = 0
				s.Stats() //nolint:errcheck // a failure shows in the next Stats call
			}
			ts := ci.Timestamp.UnixNano()
			if ts < s.since {
				continue
			}
			return Frame{Time: ts, Link: s.link, Data: data, OrigLen: uint32(ci.Length)}, nil
		case errors.Is(err, afpacket.ErrTimeout):
			// Nothing within the poll timeout: check ctx and Close again.
		case errors.Is(err, afpacket.ErrPoll):
			// The socket has an error: the interface went down (ENETDOWN).
			// Capture resumes by itself when it comes back up, but poll
			// reports the error until it is read: read it (else Next would
			// spin), count it, and wait a poll timeout.
			s.linkErrors.Add(1)
			if s.fd >= 0 {
				unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR) //nolint:errcheck // reading clears it
			}
			if err := s.wait(ctx); err != nil {
				return Frame{}, err
			}
		default:
			return Frame{}, fmt.Errorf("capture %s: %w", s.name, err)
		}
	}
}

// wait sleeps for a poll timeout, or until ctx is done or s closed.
func (s *socket) wait(ctx context.Context) error {
	t := time.NewTimer(s.pollTimeout)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrClosed
	}
}

// tpacketFD returns the file descriptor of gopacket's TPacket, which its
// API does not expose (read-only reflection on gopacket v1.7's field), or
// -1 when this gopacket has no such field.
func tpacketFD(tp *afpacket.TPacket) int {
	f := reflect.ValueOf(tp).Elem().FieldByName("fd")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return -1
	}
	return int(f.Int())
}

// Stats returns the socket's kernel statistics since it was opened.
func (s *socket) Stats() (Stats, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.readStats()
}

// readStats folds the kernel's counters into the totals; statsMu is held.
func (s *socket) readStats() (Stats, error) {
	if s.released {
		st := s.total
		st.LinkErrors = s.linkErrors.Load()
		return st, nil
	}
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return s.total, fmt.Errorf("capture %s: statistics: %w", s.name, err)
	}
	// gopacket keeps 32-bit running sums of the kernel's reset-on-read
	// counters; their differences modulo 2^32 are exact.
	now := [3]uint32{uint32(v3.Packets()), uint32(v3.Drops()), uint32(v3.QueueFreezes())}
	s.total.Packets += uint64(now[0] - s.last[0])
	s.total.Drops += uint64(now[1] - s.last[1])
	s.total.QueueFreezes += uint64(now[2] - s.last[2])
	s.last = now
	st := s.total
	st.LinkErrors = s.linkErrors.Load()
	return st, nil
}

// Close closes the socket once its reader has left the ring; its final
// statistics stay readable.
func (s *socket) Close() error {
	return s.shut(func() error {
		s.statsMu.Lock()
		defer s.statsMu.Unlock()
		_, err := s.readStats()
		s.tp.Close()
		s.released = true
		return err
	})
}
