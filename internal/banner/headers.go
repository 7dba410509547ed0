package banner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The HTTP headers of zgrab2 and Censys are an object of header name →
// a list of values (or a value). A Record keeps two of them, so they are
// read straight from the JSON tokens into httpHeaders, without a map of
// every header: the first value of each, the last of a repeated name,
// "" for a value that is neither a string nor a list of strings.
type httpHeaders struct {
	server, wwwAuthenticate string
}

// zgrab2Headers are zgrab2's: names lower-cased, "_" for "-".
type zgrab2Headers struct{ httpHeaders }

// censysHeaders are Censys's: "Server", "Www_Authenticate"; their names
// are compared without case and with "_" for "-".
type censysHeaders struct{ httpHeaders }

func (h *zgrab2Headers) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	return h.decode(d, func(name, want string) bool { return name == want })
}

func (h *censysHeaders) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	return h.decode(d, func(name, want string) bool { return strings.EqualFold(strings.ReplaceAll(name, "-", "_"), want) })
}

// UnmarshalJSON is for encoding/json (FuzzUnmarshalLikeStdlib compares
// with it), which passes the value and its options' equivalent.
func (h *zgrab2Headers) UnmarshalJSON(b []byte) error { return h.UnmarshalJSONFrom(v1Decoder(b)) }

func (h *censysHeaders) UnmarshalJSON(b []byte) error { return h.UnmarshalJSONFrom(v1Decoder(b)) }

// v1Decoder reads b as encoding/json does: repeated names and invalid
// UTF-8 (made U+FFFD) allowed.
func v1Decoder(b []byte) *jsontext.Decoder {
	return jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

func (h zgrab2Headers) MarshalJSON() ([]byte, error) {
	return h.marshal("server", "www_authenticate")
}

func (h censysHeaders) MarshalJSON() ([]byte, error) {
	return h.marshal("Server", "Www_Authenticate")
}

// decode reads a header object (or null), match telling a header of the
// file for one the Record keeps (in zgrab2's names).
func (h *httpHeaders) decode(d *jsontext.Decoder, match func(name, want string) bool) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '{':
	default:
		if err := d.SkipValue(); err != nil {
			return err
		}
		return fmt.Errorf("headers are not an object")
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		var dst *string
		switch n := name.String(); {
		case match(n, "server"):
			dst = &h.server
		case match(n, "www_authenticate"):
			dst = &h.wwwAuthenticate
		default:
			if err := d.SkipValue(); err != nil {
				return err
			}
			continue
		}
		if *dst, err = firstString(d); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// firstString reads a value: a string, or the first of a list of strings
// (null counts as ""); "" for any other value.
func firstString(d *jsontext.Decoder) (string, error) {
	switch d.PeekKind() {
	case '"':
		t, err := d.ReadToken()
		return t.String(), err
	case '[':
	default:
		return "", d.SkipValue()
	}
	if _, err := d.ReadToken(); err != nil {
		return "", err
	}
	first, strings, n := "", true, 0
	for d.PeekKind() != ']' {
		switch d.PeekKind() {
		case '"', 'n':
			t, err := d.ReadToken()
			if err != nil {
				return "", err
			}
			if n == 0 && t.Kind() == '"' {
				first = t.String()
			}
		default:
			strings = false
			if err := d.SkipValue(); err != nil {
				return "", err
			}
		}
		n++
	}
	if _, err := d.ReadToken(); err != nil {
		return "", err
	}
	if !strings {
		return "", nil
	}
	return first, nil
}

// marshal writes the headers under the format's names, each a list of
// one value.
func (h httpHeaders) marshal(server, wwwAuthenticate string) ([]byte, error) {
	m := map[string][]string{}
	if h.server != "" {
		m[server] = []string{h.server}
	}
	if h.wwwAuthenticate != "" {
		m[wwwAuthenticate] = []string{h.wwwAuthenticate}
	}
	return json.Marshal(m)
}
