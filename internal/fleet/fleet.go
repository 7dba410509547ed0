// Package fleet describes a telescope's sensors — name, group, country and the
// unused addresses or prefixes each one watches — loads that description from
// YAML, and maps a packet's destination address to the sensor that saw it.
package fleet

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/ctxio"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
	"go.yaml.in/yaml/v3"
)

// Sensor is one sensor of the fleet.
type Sensor struct {
	// Name identifies the sensor in every report ("jp-tokyo-1").
	Name string `yaml:"name" json:"name"`
	// Group is the set of sensors it is compared with ("Japan", "overseas").
	Group string `yaml:"group" json:"group"`
	// Country is an ISO 3166-1 alpha-2 code, optional.
	Country string `yaml:"country,omitempty" json:"country,omitempty"`
	// Description is free text about the network hosting the sensor.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Addresses lists the monitored addresses ("198.18.1.1") and prefixes
	// ("198.18.2.0/24", "2001:db8::/64").
	Addresses []string `yaml:"addresses" json:"addresses"`

	prefixes []netip.Prefix
}

// Prefixes returns the parsed monitored prefixes (single addresses as /32 or /128).
func (s *Sensor) Prefixes() []netip.Prefix { return s.prefixes }

// Fleet is an ordered list of sensors.
type Fleet struct {
	Sensors []Sensor `yaml:"sensors" json:"sensors"`
}

// Load reads a fleet from a YAML file. Unknown keys, duplicate names,
// unparsable or overlapping addresses are errors.
func Load(path string) (*Fleet, error) { return LoadContext(context.Background(), path) }

// MaxFileSize bounds a sensors file (about half a million sensors): what
// of loading ctx cannot stop takes time in proportion to it.
const MaxFileSize = 64 << 20

// LoadContext is Load that gives up, with an error wrapping ctx.Err(),
// when ctx ends.
//
// The YAML decoder has no cancellation. It reads its input as it parses,
// and the parse is most of the time (about 0.1 s per MiB): it reads
// through a reader that fails once ctx has ended, which stops it at its
// next read, in this goroutine — so nothing runs on after LoadContext
// returns, as a decode left behind in a goroutine would. Building the
// fleet from the parsed document and validating it cannot stop; bounding
// the file to MaxFileSize bounds them to about a second.
func LoadContext(ctx context.Context, path string) (*Fleet, error) {
	f, err := ctxio.Open(ctx, path) // a FIFO (--sensors <(...)) may have no writer yet
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sensors file %s: %w", path, ctx.Err())
		}
		return nil, fmt.Errorf("read sensors file: %w", err)
	}
	defer f.Close()
	// A read of a FIFO whose writer fell silent returns when the file is
	// closed.
	defer context.AfterFunc(ctx, func() { f.Close() })()
	data, err := io.ReadAll(io.LimitReader(ctxio.Reader(ctx, f), MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read sensors file %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("sensors file %s: more than %d MiB (about half a million sensors)", path, MaxFileSize>>20)
	}
	fl, err := parse(ctxio.Reader(ctx, bytes.NewReader(data)))
	if ctx.Err() != nil {
		// The decoder reports a failed read as text, not as ctx's error.
		return nil, fmt.Errorf("sensors file %s: %w", path, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("sensors file %s: %w", path, err)
	}
	return fl, nil
}

// Parse decodes and validates a fleet from YAML.
func Parse(data []byte) (*Fleet, error) { return parse(bytes.NewReader(data)) }

func parse(r io.Reader) (*Fleet, error) {
	var f Fleet
	if err := yamlstrict.DecodeReader(r, &f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no sensors defined")
		}
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate parses every address and checks names and overlaps.
func (f *Fleet) Validate() error {
	if len(f.Sensors) == 0 {
		return errors.New("no sensors defined")
	}
	names := make(map[string]bool, len(f.Sensors))
	var all []owned
	for i := range f.Sensors {
		s := &f.Sensors[i]
		if strings.TrimSpace(s.Name) == "" {
			return fmt.Errorf("sensor #%d: name is empty", i+1)
		}
		if names[s.Name] {
			return fmt.Errorf("sensor %q: name used twice", s.Name)
		}
		names[s.Name] = true
		if len(s.Addresses) == 0 {
			return fmt.Errorf("sensor %q: no addresses", s.Name)
		}
		s.prefixes = s.prefixes[:0]
		for _, a := range s.Addresses {
			p, err := parsePrefix(a)
			if err != nil {
				return fmt.Errorf("sensor %q: %w", s.Name, err)
			}
			all = append(all, owned{prefix: p, sensor: i, seq: len(all)})
			s.prefixes = append(s.prefixes, p)
		}
	}
	if earlier, later, ok := firstOverlap(all); ok {
		return fmt.Errorf("sensor %q: %s overlaps %s of sensor %q",
			f.Sensors[later.sensor].Name, later.prefix, earlier.prefix, f.Sensors[earlier.sensor].Name)
	}
	return nil
}

// owned is a monitored prefix, its sensor's index and its position in
// the file.
type owned struct {
	prefix netip.Prefix
	sensor int
	seq    int
}

// firstOverlap finds two overlapping prefixes in n log n (a fleet may have
// hundreds of thousands of sensors), reordering all. Two CIDR prefixes are
// either nested or disjoint, so once sorted by address, then by length,
// any overlap shows between neighbours: if q is the first prefix to
// overlap an earlier p, p contains q, and a prefix r sorted between them
// starts inside p, so it overlaps p and would have come first unless r is
// p. Of the overlapping neighbours it returns the pair whose later prefix
// comes first in the file, so that the error does not depend on the sort.
func firstOverlap(all []owned) (earlier, later owned, ok bool) {
	slices.SortFunc(all, func(a, b owned) int {
		if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.prefix.Bits(), b.prefix.Bits())
	})
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if !a.prefix.Overlaps(b.prefix) {
			continue
		}
		if a.seq > b.seq {
			a, b = b, a
		}
		if !ok || b.seq < later.seq {
			earlier, later, ok = a, b, true
		}
	}
	return earlier, later, ok
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("address %q: write IPv4 prefixes in dotted form", s)
		}
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Errorf("address %q: host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Groups returns the group names in order of first appearance.
func (f *Fleet) Groups() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range f.Sensors {
		if !seen[s.Group] {
			seen[s.Group] = true
			out = append(out, s.Group)
		}
	}
	return out
}

// Marshal encodes the fleet as YAML, the format Load reads.
func (f *Fleet) Marshal() ([]byte, error) { return yaml.Marshal(f) }
