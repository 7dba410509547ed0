// Package config layers the configuration of Nightjar's daemons (the
// collector, serve, the demo) the same way for each: the component's
// defaults, then an optional YAML file (unknown keys are errors), then
// NIGHTJAR_<COMMAND>_<KEY> environment variables, then the flags given on
// the command line. A configuration is a struct whose yaml tags name its
// keys; nested structs make nested keys (ui.listen, NIGHTJAR_COLLECTOR_UI_LISTEN).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// Layers says where a command's configuration comes from.
type Layers struct {
	// File is the YAML file (--config), or "" for none.
	File string
	// EnvPrefix starts the command's environment variables
	// ("NIGHTJAR_COLLECTOR_").
	EnvPrefix string
	// Environ is the process environment ("KEY=value" entries; nil:
	// os.Environ).
	Environ []string
	// Flags are the command's flags, bound to the fields of the
	// configuration: those set on the command line win over everything.
	Flags *pflag.FlagSet
}

// Resolve sets *cfg to defaults, then applies the file, the environment
// and the flags that were set. cfg points to a struct of the type of
// defaults. The flags were parsed before Resolve (so they already wrote
// into cfg); their values are kept and applied again last.
func (l Layers) Resolve(cfg, defaults any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Type() != reflect.TypeOf(defaults) {
		return fmt.Errorf("config: %T is not a pointer to %T", cfg, defaults)
	}
	given := map[string][]string{}
	if l.Flags != nil {
		l.Flags.Visit(func(f *pflag.Flag) {
			if s, ok := f.Value.(pflag.SliceValue); ok {
				given[f.Name] = s.GetSlice()
			} else {
				given[f.Name] = []string{f.Value.String()}
			}
		})
	}
	v.Elem().Set(reflect.ValueOf(defaults))
	if l.File != "" {
		data, err := os.ReadFile(l.File)
		if err != nil {
			return fmt.Errorf("read configuration: %w", err)
		}
		// An empty file configures nothing.
		if err := yamlstrict.Decode(data, cfg); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("configuration %s: %w", l.File, err)
		}
	}
	if err := l.applyEnv(v.Elem()); err != nil {
		return err
	}
	for name, values := range given {
		f := l.Flags.Lookup(name)
		var err error
		if s, ok := f.Value.(pflag.SliceValue); ok {
			err = s.Replace(values)
		} else {
			err = f.Value.Set(values[0])
		}
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	return nil
}

// applyEnv sets the fields named by environment variables with the
// prefix, and refuses any variable with the prefix that names no key.
func (l Layers) applyEnv(v reflect.Value) error {
	if l.EnvPrefix == "" {
		return nil
	}
	environ := l.Environ
	if environ == nil {
		environ = os.Environ()
	}
	leaves := map[string]reflect.Value{}
	walk(v, nil, func(path []string, field reflect.Value) {
		leaves[l.EnvPrefix+strings.ToUpper(strings.Join(path, "_"))] = field
	})
	var errs []error
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, l.EnvPrefix) {
			continue
		}
		field, ok := leaves[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such setting (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(leaves)), ", ")))
			continue
		}
		if err := setText(field, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// walk calls fn for every leaf field of the struct v with its key path.
func walk(v reflect.Value, path []string, fn func([]string, reflect.Value)) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		p := append(slices.Clone(path), name)
		if f.Type.Kind() == reflect.Struct {
			walk(v.Field(i), p, fn)
			continue
		}
		fn(p, v.Field(i))
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

// setText sets a leaf field from the text of an environment variable.
func setText(field reflect.Value, s string) error {
	if field.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		field.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		field.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		field.SetUint(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		field.SetFloat(x)
	default:
		return fmt.Errorf("a %s cannot be set from the environment", field.Type())
	}
	return nil
}

// Dump writes the configuration as YAML, the form a --config file takes.
func Dump(cfg any) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, err
	}
	err := enc.Close()
	return b.Bytes(), err
}
