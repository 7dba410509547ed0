package notify

import (
	"net/netip"
	"slices"

	"go4.org/netipx"
)

// index finds the owners of an event: by source AS in a map, by source
// address in a table of disjoint address ranges, each with the owners
// whose prefixes cover it. Prefixes of several owners may nest or
// overlap; the table splits them at every boundary, so that one binary
// search answers for every owner at once.
type index struct {
	byASN  map[uint32][]int
	starts []netip.Addr // ascending; range k is [starts[k], starts[k+1])
	owners [][]int      // the owners of range k, ascending
}

func newIndex(owners []*Owner) index {
	x := index{byASN: map[uint32][]int{}}
	sets := make([]*netipx.IPSet, len(owners))
	for i, o := range owners {
		for _, asn := range o.ASNs {
			if l := x.byASN[asn]; len(l) == 0 || l[len(l)-1] != i { // an ASN listed twice
				x.byASN[asn] = append(l, i)
			}
		}
		var b netipx.IPSetBuilder
		for _, p := range o.Prefixes {
			b.AddPrefix(p)
		}
		sets[i], _ = b.IPSet() // parsePrefix let only valid prefixes through
		for _, r := range sets[i].Ranges() {
			x.starts = append(x.starts, r.From())
			if end, ok := after(r); ok {
				x.starts = append(x.starts, end)
			}
		}
	}
	slices.SortFunc(x.starts, netip.Addr.Compare)
	x.starts = slices.Compact(x.starts)
	x.owners = make([][]int, len(x.starts))
	for i, set := range sets {
		for _, r := range set.Ranges() {
			first, _ := slices.BinarySearchFunc(x.starts, r.From(), netip.Addr.Compare)
			last := len(x.starts)
			if end, ok := after(r); ok {
				last, _ = slices.BinarySearchFunc(x.starts, end, netip.Addr.Compare)
			}
			for k := first; k < last; k++ {
				x.owners[k] = append(x.owners[k], i)
			}
		}
	}
	return x
}

// after returns the first address past r in netip.Addr's order, which
// puts every IPv4 address before every IPv6 one; false past the last
// IPv6 address.
func after(r netipx.IPRange) (netip.Addr, bool) {
	if next := r.To().Next(); next.IsValid() {
		return next, true
	}
	if r.To().Is4() {
		return netip.IPv6Unspecified(), true
	}
	return netip.Addr{}, false
}

// lookup appends to dst the owners of an event from src (address and AS),
// ascending and each once.
func (x *index) lookup(dst []int, src netip.Addr, asn uint32) []int {
	dst = append(dst, x.byASN[asn]...)
	if src.IsValid() {
		src = src.Unmap().WithZone("")
		k, found := slices.BinarySearchFunc(x.starts, src, netip.Addr.Compare)
		if !found {
			k-- // the range that starts before src
		}
		if k >= 0 {
			dst = append(dst, x.owners[k]...)
		}
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}
