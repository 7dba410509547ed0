package capfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/gzip"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// frame is a 20-byte IPv4 header (tcpdump -X):
//
//	0x0000:  4500 0014 0001 0000 4006 f98d c612 0101  E.......@.......
//	0x0010:  cb00 7101                                ..q.
var frame = []byte{
	0x45, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0xf9, 0x8d, 0xc6, 0x12, 0x01, 0x01,
	0xcb, 0x00, 0x71, 0x01,
}

// frame2 is 5 arbitrary bytes (not a multiple of 4, to exercise padding).
var frame2 = []byte{0xde, 0xad, 0xbe, 0xef, 0x01}

func pcapHeader(o binary.AppendByteOrder, magic, snaplen, link uint32) []byte {
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = o.AppendUint32(b, snaplen)
	return o.AppendUint32(b, link)
}

func pcapRecord(o binary.AppendByteOrder, sec, frac uint32, data []byte, origLen uint32) []byte {
	b := o.AppendUint32(nil, sec)
	b = o.AppendUint32(b, frac)
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, origLen)
	return append(b, data...)
}

// ngBlock frames body (padded to 4 bytes) as a pcapng block.
func ngBlock(o binary.AppendByteOrder, typ uint32, body []byte) []byte {
	body = append(bytes.Clone(body), make([]byte, (4-len(body)%4)%4)...)
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

func shb(o binary.AppendByteOrder) []byte {
	b := o.AppendUint32(nil, ngBOM)
	b = o.AppendUint16(b, 1)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, ^uint64(0)) // section length unknown
	return ngBlock(o, ngBlockSHB, b)
}

func ngOpt(o binary.AppendByteOrder, code uint16, val []byte) []byte {
	b := o.AppendUint16(nil, code)
	b = o.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	return append(b, make([]byte, (4-len(val)%4)%4)...)
}

func idb(o binary.AppendByteOrder, link uint16, snaplen uint32, opts ...[]byte) []byte {
	b := o.AppendUint16(nil, link)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint32(b, snaplen)
	for _, op := range opts {
		b = append(b, op...)
	}
	if len(opts) > 0 {
		b = append(b, 0, 0, 0, 0) // opt_endofopt
	}
	return ngBlock(o, ngBlockIDB, b)
}

func epb(o binary.AppendByteOrder, ifid uint32, ts uint64, data []byte, origLen uint32) []byte {
	b := o.AppendUint32(nil, ifid)
	b = o.AppendUint32(b, uint32(ts>>32))
	b = o.AppendUint32(b, uint32(ts))
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, origLen)
	b = append(b, data...)
	b = append(b, make([]byte, (4-len(data)%4)%4)...)
	b = append(b, ngOpt(o, 1, []byte("comment"))...) // opt_comment, skipped
	return ngBlock(o, ngBlockEPB, b)
}

func obsoletePB(o binary.AppendByteOrder, ifid uint16, ts uint64, data []byte) []byte {
	b := o.AppendUint16(nil, ifid)
	b = o.AppendUint16(b, 0) // drops count
	b = o.AppendUint32(b, uint32(ts>>32))
	b = o.AppendUint32(b, uint32(ts))
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, uint32(len(data)))
	return ngBlock(o, ngBlockPB, append(b, data...))
}

func spb(o binary.AppendByteOrder, data []byte, origLen uint32) []byte {
	return ngBlock(o, ngBlockSPB, append(o.AppendUint32(nil, origLen), data...))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// readAll returns the packets (Data copied) and the final error.
func readAll(t *testing.T, name string, data []byte) ([]Packet, error) {
	t.Helper()
	r, err := NewReader(name, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var pkts []Packet
	for {
		var p Packet
		if err := r.Next(&p); err != nil {
			if err2 := r.Next(&p); err2 != err {
				t.Errorf("Next() after error = %v, want the same error %v", err2, err)
			}
			return pkts, err
		}
		p.Data = bytes.Clone(p.Data)
		pkts = append(pkts, p)
	}
}

func TestReaderPcap(t *testing.T) {
	t.Parallel()
	const sec = 1700000000
	tests := map[string]struct {
		order binary.AppendByteOrder
		magic uint32
		frac  uint32
		want  int64
	}{
		"little-endian usec": {order: le, magic: magicMicros, frac: 123456, want: sec*1e9 + 123456000},
		"big-endian usec":    {order: be, magic: magicMicros, frac: 123456, want: sec*1e9 + 123456000},
		"little-endian nsec": {order: le, magic: magicNanos, frac: 123456789, want: sec*1e9 + 123456789},
		"big-endian nsec":    {order: be, magic: magicNanos, frac: 123456789, want: sec*1e9 + 123456789},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Link type 1 with the FCS-present flag and FCS length 4.
			data := cat(pcapHeader(tt.order, tt.magic, 65535, 0x44000001),
				pcapRecord(tt.order, sec, tt.frac, frame, 60),
				pcapRecord(tt.order, sec+1, 0, frame2, 5),
				pcapRecord(tt.order, sec+2, 0, nil, 0))
			got, err := readAll(t, "x.pcap", data)
			if err != io.EOF {
				t.Errorf("Next() error = %v, want io.EOF", err)
			}
			want := []Packet{
				{Time: tt.want, LinkType: 1, Data: frame, OrigLen: 60},
				{Time: (sec + 1) * 1e9, LinkType: 1, Data: frame2, OrigLen: 5},
				{Time: (sec + 2) * 1e9, LinkType: 1, OrigLen: 0},
			}
			if diff := cmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestReaderPcapng(t *testing.T) {
	t.Parallel()
	const sec = 1700000000
	for name, o := range map[string]binary.AppendByteOrder{"little-endian": le, "big-endian": be} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := cat(
				shb(o),
				// Interface 0: Ethernet, default resolution (usec).
				idb(o, 1, 65535),
				// Interface 1: raw IP, nanoseconds, offset +10 s.
				idb(o, 101, 0, ngOpt(o, 9, []byte{9}), ngOpt(o, 14, o.AppendUint64(nil, 10))),
				// Interface 2: Linux SLL, 2^-10 s.
				idb(o, 113, 262144, ngOpt(o, 9, []byte{0x80 | 10})),
				epb(o, 0, sec*1e6+1, frame, 60),
				ngBlock(o, 4, []byte{0, 0, 0, 0}), // Name Resolution Block: skipped
				epb(o, 1, sec*1e9+2, frame2, 5),
				ngBlock(o, 5, make([]byte, 12)), // Interface Statistics Block: skipped
				epb(o, 2, sec<<10|512, frame, 20),
				spb(o, frame2, 5),
				obsoletePB(o, 1, sec*1e9+3, frame),
				ngBlock(o, 0x40000bad, []byte("custom")), // custom block: skipped
				// A new section, in the other byte order, resets the interfaces.
				shb(other(o)),
				idb(other(o), 228, 0, ngOpt(other(o), 9, []byte{3})),
				epb(other(o), 0, sec*1e3+4, frame, 20),
			)
			got, err := readAll(t, "x.pcapng", data)
			if err != io.EOF {
				t.Errorf("Next() error = %v, want io.EOF", err)
			}
			want := []Packet{
				{Time: sec*1e9 + 1000, LinkType: 1, Data: frame, OrigLen: 60},
				{Time: (sec+10)*1e9 + 2, LinkType: 101, Data: frame2, OrigLen: 5, Interface: 1},
				{Time: sec*1e9 + 500000000, LinkType: 113, Data: frame, OrigLen: 20, Interface: 2},
				{Time: 0, LinkType: 1, Data: frame2, OrigLen: 5},
				{Time: (sec+10)*1e9 + 3, LinkType: 101, Data: frame, OrigLen: 20, Interface: 1},
				{Time: sec*1e9 + 4000000, LinkType: 228, Data: frame, OrigLen: 20},
			}
			if diff := cmp.Diff(got, want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Next() (-got, +want):\n%s", diff)
			}
		})
	}
}

func other(o binary.AppendByteOrder) binary.AppendByteOrder {
	if o == binary.AppendByteOrder(le) {
		return be
	}
	return le
}

func TestReaderSimplePacketSnaplen(t *testing.T) {
	t.Parallel()
	// The SPB holds 20 bytes of a 60-byte packet; the interface snaplen is 8.
	data := cat(shb(le), idb(le, 1, 8), spb(le, frame, 60))
	got, err := readAll(t, "x.pcapng", data)
	if err != io.EOF {
		t.Errorf("Next() error = %v, want io.EOF", err)
	}
	want := []Packet{{LinkType: 1, Data: frame[:8], OrigLen: 60}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Next() (-got, +want):\n%s", diff)
	}
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	hdr := pcapHeader(le, magicMicros, 65535, 1)
	rec := pcapRecord(le, 1, 2, frame, 20) // 36 bytes
	ngHead := cat(shb(le), idb(le, 1, 0))  // 28 + 20 bytes
	goodEPB := epb(le, 0, 1, frame, 20)    // 64 bytes with its comment option
	badLen := bytes.Clone(goodEPB)
	le.PutUint32(badLen[4:], uint32(len(goodEPB)+2))
	badTrailer := bytes.Clone(goodEPB)
	le.PutUint32(badTrailer[len(badTrailer)-4:], 4)
	shortLen := bytes.Clone(goodEPB)
	le.PutUint32(shortLen[4:], 8)
	hugeLen := bytes.Clone(goodEPB)
	le.PutUint32(hugeLen[4:], 1<<30)
	capOverBlock := bytes.Clone(goodEPB)
	le.PutUint32(capOverBlock[20:], 200)
	badBOM := shb(le)
	le.PutUint32(badBOM[8:], 0x12345678)
	tests := map[string]struct {
		data    []byte
		kind    error
		offset  int64
		packets int    // packets returned before the error
		msg     string // full Error(), when set
	}{
		"empty file":            {data: nil, kind: ErrTruncated, msg: "x: byte 0: truncated file header: need 4 bytes, have 0"},
		"truncated pcap header": {data: hdr[:10], kind: ErrTruncated, msg: "x: byte 0: truncated file header: need 24 bytes, have 10"},
		"bad magic":             {data: []byte("GET / HTTP/1.1\r\n\r\n"), kind: ErrBadMagic, msg: "x: byte 0: not a pcap or pcapng file (magic 0x47455420)"},
		"kuznetzov magic":       {data: pcapHeader(le, magicKuznetzov, 65535, 1), kind: ErrBadMagic},
		"pcap version 3":        {data: cat(le.AppendUint32(nil, magicMicros), []byte{3, 0, 4, 0}, hdr[8:]), kind: ErrBadHeader},
		"truncated record header": {
			data: cat(hdr, rec, rec[:8]), kind: ErrTruncated, offset: 24 + 36, packets: 1,
			msg: "x: byte 60: truncated packet record header: need 16 bytes, have 8",
		},
		"truncated record data": {
			data: cat(hdr, rec, rec[:30]), kind: ErrTruncated, offset: 60, packets: 1,
			msg: "x: byte 60: truncated packet record: need 36 bytes, have 30",
		},
		"huge captured length": {
			data: cat(hdr, rec, pcapRecord(le, 1, 2, nil, 0)[:8], le.AppendUint32(nil, 1<<31), le.AppendUint32(nil, 1<<31)),
			kind: ErrBadLength, offset: 60, packets: 1,
			msg: "x: byte 60: captured length 2147483648 exceeds the limit of 131070",
		},
		"captured length far above snaplen": {
			data: cat(pcapHeader(le, magicMicros, 100, 1), pcapRecord(le, 1, 2, make([]byte, 70000), 70000)),
			kind: ErrBadLength, offset: 24,
		},
		"pcapng truncated in the first block": {data: shb(le)[:20], kind: ErrTruncated, msg: "x: byte 0: truncated section header block: need 28 bytes, have 20"},
		"pcapng bad byte-order magic":         {data: badBOM, kind: ErrBadHeader},
		"pcapng truncated block header":       {data: cat(ngHead, goodEPB, goodEPB[:6]), kind: ErrTruncated, offset: 48 + 64, packets: 1},
		"pcapng truncated mid-block": {
			data: cat(ngHead, goodEPB, goodEPB[:40]), kind: ErrTruncated, offset: 112, packets: 1,
			msg: "x: byte 112: truncated enhanced packet block: need 64 bytes, have 40",
		},
		"pcapng length not a multiple of 4": {data: cat(ngHead, goodEPB, badLen), kind: ErrBadBlock, offset: 112, packets: 1},
		"pcapng length below minimum":       {data: cat(ngHead, shortLen), kind: ErrBadBlock, offset: 48},
		"pcapng length above maximum":       {data: cat(ngHead, hugeLen), kind: ErrBadBlock, offset: 48},
		"pcapng trailing length differs": {
			data: cat(ngHead, goodEPB, badTrailer), kind: ErrBadBlock, offset: 112, packets: 1,
			msg: "x: byte 112: enhanced packet block: trailing length 4 differs from leading length 64",
		},
		"pcapng captured length beyond block": {data: cat(ngHead, capOverBlock), kind: ErrBadLength, offset: 48},
		"pcapng undeclared interface":         {data: cat(ngHead, epb(le, 1, 1, frame, 20)), kind: ErrBadBlock, offset: 48},
		"pcapng packet before any interface":  {data: cat(shb(le), spb(le, frame, 20)), kind: ErrBadBlock, offset: 28},
		"pcapng new section resets interfaces": {
			data: cat(ngHead, goodEPB, shb(be), goodEPB), kind: ErrBadBlock, offset: 112 + 28, packets: 1,
		},
		"pcapng timestamp overflow": {
			data: cat(shb(le), idb(le, 1, 0, ngOpt(le, 9, []byte{0})), epb(le, 0, 1<<40, frame, 20)),
			kind: ErrBadTimestamp, offset: 28 + 32,
		},
		"pcapng option overruns block": {
			data: cat(shb(le), ngBlock(le, ngBlockIDB, cat([]byte{1, 0, 0, 0, 0, 0, 0, 0}, []byte{9, 0, 40, 0}))),
			kind: ErrBadBlock, offset: 28,
		},
		"pcapng version 2": {
			data: func() []byte { b := shb(le); le.PutUint16(b[12:], 2); return b }(), kind: ErrBadHeader,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := readAll(t, "x", tt.data)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Next() error = %v, want a *FormatError", err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("Next() error = %v, want errors.Is %v", err, tt.kind)
			}
			if fe.File != "x" || fe.Offset != tt.offset {
				t.Errorf("Next() error at %s byte %d, want x byte %d", fe.File, fe.Offset, tt.offset)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("Next() error = %q, want %q", err, tt.msg)
			}
			if len(got) != tt.packets {
				t.Errorf("Next() returned %d packets before the error, want %d", len(got), tt.packets)
			}
		})
	}
}

// diffPackets is cmp.Diff for packet lists, fast when they are equal (cmp
// walks byte slices by reflection): it diffs the first differing packet.
func diffPackets(got, want []Packet) string {
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Time != w.Time || g.LinkType != w.LinkType || !bytes.Equal(g.Data, w.Data) ||
			g.OrigLen != w.OrigLen || g.Interface != w.Interface {
			return fmt.Sprintf("packet %d:\n%s", i, cmp.Diff(g, w, cmpopts.EquateEmpty()))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d packets, want %d", len(got), len(want))
	}
	return ""
}

// TestReaderInterfaceFlood: a small gzip'd pcapng of a million Interface
// Description Blocks (20 bytes each, 40 bytes of state each) stops at
// MaxInterfaces with a *FormatError instead of growing without bound.
func TestReaderInterfaceFlood(t *testing.T) {
	const flood = 1 << 20
	var zbuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&zbuf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	one := idb(le, 1, 0)
	zw.Write(shb(le))
	for range flood {
		zw.Write(one)
	}
	zw.Write(epb(le, flood-1, 1, frame, 20))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := NewReader("flood.pcapng.gz", bytes.NewReader(zbuf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	for err == nil {
		err = r.Next(&p)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.Close()

	var fe *FormatError
	wantMsg := fmt.Sprintf("flood.pcapng.gz: byte %d: interface description block: more than %d interfaces in one section",
		len(shb(le))+MaxInterfaces*len(one), MaxInterfaces)
	if !errors.As(err, &fe) || !errors.Is(err, ErrBadBlock) || err.Error() != wantMsg {
		t.Errorf("Next() error = %v, want a *FormatError wrapping ErrBadBlock: %q", err, wantMsg)
	}
	// The live reader holds its interfaces (2.5 MiB at most), its 1 MiB
	// buffer and the decompressor's window.
	const bound = 8 << 20
	if got := int64(after.HeapAlloc) - int64(before.HeapAlloc); got > bound {
		t.Errorf("the reader's heap grew by %d bytes reading the flood, want at most %d", got, bound)
	}
}

// TestReaderMaxInterfaces: a section may declare exactly MaxInterfaces
// interfaces and use the last one; a new section starts the count again.
func TestReaderMaxInterfaces(t *testing.T) {
	t.Parallel()
	one := idb(le, 1, 0)
	section := cat(shb(le), bytes.Repeat(one, MaxInterfaces), epb(le, MaxInterfaces-1, 1, frame, 20))
	got, err := readAll(t, "x", cat(section, section))
	if err != io.EOF {
		t.Errorf("Next() error = %v, want io.EOF", err)
	}
	want := []Packet{
		{Time: 1000, LinkType: 1, Data: frame, OrigLen: 20, Interface: MaxInterfaces - 1},
		{Time: 1000, LinkType: 1, Data: frame, OrigLen: 20, Interface: MaxInterfaces - 1},
	}
	if diff := diffPackets(got, want); diff != "" {
		t.Errorf("Next() (-got, +want):\n%s", diff)
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
