package record

import (
	"fmt"
	"math/bits"
	"strings"
)

// Tags is a set of header-only fingerprint tags. The rules that set them live
// in package fingerprint; this type only names them.
type Tags uint16

// The tags, in the order they are listed in output.
const (
	TagMirai Tags = 1 << iota
	TagZMap
	TagMasscan
	TagNmap
	TagUnicornscan
	TagBackscatter
	TagSpoofed

	// NumTags is the number of tags (bits 0 to NumTags-1).
	NumTags = iota
)

var tagNames = [NumTags]string{"mirai", "zmap", "masscan", "nmap", "unicornscan", "backscatter", "spoofed"}

// AllTags lists every tag in output order.
func AllTags() []Tags {
	out := make([]Tags, NumTags)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// ScannerTags are the tags that name a scanning tool or malware family.
const ScannerTags = TagMirai | TagZMap | TagMasscan | TagNmap | TagUnicornscan

// Has reports whether every tag in u is in t.
func (t Tags) Has(u Tags) bool { return t&u == u }

// Index returns the bit number of the lowest tag in t (0 for mirai), for
// counters kept in arrays indexed by tag; 16 for an empty set.
func (t Tags) Index() int { return bits.TrailingZeros16(uint16(t)) }

// Len returns the number of tags in the set.
func (t Tags) Len() int { return bits.OnesCount16(uint16(t)) }

// Names returns the tag names in output order; nil for an empty set.
func (t Tags) Names() []string {
	if t == 0 {
		return nil
	}
	out := make([]string, 0, t.Len())
	for i, name := range tagNames {
		if t&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// String joins the tag names with commas.
func (t Tags) String() string { return strings.Join(t.Names(), ",") }

// ParseTag returns the tag with the given name.
func ParseTag(name string) (Tags, error) {
	for i, n := range tagNames {
		if n == name {
			return 1 << i, nil
		}
	}
	return 0, fmt.Errorf("unknown tag %q (known: %s)", name, strings.Join(tagNames[:], ", "))
}
