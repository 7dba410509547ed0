package capfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/nightjar-telescope/nightjar/internal/ctxio"
)

const (
	// MaxCapLen is the largest captured length accepted for one packet
	// (libpcap's and Wireshark's usual maximum snapshot length).
	MaxCapLen = 256 << 10
	// minCapLimit: captured lengths up to this are accepted whatever the
	// snaplen in the header says (libpcap reads them too; fuzzed files
	// often carry a snaplen of 1 or 2).
	minCapLimit = 64 << 10
	// maxBlockLen bounds a pcapng block (Wireshark uses 16 MiB too).
	maxBlockLen = 16 << 20
	// MaxInterfaces bounds the interfaces of one pcapng section: the
	// obsolete Packet Block's interface field is 16 bits, and without a
	// bound a small compressed file of Interface Description Blocks costs
	// gigabytes (40 bytes of state each, at most 2.5 MiB per section).
	MaxInterfaces = 1 << 16

	readBufSize = 1 << 20
	// initBufSize is the first buffer; it grows to readBufSize once the
	// stream outgrows it, so that small inputs stay cheap.
	initBufSize = 64 << 10

	ngBlockSHB = 0x0a0d0d0a
	ngBlockIDB = 1
	ngBlockPB  = 2 // obsolete Packet Block
	ngBlockSPB = 3
	ngBlockEPB = 6
	ngBOM      = 0x1a2b3c4d

	gzipMagic = 0x1f8b
	zstdMagic = 0x28b52ffd
)

// Packet is one captured packet. Reuse one Packet across Next calls.
type Packet struct {
	Time      int64  // ns since the Unix epoch, UTC; 0 for pcapng Simple Packet Blocks (no timestamp)
	LinkType  uint32 // LINKTYPE_* of this packet's interface (FCS bits masked off)
	Data      []byte // captured bytes; aliases the reader's buffer, valid until the next Next or Close call
	OrigLen   uint32 // length on the wire, as recorded (may be less than len(Data) in broken files)
	Interface int    // pcapng interface index within its section; 0 for pcap
	// BadTime: the pcap record's fraction of a second is a second or more
	// (a µs field of 2·10⁹, say), so Time is not a capture time. The
	// caller skips and counts the packet.
	BadTime bool
}

type format uint8

const (
	formatPcap format = iota + 1
	formatPcapng
)

// ngIface is a pcapng interface of the current section.
type ngIface struct {
	linkType uint32
	snaplen  uint32
	capLimit uint32
	units    uint64 // timestamp ticks per second
	mul      uint64 // ns per tick when units divides 1e9, else 0
	offsetNs int64  // if_tsoffset in ns
}

// Reader reads packets from a pcap or pcapng stream, possibly gzip- or
// zstd-compressed. It is not safe for concurrent use.
type Reader struct {
	// Window on the decompressed stream: valid bytes are buf[pos:end];
	// buf[0] is at stream offset base. With mmap, buf is the whole file.
	buf  []byte
	pos  int
	end  int
	base int64

	src    io.Reader // nil once it returned an error, or with mmap
	srcErr error     // the error src returned (io.EOF at its end)

	format   format
	bigEnd   bool // pcap: file is big-endian; pcapng: current section is
	fracMul  int64
	linkType uint32
	capLimit uint32
	ifaces   []ngIface

	err error // sticky error returned by Next
	// stop, when not zero, ends a Range reader: a record that starts at
	// or after it belongs to the next range.
	stop int

	name       string
	compressed bool
	counter    *countingReader // bytes read from the underlying file (nil with mmap)
	total      int64
	mapped     []byte // mmap'ed file, unmapped by Close
	decomp     io.Closer
	file       *os.File // owned file, closed by Close
	// stopClosing cancels the closing of file when the context of
	// OpenContext ends; nil without one.
	stopClosing func() bool
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a capture file: pcap or pcapng, plain or gzip- or
// zstd-compressed (detected by magic bytes). The path "-" means standard
// input. Regular uncompressed files are memory-mapped when possible.
func Open(path string) (*Reader, error) {
	return OpenContext(context.Background(), path)
}

// NewReader reads a capture stream from r, which may be compressed; name
// is used in errors. Close does not close r.
func NewReader(name string, r io.Reader) (*Reader, error) {
	return newReader(context.Background(), name, r, nil)
}

// newReader reads in; with a ctx that can end, each read checks it, and
// its end closes the owned file, which ends a read blocked on a FIFO.
func newReader(ctx context.Context, name string, in io.Reader, owned *os.File) (*Reader, error) {
	r := &Reader{name: name, total: -1, file: owned}
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			r.total = st.Size()
		}
	}
	if ctx.Done() != nil {
		in = ctxio.Reader(ctx, in)
		if owned != nil {
			r.stopClosing = context.AfterFunc(ctx, func() { owned.Close() })
		}
	}
	r.counter = &countingReader{r: in}
	src, decomp, err := decompress(name, r.counter)
	if err != nil {
		return nil, err
	}
	r.compressed, r.decomp = decomp != nil, decomp
	r.src = src
	r.buf = make([]byte, initBufSize)
	if err := r.start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Decompressed returns the capture stream that r holds: r itself, or
// what it decompresses to when it is gzip or zstd, detected by its magic
// bytes as Open and NewReader do; compressed says which. name is used in
// errors. Close releases the decompressor, not r.
//
// A caller identifies a capture by this stream's bytes, which do not
// depend on how the file was compressed.
func Decompressed(name string, r io.Reader) (stream io.ReadCloser, compressed bool, err error) {
	src, decomp, err := decompress(name, r)
	if err != nil {
		return nil, false, err
	}
	if decomp == nil {
		return io.NopCloser(src), false, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{src, decomp}, true, nil
}

// decompress sniffs the compression of in from its first 4 bytes and
// returns the stream to read, those bytes replayed, and the decompressor
// to close (nil when in is not compressed).
func decompress(name string, in io.Reader) (io.Reader, io.Closer, error) {
	var magic [4]byte
	n, err := io.ReadFull(in, magic[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, nil, fmt.Errorf("read capture %s: %w", name, err)
	}
	src := in
	if n > 0 {
		src = io.MultiReader(&byteReader{b: magic[:n]}, in)
	}
	switch {
	case n >= 2 && uint32(magic[0])<<8|uint32(magic[1]) == gzipMagic:
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, nil, formatErr(name, 0, ErrCompression, "gzip header: %v", err)
		}
		return zr, zr, nil
	case n == 4 && binary.BigEndian.Uint32(magic[:]) == zstdMagic:
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(false))
		if err != nil {
			return nil, nil, fmt.Errorf("read capture %s: zstd: %w", name, err)
		}
		return zr, zr.IOReadCloser(), nil
	}
	return src, nil, nil
}

// byteReader replays a few sniffed bytes (bytes.Reader without the import
// of its WriteTo, which would defeat io.MultiReader's small reads).
type byteReader struct{ b []byte }

func (b *byteReader) Read(p []byte) (int, error) {
	if len(b.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.b)
	b.b = b.b[n:]
	return n, nil
}

// start reads the file header (pcap) or first Section Header Block.
func (r *Reader) start() error {
	if err := r.fill(4); err != nil {
		return r.truncated(err, 4, "file header")
	}
	switch m := binary.LittleEndian.Uint32(r.buf[r.pos:]); m {
	case magicMicros, magicNanos, bits.ReverseBytes32(magicMicros), bits.ReverseBytes32(magicNanos):
		return r.startPcap()
	case ngBlockSHB:
		r.format = formatPcapng
		if err := r.fill(12); err != nil {
			return r.truncated(err, 12, "section header block")
		}
		return r.readSHB()
	case magicKuznetzov, bits.ReverseBytes32(magicKuznetzov):
		return r.formatErr(0, ErrBadMagic, "modified (Kuznetzov) pcap format is not supported (magic %#08x)", m)
	default:
		return r.formatErr(0, ErrBadMagic, "not a pcap or pcapng file (magic %#08x)", binary.BigEndian.Uint32(r.buf[r.pos:]))
	}
}

func (r *Reader) startPcap() error {
	if err := r.fill(pcapHeaderLen); err != nil {
		return r.truncated(err, pcapHeaderLen, "file header")
	}
	h := r.buf[r.pos : r.pos+pcapHeaderLen]
	m := binary.LittleEndian.Uint32(h)
	r.format = formatPcap
	r.bigEnd = m == bits.ReverseBytes32(magicMicros) || m == bits.ReverseBytes32(magicNanos)
	r.fracMul = 1000
	if m == magicNanos || m == bits.ReverseBytes32(magicNanos) {
		r.fracMul = 1
	}
	major, minor := r.u16(h[4:]), r.u16(h[6:])
	if major != 2 {
		return r.formatErr(0, ErrBadHeader, "unsupported pcap version %d.%d", major, minor)
	}
	r.capLimit = capLimit(r.u32(h[16:]))
	r.linkType = r.u32(h[20:]) & 0xffff // upper bits: FCS length and flags
	r.pos += pcapHeaderLen
	return nil
}

// capLimit is the largest captured length accepted given a snaplen: up to
// twice the snaplen, at least minCapLimit, at most MaxCapLen.
func capLimit(snaplen uint32) uint32 {
	l := uint64(snaplen) * 2
	return uint32(min(max(l, minCapLimit), MaxCapLen))
}

func (r *Reader) u16(b []byte) uint16 {
	if r.bigEnd {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.bigEnd {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// fill makes at least n bytes available at buf[pos:end], compacting and
// growing the buffer as needed. It returns the source's error (io.EOF at
// its end) when fewer than n bytes remain.
func (r *Reader) fill(n int) error {
	if r.end-r.pos >= n {
		return nil
	}
	if r.src == nil {
		if r.srcErr == nil {
			return io.EOF
		}
		return r.srcErr
	}
	if r.pos > 0 {
		copy(r.buf, r.buf[r.pos:r.end])
		r.base += int64(r.pos)
		r.end -= r.pos
		r.pos = 0
	}
	if n > len(r.buf) || (r.base > 0 && len(r.buf) < readBufSize) {
		nb := make([]byte, max(n, readBufSize, 2*len(r.buf)))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for r.end < n {
		m, err := r.src.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			r.src, r.srcErr = nil, err
			if r.end >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

// truncated turns a fill error for a record of need bytes at pos into the
// error Next returns: io.EOF at a clean end, else a *FormatError.
func (r *Reader) truncated(err error, need int, what string) error {
	off := r.base + int64(r.pos)
	have := r.end - r.pos
	if err == io.EOF || (err == io.ErrUnexpectedEOF && r.compressed) {
		if err == io.ErrUnexpectedEOF {
			return r.formatErr(off, ErrTruncated, "truncated compressed stream inside %s: need %d bytes, have %d", what, need, have)
		}
		return r.formatErr(off, ErrTruncated, "truncated %s: need %d bytes, have %d", what, need, have)
	}
	if r.compressed && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return &FormatError{File: r.name, Offset: off, Err: &detail{kind: ErrCompression, msg: fmt.Sprintf("%v: %v", ErrCompression, err)}}
	}
	return fmt.Errorf("read capture %s: %w", r.name, err)
}

// atEOF reports a clean end: no byte left and the source ended normally.
func (r *Reader) atEOF(err error) bool {
	return r.end == r.pos && err == io.EOF
}

// Next reads the next packet into p. It returns io.EOF at a clean end of
// the stream and a *FormatError for a corrupt or truncated one; after an
// error every call returns the same error. p.Data aliases the Reader's
// buffer and is valid until the next call to Next or Close.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	p.BadTime = false
	if r.format == formatPcapng {
		if err := r.nextNG(p); err != nil {
			r.err = err
			return err
		}
		return nil
	}
	if r.stop != 0 && r.pos >= r.stop {
		r.err = io.EOF
		return r.err
	}
	if r.end-r.pos < pcapRecordLen {
		if err := r.fill(pcapRecordLen); err != nil {
			if r.atEOF(err) {
				r.err = io.EOF
			} else {
				r.err = r.truncated(err, pcapRecordLen, "packet record header")
			}
			return r.err
		}
	}
	h := r.buf[r.pos : r.pos+pcapRecordLen]
	sec := binary.LittleEndian.Uint32(h[0:])
	frac := binary.LittleEndian.Uint32(h[4:])
	capLen := binary.LittleEndian.Uint32(h[8:])
	origLen := binary.LittleEndian.Uint32(h[12:])
	if r.bigEnd {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
		capLen, origLen = bits.ReverseBytes32(capLen), bits.ReverseBytes32(origLen)
	}
	if capLen > r.capLimit {
		r.err = r.formatErr(r.base+int64(r.pos), ErrBadLength, "captured length %d exceeds the limit of %d", capLen, r.capLimit)
		return r.err
	}
	n := pcapRecordLen + int(capLen)
	if r.end-r.pos < n {
		if err := r.fill(n); err != nil {
			r.err = r.truncated(err, n, "packet record")
			return r.err
		}
	}
	start := r.pos + pcapRecordLen
	r.pos = start + int(capLen)
	p.Data = r.buf[start:r.pos:r.pos]
	p.Time = int64(sec)*1e9 + int64(frac)*r.fracMul
	p.BadTime = int64(frac)*r.fracMul >= 1e9
	p.LinkType = r.linkType
	p.OrigLen = origLen
	p.Interface = 0
	return nil
}

// readSHB parses the Section Header Block at pos (12 bytes available).
func (r *Reader) readSHB() error {
	off := r.base + int64(r.pos)
	b := r.buf[r.pos:]
	switch bom := binary.LittleEndian.Uint32(b[8:]); bom {
	case ngBOM:
		r.bigEnd = false
	case bits.ReverseBytes32(ngBOM):
		r.bigEnd = true
	default:
		return r.formatErr(off, ErrBadHeader, "section header block: bad byte-order magic %#08x", bom)
	}
	blen, err := r.blockLen(28, "section header")
	if err != nil {
		return err
	}
	b = r.buf[r.pos : r.pos+blen]
	if major, minor := r.u16(b[12:]), r.u16(b[14:]); major != 1 {
		return r.formatErr(off, ErrBadHeader, "unsupported pcapng version %d.%d", major, minor)
	}
	r.ifaces = r.ifaces[:0]
	r.pos += blen
	return nil
}

// blockLen validates the total length of the block at pos (at least 8
// bytes available), makes the whole block available and checks its
// trailing length.
func (r *Reader) blockLen(minLen uint32, what string) (int, error) {
	off := r.base + int64(r.pos)
	blen := r.u32(r.buf[r.pos+4:])
	switch {
	case blen < minLen:
		return 0, r.formatErr(off, ErrBadBlock, "%s block: total length %d below the minimum of %d", what, blen, minLen)
	case blen%4 != 0:
		return 0, r.formatErr(off, ErrBadBlock, "%s block: total length %d not a multiple of 4", what, blen)
	case blen > maxBlockLen:
		return 0, r.formatErr(off, ErrBadBlock, "%s block: total length %d above the maximum of %d", what, blen, maxBlockLen)
	}
	n := int(blen)
	if err := r.fill(n); err != nil {
		return 0, r.truncated(err, n, what+" block")
	}
	if t := r.u32(r.buf[r.pos+n-4:]); t != blen {
		return 0, r.formatErr(off, ErrBadBlock, "%s block: trailing length %d differs from leading length %d", what, t, blen)
	}
	return n, nil
}

func (r *Reader) nextNG(p *Packet) error {
	for {
		if r.end-r.pos < 12 {
			if err := r.fill(12); err != nil {
				if r.atEOF(err) {
					return io.EOF
				}
				return r.truncated(err, 12, "block header")
			}
		}
		b := r.buf[r.pos:r.end]
		typ := r.u32(b)
		// Fast path: a well-formed Enhanced Packet Block in the buffer.
		if blen := r.u32(b[4:]); typ == ngBlockEPB && blen >= 32 && blen%4 == 0 && uint64(blen) <= uint64(len(b)) {
			b = b[:blen]
			id := r.u32(b[8:])
			capLen := r.u32(b[20:])
			if r.u32(b[blen-4:]) == blen && id < uint32(len(r.ifaces)) && capLen <= blen-32 {
				ifc := &r.ifaces[id]
				if t, ok := ifc.time(uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))); ok && capLen <= ifc.capLimit {
					p.Time = t
					p.LinkType = ifc.linkType
					p.Data = b[28 : 28+capLen : 28+capLen]
					p.OrigLen = r.u32(b[24:])
					p.Interface = int(id)
					r.pos += int(blen)
					return nil
				}
			}
			// Else the slow path below reports the error.
		}
		off := r.base + int64(r.pos)
		switch typ {
		case ngBlockEPB, ngBlockPB:
			what := "enhanced packet"
			if typ == ngBlockPB {
				what = "packet"
			}
			blen, err := r.blockLen(32, what)
			if err != nil {
				return err
			}
			b := r.buf[r.pos : r.pos+blen]
			var id uint32
			if typ == ngBlockEPB {
				id = r.u32(b[8:])
			} else {
				id = uint32(r.u16(b[8:]))
			}
			if id >= uint32(len(r.ifaces)) {
				return r.formatErr(off, ErrBadBlock, "%s block: interface %d not declared (section has %d)", what, id, len(r.ifaces))
			}
			ifc := &r.ifaces[id]
			capLen := r.u32(b[20:])
			if capLen > uint32(blen-32) {
				return r.formatErr(off, ErrBadLength, "%s block: captured length %d exceeds the block's %d bytes of data", what, capLen, blen-32)
			}
			if capLen > ifc.capLimit {
				return r.formatErr(off, ErrBadLength, "%s block: captured length %d exceeds the limit of %d", what, capLen, ifc.capLimit)
			}
			ts := uint64(r.u32(b[12:]))<<32 | uint64(r.u32(b[16:]))
			t, ok := ifc.time(ts)
			if !ok {
				return r.formatErr(off, ErrBadTimestamp, "%s block: timestamp %d (%d ticks/s, offset %d ns) outside the int64 nanosecond range", what, ts, ifc.units, ifc.offsetNs)
			}
			p.Time = t
			p.LinkType = ifc.linkType
			p.Data = b[28 : 28+capLen : 28+capLen]
			p.OrigLen = r.u32(b[24:])
			p.Interface = int(id)
			r.pos += blen
			return nil
		case ngBlockSPB:
			blen, err := r.blockLen(16, "simple packet")
			if err != nil {
				return err
			}
			if len(r.ifaces) == 0 {
				return r.formatErr(off, ErrBadBlock, "simple packet block: no interface declared")
			}
			b := r.buf[r.pos : r.pos+blen]
			ifc := &r.ifaces[0]
			origLen := r.u32(b[8:])
			capLen := min(origLen, uint32(blen-16))
			if ifc.snaplen != 0 {
				capLen = min(capLen, ifc.snaplen)
			}
			if capLen > ifc.capLimit {
				return r.formatErr(off, ErrBadLength, "simple packet block: captured length %d exceeds the limit of %d", capLen, ifc.capLimit)
			}
			p.Time = 0
			p.LinkType = ifc.linkType
			p.Data = b[12 : 12+capLen : 12+capLen]
			p.OrigLen = origLen
			p.Interface = 0
			r.pos += blen
			return nil
		case ngBlockIDB:
			if err := r.readIDB(); err != nil {
				return err
			}
		case ngBlockSHB:
			if err := r.readSHB(); err != nil {
				return err
			}
		default:
			blen, err := r.blockLen(12, fmt.Sprintf("type %#x", typ))
			if err != nil {
				return err
			}
			r.pos += blen
		}
	}
}

// time converts a pcapng timestamp to ns since the epoch.
func (ifc *ngIface) time(ts uint64) (int64, bool) {
	var ns uint64
	if ifc.mul != 0 {
		hi, lo := bits.Mul64(ts, ifc.mul)
		if hi != 0 {
			return 0, false
		}
		ns = lo
	} else {
		sec, frac := ts/ifc.units, ts%ifc.units
		hi, lo := bits.Mul64(sec, 1e9)
		if hi != 0 {
			return 0, false
		}
		fhi, flo := bits.Mul64(frac, 1e9)
		q, _ := bits.Div64(fhi, flo, ifc.units) // fhi < units since frac < units
		var c uint64
		ns, c = bits.Add64(lo, q, 0)
		if c != 0 {
			return 0, false
		}
	}
	if ns > math.MaxInt64 {
		return 0, false
	}
	t := int64(ns)
	s := t + ifc.offsetNs
	if (ifc.offsetNs > 0 && s < t) || (ifc.offsetNs < 0 && s > t) {
		return 0, false
	}
	return s, true
}

// readIDB parses the Interface Description Block at pos.
func (r *Reader) readIDB() error {
	off := r.base + int64(r.pos)
	blen, err := r.blockLen(20, "interface description")
	if err != nil {
		return err
	}
	if len(r.ifaces) >= MaxInterfaces {
		return r.formatErr(off, ErrBadBlock, "interface description block: more than %d interfaces in one section", MaxInterfaces)
	}
	b := r.buf[r.pos : r.pos+blen]
	ifc := ngIface{
		linkType: uint32(r.u16(b[8:])),
		snaplen:  r.u32(b[12:]),
		units:    1e6,
	}
	ifc.capLimit = capLimit(ifc.snaplen)
	opts := b[16 : blen-4]
	for len(opts) >= 4 {
		code, olen := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 { // opt_endofopt
			break
		}
		padded := (olen + 3) &^ 3
		if 4+padded > len(opts) {
			return r.formatErr(off, ErrBadBlock, "interface description block: option %d of %d bytes overruns the block", code, olen)
		}
		v := opts[4 : 4+olen]
		switch code {
		case 9: // if_tsresol
			if olen < 1 {
				return r.formatErr(off, ErrBadBlock, "interface description block: empty if_tsresol")
			}
			e := uint(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if e > 63 {
					return r.formatErr(off, ErrBadBlock, "interface description block: if_tsresol 2^-%d unsupported", e)
				}
				ifc.units = 1 << e
			} else {
				if e > 19 {
					return r.formatErr(off, ErrBadBlock, "interface description block: if_tsresol 10^-%d unsupported", e)
				}
				ifc.units = 1
				for range e {
					ifc.units *= 10
				}
			}
		case 14: // if_tsoffset, seconds
			if olen < 8 {
				return r.formatErr(off, ErrBadBlock, "interface description block: if_tsoffset of %d bytes", olen)
			}
			var o uint64
			if r.bigEnd {
				o = binary.BigEndian.Uint64(v)
			} else {
				o = binary.LittleEndian.Uint64(v)
			}
			so := int64(o)
			if so > math.MaxInt64/int64(1e9) || so < math.MinInt64/int64(1e9) {
				return r.formatErr(off, ErrBadTimestamp, "interface description block: if_tsoffset %d s out of range", so)
			}
			ifc.offsetNs = so * 1e9
		}
		opts = opts[4+padded:]
	}
	if ifc.units <= 1e9 && 1e9%ifc.units == 0 {
		ifc.mul = 1e9 / ifc.units
	}
	r.ifaces = append(r.ifaces, ifc)
	r.pos += blen
	return nil
}

// Progress returns the bytes of the underlying (possibly compressed) file
// consumed so far and its size, or -1 when unknown (a pipe).
func (r *Reader) Progress() (done, total int64) {
	switch {
	case r.mapped != nil:
		return r.base + int64(r.pos), r.total
	case r.compressed:
		return r.counter.n, r.total
	default:
		return r.counter.n - int64(r.end-r.pos), r.total
	}
}

// Close releases the buffer, the decompressor, the mapping and the file
// when the Reader owns it (Open, except for standard input).
func (r *Reader) Close() error {
	var errs []error
	if r.decomp != nil {
		if err := r.decomp.Close(); err != nil {
			errs = append(errs, err)
		}
		r.decomp = nil
	}
	if r.mapped != nil {
		if err := unmap(r.mapped); err != nil {
			errs = append(errs, err)
		}
		r.mapped = nil
	}
	if r.stopClosing != nil && !r.stopClosing() {
		r.file = nil // closed on cancellation already
	}
	if r.file != nil {
		if err := r.file.Close(); err != nil {
			errs = append(errs, err)
		}
		r.file = nil
	}
	r.buf, r.pos, r.end, r.src = nil, 0, 0, nil
	if r.err == nil {
		r.err = errors.New("capfile: reader closed")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close capture %s: %w", r.name, err)
	}
	return nil
}
