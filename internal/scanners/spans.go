package scanners

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	"go4.org/netipx"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// spans are the lists' networks cut into disjoint address ranges, each
// with the comma-joined labels of the lists that hold it, sorted: Label
// finds an address by binary search, without allocating, on the packet
// path (Labels, which builds a slice, is for presenting).
type spans []span

type span struct {
	first, last key // inclusive
	label       record.Name
}

// key is an address as a 128-bit number (an IPv4 address in lo).
type key struct{ hi, lo uint64 }

func keyOf(a netip.Addr) key {
	if a.Is4() {
		b := a.As4()
		return key{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k key) compare(o key) int { return cmp.Or(cmp.Compare(k.hi, o.hi), cmp.Compare(k.lo, o.lo)) }

// next returns k+1, and false past the largest key.
func (k key) next() (key, bool) {
	if k.lo != ^uint64(0) {
		return key{k.hi, k.lo + 1}, true
	}
	if k.hi != ^uint64(0) {
		return key{k.hi + 1, 0}, true
	}
	return k, false
}

// buildSpans sweeps over the starts and ends of the networks of one
// address family (v4 or not), keeping the count of networks of each list
// that cover the current point.
func buildSpans(lists []List, v4 bool) spans {
	type event struct {
		at    key
		list  int
		delta int
	}
	var events []event
	for i, l := range lists {
		for _, p := range l.Networks {
			if p.Addr().Is4() != v4 {
				continue
			}
			p = p.Masked()
			events = append(events, event{keyOf(p.Addr()), i, +1})
			if end, ok := keyOf(netipx.PrefixLastIP(p)).next(); ok {
				events = append(events, event{end, i, -1})
			}
		}
	}
	slices.SortFunc(events, func(a, b event) int { return a.at.compare(b.at) })
	covering := make([]int, len(lists))
	var out spans
	for i := 0; i < len(events); {
		at := events[i].at
		for ; i < len(events) && events[i].at == at; i++ {
			covering[events[i].list] += events[i].delta
		}
		label := labelOf(lists, covering)
		// Close the open span at this point, then open one if covered.
		if n := len(out); n > 0 && out[n-1].last == (key{^uint64(0), ^uint64(0)}) {
			if out[n-1].label == label {
				continue
			}
			out[n-1].last = prev(at)
		}
		if label != 0 {
			out = append(out, span{first: at, last: key{^uint64(0), ^uint64(0)}, label: label})
		}
	}
	return out
}

// prev returns k-1 for a k above zero.
func prev(k key) key {
	if k.lo != 0 {
		return key{k.hi, k.lo - 1}
	}
	return key{k.hi - 1, ^uint64(0)}
}

// labelOf returns the Name of the sorted, distinct labels of the lists
// with a positive count.
func labelOf(lists []List, covering []int) record.Name {
	var labels []string
	for i, n := range covering {
		if n > 0 && !slices.Contains(labels, lists[i].Label) {
			labels = append(labels, lists[i].Label)
		}
	}
	slices.Sort(labels)
	return record.Intern(strings.Join(labels, ","))
}

// find returns the label of the span holding k, or the zero Name.
func (s spans) find(k key) record.Name {
	i, found := slices.BinarySearchFunc(s, k, func(sp span, k key) int { return sp.first.compare(k) })
	if !found {
		i--
	}
	if i < 0 || s[i].last.compare(k) < 0 {
		return 0
	}
	return s[i].label
}
