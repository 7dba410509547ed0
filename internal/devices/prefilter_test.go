package devices

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequiredLiterals(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		`^Hikvision-Webs$`: {"hikvision-webs"},
		`^(?:Basic|Digest) realm="(?P<model>DCS-\d{3,4})"$`: {`basic realm="dcs-`, `digest realm="dcs-`},
		`(?i)^TD-[VW8]\d+`:           {"td-v", "td-w", "td-8"},
		`^CN=(?P<model>usg[^_]+)_\w`: {"cn=usg"},
		`^(?:abc|xyz)+\d`:            {"abc", "xyz"},
		`ロジテック.*ルータ`:                 {"ロジテック"},
		`^\d+$`:                      nil,
		`(?i)Ünïcode`:                nil, // folds beyond ASCII
	}
	for pattern, want := range tests {
		got := requiredLiterals(pattern)
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("requiredLiterals(%q) (-got, +want):\n%s", pattern, diff)
		}
	}
}

// TestPrefilterLosesNothing: on the benchmark's values and a few in other
// cases, the prefiltered match finds what running every rule of the field
// finds.
func TestPrefilterLosesNothing(t *testing.T) {
	t.Parallel()
	s := load(t)
	recs := repeatedRecords()[:2000]
	recs = append(recs, web(80, "ARCHER AX50", ""), web(80, "archer ax50", ""), newDistinct().record(7))
	for i := range recs {
		for f, fr := range s.byField {
			recs[i].Values(f, func(v string) bool {
				got := fr.run(s.rules, v)
				var want []hit
				for _, idx := range fr.rules {
					if h, ok := s.rules[idx].match(v); ok {
						h.rule = idx
						want = append(want, h)
					}
				}
				if diff := cmp.Diff(got, want, cmp.AllowUnexported(hit{})); diff != "" {
					t.Errorf("%v %q: prefiltered hits (-got, +want):\n%s", f, v, diff)
				}
				return true
			})
		}
	}
}
