package devices

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// File is a signature file: a list of rules.
type File struct {
	Rules []Rule `yaml:"rules"`
}

// Rule is one signature as a YAML file writes it.
type Rule struct {
	// ID names the rule; a user file's rule with a shipped rule's ID
	// replaces it.
	ID     string `yaml:"id"`
	Vendor string `yaml:"vendor"`
	// Model is the device model: fixed text, or a template naming the
	// pattern's groups ("ZXHN ${model}"). Empty with a (?P<model>...)
	// group in the pattern: that group. Empty without one: the rule
	// names only the vendor.
	Model string `yaml:"model,omitempty"`
	// Kind is the device class: router, camera, nas, ont, cpe, ap, ...
	Kind string `yaml:"kind"`
	// Field is the banner field the pattern reads (banner.ParseField).
	Field   string `yaml:"field"`
	Pattern string `yaml:"pattern"`
	// Firmware, when set, is a regexp with one group read from
	// FirmwareField (Field when empty) of the same record once the
	// pattern matched; otherwise a (?P<firmware>...) group of the pattern
	// gives the firmware.
	Firmware      string `yaml:"firmware,omitempty"`
	FirmwareField string `yaml:"firmware_field,omitempty"`
	// Confidence is how sure a match of this rule alone is, in (0, 1].
	Confidence float64 `yaml:"confidence"`
	// Source says where the rule came from.
	Source string `yaml:"source"`
}

// rule is a compiled Rule.
type rule struct {
	Rule
	vendor    string // canonical spelling
	field     banner.Field
	re        *regexp.Regexp
	submatch  bool   // the match needs the groups' positions
	model     string // template expanded with the groups; "" vendor-only
	fwGroup   int    // the pattern's firmware group, 0 none
	fwRe      *regexp.Regexp
	fwField   banner.Field
	templated bool // model names groups
}

var templateRef = regexp.MustCompile(`\$\{?(\w+)\}?`)

// compile checks r and builds its matcher.
func compile(r Rule) (*rule, error) {
	if r.ID == "" {
		return nil, keyError("id", errors.New("missing"))
	}
	if strings.TrimSpace(r.Vendor) == "" {
		return nil, keyError("vendor", errors.New("missing"))
	}
	if r.Kind == "" {
		return nil, keyError("kind", errors.New("missing"))
	}
	if r.Source == "" {
		return nil, keyError("source", errors.New("missing"))
	}
	if !(r.Confidence > 0 && r.Confidence <= 1) {
		return nil, keyError("confidence", fmt.Errorf("%v is not in (0, 1]", r.Confidence))
	}
	c := &rule{Rule: r, vendor: NormalizeVendor(r.Vendor)}
	var ok bool
	if c.field, ok = banner.ParseField(r.Field); !ok {
		return nil, keyError("field", fmt.Errorf("unknown %q", r.Field))
	}
	re, err := regexp.Compile(r.Pattern)
	if err != nil {
		return nil, keyError("pattern", err)
	}
	c.re = re
	c.model = r.Model
	if c.model == "" && re.SubexpIndex("model") > 0 {
		c.model = "${model}"
	}
	for _, ref := range templateRef.FindAllStringSubmatch(c.model, -1) {
		if re.SubexpIndex(ref[1]) < 0 {
			return nil, keyError("model", fmt.Errorf("%q names group %q, which the pattern does not have", r.Model, ref[1]))
		}
		c.templated = true
	}
	c.fwGroup = max(re.SubexpIndex("firmware"), 0)
	switch {
	case r.Firmware != "" && c.fwGroup > 0:
		return nil, keyError("firmware", errors.New("both a firmware regexp and a (?P<firmware>) group"))
	case r.Firmware != "":
		if c.fwRe, err = regexp.Compile(r.Firmware); err != nil {
			return nil, keyError("firmware", err)
		}
		if c.fwRe.NumSubexp() != 1 {
			return nil, keyError("firmware", fmt.Errorf("%d groups, want 1", c.fwRe.NumSubexp()))
		}
		c.fwField = c.field
		if r.FirmwareField != "" {
			if c.fwField, ok = banner.ParseField(r.FirmwareField); !ok {
				return nil, keyError("firmware_field", fmt.Errorf("unknown field %q", r.FirmwareField))
			}
		}
	case r.FirmwareField != "":
		return nil, keyError("firmware_field", errors.New("set without firmware"))
	}
	c.submatch = c.templated || c.fwGroup > 0
	return c, nil
}

// ruleError is a rule's error about one of its keys.
type ruleError struct {
	key string
	err error
}

func keyError(key string, err error) error { return &ruleError{key, err} }

func (e *ruleError) Error() string { return e.key + ": " + e.err.Error() }
func (e *ruleError) Unwrap() error { return e.err }

// hit is what a rule found in one value: the model and firmware its
// groups gave and the span it matched.
type hit struct {
	rule            int32
	model, firmware string
	start, end      int32
}

// match runs the rule on v; ok false when it does not match.
func (c *rule) match(v string) (h hit, ok bool) {
	if !c.submatch {
		loc := c.re.FindStringIndex(v)
		if loc == nil {
			return h, false
		}
		return hit{model: c.model, start: int32(loc[0]), end: int32(loc[1])}, true
	}
	m := c.re.FindStringSubmatchIndex(v)
	if m == nil {
		return h, false
	}
	h = hit{model: c.model, start: int32(m[0]), end: int32(m[1])}
	if c.templated {
		h.model = strings.Join(strings.Fields(string(c.re.ExpandString(nil, c.model, v, m))), " ")
	}
	if g := c.fwGroup; g > 0 && m[2*g] >= 0 {
		// A copy: hits are cached, v may be a slice of a large buffer.
		h.firmware = strings.Clone(strings.TrimSpace(v[m[2*g]:m[2*g+1]]))
	}
	return h, true
}

// firmware reads the rule's firmware regexp from rec: the first value of
// its field that matches.
func (c *rule) firmware(rec *banner.Record) string {
	var fw string
	rec.Values(c.fwField, func(v string) bool {
		if m := c.fwRe.FindStringSubmatch(v); m != nil {
			fw = strings.TrimSpace(m[1])
		}
		return fw == ""
	})
	return fw
}
