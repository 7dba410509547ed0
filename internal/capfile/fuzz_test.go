package capfile

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes (pcap, pcapng, or compressed) to the
// Reader: it must not panic, every error must be a *FormatError, and Data
// must respect the limits. The seed corpus in testdata/fuzz/FuzzReader holds
// small corpus files and truncated prefixes of them.
func FuzzReader(f *testing.F) {
	f.Add(cat(pcapHeader(le, magicMicros, 65535, 1), pcapRecord(le, 1, 2, frame, 20)))
	f.Add(cat(pcapHeader(be, magicNanos, 65535, 1), pcapRecord(be, 1, 2, frame2, 5)))
	f.Add(cat(shb(le), idb(le, 1, 0, ngOpt(le, 9, []byte{0x86})), epb(le, 0, 1, frame, 20), spb(le, frame2, 5)))
	f.Add(cat(shb(be), idb(be, 1, 4), obsoletePB(be, 0, 1, frame), shb(le)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader("fuzz", bytes.NewReader(data))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("NewReader() error = %v, want a *FormatError", err)
			}
			return
		}
		defer r.Close()
		var p Packet
		for range 1 << 16 {
			err := r.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("Next() error = %v, want a *FormatError", err)
				}
				return
			}
			if len(p.Data) > MaxCapLen {
				t.Fatalf("Next() returned %d bytes, above MaxCapLen", len(p.Data))
			}
		}
	})
}
