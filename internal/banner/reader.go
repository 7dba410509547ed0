package banner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxLine is the longest input line (or pretty-printed JSON value) a
// Reader accepts; a longer one is skipped with a SkipError, so that one
// runaway record cannot take the memory of a file of millions.
const MaxLine = 16 << 20

// detectBytes is how much of a file format detection looks at.
const detectBytes = 64 << 10

// SkipError reports one malformed line (or Nmap host) that Next skipped:
// the caller counts it and calls Next again.
type SkipError struct {
	// Line is the 1-based line of the input where the bad record starts
	// (for Nmap, the line of its <host> element).
	Line   int
	Reason string
}

func (e *SkipError) Error() string {
	return fmt.Sprintf("line %d skipped: %s", e.Line, e.Reason)
}

// Reader reads the banners of one file, one Record a call to Next, for
// one goroutine. The JSON formats are decoded ahead on goroutines of the
// Reader's own (a few batches of lines), which Close stops.
type Reader struct {
	format  Format
	dec     decoder
	pending []Record
	next    int
	closers []io.Closer
}

// decoder reads the next unit of its format's input (a line, an Nmap
// host) and appends its Records; it returns io.EOF at the end and a
// *SkipError for a malformed unit.
type decoder interface {
	decode(recs []Record) ([]Record, error)
	lines() int
	// stop ends the goroutines the decoder runs; decode then fails.
	stop()
}

// Open reads the banner file at path in format f ("" detects it from the
// first bytes). A gzip'd file is decompressed whatever its name. The
// caller closes the Reader.
func Open(path string, f Format) (*Reader, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open banner file: %w", err)
	}
	r, err := NewReader(file, f)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closers = append(r.closers, file)
	return r, nil
}

// NewReader reads banners in format f ("" detects it) from r, gunzipping
// it when it starts with gzip's magic bytes.
func NewReader(r io.Reader, f Format) (*Reader, error) {
	if f != "" {
		if _, err := ParseFormat(string(f)); err != nil {
			return nil, err
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var closers []io.Closer
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		closers = append(closers, zr)
		br = bufio.NewReaderSize(gzipErrors{zr}, 64<<10)
	}
	if f == "" {
		head, err := br.Peek(detectBytes)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read the start of the file: %w", err)
		}
		if f, err = detectFormat(head); err != nil {
			return nil, err
		}
	}
	return &Reader{format: f, dec: newDecoder(br, f), closers: closers}, nil
}

func newDecoder(br *bufio.Reader, f Format) decoder {
	switch f {
	case FormatNmap:
		return newNmapDecoder(br)
	case FormatShodan:
		return newPipeline(&jsonLines{lr: lineReader{br: br}}, decodeShodan)
	case FormatCensys:
		return newPipeline(&jsonLines{lr: lineReader{br: br}}, decodeCensys)
	case FormatMasscan:
		return newPipeline(&jsonLines{lr: lineReader{br: br}}, decodeMasscan)
	default:
		return newPipeline(&jsonLines{lr: lineReader{br: br}}, decodeZgrab2)
	}
}

// Next fills rec with the next banner. It returns io.EOF at the end, a
// *SkipError for a malformed line (call Next again) and any other error
// for a file that cannot be read on (I/O, truncated gzip).
func (r *Reader) Next(rec *Record) error {
	for r.next >= len(r.pending) {
		clear(r.pending) // drop the references of the records handed out
		r.pending, r.next = r.pending[:0], 0
		var err error
		if r.pending, err = r.dec.decode(r.pending); err != nil {
			return err
		}
	}
	*rec = r.pending[r.next]
	r.next++
	return nil
}

// Format returns the format read (detected or given).
func (r *Reader) Format() Format { return r.format }

// Lines returns how many lines (Nmap: hosts) were read so far.
func (r *Reader) Lines() int { return r.dec.lines() }

// Close stops the decoding goroutines (waiting for the read under way)
// and closes the gzip stream and the file Open opened; Next then fails.
func (r *Reader) Close() error {
	r.dec.stop()
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// gzipErrors names a truncated gzip stream, which gzip reports as a bare
// "unexpected EOF".
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("gzip stream truncated: %w", err)
	} else if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("gzip stream: %w", err)
	}
	return n, err
}

// lineReader returns a file's lines, each at most MaxLine bytes.
type lineReader struct {
	br  *bufio.Reader
	buf []byte // a line longer than br's buffer, gathered
	n   int
}

// next returns the next line without its line ending; the bytes are
// valid until the next call. A line longer than MaxLine is read past and
// returned as a *SkipError.
func (l *lineReader) next() ([]byte, error) {
	chunk, err := l.br.ReadSlice('\n')
	if err == nil {
		l.n++
		return trimEOL(chunk), nil
	}
	l.buf = append(l.buf[:0], chunk...)
	tooLong := false
	for errors.Is(err, bufio.ErrBufferFull) {
		chunk, err = l.br.ReadSlice('\n')
		if len(l.buf)+len(chunk) > MaxLine {
			tooLong, l.buf = true, l.buf[:0]
		}
		if !tooLong {
			l.buf = append(l.buf, chunk...)
		}
	}
	switch {
	case err == nil, errors.Is(err, io.EOF) && (len(l.buf) > 0 || tooLong):
		// A last line without a newline is a line; the next call sees EOF.
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	default:
		return nil, fmt.Errorf("read line %d: %w", l.n+1, err)
	}
	l.n++
	if tooLong {
		return nil, &SkipError{Line: l.n, Reason: fmt.Sprintf("line longer than %d MiB", MaxLine>>20)}
	}
	return trimEOL(l.buf), nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
