package capfile

import (
	"errors"
	"fmt"
)

// Sentinel errors carried by *FormatError; test with errors.Is.
var (
	// ErrBadMagic: the stream is not pcap, pcapng, or gzip/zstd around them.
	ErrBadMagic = errors.New("bad magic")
	// ErrBadHeader: a pcap file header or pcapng Section Header Block has an
	// unsupported version or byte-order magic.
	ErrBadHeader = errors.New("bad header")
	// ErrTruncated: the stream ends inside a header, record or block (or a
	// compressed stream ends before its end marker).
	ErrTruncated = errors.New("truncated")
	// ErrBadLength: a captured length exceeds MaxCapLen, the snaplen by a
	// lot, or the block that holds it.
	ErrBadLength = errors.New("bad captured length")
	// ErrBadBlock: a pcapng block is malformed: total length too small, not
	// a multiple of 4, above the maximum, trailing length differing from the
	// leading one, bad options, a packet for an undeclared interface, or
	// more than MaxInterfaces interfaces in one section.
	ErrBadBlock = errors.New("bad block")
	// ErrBadTimestamp: a pcapng timestamp does not fit in int64 nanoseconds
	// since the epoch (years 1678–2262).
	ErrBadTimestamp = errors.New("bad timestamp")
	// ErrCompression: the gzip or zstd stream is corrupt.
	ErrCompression = errors.New("corrupt compressed stream")
)

// FormatError reports a corrupt or truncated capture file.
type FormatError struct {
	File   string // name given to Open or NewReader
	Offset int64  // byte offset in the decompressed stream where the bad header, record or block starts
	Err    error  // wraps one of the Err* sentinels
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: byte %d: %v", e.File, e.Offset, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// detail is a sentinel with a specific message, e.g. ErrTruncated shown as
// "truncated packet record: need 60 bytes, have 12".
type detail struct {
	kind error
	msg  string
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.kind }

func (r *Reader) formatErr(off int64, kind error, format string, args ...any) error {
	return formatErr(r.name, off, kind, format, args...)
}

func formatErr(name string, off int64, kind error, format string, args ...any) error {
	return &FormatError{File: name, Offset: off, Err: &detail{kind: kind, msg: fmt.Sprintf(format, args...)}}
}
