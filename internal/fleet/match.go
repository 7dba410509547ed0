package fleet

import (
	"cmp"
	"net/netip"
	"slices"
	"sort"
)

// Matcher maps a destination address to the index of the sensor that
// monitors it. It is built once and is safe for concurrent reads.
//
// Prefixes never overlap (Validate rejects it), so IPv4 prefixes become
// sorted, disjoint address intervals: a binary search (a linear scan for
// small fleets) finds the one holding an address in a few nanoseconds, the
// budget of the packet path. IPv6 prefixes, rarer, take one map probe per
// distinct prefix length.
type Matcher struct {
	v4 []v4Range // sorted by first
	v6 []v6Level // longest prefix first
}

type v4Range struct {
	first, last uint32
	sensor      int
}

type v6Level struct {
	bits int
	m    map[netip.Prefix]int
}

// linearScanMax is the fleet size up to which a linear scan beats binary search.
const linearScanMax = 8

// NewMatcher indexes a validated fleet.
func NewMatcher(f *Fleet) *Matcher {
	m := &Matcher{}
	for i := range f.Sensors {
		for _, p := range f.Sensors[i].prefixes {
			if p.Addr().Is4() {
				first := v4Key(p.Addr())
				last := first | ^uint32(0)>>p.Bits()
				if p.Bits() == 0 {
					last = ^uint32(0)
				}
				m.v4 = append(m.v4, v4Range{first, last, i})
			} else {
				m.level6(p.Bits()).m[p] = i
			}
		}
	}
	slices.SortFunc(m.v4, func(a, b v4Range) int { return cmp.Compare(a.first, b.first) })
	slices.SortFunc(m.v6, func(a, b v6Level) int { return b.bits - a.bits })
	return m
}

func (m *Matcher) level6(bits int) *v6Level {
	for i := range m.v6 {
		if m.v6[i].bits == bits {
			return &m.v6[i]
		}
	}
	m.v6 = append(m.v6, v6Level{bits: bits, m: map[netip.Prefix]int{}})
	return &m.v6[len(m.v6)-1]
}

func v4Key(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Lookup returns the index of the sensor monitoring addr, or -1.
func (m *Matcher) Lookup(addr netip.Addr) int {
	if addr.Is4() {
		return m.Lookup4(v4Key(addr))
	}
	for i := range m.v6 {
		p, _ := addr.Prefix(m.v6[i].bits)
		if s, ok := m.v6[i].m[p]; ok {
			return s
		}
	}
	return -1
}

// Lookup4 returns the index of the sensor monitoring the IPv4 address whose
// big-endian number is k, or -1.
func (m *Matcher) Lookup4(k uint32) int {
	if len(m.v4) <= linearScanMax {
		for _, r := range m.v4 {
			if k >= r.first && k <= r.last {
				return r.sensor
			}
		}
		return -1
	}
	// The last range starting at or before k is the only candidate.
	i := sort.Search(len(m.v4), func(i int) bool { return m.v4[i].first > k })
	if i > 0 && k <= m.v4[i-1].last {
		return m.v4[i-1].sensor
	}
	return -1
}
