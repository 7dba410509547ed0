package decode

import (
	"encoding/binary"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Limits that bound the work Decode does on hostile input.
const (
	// MaxExtHeaders is the most IPv6 extension headers Decode walks before
	// giving up with TooManyIPv6ExtHeaders. Real packets carry at most a
	// handful; each header is at least 8 bytes, so the walk is bounded by
	// the frame length anyway, this only caps the work per frame.
	MaxExtHeaders = 16
	// MaxMPLSLabels is the deepest MPLS label stack Decode walks; a deeper
	// stack is NonIP.
	MaxMPLSLabels = 16
)

// EtherTypes and other link-layer constants.
const (
	etherTypeIPv4     = 0x0800
	etherTypeIPv6     = 0x86dd
	etherTypeVLAN     = 0x8100 // 802.1Q
	etherTypeQinQ     = 0x88a8 // 802.1ad
	etherTypeQinQOld  = 0x9100 // pre-standard QinQ
	etherTypePPPoE    = 0x8864 // PPPoE session stage
	etherTypeMPLS     = 0x8847
	etherTypeMPLSMult = 0x8848
	etherTypeMaxLen   = 1500 // 802.3: values up to this are a length; an LLC header follows
	sllProtoLLC       = 0x0004

	pppIPv4 = 0x0021
	pppIPv6 = 0x0057

	afInet         = 2
	afInet6BSD     = 24 // NetBSD, OpenBSD, BSD/OS
	afInet6FreeBSD = 28
	afInet6Darwin  = 30
)

// Decode decodes one frame of link type link into rec, overwriting every
// field except rec.Time. It returns OK when rec holds a decoded IP packet,
// otherwise the reason the frame was skipped; after a skip, rec holds
// whatever was decoded before the failure (for example the addresses of a
// packet whose TCP header is truncated) and the rest is zero.
//
// Decode never panics on any input, never allocates and keeps no reference
// to frame: every field of rec is a copy (see the package documentation).
func Decode(link LinkType, frame []byte, rec *record.Record) Reason {
	*rec = record.Record{Time: rec.Time}
	switch link {
	case LinkEthernet:
		if len(frame) < 14 {
			return TruncatedLinkHeader
		}
		if frame[12] == 0x08 && frame[13] == 0x00 { // the common case first
			return decodeIPv4(frame[14:], rec)
		}
		return decodeEtherType(binary.BigEndian.Uint16(frame[12:14]), frame[14:], true, rec)
	case LinkLinuxSLL:
		if len(frame) < 16 {
			return TruncatedLinkHeader
		}
		return decodeEtherType(binary.BigEndian.Uint16(frame[14:16]), frame[16:], false, rec)
	case LinkLinuxSLL2:
		if len(frame) < 20 {
			return TruncatedLinkHeader
		}
		return decodeEtherType(binary.BigEndian.Uint16(frame[0:2]), frame[20:], false, rec)
	case LinkRaw, linkRaw12, linkRaw14:
		return decodeIP(frame, rec)
	case LinkIPv4:
		return decodeIPv4(frame, rec)
	case LinkIPv6:
		return decodeIPv6(frame, rec)
	case LinkNull, LinkLoop:
		if len(frame) < 4 {
			return TruncatedLinkHeader
		}
		fam := binary.BigEndian.Uint32(frame[0:4])
		if link == LinkNull && fam > 0xffff {
			// Host byte order: a little-endian writer puts the small
			// family number in the first byte.
			fam = binary.LittleEndian.Uint32(frame[0:4])
		}
		switch fam {
		case afInet:
			return decodeIPv4(frame[4:], rec)
		case afInet6BSD, afInet6FreeBSD, afInet6Darwin:
			return decodeIPv6(frame[4:], rec)
		}
		return NonIP
	}
	return UnsupportedLinkType
}

// decodeEtherType decodes the payload b of a link header whose protocol
// field is etype, peeling VLAN tags, PPPoE, LLC/SNAP and MPLS. ether says
// the protocol field came from an Ethernet header, where values up to 1500
// are an 802.3 length; in Linux cooked captures only the value 4 announces
// an LLC header.
func decodeEtherType(etype uint16, b []byte, ether bool, rec *record.Record) Reason {
	for {
		switch etype {
		case etherTypeIPv4:
			return decodeIPv4(b, rec)
		case etherTypeIPv6:
			return decodeIPv6(b, rec)
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQOld:
			// Each tag consumes 4 bytes, so the loop ends with the frame.
			if len(b) < 4 {
				return TruncatedLinkHeader
			}
			etype = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		case etherTypePPPoE:
			// ver/type, code, session, length, then the PPP protocol.
			if len(b) < 8 {
				return TruncatedLinkHeader
			}
			if b[0] != 0x11 || b[1] != 0 {
				return NonIP
			}
			switch binary.BigEndian.Uint16(b[6:8]) {
			case pppIPv4:
				return decodeIPv4(b[8:], rec)
			case pppIPv6:
				return decodeIPv6(b[8:], rec)
			}
			return NonIP
		case etherTypeMPLS, etherTypeMPLSMult:
			return decodeMPLS(b, rec)
		default:
			if (ether && etype <= etherTypeMaxLen) || (!ether && etype == sllProtoLLC) {
				// 802.2 LLC; only SNAP with the Ethernet OUI carries an
				// EtherType (RFC 1042).
				if len(b) < 3 {
					return TruncatedLinkHeader
				}
				if b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 {
					return NonIP
				}
				if len(b) < 8 {
					return TruncatedLinkHeader
				}
				if b[3] != 0 || b[4] != 0 || b[5] != 0 {
					return NonIP
				}
				etype = binary.BigEndian.Uint16(b[6:8])
				b = b[8:]
				ether = true
				if etype <= etherTypeMaxLen {
					return NonIP
				}
				continue
			}
			return NonIP
		}
	}
}

// decodeMPLS walks an MPLS label stack to its bottom and decodes an IP
// payload, told apart by its version nibble as routers do. Anything else
// (a pseudowire control word, Ethernet over MPLS) is NonIP.
func decodeMPLS(b []byte, rec *record.Record) Reason {
	for range MaxMPLSLabels {
		if len(b) < 4 {
			return TruncatedLinkHeader
		}
		bottom := b[2]&0x01 != 0
		b = b[4:]
		if !bottom {
			continue
		}
		if len(b) == 0 {
			return TruncatedLinkHeader
		}
		switch b[0] >> 4 {
		case 4:
			return decodeIPv4(b, rec)
		case 6:
			return decodeIPv6(b, rec)
		}
		return NonIP
	}
	return NonIP
}

// decodeIP decodes a raw IP packet of either version.
func decodeIP(b []byte, rec *record.Record) Reason {
	if len(b) == 0 {
		return TruncatedIPHeader
	}
	switch b[0] >> 4 {
	case 4:
		return decodeIPv4(b, rec)
	case 6:
		return decodeIPv6(b, rec)
	}
	return BadIPVersion
}

func decodeIPv4(b []byte, rec *record.Record) Reason {
	if len(b) < 20 {
		return TruncatedIPv4Header
	}
	if b[0]>>4 != 4 {
		return BadIPVersion
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return BadIPv4HeaderLength
	}
	if ihl > len(b) {
		return TruncatedIPv4Header
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total != 0 && total < ihl {
		return BadIPv4TotalLength
	}
	frag := binary.BigEndian.Uint16(b[6:8])
	rec.IPVersion = 4
	rec.IPLen = uint16(total)
	rec.IPID = uint32(binary.BigEndian.Uint16(b[4:6]))
	rec.IPFlags = uint8(frag >> 13)
	rec.FragOffset = frag << 3 // the low 13 bits in 8-byte units; fits in 16 bits
	rec.Fragment = frag&0x3fff != 0
	rec.TTL = b[8]
	rec.Protocol = b[9]
	rec.Src = record.AddrFrom4([4]byte(b[12:16]))
	rec.Dst = record.AddrFrom4([4]byte(b[16:20]))
	if rec.FragOffset != 0 {
		return OK
	}
	// Bound the payload by the total length (dropping Ethernet padding),
	// but accept snaplen truncation: decodeTransport checks what it needs.
	if total != 0 && total < len(b) {
		b = b[:total]
	}
	return fragmentTransport(decodeTransport(b[ihl:], rec), rec)
}

// fragmentTransport turns a truncated transport header in a first fragment
// into a record without a transport header: a tiny first fragment (an
// evasion technique) leaves the rest of the header to the next fragment,
// and is a packet to count, not a malformed one.
// Only a fragment with more to follow (MF) qualifies; an IPv6 atomic
// fragment is a whole packet.
func fragmentTransport(r Reason, rec *record.Record) Reason {
	if rec.IPFlags&record.IPFlagMF != 0 {
		switch r {
		case TruncatedTCPHeader, TruncatedUDPHeader, TruncatedICMPHeader:
			return OK
		}
	}
	return r
}

func decodeIPv6(b []byte, rec *record.Record) Reason {
	if len(b) < 40 {
		return TruncatedIPv6Header
	}
	if b[0]>>4 != 6 {
		return BadIPVersion
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	rec.IPVersion = 6
	rec.IPLen = uint16(min(plen+40, 0xffff))
	rec.TTL = b[7]
	rec.Src = record.AddrFrom16([16]byte(b[8:24]))
	rec.Dst = record.AddrFrom16([16]byte(b[24:40]))
	// A zero payload length is a jumbogram (RFC 2675) or a segmentation
	// offload capture: bound by the captured bytes only.
	if plen != 0 && 40+plen < len(b) {
		b = b[:40+plen]
	}
	next, off, fragAt, r := walkExt(b, b[6], 40)
	rec.Protocol = next
	if fragAt >= 0 {
		fo := binary.BigEndian.Uint16(b[fragAt+2 : fragAt+4])
		rec.Fragment = true
		rec.FragOffset = fo &^ 7
		rec.IPFlags = uint8(fo & 1) // record.IPFlagMF
		rec.IPID = binary.BigEndian.Uint32(b[fragAt+4 : fragAt+8])
	}
	if r != OK || rec.FragOffset != 0 {
		return r
	}
	return fragmentTransport(decodeTransport(b[off:], rec), rec)
}

// walkExt walks the IPv6 extension headers of packet b, starting with
// header type next at offset off. It returns the protocol that follows
// them (ESP and No Next Header end the walk as that protocol), the offset
// of that protocol's header, and the offset of the fragment header (-1 if
// none). A fragment header with a non-zero offset also ends the walk: the
// rest is not the first fragment. On failure next is the header type the
// walk stopped at.
func walkExt(b []byte, next uint8, off int) (uint8, int, int, Reason) {
	fragAt := -1
	for n := 0; ; n++ {
		var hlen int
		switch next {
		case 0, 43, 60, 135, 139, 140, 253, 254:
			// hop-by-hop, routing, destination options, mobility, HIP,
			// shim6, experimental: length in 8-octet units, not counting
			// the first 8.
			if off+2 > len(b) {
				return next, off, fragAt, TruncatedIPv6ExtHeader
			}
			hlen = (int(b[off+1]) + 1) * 8
		case 51:
			// Authentication header: length in 4-octet units, minus 2.
			if off+2 > len(b) {
				return next, off, fragAt, TruncatedIPv6ExtHeader
			}
			hlen = (int(b[off+1]) + 2) * 4
		case 44:
			hlen = 8
		default:
			return next, off, fragAt, OK
		}
		if n >= MaxExtHeaders {
			return next, off, fragAt, TooManyIPv6ExtHeaders
		}
		if off+hlen > len(b) {
			return next, off, fragAt, TruncatedIPv6ExtHeader
		}
		if next == 44 {
			fragAt = off
			next = b[off]
			off += hlen
			if binary.BigEndian.Uint16(b[fragAt+2:fragAt+4])&^7 != 0 {
				return next, off, fragAt, OK
			}
			continue
		}
		next = b[off]
		off += hlen
	}
}

// decodeTransport decodes the transport header b of protocol rec.Protocol.
// Protocols other than TCP, UDP, ICMP and ICMPv6 are recorded without one.
func decodeTransport(b []byte, rec *record.Record) Reason {
	switch rec.Protocol {
	case record.ProtoTCP:
		return decodeTCP(b, rec)
	case record.ProtoUDP:
		if len(b) < 8 {
			return TruncatedUDPHeader
		}
		rec.SrcPort = binary.BigEndian.Uint16(b[0:2])
		rec.DstPort = binary.BigEndian.Uint16(b[2:4])
		rec.HasTransport = true
	case record.ProtoICMP, record.ProtoICMPv6:
		if len(b) < 4 {
			return TruncatedICMPHeader
		}
		typ := b[0]
		rec.SrcPort = uint16(typ)
		rec.DstPort = uint16(b[1])
		rec.HasTransport = true
		if len(b) < 8 {
			return OK
		}
		if rec.Protocol == record.ProtoICMP {
			switch typ {
			case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
				decodeInner4(b[8:], &rec.Inner)
			}
		} else if typ >= 1 && typ <= 4 { // unreachable, too big, time exceeded, parameter problem
			decodeInner6(b[8:], &rec.Inner)
		}
	}
	return OK
}

func decodeTCP(b []byte, rec *record.Record) Reason {
	if len(b) < 20 {
		return TruncatedTCPHeader
	}
	rec.SrcPort = binary.BigEndian.Uint16(b[0:2])
	rec.DstPort = binary.BigEndian.Uint16(b[2:4])
	rec.Seq = binary.BigEndian.Uint32(b[4:8])
	rec.Ack = binary.BigEndian.Uint32(b[8:12])
	rec.TCPFlags = b[13]
	rec.Window = binary.BigEndian.Uint16(b[14:16])
	hlen := int(b[12]>>4) * 4
	if hlen < 20 {
		return BadTCPDataOffset
	}
	rec.HasTransport = true
	if hlen > 20 {
		if hlen <= len(b) {
			decodeOptions(b[20:hlen], &rec.Options)
		} else {
			// The options run past the IP payload or the capture: decode
			// what is there, but the layout is incomplete.
			decodeOptions(b[20:], &rec.Options)
			rec.Options.Malformed = true
		}
	}
	return OK
}

// decodeOptions records the layout of the TCP options in b and the values
// of those the fingerprints use. It stops at EOL and at an option whose
// length is below 2 or runs past b (then o.Malformed is set). A known
// option with an unexpected length stays in the layout but its value is
// not decoded.
// o must be zero on entry; it is filled in place (returning the 32-byte
// struct by value cost a copy per packet: see BenchmarkDecodeEthIPv4TCPSYN).
func decodeOptions(b []byte, o *record.TCPOptions) {
	for i := 0; i < len(b); {
		kind := b[i]
		o.AddKind(kind)
		switch kind {
		case record.OptEOL:
			return
		case record.OptNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			o.Malformed = true
			return
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			o.Malformed = true
			return
		}
		switch {
		case kind == record.OptMSS && l == 4:
			o.MSS = binary.BigEndian.Uint16(b[i+2 : i+4])
			o.HasMSS = true
		case kind == record.OptWScale && l == 3:
			o.WScale = b[i+2]
			o.HasWScale = true
		case kind == record.OptSACKOK && l == 2:
			o.SACKPermitted = true
		case kind == record.OptTimestamp && l == 10:
			o.TSVal = binary.BigEndian.Uint32(b[i+2 : i+6])
			o.TSEcr = binary.BigEndian.Uint32(b[i+6 : i+10])
			o.HasTimestamps = true
		}
		i += l
	}
}

// decodeInner4 decodes the IPv4 header quoted in an ICMP error message and
// the ports of a quoted TCP or UDP header. A quote too short or malformed
// leaves in.Valid false.
func decodeInner4(q []byte, in *record.Inner) {
	if len(q) < 20 || q[0]>>4 != 4 {
		return
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < 20 || ihl > len(q) {
		return
	}
	in.Valid = true
	in.Protocol = q[9]
	in.Src = record.AddrFrom4([4]byte(q[12:16]))
	in.Dst = record.AddrFrom4([4]byte(q[16:20]))
	if binary.BigEndian.Uint16(q[6:8])&0x1fff == 0 {
		innerPorts(q[ihl:], in)
	}
}

// decodeInner6 decodes the IPv6 header quoted in an ICMPv6 error message,
// walks its extension headers as far as the quote allows, and decodes the
// ports of a quoted TCP or UDP header. Protocol is the header type where
// the walk stopped.
func decodeInner6(q []byte, in *record.Inner) {
	if len(q) < 40 || q[0]>>4 != 6 {
		return
	}
	in.Valid = true
	in.Src = record.AddrFrom16([16]byte(q[8:24]))
	in.Dst = record.AddrFrom16([16]byte(q[24:40]))
	next, off, fragAt, r := walkExt(q, q[6], 40)
	in.Protocol = next
	if r != OK || (fragAt >= 0 && binary.BigEndian.Uint16(q[fragAt+2:fragAt+4])&^7 != 0) {
		return
	}
	innerPorts(q[off:], in)
}

func innerPorts(b []byte, in *record.Inner) {
	if (in.Protocol == record.ProtoTCP || in.Protocol == record.ProtoUDP) && len(b) >= 4 {
		in.SrcPort = binary.BigEndian.Uint16(b[0:2])
		in.DstPort = binary.BigEndian.Uint16(b[2:4])
		in.HasPorts = true
	}
}
