package devices

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

//go:generate go test -count=1 -run ^TestShippedRecogRules$ ./recog -update

// shipped holds the signature files built into the binary: Nightjar's own
// rules and those converted from recog (signatures/recog.yaml, which
// `go generate` rewrites).
//
//go:embed signatures/*.yaml
var shipped embed.FS

// MaxValue is the most bytes of a field's value a Match keeps.
const MaxValue = 256

// Match is one rule matching one value of a record.
type Match struct {
	Rule                          string
	Vendor, Model, Kind, Firmware string
	Confidence                    float64
	Field                         banner.Field
	// Value is the field's value when at most MaxValue bytes, else the
	// part the rule matched, cut to MaxValue bytes.
	Value string
}

// Signatures is a compiled signature database. Match may be called from
// several goroutines.
type Signatures struct {
	rules   []*rule
	byField map[banner.Field]*fieldRules
	cache   *valueCache
}

// fieldRules are the rules of one field: those with required literals
// behind the automaton, the others always run.
type fieldRules struct {
	field    banner.Field
	rules    []int32 // indexes in Signatures.rules, in file order
	filter   *automaton
	always   []int32 // positions in rules without a literal
	scratch  sync.Pool
	filtered int
}

// Load compiles the shipped rules and then userFiles in order; a rule
// whose ID an earlier file used replaces it.
func Load(userFiles ...string) (*Signatures, error) {
	var rules []*rule
	index := map[string]int{}
	add := func(name string, data []byte) error {
		file, err := parseFile(name, data)
		if err != nil {
			return err
		}
		for _, r := range file {
			if i, ok := index[r.ID]; ok {
				rules[i] = r
				continue
			}
			index[r.ID] = len(rules)
			rules = append(rules, r)
		}
		return nil
	}
	names, err := fs.Glob(shipped, "signatures/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	for _, name := range names {
		data, err := shipped.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if err := add("shipped "+path.Base(name), data); err != nil {
			return nil, err
		}
	}
	for _, name := range userFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read signatures: %w", err)
		}
		if err := add(name, data); err != nil {
			return nil, err
		}
	}
	return newSignatures(rules), nil
}

// parseFile decodes and compiles one signature file; an error names the
// file, and the rule and its line when one is at fault.
func parseFile(name string, data []byte) ([]*rule, error) {
	var file File
	if err := yamlstrict.Decode(data, &file); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("signatures %s: %w", name, err)
	}
	// The lines of each rule and of its keys, for the messages.
	var nodes struct {
		Rules []yaml.Node `yaml:"rules"`
	}
	if err := yaml.Unmarshal(data, &nodes); err != nil {
		return nil, fmt.Errorf("signatures %s: %w", name, err)
	}
	seen := map[string]bool{}
	out := make([]*rule, 0, len(file.Rules))
	for i, r := range file.Rules {
		c, err := compile(r)
		if err == nil && seen[r.ID] {
			err = keyError("id", errors.New("a second rule with this id in the file"))
		}
		if err != nil {
			line := 0
			if i < len(nodes.Rules) {
				line = keyLine(&nodes.Rules[i], err)
			}
			return nil, fmt.Errorf("signatures %s:%d: rule %q: %w", name, line, r.ID, err)
		}
		seen[r.ID] = true
		out = append(out, c)
	}
	return out, nil
}

// keyLine is the line of the key an error of compile is about (the
// pattern's for a regexp error), else the rule's.
func keyLine(n *yaml.Node, err error) int {
	var re *ruleError
	if !errors.As(err, &re) {
		return n.Line
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == re.key {
			return n.Content[i+1].Line
		}
	}
	return n.Line
}

// Compile builds a Signatures of rules alone, without the shipped ones
// (the recog importer's tests check its rules so).
func Compile(rules ...Rule) (*Signatures, error) {
	out := make([]*rule, 0, len(rules))
	for _, r := range rules {
		c, err := compile(r)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.ID, err)
		}
		out = append(out, c)
	}
	return newSignatures(out), nil
}

func newSignatures(rules []*rule) *Signatures {
	s := &Signatures{rules: rules, byField: map[banner.Field]*fieldRules{}, cache: newValueCache(cacheEntries, cacheBytes)}
	lits := map[banner.Field]map[string][]int32{}
	for i, r := range rules {
		fr := s.byField[r.field]
		if fr == nil {
			fr = &fieldRules{field: r.field}
			s.byField[r.field] = fr
			lits[r.field] = map[string][]int32{}
		}
		pos := int32(len(fr.rules))
		fr.rules = append(fr.rules, int32(i))
		if ls := requiredLiterals(r.Pattern); ls != nil {
			for _, l := range ls {
				lits[r.field][l] = append(lits[r.field][l], pos)
			}
			fr.filtered++
		} else {
			fr.always = append(fr.always, pos)
		}
	}
	for f, fr := range s.byField {
		fr.filter = newAutomaton(lits[f])
		n := len(fr.rules)
		fr.scratch.New = func() any { return &prefiltered{seen: make([]uint64, (n+63)/64)} }
	}
	return s
}

// Len is the number of rules.
func (s *Signatures) Len() int { return len(s.rules) }

// Match appends to dst a Match for every rule that matches a value of rec.
func (s *Signatures) Match(rec *banner.Record, dst []Match) []Match {
	for _, f := range banner.Fields() {
		fr := s.byField[f]
		if fr == nil {
			continue
		}
		rec.Values(f, func(v string) bool {
			if f != banner.HTTPBody {
				v = strings.TrimSpace(v)
			}
			if v == "" {
				return true
			}
			for _, h := range s.hits(fr, v) {
				r := s.rules[h.rule]
				m := Match{Rule: r.ID, Vendor: r.vendor, Model: h.model, Kind: r.Kind, Firmware: h.firmware,
					Confidence: r.Confidence, Field: f, Value: boundedValue(v, int(h.start), int(h.end))}
				if r.fwRe != nil {
					m.Firmware = r.firmware(rec)
				}
				dst = append(dst, m)
			}
			return true
		})
	}
	return dst
}

// hits returns what the field's rules find in v, from the cache when v
// was seen before. The slice is shared: callers only read it.
func (s *Signatures) hits(fr *fieldRules, v string) []hit {
	key := cacheKey{field: fr.field, value: v}
	if hs, ok := s.cache.get(key); ok {
		return hs
	}
	hs := fr.run(s.rules, v)
	s.cache.put(key, hs)
	return hs
}

// prefiltered is a field's scratch: which of its rules the prefilter let
// through.
type prefiltered struct{ seen []uint64 }

// run matches v against the field's rules: those the prefilter lets
// through and those it cannot filter, in file order.
func (fr *fieldRules) run(rules []*rule, v string) []hit {
	c := fr.scratch.Get().(*prefiltered)
	defer fr.scratch.Put(c)
	for _, pos := range fr.always {
		c.seen[pos/64] |= 1 << (pos % 64)
	}
	fr.filter.scan(v, func(pos int32) { c.seen[pos/64] |= 1 << (pos % 64) })
	var hs []hit
	for w, word := range c.seen {
		for word != 0 {
			b := word & -word
			word ^= b
			pos := w*64 + bits.TrailingZeros64(b)
			idx := fr.rules[pos]
			if h, ok := rules[idx].match(v); ok {
				h.rule = idx
				hs = append(hs, h)
			}
		}
		c.seen[w] = 0
	}
	return hs
}

// boundedValue is v when short, else its matched part cut to MaxValue
// bytes on a rune boundary.
func boundedValue(v string, start, end int) string {
	if len(v) <= MaxValue {
		return v
	}
	v = v[start:end]
	if len(v) <= MaxValue {
		return strings.Clone(v)
	}
	cut := MaxValue
	for cut > 0 && v[cut]&0xC0 == 0x80 {
		cut--
	}
	// A copy: the Match must not keep the whole body alive.
	return strings.Clone(v[:cut])
}
