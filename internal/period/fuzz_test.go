package period

import (
	"testing"
)

// FuzzParse: periods come from command lines and, later, HTTP query
// parameters. Parse never panics, and what it accepts is a non-empty period
// whose name parses back to itself, with a previous period just before it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024Q3", "2024-q1", "2024-07", "2024-02-29", "2024", "9999Q4", "0000-01-01", "0000Q1", "2024Q99999999999999999999", "", "2024-7"} {
		f.Add(s, "2024-07-01", "2024-07-01T12:00:00Z")
	}
	f.Fuzz(func(t *testing.T, s, from, to string) {
		if p, err := Parse(s); err == nil {
			if !p.End.After(p.Start) {
				t.Fatalf("Parse(%q) = empty period %v", s, p)
			}
			if back, err := Parse(p.String()); err != nil || back != p {
				t.Fatalf("Parse(%q).String() = %q does not parse back: %v, %v", s, p.String(), back, err)
			}
			if prev := p.Previous(); !prev.End.Equal(p.Start) || prev.Kind != p.Kind {
				t.Fatalf("Parse(%q).Previous() = %v, not just before %v", s, prev, p)
			}
		}
		if p, err := ParseRange(from, to); err == nil {
			if !p.End.After(p.Start) {
				t.Fatalf("ParseRange(%q, %q) = empty period", from, to)
			}
			if len(p.Months()) == 0 {
				t.Fatalf("ParseRange(%q, %q) has no months", from, to)
			}
		}
	})
}
