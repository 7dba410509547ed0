package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
)

// newPcapWriter returns the project's pcap writer on w; the tests fail on
// the first error, so the constructor's error is returned through the first
// write instead.
func newPcapWriter(w io.Writer) closingWriter {
	cw, err := capfile.NewWriter(w, LinkType, 0)
	if err != nil {
		return errWriter{err}
	}
	return cw
}

type closingWriter interface {
	PacketWriter
	Close() error
}

type errWriter struct{ err error }

func (e errWriter) WritePacket(int64, []byte) error { return e.err }
func (e errWriter) Close() error                    { return e.err }

// readPcap calls fn for every record of a capture held in b.
func readPcap(b []byte, fn func(ts int64, frame []byte) error) error {
	r, err := capfile.NewReader("simulated", bytes.NewReader(b))
	if err != nil {
		return err
	}
	var p capfile.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.LinkType != LinkType {
			return fmt.Errorf("link type %d, want %d", p.LinkType, LinkType)
		}
		if err := fn(p.Time, p.Data); err != nil {
			return err
		}
	}
}
