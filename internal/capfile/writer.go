package capfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	// DefaultSnaplen is the snapshot length Create writes in the file header.
	DefaultSnaplen = 262144

	magicMicros     = 0xa1b2c3d4
	magicNanos      = 0xa1b23c4d
	magicKuznetzov  = 0xa1b2cd34
	pcapHeaderLen   = 24
	pcapRecordLen   = 16
	writeBufferSize = 1 << 20
)

// ErrWriterClosed is returned by WritePacket after Close.
var ErrWriterClosed = errors.New("capfile: writer closed")

// Writer writes a classic pcap file with nanosecond timestamps (magic
// a1b23c4d, little-endian, version 2.4). It buffers 1 MiB and does not
// allocate per packet. It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	buf     []byte // len = bytes pending, cap = writeBufferSize
	snaplen uint32
	err     error // sticky write error

	// Owned resources, closed by Close in this order (nil when not owned).
	comp io.WriteCloser
	file *os.File
}

// NewWriter writes a pcap file header for linkType (a LINKTYPE_* value) and
// snaplen to w and returns a Writer. A snaplen of 0 means DefaultSnaplen.
// The Writer does not own w: Close flushes but does not close it.
func NewWriter(w io.Writer, linkType uint32, snaplen uint32) (*Writer, error) {
	if snaplen == 0 {
		snaplen = DefaultSnaplen
	}
	wr := &Writer{w: w, buf: make([]byte, 0, writeBufferSize), snaplen: snaplen}
	var h [pcapHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], magicNanos)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	// h[8:16]: thiszone and sigfigs, zero.
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], linkType)
	wr.buf = append(wr.buf, h[:]...)
	return wr, nil
}

// Create creates the file at path and writes a pcap header for linkType
// with DefaultSnaplen. The output is gzip-compressed when path ends in
// ".gz" and zstd-compressed when it ends in ".zst". The path "-" means
// standard output (uncompressed; it is flushed but not closed by Close).
func Create(path string, linkType uint32) (*Writer, error) {
	var (
		out  io.Writer
		file *os.File
	)
	if path == "-" {
		out = os.Stdout
	} else {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("create capture %q: %w", path, err)
		}
		out, file = f, f
	}
	var comp io.WriteCloser
	switch {
	case strings.HasSuffix(path, ".gz"):
		comp = gzip.NewWriter(out)
	case strings.HasSuffix(path, ".zst"):
		enc, err := zstd.NewWriter(out, zstd.WithEncoderConcurrency(1))
		if err != nil {
			if file != nil {
				file.Close()
			}
			return nil, fmt.Errorf("create capture %q: zstd: %w", path, err)
		}
		comp = enc
	}
	if comp != nil {
		out = comp
	}
	w, err := NewWriter(out, linkType, DefaultSnaplen)
	if err != nil {
		if file != nil {
			file.Close()
		}
		return nil, err
	}
	w.comp, w.file = comp, file
	return w, nil
}

// WritePacket appends one record. ts is in nanoseconds since the Unix epoch
// and must lie in [0, 2^32) seconds, the range of the pcap format. The
// original length is len(data); the captured bytes are truncated to the
// snaplen. data is copied (or written) before WritePacket returns.
func (w *Writer) WritePacket(ts int64, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if uint64(ts) >= 1<<32*1e9 { // also catches ts < 0
		return fmt.Errorf("capfile: timestamp %d ns outside the pcap range", ts)
	}
	origLen := len(data)
	if uint64(origLen) > 0xffffffff {
		return fmt.Errorf("capfile: packet of %d bytes too long", origLen)
	}
	if uint32(len(data)) > w.snaplen {
		data = data[:w.snaplen]
	}
	n := len(w.buf)
	if cap(w.buf)-n < pcapRecordLen+len(data) {
		if err := w.flush(); err != nil {
			return err
		}
		n = 0
		if cap(w.buf) < pcapRecordLen+len(data) {
			// Larger than the whole buffer: header via the buffer, data direct.
			w.buf = w.buf[:pcapRecordLen]
			putRecord(w.buf, ts, uint32(len(data)), uint32(origLen))
			if err := w.flush(); err != nil {
				return err
			}
			if _, err := w.w.Write(data); err != nil {
				w.err = err
				return err
			}
			return nil
		}
	}
	w.buf = w.buf[:n+pcapRecordLen+len(data)]
	putRecord(w.buf[n:], ts, uint32(len(data)), uint32(origLen))
	copy(w.buf[n+pcapRecordLen:], data)
	return nil
}

func putRecord(b []byte, ts int64, capLen, origLen uint32) {
	_ = b[15]
	sec := uint64(ts) / 1e9
	binary.LittleEndian.PutUint32(b[0:], uint32(sec))
	binary.LittleEndian.PutUint32(b[4:], uint32(uint64(ts)-sec*1e9))
	binary.LittleEndian.PutUint32(b[8:], capLen)
	binary.LittleEndian.PutUint32(b[12:], origLen)
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// Flush writes buffered records to the underlying writer. It does not flush
// a compressor; use Close for a complete file.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.flush()
}

// Close flushes buffered records and closes the compressor and the file
// when the Writer owns them (Create). Further writes fail.
func (w *Writer) Close() error {
	if errors.Is(w.err, ErrWriterClosed) {
		return nil
	}
	err := w.Flush()
	if w.comp != nil {
		if cerr := w.comp.Close(); err == nil {
			err = cerr
		}
	}
	if w.file != nil {
		if cerr := w.file.Close(); err == nil {
			err = cerr
		}
	}
	w.err = ErrWriterClosed
	if err != nil {
		return fmt.Errorf("close capture: %w", err)
	}
	return nil
}
