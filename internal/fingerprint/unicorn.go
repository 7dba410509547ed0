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
	if r.Protocol != record.ProtoTCP || !r.HasTransport || r.IPVersion != 4 || !isSYNProbe(r.TCPFlags) {
		return false
	}
	dst := r.Dst.Uint32()
	key := r.Seq ^ dst ^ (uint32(r.DstPort)<<16 + uint32(r.SrcPort))
	hit := u.valid && key == u.key && (dst != u.dst || r.DstPort != u.dstPort)
	u.key, u.dst, u.dstPort, u.valid = key, dst, r.DstPort, true
	return hit
}

// Tagger applies every rule, keeping the unicornscan state of each source in
// a map of its own. Memory grows with the number of distinct sources; long
// running users (the sensor) bound it with MaxSources.
type Tagger struct {
	// MaxSources caps the per-source state; when reached, the state is
	// cleared (the next probe of each source starts a new comparison).
	// Zero means no cap.
	MaxSources int
	sources    map[record.Addr]*UnicornState
}

// NewTagger returns a Tagger with the given cap on per-source state.
func NewTagger(maxSources int) *Tagger {
	return &Tagger{MaxSources: maxSources, sources: make(map[record.Addr]*UnicornState)}
}

// Tag sets r.Tags to every tag the rules give it.
func (t *Tagger) Tag(r *record.Record) {
	r.Tags = Tag(r)
	if r.Protocol != record.ProtoTCP || r.IPVersion != 4 {
		return
	}
	u := t.sources[r.Src]
	if u == nil {
		if t.MaxSources > 0 && len(t.sources) >= t.MaxSources {
			clear(t.sources)
		}
		u = new(UnicornState)
		t.sources[r.Src] = u
	}
	if u.Observe(r) {
		r.Tags |= record.TagUnicornscan
	}
}
