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

// UnicornBook bounds the unicornscan state of many sources, wherever each
// source's UnicornEntry is kept: in a Tagger's table, or beside a caller's
// own per-source counts (the analyzer's), so that every path tags alike.
//
// It holds at most its bound of sources. When a new source would exceed
// it, every source is forgotten at once (in constant time, by a new
// generation): the next probe of every source starts a new comparison, so
// a reset can cost a scan one unicornscan tag, never add a false one.
type UnicornBook struct {
	// gen is the current generation: an entry of another holds no
	// source. At one reset per 65,536 new sources, 32 bits do not wrap.
	gen uint32
	n   int
	max int
}

// UnicornEntry is one source's unicornscan state in a UnicornBook; the
// zero value holds no source.
type UnicornEntry struct {
	key, dst uint32
	gen      uint32
	dstPort  uint16
}

// NewUnicornBook returns a book with the bound of NewTagger(maxSources):
// maxSources rounded up to a power of two (DefaultTaggerSources if ≤ 0).
func NewUnicornBook(maxSources int) UnicornBook {
	return UnicornBook{gen: 1, max: 1 << (tableBits(maxSources) - 1)}
}

// tableBits returns log2 of the slots of a Tagger of maxSources sources,
// kept at a load factor of at most 1/2.
func tableBits(maxSources int) uint {
	if maxSources <= 0 {
		maxSources = DefaultTaggerSources
	}
	bits := uint(1)
	for 1<<bits < 2*maxSources {
		bits++
	}
	return bits
}

// Holds reports whether e holds a source of the current generation.
func (b *UnicornBook) Holds(e *UnicornEntry) bool { return e.gen == b.gen }

// full reports whether a new source would make the book forget them all.
func (b *UnicornBook) full() bool { return b.n == b.max }

// forget forgets every source, by a new generation.
func (b *UnicornBook) forget() {
	b.n = 0
	if b.gen++; b.gen == 0 {
		b.gen = 1
	}
}

// Observe feeds r, a record of e's source, to the unicornscan rule and
// reports whether r is tagged unicornscan. Only IPv4 TCP SYN probes take
// part; other records leave e as it was.
func (b *UnicornBook) Observe(e *UnicornEntry, r *record.Record) bool {
	p, ok := ProbeOf(r)
	return ok && b.ObserveProbe(e, p)
}

// UnicornProbe is what the unicornscan rule reads of one probe: a record
// reduced to 12 bytes, so that a caller can feed probes to the rule later
// than it decodes them (the analyzer's workers log them, and one
// goroutine replays them in capture order).
type UnicornProbe struct {
	key, dst uint32
	dstPort  uint16
}

// ProbeOf returns r's probe, if r takes part in the unicornscan rule (an
// IPv4 TCP SYN probe).
func ProbeOf(r *record.Record) (UnicornProbe, bool) {
	if !isUnicornProbe(r) {
		return UnicornProbe{}, false
	}
	return UnicornProbe{key: unicornKey(r), dst: r.Dst.Uint32(), dstPort: r.DstPort}, true
}

// ObserveProbe is Observe for a probe taken from its record by ProbeOf.
func (b *UnicornBook) ObserveProbe(e *UnicornEntry, p UnicornProbe) bool {
	hit := false
	if b.Holds(e) {
		hit = unicornHit(e.key, e.dst, e.dstPort, p.key, p.dst, p.dstPort)
	} else {
		if b.full() {
			b.forget()
		}
		b.n++
		e.gen = b.gen
	}
	e.key, e.dst, e.dstPort = p.key, p.dst, p.dstPort
	return hit
}

// Tagger applies every rule: the stateless ones, and unicornscan with the
// state of each IPv4 source in a table allocated once, by NewTagger, and
// bounded by a UnicornBook. Tag allocates nothing, whatever the number of
// sources. A Tagger is not safe for concurrent use.
type Tagger struct {
	slots []unicornSlot
	shift uint // 32 - log2(len(slots))
	book  UnicornBook
}

// unicornSlot is one source's state in the table, 20 bytes.
type unicornSlot struct {
	src uint32
	e   UnicornEntry
}

// DefaultTaggerSources is the bound NewTagger takes for a maxSources ≤ 0:
// 65,536 sources, 2.5 MiB.
const DefaultTaggerSources = 1 << 16

// NewTagger returns a Tagger that keeps the unicornscan state of up to
// maxSources sources (rounded up to a power of two; DefaultTaggerSources if
// ≤ 0) in 40 bytes each (20-byte slots at a load factor of at most 1/2).
func NewTagger(maxSources int) *Tagger {
	bits := tableBits(maxSources)
	return &Tagger{slots: make([]unicornSlot, 1<<bits), shift: 32 - bits, book: NewUnicornBook(maxSources)}
}

// MaxSources returns the number of sources the Tagger keeps before a reset.
func (t *Tagger) MaxSources() int { return t.book.max }

// Sources returns the number of sources the Tagger keeps now.
func (t *Tagger) Sources() int { return t.book.n }

// Tag sets r.Tags to every tag the rules give it.
func (t *Tagger) Tag(r *record.Record) {
	r.Tags = Tag(r)
	if t.Observe(r) {
		r.Tags |= record.TagUnicornscan
	}
}

// Observe feeds r to the unicornscan rule with its source's state in the
// table, and reports whether r is tagged unicornscan.
func (t *Tagger) Observe(r *record.Record) bool {
	if !isUnicornProbe(r) {
		return false
	}
	src := r.Src.Uint32()
	s := t.slot(src)
	if !t.book.Holds(&s.e) {
		if t.book.full() {
			// Every slot is empty now: the source's is its home slot.
			t.book.forget()
			s = t.slot(src)
		}
		s.src = src
	}
	return t.book.Observe(&s.e, r)
}

// slot returns src's slot, or the empty slot where it belongs (linear
// probing from its Fibonacci hash).
func (t *Tagger) slot(src uint32) *unicornSlot {
	mask := uint32(len(t.slots) - 1)
	for i := (src * 0x9E3779B1) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !t.book.Holds(&s.e) || s.src == src {
			return s
		}
	}
}
