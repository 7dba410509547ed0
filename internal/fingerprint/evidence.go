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

// sourceEvidence holds the rule of each tag, by bit number.
//
// mirai: one packet. Its mark (sequence number = destination address)
// matches a random ISN with probability p = 2^-32, so an ordinary source of
// n packets is falsely tagged with probability 1-(1-p)^n ≈ n·2.3e-10: 2.3e-5
// at 100,000 packets.
//
// zmap, masscan, nmap, unicornscan: half of the source's packets. These
// tools mark every probe (unicornscan every probe but a source's first).
// The zmap and masscan marks match a random packet with p = 2^-16; an
// ordinary source of n packets is falsely tagged with probability
// P(Binomial(n, p) ≥ ⌈n/2⌉) ≤ C(n, ⌈n/2⌉)·p^⌈n/2⌉: 1.5e-5 at n = 1, 3.1e-5
// at n = 2, 4.7e-14 at n = 4, below 1e-40 at n = 10. The nmap mark (window
// 1024, MSS alone) and unicornscan's are deterministic choices of a stack,
// not chance, and the same share keeps a source that sends a few such
// packets among ordinary ones untagged.
//
// backscatter, spoofed: one packet. They describe traffic, not a tool: a
// source with one backscatter packet did send backscatter.
var sourceEvidence = [record.NumTags]Evidence{
	anyPacket,     // mirai
	halfOfPackets, // zmap
	halfOfPackets, // masscan
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
