package fleet

import (
	"net/netip"
	"slices"
)

// Matcher maps a destination address to the index of the sensor that
// monitors it. It is built once and is safe for concurrent reads.
//
// Lookups cost one map probe per distinct prefix length in the fleet
// (usually one or two), longest first, so that the packet path stays cheap.
type Matcher struct {
	v4 []v4Level // longest prefix first
	v6 []v6Level
}

type v4Level struct {
	bits int
	mask uint32
	m    map[uint32]int
}

type v6Level struct {
	bits int
	m    map[netip.Prefix]int
}

// NewMatcher indexes a validated fleet.
func NewMatcher(f *Fleet) *Matcher {
	m := &Matcher{}
	for i := range f.Sensors {
		for _, p := range f.Sensors[i].prefixes {
			if p.Addr().Is4() {
				m.level4(p.Bits()).m[v4Key(p.Addr())] = i
			} else {
				m.level6(p.Bits()).m[p] = i
			}
		}
	}
	slices.SortFunc(m.v4, func(a, b v4Level) int { return b.bits - a.bits })
	slices.SortFunc(m.v6, func(a, b v6Level) int { return b.bits - a.bits })
	return m
}

func (m *Matcher) level4(bits int) *v4Level {
	for i := range m.v4 {
		if m.v4[i].bits == bits {
			return &m.v4[i]
		}
	}
	var mask uint32
	if bits > 0 {
		mask = ^uint32(0) << (32 - bits)
	}
	m.v4 = append(m.v4, v4Level{bits: bits, mask: mask, m: map[uint32]int{}})
	return &m.v4[len(m.v4)-1]
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
		k := v4Key(addr)
		for i := range m.v4 {
			if s, ok := m.v4[i].m[k&m.v4[i].mask]; ok {
				return s
			}
		}
		return -1
	}
	for i := range m.v6 {
		p, _ := addr.Prefix(m.v6[i].bits)
		if s, ok := m.v6[i].m[p]; ok {
			return s
		}
	}
	return -1
}
