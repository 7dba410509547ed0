// Package yamlstrict decodes the project's YAML files (fleets, sensor
// configurations, users, the CA's ledgers) strictly: an unknown key is an
// error, so a typo in a configuration is reported instead of ignored.
package yamlstrict

import (
	"bytes"
	"io"

	"go.yaml.in/yaml/v3"
)

// Decode decodes the first document of data into v, refusing unknown
// keys. Empty data returns io.EOF.
func Decode(data []byte, v any) error { return DecodeReader(bytes.NewReader(data), v) }

// DecodeReader is Decode of what r holds. The decoder reads r as it
// parses, 512 bytes at a time: a reader that fails stops the parse.
func DecodeReader(r io.Reader, v any) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	return dec.Decode(v)
}
