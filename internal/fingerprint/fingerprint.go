// Package fingerprint tags packet records with the scanning tool, malware
// family or traffic class their headers betray. Every rule looks at headers
// only (a darknet sees no payload worth the name), cites where it comes from,
// and states its false-positive risk.
//
// Tag is stateless and costs a few comparisons per packet. The unicornscan
// rule needs the previous probe of the same source: a Tagger keeps it in a
// bounded table allocated once, and is what the packet path uses (through
// internal/pipeline); UnicornState is the rule for one source alone (the
// simulator's ground truth).
package fingerprint

import (
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// ZMapIPID is the IP identification ZMap wrote into every probe before
// version 4.1 (src/probe_modules/packet.c: make_ip_header, `htons(54321)`).
const ZMapIPID = 54321

// Tag returns the stateless tags of r: every rule but unicornscan. It is
// on the packet path: one pass over the fields, no allocation.
func Tag(r *record.Record) record.Tags {
	if r.IPVersion == 4 {
		return tag4(r)
	}
	return tag6(r)
}

func tag4(r *record.Record) record.Tags {
	src, dst := r.Src.Uint32(), r.Dst.Uint32()
	var t record.Tags
	// Spoofing signs of the IPv4 header (see isSpoofed for the sources).
	spoofed := src == dst || uint8(src) == 0 || uint8(src) == 255 ||
		r.FragOffset != 0 || r.IPFlags&record.IPFlagReserved != 0
	switch r.Protocol {
	case record.ProtoTCP:
		if r.HasTransport {
			t = tcpTags(r, dst)
			spoofed = spoofed || !normalTCPFlags(r.TCPFlags) || r.SrcPort == 0 || r.DstPort == 0
		}
	case record.ProtoUDP:
		if r.HasTransport {
			if r.IPID == ZMapIPID {
				t |= record.TagZMap
			}
			// DNS responses: corsaro's backscatter filter (UDP source port 53).
			if r.SrcPort == 53 {
				t |= record.TagBackscatter
			}
			spoofed = spoofed || r.SrcPort == 0 || r.DstPort == 0
		}
	case record.ProtoICMP:
		if r.HasTransport {
			if r.IPID == ZMapIPID && r.ICMPType() == 8 {
				t |= record.TagZMap
			}
			if isICMPBackscatter(r.ICMPType()) {
				t |= record.TagBackscatter
			}
		}
	case 41: // IPv6 in IPv4: corsaro counts it as a normal protocol
	default:
		spoofed = true
	}
	if r.TTL >= SpoofedTTL && r.Protocol != record.ProtoICMP && t&(record.TagZMap|record.TagMasscan) == 0 {
		spoofed = true
	}
	if spoofed {
		t |= record.TagSpoofed
	}
	return t
}

func tag6(r *record.Record) record.Tags {
	var t record.Tags
	spoofed := r.Src == r.Dst
	switch r.Protocol {
	case record.ProtoTCP:
		if r.HasTransport {
			t = tcpTags(r, 0)
			spoofed = spoofed || !normalTCPFlags(r.TCPFlags) || r.SrcPort == 0 || r.DstPort == 0
		}
	case record.ProtoUDP:
		if r.HasTransport {
			if r.SrcPort == 53 {
				t |= record.TagBackscatter
			}
			spoofed = spoofed || r.SrcPort == 0 || r.DstPort == 0
		}
	case record.ProtoICMPv6:
		if r.HasTransport && isICMPv6Backscatter(r.ICMPType()) {
			t |= record.TagBackscatter
		}
	default:
		spoofed = true
	}
	if r.TTL >= SpoofedTTL && r.Protocol != record.ProtoICMPv6 {
		spoofed = true
	}
	if spoofed {
		t |= record.TagSpoofed
	}
	return t
}

// tcpTags applies the TCP rules; dst is the IPv4 destination (0 for IPv6).
func tcpTags(r *record.Record, dst uint32) record.Tags {
	if isSYNProbe(r.TCPFlags) {
		t := tcpScanner(r, dst)
		if r.TCPFlags&record.FlagRST != 0 {
			t |= record.TagBackscatter
		}
		return t
	}
	// masscan closes the connections its probes opened with RSTs built by
	// the same template, so they carry the same ID identity (checked on
	// masscan_tcp_0_1000_20190821.pcap); they are masscan's, not backscatter.
	if r.TCPFlags&(record.FlagRST|record.FlagACK|record.FlagSYN) == record.FlagRST && r.IPVersion == 4 && isMasscanID(r, dst) {
		return record.TagMasscan
	}
	if isTCPBackscatter(r.TCPFlags) {
		return record.TagBackscatter
	}
	return 0
}

// isMasscanID checks masscan's identity ip_id == (dst ^ dst_port ^ seq) & 0xffff.
func isMasscanID(r *record.Record, dst uint32) bool {
	return uint16(r.IPID) == uint16(dst^uint32(r.DstPort)^r.Seq)
}

// isSYNProbe reports a connection-opening SYN: SYN set, ACK clear. Scanners
// send these; their replies (SYN-ACK) are backscatter instead.
func isSYNProbe(flags uint8) bool {
	return flags&(record.FlagSYN|record.FlagACK) == record.FlagSYN
}

// tcpScanner applies the TCP SYN scanner rules.
//
// mirai: Mirai's scanner (mirai/bot/scanner.c) sends raw SYNs whose sequence
// number is the destination address (`tcph->seq = iph->daddr`) so that it can
// recognise replies without state. Variants keep this while changing ports
// (23, 2323, 37215, 52869, 8080, ...), so the rule does not look at the port.
// False positives: a random ISN equals the destination with probability 2^-32
// per packet — about one in four billion probes.
//
// zmap: ZMap before 4.1 set IP ID 54321 in every probe. False positives: any
// stack that draws IP IDs uniformly hits 54321 once in 65,536 packets, so on
// a busy telescope a few probes per million are mis-tagged; the tag is
// reliable for sources that show it on many probes, weak for one packet.
// ZMap ≥ 4.1 is not recognised: it takes the IP ID from its per-scan keyed
// validation bytes and copies the option layout of real operating systems
// (--probe-args=windows|linux|bsd), which leaves no header-only mark we found
// with a low false-positive rate.
//
// masscan: masscan (src/templ-pkt.c, tcp_create_packet) sets
// `ip_id = ip_them ^ port_them ^ seqno`, truncated to 16 bits, on its TCP
// probes and on the RSTs with which it closes the connections they opened.
// False positives: 1 in 65,536 for packets with random ID and ISN.
// masscan's UDP probes derive the ID from a keyed syn-cookie and are not
// recognisable; IPv6 probes have no ID.
//
// nmap: nmap's raw SYN scan (-sS) sends window 1024 and a lone MSS option
// (scan_engine_raw.cc). False positives: masscan ≥ 1.3 sends the same window
// and option (templ-pkt.c default template); when masscan's ID identity also
// holds we tag masscan only. Hand-crafted SYNs with these values (hping3 with
// -w 1024 and an MSS option) are also tagged.
func tcpScanner(r *record.Record, dst uint32) record.Tags {
	var t record.Tags
	if r.IPVersion == 4 {
		if r.Seq == dst {
			t |= record.TagMirai
		}
		if r.IPID == ZMapIPID {
			t |= record.TagZMap
		}
		if isMasscanID(r, dst) {
			t |= record.TagMasscan
		}
	}
	if t&record.TagMasscan == 0 && r.Window == 1024 && isMSSOnly(&r.Options) {
		t |= record.TagNmap
	}
	return t
}

func isMSSOnly(o *record.TCPOptions) bool {
	return o.LayoutLen == 1 && !o.LayoutMore && o.Kind(0) == record.OptMSS
}

// isTCPBackscatter: a SYN-ACK or a RST arriving at a telescope answers a
// packet that somebody else sent with our address forged as its source — a
// victim of a spoofed SYN flood replying (Moore et al., "Inferring Internet
// Denial-of-Service Activity", 2006; corsaro's backscatter filter).
// False positives: RSTs also answer scanners that spoofed telescope addresses
// as decoys (nmap -D), which is still backscatter, and stray RSTs of
// long-dead connections if the addresses were recently in use.
func isTCPBackscatter(flags uint8) bool {
	return flags&(record.FlagSYN|record.FlagACK) == record.FlagSYN|record.FlagACK || flags&record.FlagRST != 0
}

// isICMPBackscatter: ICMP replies and errors, the list of corsaro's
// backscatter filter: echo reply (0), destination unreachable (3), source
// quench (4), redirect (5), time exceeded (11), parameter problem (12),
// timestamp reply (14), information reply (16), address mask reply (18).
// The quoted packet of an error (record.Inner) names the attacked service.
// False positives: none known for replies; redirects may be router noise.
func isICMPBackscatter(typ uint8) bool {
	switch typ {
	case 0, 3, 4, 5, 11, 12, 14, 16, 18:
		return true
	}
	return false
}

// isICMPv6Backscatter: the ICMPv6 error messages (RFC 4443: destination
// unreachable 1, packet too big 2, time exceeded 3, parameter problem 4) and
// echo reply (129), by analogy with corsaro's IPv4 list.
func isICMPv6Backscatter(typ uint8) bool {
	switch typ {
	case 1, 2, 3, 4, 129:
		return true
	}
	return false
}

// The spoofed tag applies the spoofing filter of CAIDA's corsaro 3
// (libcorsaro/libcorsaro_filtering.c: _apply_spoofing_filter): traffic whose
// source address is likely forged. A packet is spoofed when any holds:
//   - abnormal protocol: not TCP, UDP, ICMP or IPv6-in-IPv4 (IPv6: not TCP,
//     UDP or ICMPv6), or TCP with a flag combination outside SYN, ACK, RST,
//     FIN, SYN+FIN, SYN+ACK, FIN+ACK, PSH+ACK, FIN+PSH+ACK (URG and the
//     ECN bits aside, as in corsaro; note that corsaro's list has no
//     RST+ACK, so RST-ACK backscatter is tagged spoofed too — kept so that
//     our counts compare with corsaro's);
//   - TTL ≥ 200 and not ICMP — except probes tagged zmap or masscan, which
//     send TTL 255 from their own addresses (the "not masscan"; we
//     extend it to zmap, whose probes corsaro separates with its
//     large-scale-scan filter);
//   - an IPv4 fragment with a non-zero offset, or the reserved flag set
//     (corsaro masks 0x9fff: a first fragment is not counted);
//   - IPv4 source address ending in .0 or .255;
//   - source equals destination;
//   - TCP or UDP source or destination port 0.
//
// False positives: hosts behind many hops with initial TTL 255 (some
// embedded stacks, Solaris), networks that legitimately use .0/.255 host
// addresses in large prefixes, and rare legitimate fragments.
// tag4 and tag6 implement it; SpoofedTTL is its TTL threshold.
const SpoofedTTL = 200

// normalTCPFlags reports the flag combinations corsaro accepts as normal,
// looking at FIN, SYN, RST, PSH, ACK and URG.
func normalTCPFlags(flags uint8) bool { return normalFlagSet>>(flags&0x3f)&1 != 0 }

// normalFlagSet has bit f set for each normal combination f of the low six
// flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20).
const normalFlagSet = 1<<0x02 | 1<<0x10 | 1<<0x04 | 1<<0x01 | 1<<0x03 | 1<<0x12 | 1<<0x11 | 1<<0x18 | 1<<0x19
