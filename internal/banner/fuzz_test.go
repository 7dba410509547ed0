package banner

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
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
		defer r.Close()
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
			if diff := cmp.Diff(got, want, cmp.AllowUnexported(zgrab2Headers{}, censysHeaders{}, httpHeaders{})); wantErr == nil && diff != "" {
				t.Fatalf("unmarshalJSON(%q) (-got, +want):\n%s", data, diff)
			}
		}
	})
}

// FuzzHeadersLikeMap: the header objects of zgrab2 and Censys read as
// when they were decoded into a map of every header: the first string
// of the value of "server" and "www_authenticate" (Censys: any case,
// "-" for "_").
func FuzzHeadersLikeMap(f *testing.F) {
	f.Add([]byte(`{"server": ["lighttpd/1.4.59"], "www_authenticate": ["Basic realm=\"x\""], "content_type": ["text/html"]}`))
	f.Add([]byte(`{"Server": ["Aterm(HT)/1.0.0"], "Www-Authenticate": "Digest realm=\"aterm\"", "_encoding": {"Server": "DISPLAY_UTF8"}}`))
	f.Add([]byte(`{"server": [null, "a"], "SERVER": [1, "b"], "unknown": [{"key": "x", "value": ["y"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var all map[string]json.RawMessage
		mapErr := json.Unmarshal(data, &all)
		var z zgrab2Headers
		if err := unmarshalJSON(data, &z); (err == nil) != (mapErr == nil) {
			t.Fatalf("zgrab2 headers %q: error %v, into a map %v", data, err, mapErr)
		}
		var c censysHeaders
		if err := unmarshalJSON(data, &c); (err == nil) != (mapErr == nil) {
			t.Fatalf("censys headers %q: error %v, into a map %v", data, err, mapErr)
		}
		if mapErr != nil {
			return
		}
		want := httpHeaders{server: firstOfRaw(all["server"]), wwwAuthenticate: firstOfRaw(all["www_authenticate"])}
		if z.httpHeaders != want {
			t.Errorf("zgrab2 headers %q = %+v, want %+v", data, z.httpHeaders, want)
		}
		// Censys: a map has no order among names of one header written
		// differently; compare when there is one.
		var server, auth []json.RawMessage
		for k, raw := range all {
			switch k := strings.ReplaceAll(k, "-", "_"); {
			case strings.EqualFold(k, "server"):
				server = append(server, raw)
			case strings.EqualFold(k, "www_authenticate"):
				auth = append(auth, raw)
			}
		}
		if len(server) <= 1 && len(auth) <= 1 {
			want := httpHeaders{server: firstOfRaw(append(server, nil)[0]), wwwAuthenticate: firstOfRaw(append(auth, nil)[0])}
			if c.httpHeaders != want {
				t.Errorf("censys headers %q = %+v, want %+v", data, c.httpHeaders, want)
			}
		}
	})
}

// firstOfRaw is the first string of a header value decoded on its own.
func firstOfRaw(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list[0]
	}
	return ""
}
