package fingerprint

import (
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// UnicornState is the per-source memory of the unicornscan rule: the key and
// target of the source's previous SYN probe.
//
// unicornscan (0.4.x) validates replies statelessly by folding a per-scan
// key, the target address and the ports into its ISN. The darknet marker is
// that seq ^ dst ^ ((dst_port << 16) + src_port) stays the same for all the
// probes of a scan (the rule as specified for Nightjar in issue #2), which one
// packet alone cannot show.
//
// A packet is tagged when its key equals the key of the previous SYN from
// the same source and it targets a different (address, port): the first
// probe of a scan is never tagged. False positives: 2^-32 per pair of
// consecutive probes with random ISNs; retransmissions (same target, same
// seq) are excluded by the different-target condition.
type UnicornState struct {
	key     uint32
	dst     uint32
	dstPort uint16
	valid   bool
}

// Observe feeds one record of the source to the rule and reports whether it
// is tagged unicornscan. Only IPv4 TCP SYN probes take part; other packets
// leave the state as it was.
func (u *UnicornState) Observe(r *record.Record) bool {
	if !isUnicornProbe(r) {
		return false
	}
	key, dst := unicornKey(r), r.Dst.Uint32()
	hit := u.valid && unicornHit(u.key, u.dst, u.dstPort, key, dst, r.DstPort)
	u.key, u.dst, u.dstPort, u.valid = key, dst, r.DstPort, true
	return hit
}

// isUnicornProbe reports whether r takes part in the unicornscan rule.
func isUnicornProbe(r *record.Record) bool {
	return r.Protocol == record.ProtoTCP && r.HasTransport && r.IPVersion == 4 && isSYNProbe(r.TCPFlags)
}

func unicornKey(r *record.Record) uint32 {
	return r.Seq ^ r.Dst.Uint32() ^ (uint32(r.DstPort)<<16 + uint32(r.SrcPort))
}

// unicornHit: the same key as the previous probe, to another target.
func unicornHit(prevKey, prevDst uint32, prevPort uint16, key, dst uint32, port uint16) bool {
	return key == prevKey && (dst != prevDst || port != prevPort)
}

// Tagger applies every rule: the stateless ones, and unicornscan with the
// state of each IPv4 source in a table allocated once, by NewTagger. Tag
// allocates nothing, whatever the number of sources.
//
// The table holds at most its bound of sources. When a new source would
// exceed it, the whole table is forgotten at once (in constant time): the
// next probe of every source starts a new comparison, so a reset can cost a
// scan one unicornscan tag, never add a false one. A Tagger is not safe for
// concurrent use.
type Tagger struct {
	slots []unicornSlot
	shift uint   // 32 - log2(len(slots))
	gen   uint16 // a slot whose gen differs is empty
	n     int
	max   int
}

// unicornSlot is one source's state, 16 bytes: four to a cache line.
type unicornSlot struct {
	src, key, dst uint32
	dstPort       uint16
	gen           uint16
}

// DefaultTaggerSources is the bound NewTagger takes for a maxSources ≤ 0:
// 65,536 sources, 2 MiB.
const DefaultTaggerSources = 1 << 16

// NewTagger returns a Tagger that keeps the unicornscan state of up to
// maxSources sources (rounded up to a power of two; DefaultTaggerSources if
// ≤ 0) in 32 bytes each.
func NewTagger(maxSources int) *Tagger {
	if maxSources <= 0 {
		maxSources = DefaultTaggerSources
	}
	bits := uint(1)
	for 1<<bits < 2*maxSources { // load factor at most 1/2
		bits++
	}
	return &Tagger{slots: make([]unicornSlot, 1<<bits), shift: 32 - bits, gen: 1, max: 1 << (bits - 1)}
}

// MaxSources returns the number of sources the Tagger keeps before a reset.
func (t *Tagger) MaxSources() int { return t.max }

// Sources returns the number of sources the Tagger keeps now.
func (t *Tagger) Sources() int { return t.n }

// Tag sets r.Tags to every tag the rules give it.
func (t *Tagger) Tag(r *record.Record) {
	r.Tags = Tag(r)
	if !isUnicornProbe(r) {
		return
	}
	src, key, dst := r.Src.Uint32(), unicornKey(r), r.Dst.Uint32()
	s := t.slot(src)
	if s.gen == t.gen {
		if unicornHit(s.key, s.dst, s.dstPort, key, dst, r.DstPort) {
			r.Tags |= record.TagUnicornscan
		}
	} else {
		if t.n == t.max {
			t.reset()
			s = t.slot(src)
		}
		t.n++
		s.src, s.gen = src, t.gen
	}
	s.key, s.dst, s.dstPort = key, dst, r.DstPort
}

// slot returns src's slot, or the empty slot where it belongs (linear
// probing from its Fibonacci hash).
func (t *Tagger) slot(src uint32) *unicornSlot {
	mask := uint32(len(t.slots) - 1)
	for i := (src * 0x9E3779B1) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.gen != t.gen || s.src == src {
			return s
		}
	}
}

// reset forgets every source by moving to the next generation; only when
// the generation wraps are the slots cleared.
func (t *Tagger) reset() {
	t.n = 0
	t.gen++
	if t.gen == 0 {
		clear(t.slots)
		t.gen = 1
	}
}
