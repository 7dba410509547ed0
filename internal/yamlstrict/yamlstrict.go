// Package yamlstrict decodes the project's YAML files (fleets, sensor
// configurations, users, the CA's ledgers) strictly: an unknown key is an
// error, so a typo in a configuration is reported instead of ignored.
package yamlstrict

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// Decode decodes the first document of data into v, refusing unknown
// keys. Empty data returns io.EOF.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}
