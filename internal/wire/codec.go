// Package wire converts between packet records and the sensor protocol's
// messages (proto/nightjar/sensor/v1, generated into wire/sensorv1). A
// batch's records travel column by column, serialised and compressed once
// with zstd when the sensor closes the batch; the sensor spools and sends
// those same bytes, and the collector checks every column before it
// believes a record.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// MaxBatchRecords bounds the records of one batch, and so the memory a
// batch from a hostile or broken sensor can make the collector allocate.
const MaxBatchRecords = 1 << 20

// maxRecordBytes bounds the serialised size of one record (every column at
// its widest varint or fixed64), so that a batch that decompresses to more
// than count × maxRecordBytes is refused before it is parsed.
const maxRecordBytes = 26 * 11

// ErrCorrupt wraps every reason a batch cannot be decoded.
var ErrCorrupt = errors.New("corrupt batch")

// ErrOversized is the corruption of a batch that decompresses to more than
// its record count allows: a compression bomb, refused before its excess
// is held in memory.
var ErrOversized = fmt.Errorf("%w: decompresses beyond its record count", ErrCorrupt)

var encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))

// decoders are streaming decoders: each batch is read through a limit set
// by its own count, so a batch never costs more than count × maxRecordBytes
// however far its frame claims to expand. Concurrency 1 decodes in the
// caller's goroutine; WithDecodeBuffersBelow(0) keeps the decoder from
// taking its unbounded in-memory shortcut.
var decoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeBuffersBelow(0))
	if err != nil {
		panic(fmt.Sprintf("wire: zstd decoder options: %v", err)) // fixed options: a programming error
	}
	return d
}}

// EncodeBatch makes the batch (epoch, seq) of recs, closed at created.
func EncodeBatch(epoch, seq uint64, created time.Time, recs []record.Record) (*sensorv1.Batch, error) {
	if len(recs) > MaxBatchRecords {
		return nil, fmt.Errorf("batch of %d records: at most %d", len(recs), MaxBatchRecords)
	}
	raw, err := proto.Marshal(columns(recs))
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return &sensorv1.Batch{
		Epoch:       epoch,
		Seq:         seq,
		CreatedNs:   created.UnixNano(),
		Count:       uint32(len(recs)),
		RecordsZstd: encoder.EncodeAll(raw, make([]byte, 0, len(raw)/3)),
	}, nil
}

// DecodeRecords returns the records of b, appended to dst. Every error
// wraps ErrCorrupt.
func DecodeRecords(b *sensorv1.Batch, dst []record.Record) ([]record.Record, error) {
	n := int(b.GetCount())
	if n > MaxBatchRecords {
		return dst, fmt.Errorf("%w: %d records, at most %d", ErrCorrupt, n, MaxBatchRecords)
	}
	raw, err := decompress(b.GetRecordsZstd(), n*maxRecordBytes)
	if err != nil {
		return dst, err
	}
	var c sensorv1.Records
	if err := proto.Unmarshal(raw, &c); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := checkLengths(&c, n); err != nil {
		return dst, err
	}
	return appendRecords(dst, &c, n), nil
}

// decompress returns the zstd frames of data, refusing them with
// ErrOversized as soon as they exceed limit bytes.
func decompress(data []byte, limit int) ([]byte, error) {
	d := decoders.Get().(*zstd.Decoder)
	defer decoders.Put(d)
	defer d.Reset(nil) //nolint:errcheck // releases data; a nil reader is no error
	// The window is bounded too: a frame may not ask for a history larger
	// than the whole batch may be.
	if err := d.ResetWithOptions(bytes.NewReader(data), zstd.WithDecoderMaxWindow(uint64(max(limit, zstd.MinWindowSize)))); err != nil {
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	}
	raw, err := io.ReadAll(io.LimitReader(d, int64(limit)+1))
	switch {
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return nil, fmt.Errorf("%w: %v", ErrOversized, err)
	case err != nil:
		return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
	case len(raw) > limit:
		return nil, fmt.Errorf("%w: more than %d bytes", ErrOversized, limit)
	}
	return raw, nil
}

// columns lays recs out column by column.
func columns(recs []record.Record) *sensorv1.Records {
	n := len(recs)
	c := &sensorv1.Records{
		TimeNs: make([]int64, n), SrcHi: make([]uint64, n), SrcLo: make([]uint64, n), DstHi: make([]uint64, n), DstLo: make([]uint64, n),
		Ip: make([]uint32, n), IpId: make([]uint32, n), LenFrag: make([]uint32, n), Ports: make([]uint32, n),
		TcpFlags: make([]uint32, n), Seq: make([]uint32, n), Ack: make([]uint32, n), Window: make([]uint32, n),
		OptLayout: make([]uint64, n), Opt: make([]uint32, n), OptMss: make([]uint32, n), TsVal: make([]uint32, n), TsEcr: make([]uint32, n),
		InnerFlags: make([]uint32, n), InnerSrcHi: make([]uint64, n), InnerSrcLo: make([]uint64, n), InnerDstHi: make([]uint64, n), InnerDstLo: make([]uint64, n),
		InnerPorts: make([]uint32, n), Tags: make([]uint32, n), AddrV4: make([]uint32, n),
	}
	for i := range recs {
		r := &recs[i]
		c.TimeNs[i] = r.Time
		c.SrcHi[i], c.SrcLo[i] = r.Src.Halves()
		c.DstHi[i], c.DstLo[i] = r.Dst.Halves()
		c.Ip[i] = uint32(r.Protocol) | uint32(r.TTL)<<8 | uint32(r.IPFlags)<<16 | uint32(r.IPVersion&0xf)<<24 |
			bit(r.Fragment)<<28 | bit(r.HasTransport)<<29
		c.IpId[i] = r.IPID
		c.LenFrag[i] = uint32(r.IPLen) | uint32(r.FragOffset)<<16
		c.Ports[i] = uint32(r.SrcPort)<<16 | uint32(r.DstPort)
		c.TcpFlags[i] = uint32(r.TCPFlags)
		c.Seq[i], c.Ack[i], c.Window[i] = r.Seq, r.Ack, uint32(r.Window)
		o := &r.Options
		c.OptLayout[i] = o.Layout
		c.Opt[i] = uint32(o.LayoutLen) | bit(o.LayoutMore)<<8 | bit(o.HasMSS)<<9 | bit(o.HasWScale)<<10 |
			bit(o.SACKPermitted)<<11 | bit(o.HasTimestamps)<<12 | bit(o.Malformed)<<13 | uint32(o.WScale)<<16
		c.OptMss[i], c.TsVal[i], c.TsEcr[i] = uint32(o.MSS), o.TSVal, o.TSEcr
		in := &r.Inner
		c.InnerFlags[i] = bit(in.Valid) | bit(in.HasPorts)<<1 | bit(in.Src.Is4())<<2 | uint32(in.Protocol)<<8
		c.InnerSrcHi[i], c.InnerSrcLo[i] = in.Src.Halves()
		c.InnerDstHi[i], c.InnerDstLo[i] = in.Dst.Halves()
		c.InnerPorts[i] = uint32(in.SrcPort)<<16 | uint32(in.DstPort)
		c.Tags[i] = uint32(r.Tags)
		c.AddrV4[i] = bit(r.Src.Is4()) | bit(r.Dst.Is4())<<1
	}
	return c
}

// checkLengths makes sure every column has n elements and every value fits
// its field, so that appendRecords cannot index out of range or truncate.
func checkLengths(c *sensorv1.Records, n int) error {
	lens := [...]struct {
		name string
		n    int
	}{
		{"time_ns", len(c.TimeNs)}, {"src_hi", len(c.SrcHi)}, {"src_lo", len(c.SrcLo)}, {"dst_hi", len(c.DstHi)}, {"dst_lo", len(c.DstLo)},
		{"ip", len(c.Ip)}, {"ip_id", len(c.IpId)}, {"len_frag", len(c.LenFrag)}, {"ports", len(c.Ports)},
		{"tcp_flags", len(c.TcpFlags)}, {"seq", len(c.Seq)}, {"ack", len(c.Ack)}, {"window", len(c.Window)},
		{"opt_layout", len(c.OptLayout)}, {"opt", len(c.Opt)}, {"opt_mss", len(c.OptMss)}, {"ts_val", len(c.TsVal)}, {"ts_ecr", len(c.TsEcr)},
		{"inner_flags", len(c.InnerFlags)}, {"inner_src_hi", len(c.InnerSrcHi)}, {"inner_src_lo", len(c.InnerSrcLo)},
		{"inner_dst_hi", len(c.InnerDstHi)}, {"inner_dst_lo", len(c.InnerDstLo)}, {"inner_ports", len(c.InnerPorts)},
		{"tags", len(c.Tags)}, {"addr_v4", len(c.AddrV4)},
	}
	for _, l := range lens {
		if l.n != n {
			return fmt.Errorf("%w: column %s has %d values for %d records", ErrCorrupt, l.name, l.n, n)
		}
	}
	for i := 0; i < n; i++ {
		switch {
		case c.Ip[i]>>30 != 0, c.TcpFlags[i] > 0xff, c.Window[i] > 0xffff, c.OptMss[i] > 0xffff,
			c.Opt[i]>>24 != 0, c.InnerFlags[i]>>16 != 0, c.Tags[i] > 0xffff, c.AddrV4[i] > 3:
			return fmt.Errorf("%w: record %d has a value out of range", ErrCorrupt, i)
		}
		if v := c.Ip[i] >> 24 & 0xf; v != 4 && v != 6 {
			return fmt.Errorf("%w: record %d has IP version %d", ErrCorrupt, i, v)
		}
		if c.AddrV4[i]&1 != 0 && (c.SrcHi[i] != 0 || c.SrcLo[i]>>32 != 0) || c.AddrV4[i]&2 != 0 && (c.DstHi[i] != 0 || c.DstLo[i]>>32 != 0) ||
			c.InnerFlags[i]&4 != 0 && (c.InnerSrcHi[i] != 0 || c.InnerSrcLo[i]>>32 != 0 || c.InnerDstHi[i] != 0 || c.InnerDstLo[i]>>32 != 0) {
			return fmt.Errorf("%w: record %d has an IPv4 address wider than 32 bits", ErrCorrupt, i)
		}
	}
	return nil
}

func appendRecords(dst []record.Record, c *sensorv1.Records, n int) []record.Record {
	for i := 0; i < n; i++ {
		ip, opt, inner := c.Ip[i], c.Opt[i], c.InnerFlags[i]
		v4 := c.AddrV4[i]
		dst = append(dst, record.Record{
			Time:         c.TimeNs[i],
			Src:          record.AddrFromHalves(c.SrcHi[i], c.SrcLo[i], v4&1 != 0),
			Dst:          record.AddrFromHalves(c.DstHi[i], c.DstLo[i], v4&2 != 0),
			Protocol:     uint8(ip),
			TTL:          uint8(ip >> 8),
			IPFlags:      uint8(ip >> 16),
			IPVersion:    uint8(ip >> 24 & 0xf),
			Fragment:     ip>>28&1 != 0,
			HasTransport: ip>>29&1 != 0,
			IPID:         c.IpId[i],
			IPLen:        uint16(c.LenFrag[i]),
			FragOffset:   uint16(c.LenFrag[i] >> 16),
			SrcPort:      uint16(c.Ports[i] >> 16),
			DstPort:      uint16(c.Ports[i]),
			TCPFlags:     uint8(c.TcpFlags[i]),
			Seq:          c.Seq[i],
			Ack:          c.Ack[i],
			Window:       uint16(c.Window[i]),
			Options: record.TCPOptions{
				Layout: c.OptLayout[i], LayoutLen: uint8(opt), LayoutMore: opt>>8&1 != 0,
				HasMSS: opt>>9&1 != 0, HasWScale: opt>>10&1 != 0, SACKPermitted: opt>>11&1 != 0,
				HasTimestamps: opt>>12&1 != 0, Malformed: opt>>13&1 != 0, WScale: uint8(opt >> 16),
				MSS: uint16(c.OptMss[i]), TSVal: c.TsVal[i], TSEcr: c.TsEcr[i],
			},
			Inner: record.Inner{
				Valid: inner&1 != 0, HasPorts: inner>>1&1 != 0, Protocol: uint8(inner >> 8),
				Src:     record.AddrFromHalves(c.InnerSrcHi[i], c.InnerSrcLo[i], inner>>2&1 != 0),
				Dst:     record.AddrFromHalves(c.InnerDstHi[i], c.InnerDstLo[i], inner>>2&1 != 0),
				SrcPort: uint16(c.InnerPorts[i] >> 16), DstPort: uint16(c.InnerPorts[i]),
			},
			Tags: record.Tags(c.Tags[i]),
		})
	}
	return dst
}

func bit(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
