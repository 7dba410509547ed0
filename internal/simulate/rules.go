package simulate

import (
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// kind is a traffic class of the simulator: what a source is, which decides
// every header it sends. It is the generator's intent; the tags are what the
// fingerprint rules make of the headers.
type kind uint8

const (
	kindMirai kind = iota
	kindZMap
	kindMasscan
	kindNmap
	kindUnicornscan
	kindScan
	kindICMP
	kindUDP
	kindBackscatter
	kindSpoofed
	kindIPv6
	numKinds
)

var kindNames = [numKinds]string{"mirai", "zmap", "masscan", "nmap", "unicornscan", "scan", "icmp", "udp", "backscatter", "spoofed", "ipv6"}

func (k kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind?"
}

// tagsOf returns the tags package fingerprint gives p — the same code that
// tags real captures, so that the truth cannot drift from it — with
// unicornscan decided against uni, the source's rule state, which is
// returned updated as if p were sent. The generator redraws random fields
// until the tags are the ones it intends; tests check the result against an
// independent implementation of the rules on the decoded frames.
func tagsOf(p *pkt, uni fingerprint.UnicornState) (record.Tags, fingerprint.UnicornState) {
	var rec record.Record
	p.toRecord(&rec)
	tags := fingerprint.Tag(&rec)
	if uni.Observe(&rec) {
		tags |= record.TagUnicornscan
	}
	return tags, uni
}

// toRecord fills rec with the header fields the fingerprint rules read, as
// the decoder would from the encoded frame.
func (p *pkt) toRecord(rec *record.Record) {
	*rec = record.Record{
		Protocol: p.proto, TTL: p.ttl, IPID: uint32(p.id), IPFlags: p.ipFlags,
		FragOffset: p.fragOff, Fragment: p.fragOff != 0 || p.ipFlags&record.IPFlagMF != 0,
		SrcPort: p.sport, DstPort: p.dport,
		TCPFlags: p.flags, Seq: p.seq, Ack: p.ack, Window: p.window,
	}
	if p.v6 {
		rec.IPVersion = 6
		rec.Src, rec.Dst = record.AddrFrom16(p.src6), record.AddrFrom16(p.dst6)
	} else {
		rec.IPVersion = 4
		rec.Src, rec.Dst = record.AddrFromUint32(p.src), record.AddrFromUint32(p.dst)
	}
	switch p.proto {
	case protoTCP, protoUDP:
		rec.HasTransport = p.fragOff == 0
	case protoICMP, protoICMPv6:
		rec.HasTransport = p.fragOff == 0
		rec.SrcPort, rec.DstPort = uint16(p.icmpType), uint16(p.icmpCode)
	}
	if p.proto != protoTCP {
		return
	}
	var kinds []uint8
	switch p.opts {
	case optMSS:
		kinds = optKindsMSS
	case optLinux:
		kinds = optKindsLinux
	case optWindows:
		kinds = optKindsWindows
	}
	for _, k := range kinds {
		rec.Options.AddKind(k)
	}
}

var (
	optKindsMSS     = []uint8{record.OptMSS}
	optKindsLinux   = []uint8{record.OptMSS, record.OptSACKOK, record.OptTimestamp, record.OptNOP, record.OptWScale}
	optKindsWindows = []uint8{record.OptMSS, record.OptNOP, record.OptWScale, record.OptNOP, record.OptNOP, record.OptSACKOK}
)
