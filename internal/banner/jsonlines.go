package banner

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// unmarshalJSON is encoding/json's Unmarshal as go-json-experiment/json
// implements it (the code of the coming encoding/json/v2, in v1's
// semantics): the same values for the same input, in half the time and
// half the allocations (BENCHMARKS.md, FuzzUnmarshalLikeStdlib).
func unmarshalJSON(data []byte, v any) error { return jsonv1.Unmarshal(data, v) }

// jsonLines reads the JSON formats: one value a line (NDJSON), an array
// of one value a line with trailing commas (masscan, jq), or an array
// of pretty-printed values (Censys's CLI, json.dump with indent), whose
// value starts with a line holding only "{".
type jsonLines struct {
	lr lineReader
	// value appends the Records of one JSON value; an error skips it.
	value  func(v []byte, recs []Record) ([]Record, error)
	pretty []byte
}

func (j *jsonLines) lines() int { return j.lr.n }

func (j *jsonLines) decode(recs []Record) ([]Record, error) {
	for {
		line, err := j.lr.next()
		if err != nil {
			return recs, err
		}
		v := trimJSONLine(line)
		switch {
		case len(v) == 0, len(v) == 1 && (v[0] == '[' || v[0] == ']'):
			continue
		case bytes.Equal(v, []byte("{finished: 1}")):
			continue // the end marker older masscan versions write (not JSON)
		case len(v) == 1 && v[0] == '{':
			if v, err = j.gather(line); err != nil {
				return recs, err
			}
		}
		start := j.lr.n
		if v[0] != '{' {
			return recs, &SkipError{Line: start, Reason: fmt.Sprintf("not a JSON object: %.40q", v)}
		}
		n := len(recs)
		if recs, err = j.value(v, recs); err != nil {
			return recs[:n], &SkipError{Line: start, Reason: err.Error()}
		}
		if len(recs) > n {
			return recs, nil
		}
		// A value without evidence (a port that answered nothing) gives
		// no Record: read on.
	}
}

// gather reads the lines of a pretty-printed value that opened with
// first, until its braces balance.
func (j *jsonLines) gather(first []byte) ([]byte, error) {
	start := j.lr.n
	j.pretty = append(j.pretty[:0], first...)
	depth, inString, escaped := scanDepth(first, 0, false, false)
	for depth > 0 {
		line, err := j.lr.next()
		if err != nil {
			var skip *SkipError
			switch {
			case errors.As(err, &skip):
				return nil, &SkipError{Line: start, Reason: "a line of the value is too long"}
			case errors.Is(err, io.EOF):
				return nil, &SkipError{Line: start, Reason: "the file ends inside the value"}
			}
			return nil, err
		}
		if len(j.pretty)+len(line) > MaxLine {
			return nil, &SkipError{Line: start, Reason: fmt.Sprintf("value longer than %d MiB", MaxLine>>20)}
		}
		j.pretty = append(append(j.pretty, '\n'), line...)
		depth, inString, escaped = scanDepth(line, depth, inString, escaped)
	}
	return trimJSONLine(j.pretty), nil
}

// scanDepth follows the nesting of braces and brackets through b, outside
// strings.
func scanDepth(b []byte, depth int, inString, escaped bool) (int, bool, bool) {
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return depth, inString, escaped
}

// trimJSONLine drops the blanks around a value and the comma after it.
func trimJSONLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	b = bytes.TrimSuffix(b, []byte(","))
	return bytes.TrimSpace(b)
}
