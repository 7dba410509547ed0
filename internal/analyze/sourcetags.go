package analyze

import (
	"math"
	"math/bits"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// A source's tags are the ones its packets earn by the evidence rules
// (fingerprint.SourceTags over its packets and its packets of each tag),
// not the union of its packets' tags: one packet in 65,536 carries zmap's
// mark by chance, and a busy ordinary source would collect it.

// countedTags are the tags whose rule asks for more than one packet: a
// source counts its packets of each (tagHits). For every other tag one
// packet is evidence enough, and the union of the source's packet tags
// says whether it has one (TestCountedTags checks this against the rules).
// Only the sources that send a packet of a counted tag get counters
// (Analyzer.hits): the others, most of them, pay 4 bytes for the index.
const countedTags = record.TagZMap | record.TagMasscan | record.TagNmap | record.TagUnicornscan

// numCounted is the number of tags in countedTags.
const numCounted = 4

// tagHits counts a source's packets of each counted tag, in bit order. A
// count stops at 2^32-1: uint32s keep the per-source state small, and only
// a source of more than 8.6 billion packets in one analysis could then
// miss a half-share rule.
type tagHits [numCounted]uint32

// hitSlot returns the position in tagHits of the lowest tag of t, which
// must be a counted tag.
func hitSlot(t record.Tags) int {
	low := t & -t
	return bits.OnesCount16(uint16(countedTags & (low - 1)))
}

// add counts one packet tagged t.
func (h *tagHits) add(t record.Tags) {
	for c := t & countedTags; c != 0; c &= c - 1 {
		h.addAt(hitSlot(c), 1)
	}
}

// addAt adds n packets of the tag at slot i, stopping at the maximum.
func (h *tagHits) addAt(i int, n uint32) {
	h[i] += min(n, math.MaxUint32-h[i])
}

// merge adds o's counts to h.
func (h *tagHits) merge(o *tagHits) {
	for i, n := range o {
		h.addAt(i, n)
	}
}

// hitsOf returns the counters of source s, adding them; the pointer lives
// until the next call.
func (a *Analyzer) hitsOf(s *sourceStats) *tagHits {
	if s.hits == 0 {
		a.hits = append(a.hits, tagHits{})
		s.hits = int32(len(a.hits))
	}
	return &a.hits[s.hits-1]
}

// sourceHits returns the counts of source s, zero if it has none.
func (a *Analyzer) sourceHits(s *sourceStats) tagHits {
	if s.hits == 0 {
		return tagHits{}
	}
	return a.hits[s.hits-1]
}

// sourceTags returns the tags of a source of packets packets whose
// packets carry the tags of union, and the counted ones hits times.
func sourceTags(packets uint64, union record.Tags, hits tagHits) record.Tags {
	var all [record.NumTags]uint64
	for t := union; t != 0; t &= t - 1 {
		n := uint64(1) // a tag that needs one packet: it has one
		if t&-t&countedTags != 0 {
			n = uint64(hits[hitSlot(t)])
		}
		all[t.Index()] = n
	}
	return fingerprint.SourceTags(packets, &all)
}
