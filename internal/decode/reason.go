package decode

import "strconv"

// Reason says why a frame produced no record. OK (0) means a record was
// produced. Every other value is a counted, labelled skip: callers count
// skips per Reason and use Reason.String as the label (a JSON key or a
// metric label value), so the set is small and bounded.
type Reason uint8

// The reasons, in the order Decode meets them from the link layer up.
const (
	// OK: rec holds a decoded IPv4 or IPv6 packet. Protocols other than
	// TCP, UDP, ICMP and ICMPv6, and later IP fragments, are OK records
	// with HasTransport false.
	OK Reason = iota

	// UnsupportedLinkType: Decode does not decode this link type at all;
	// name it with LinkType.String.
	UnsupportedLinkType
	// NonIP: the link layer was decoded and carries something other than
	// IPv4 or IPv6 (ARP, STP, LLC, IPX, LLDP, an unknown loopback family,
	// an MPLS payload that is not IP...).
	NonIP
	// TruncatedLinkHeader: the frame ends inside the link header, a VLAN
	// tag, a PPPoE/PPP header, an LLC/SNAP header or an MPLS label stack.
	TruncatedLinkHeader
	// TruncatedIPHeader: a raw-IP frame too short to hold even the version
	// nibble (empty frame).
	TruncatedIPHeader
	// BadIPVersion: the IP version nibble is not the one the link layer
	// announced (raw links: neither 4 nor 6).
	BadIPVersion
	// TruncatedIPv4Header: fewer than 20 bytes, or fewer than the header
	// length (IHL) says.
	TruncatedIPv4Header
	// BadIPv4HeaderLength: IHL below 5 (a header shorter than 20 bytes).
	BadIPv4HeaderLength
	// BadIPv4TotalLength: a non-zero total length shorter than the header.
	// (A zero total length is accepted as a TCP segmentation offload
	// capture and bounded by the captured bytes, as gopacket and Wireshark
	// do.)
	BadIPv4TotalLength
	// TruncatedIPv6Header: fewer than 40 bytes.
	TruncatedIPv6Header
	// TruncatedIPv6ExtHeader: an IPv6 extension header runs past the
	// payload length or the captured bytes.
	TruncatedIPv6ExtHeader
	// TooManyIPv6ExtHeaders: more than MaxExtHeaders extension headers
	// before the transport header.
	TooManyIPv6ExtHeaders
	// TruncatedTCPHeader: fewer than the 20 bytes of the fixed TCP header
	// inside the IP payload. (In a first fragment, a short transport
	// header is not a skip: the record has HasTransport false.)
	TruncatedTCPHeader
	// BadTCPDataOffset: a TCP data offset below 5 (header shorter than 20
	// bytes).
	BadTCPDataOffset
	// TruncatedUDPHeader: fewer than 8 bytes of UDP header.
	TruncatedUDPHeader
	// TruncatedICMPHeader: fewer than the 4 bytes of ICMP/ICMPv6 type,
	// code and checksum.
	TruncatedICMPHeader

	numReasons
)

var reasonNames = [numReasons]string{
	OK:                     "ok",
	UnsupportedLinkType:    "unsupported-link-type",
	NonIP:                  "non-ip",
	TruncatedLinkHeader:    "truncated-link-header",
	TruncatedIPHeader:      "truncated-ip-header",
	BadIPVersion:           "bad-ip-version",
	TruncatedIPv4Header:    "truncated-ipv4-header",
	BadIPv4HeaderLength:    "bad-ipv4-header-length",
	BadIPv4TotalLength:     "bad-ipv4-total-length",
	TruncatedIPv6Header:    "truncated-ipv6-header",
	TruncatedIPv6ExtHeader: "truncated-ipv6-ext-header",
	TooManyIPv6ExtHeaders:  "too-many-ipv6-ext-headers",
	TruncatedTCPHeader:     "truncated-tcp-header",
	BadTCPDataOffset:       "bad-tcp-data-offset",
	TruncatedUDPHeader:     "truncated-udp-header",
	TruncatedICMPHeader:    "truncated-icmp-header",
}

// String returns the reason's short kebab-case label, e.g.
// "truncated-tcp-header"; "reason-<n>" for a value outside the list.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason-" + strconv.Itoa(int(r))
}

// Reasons lists every Reason, OK first, in declaration order, for callers
// that pre-create one counter per reason.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}
