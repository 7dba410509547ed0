package banner

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzFormats are the formats FuzzRead's second argument picks ("" detects).
var fuzzFormats = append([]Format{""}, formats...)

// FuzzRead: any bytes in any format read to an end, a fatal error or
// skips without a panic, and every Record names a valid address, a port
// and its source. The seed corpus is testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		format := fuzzFormats[int(pick)%len(fuzzFormats)]
		r, err := NewReader(bytes.NewReader(data), format)
		if err != nil {
			return
		}
		for range 10000 {
			var rec Record
			err := r.Next(&rec)
			var skip *SkipError
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &skip):
				if skip.Line < 1 {
					t.Fatalf("skip at line %d", skip.Line)
				}
				continue
			case err != nil:
				return
			}
			if !rec.Addr.IsValid() || rec.Port == 0 || rec.Source != string(r.Format()) {
				t.Fatalf("Next() = %+v: an invalid address, port or source", rec)
			}
			if len(rec.HTTP.Body) > MaxBody {
				t.Fatalf("body of %d bytes", len(rec.HTTP.Body))
			}
		}
	})
}
