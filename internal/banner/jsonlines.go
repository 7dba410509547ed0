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

// jsonLines splits the JSON formats into values: one value a line
// (NDJSON), an array of one value a line with trailing commas (masscan,
// jq), or an array of pretty-printed values (Censys's CLI, json.dump with
// indent), whose value starts with a line holding only "{".
type jsonLines struct {
	lr     lineReader
	pretty []byte
}

// jsonValue is one value of the input, or why it is skipped.
type jsonValue struct {
	start, end int    // its first and last line
	text       []byte // valid until the next call to next
	skip       *SkipError
}

func (j *jsonLines) lines() int { return j.lr.n }

// next returns the next value; io.EOF at the end and any other error
// when the input cannot be read on.
func (j *jsonLines) next() (jsonValue, error) {
	for {
		line, err := j.lr.next()
		var skip *SkipError
		switch {
		case errors.As(err, &skip):
			return jsonValue{start: skip.Line, end: skip.Line, skip: skip}, nil
		case err != nil:
			return jsonValue{}, err
		}
		v := jsonValue{start: j.lr.n, text: trimJSONLine(line)}
		switch t := v.text; {
		case len(t) == 0, len(t) == 1 && (t[0] == '[' || t[0] == ']'):
			continue
		case bytes.Equal(t, []byte("{finished: 1}")):
			continue // the end marker older masscan versions write (not JSON)
		case len(t) == 1 && t[0] == '{':
			v.text, err = j.gather(line)
			if errors.As(err, &v.skip) {
				v.text = nil
			} else if err != nil {
				return jsonValue{}, err
			}
		}
		v.end = j.lr.n
		if v.skip == nil && v.text[0] != '{' {
			v.skip = &SkipError{Line: v.start, Reason: fmt.Sprintf("not a JSON object: %.40q", v.text)}
			v.text = nil
		}
		return v, nil
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
