package banner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// FuzzUnmarshalLikeStdlib: unmarshalJSON decodes any bytes into each
// format's structs as encoding/json does, the same values or an error
// from both. The seeds are the lines of the JSON testdata files.
func FuzzUnmarshalLikeStdlib(f *testing.F) {
	for _, name := range []string{"zgrab2.jsonl", "shodan.json", "censys.jsonl", "masscan.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			f.Add(trimJSONLine(line))
		}
	}
	targets := []func() any{
		func() any { return new(zgrab2Line) }, func() any { return new(shodanBanner) },
		func() any { return new(censysHost) }, func() any { return new(masscanLine) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range targets {
			got, want := target(), target()
			gotErr, wantErr := unmarshalJSON(data, got), json.Unmarshal(data, want)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("unmarshalJSON(%q) into %T: error %v, encoding/json's %v", data, got, gotErr, wantErr)
			}
			if diff := cmp.Diff(got, want); wantErr == nil && diff != "" {
				t.Fatalf("unmarshalJSON(%q) (-got, +want):\n%s", data, diff)
			}
		}
	})
}
