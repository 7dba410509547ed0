package fingerprint

import (
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Evidence is what a source must show before it carries a tag: at least
// MinHits of its packets carry the tag, and at least the share
// ShareNum/ShareDen of them. A packet's tag is a property of that packet;
// a source's tag is a claim about the source, and a rule that one random
// packet in 65,536 matches would tag every busy ordinary source.
type Evidence struct {
	MinHits            uint64
	ShareNum, ShareDen uint64
}

// Holds reports whether hits of packets satisfy e.
func (e Evidence) Holds(hits, packets uint64) bool {
	return hits >= e.MinHits && hits*e.ShareDen >= packets*e.ShareNum
}

// anyPacket: one packet suffices.
var anyPacket = Evidence{MinHits: 1, ShareNum: 0, ShareDen: 1}

// halfOfPackets: at least half of the source's packets, and one.
var halfOfPackets = Evidence{MinHits: 1, ShareNum: 1, ShareDen: 2}

// twoAndHalf: at least half of the source's packets, and two.
var twoAndHalf = Evidence{MinHits: 2, ShareNum: 1, ShareDen: 2}

// sourceEvidence holds the rule of each tag, by bit number. The
// probabilities below are those of an ordinary source of n packets, whose
// fields the rule reads are random, being falsely tagged; p is the chance
// that one such packet carries the tag. TestEvidenceFalsePositives
// computes every figure.
//
// mirai: one packet. Its mark (sequence number = destination address)
// matches a random ISN with p = 2^-32, so the probability is
// 1-(1-p)^n ≈ n·2.3e-10: 2.3e-10 at n = 1, 2.3e-5 at n = 100,000, 2.3e-3
// at n = 10^7.
//
// zmap, masscan: half of the source's packets, and two. Both tools mark
// every probe. Their marks (IP ID 54321; ID = dst ^ dst port ^ seq)
// match a random packet with p = 2^-16, and the probability is
// P(Binomial(n, p) ≥ max(2, ⌈n/2⌉)): 0 at n = 1, 2.3e-10 at n = 2, 7.0e-10
// at n = 3, 1.4e-9 at n = 4 (the largest), 3.6e-14 at n = 5, 2.1e-22 at
// n = 10, below 1e-40 from n = 20. One packet alone is not enough: with
// one, every ordinary source seen once would be tagged with p, 1.5e-5.
// A stack whose IP ID is a counter shows 54321 at most once in 65,536
// packets, far from half.
//
// nmap, unicornscan: half of the source's packets, and one. nmap marks
// every probe (window 1024, MSS alone), a choice of a stack rather than
// chance; the share keeps a source that sends a few such packets among
// ordinary ones untagged. unicornscan marks every probe but a source's
// first, each with p = 2^-32 against its predecessor, independently, so
// the probability is P(Binomial(n-1, p) ≥ ⌈n/2⌉): 2.3e-10 at n = 2,
// 5.4e-20 at n = 3, 1.6e-19 at n = 4, below 1e-27 from n = 5.
//
// backscatter, spoofed: one packet. They describe traffic, not a tool: a
// source with one backscatter packet did send backscatter.
var sourceEvidence = [record.NumTags]Evidence{
	anyPacket,     // mirai
	twoAndHalf,    // zmap
	twoAndHalf,    // masscan
	halfOfPackets, // nmap
	halfOfPackets, // unicornscan
	anyPacket,     // backscatter
	anyPacket,     // spoofed
}

// SourceEvidence returns the rule of the tag of bit number bit
// (record.Tags.Index).
func SourceEvidence(bit int) Evidence { return sourceEvidence[bit] }

// SourceTags returns the tags a source earns from its packets: packets is
// its number of packets, hits[i] the number of them that carry the tag of
// bit i.
func SourceTags(packets uint64, hits *[record.NumTags]uint64) record.Tags {
	var t record.Tags
	for bit, e := range sourceEvidence {
		if hits[bit] > 0 && e.Holds(hits[bit], packets) {
			t |= 1 << bit
		}
	}
	return t
}

// CountTags adds one packet tagged t to hits, the per-tag packet counts
// that SourceTags reads.
func CountTags(hits *[record.NumTags]uint64, t record.Tags) {
	for ; t != 0; t &= t - 1 {
		if i := t.Index(); i < record.NumTags {
			hits[i]++
		}
	}
}
