// Package record defines the packet record: the compact, decoded and tagged
// form of one packet that arrived at a darknet sensor. Every stage after
// decoding (fingerprinting, aggregation, transport, storage) works on records,
// never on raw frames.
package record

import (
	"strconv"
)

// IP protocol numbers the rest of Nightjar names.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// IPv4 flag bits (the top three bits of the fragment field, shifted down).
const (
	IPFlagMF       uint8 = 0x1
	IPFlagDF       uint8 = 0x2
	IPFlagReserved uint8 = 0x4 // the "evil bit"; corsaro counts it as a spoofing sign
)

// TCP flag bits, as in the TCP header's flags byte.
const (
	FlagFIN uint8 = 0x01
	FlagSYN uint8 = 0x02
	FlagRST uint8 = 0x04
	FlagPSH uint8 = 0x08
	FlagACK uint8 = 0x10
	FlagURG uint8 = 0x20
	FlagECE uint8 = 0x40
	FlagCWR uint8 = 0x80
)

// Record is one decoded packet. It holds no reference to the frame it was
// decoded from, so it may be kept after the frame buffer is reused.
//
// For ICMP and ICMPv6, SrcPort holds the type and DstPort the code (the
// convention of CAIDA's corsaro). For ICMP error messages, Inner describes
// the quoted packet that caused the error.
type Record struct {
	Time int64 // capture time, nanoseconds since the Unix epoch (UTC)

	Src, Dst  Addr
	IPVersion uint8  // 4 or 6
	Protocol  uint8  // IP protocol number of the transport header (after IPv6 extension headers)
	TTL       uint8  // IPv4 TTL or IPv6 hop limit
	IPID      uint32 // IPv4 identification; IPv6 fragment identification, else 0
	IPLen     uint16 // IPv4 total length; IPv6 payload length + 40
	IPFlags   uint8  // IPv4 flags: IPFlagReserved, IPFlagDF, IPFlagMF; IPv6: IPFlagMF from a fragment header

	// Fragment is set for any IP fragment (IPv4 MF or offset, IPv6 fragment
	// header). FragOffset is in bytes. Only the first fragment (offset 0)
	// carries a transport header; later ones have HasTransport false.
	Fragment     bool
	FragOffset   uint16
	HasTransport bool // the transport header was present and decoded

	SrcPort, DstPort uint16 // TCP/UDP ports; ICMP type (SrcPort) and code (DstPort)

	// TCP fields; zero for other protocols.
	TCPFlags uint8
	Seq, Ack uint32
	Window   uint16
	Options  TCPOptions

	Inner Inner // quoted packet of an ICMP/ICMPv6 error message

	Tags Tags

	// Origin is set by the enrich stage (internal/enrich), after tagging;
	// a sensor's records travel without it.
	Origin Origin
}

// ICMPType returns the ICMP/ICMPv6 type of an ICMP record.
func (r *Record) ICMPType() uint8 { return uint8(r.SrcPort) }

// ICMPCode returns the ICMP/ICMPv6 code of an ICMP record.
func (r *Record) ICMPCode() uint8 { return uint8(r.DstPort) }

// IsICMP reports whether the record is ICMP or ICMPv6.
func (r *Record) IsICMP() bool { return r.Protocol == ProtoICMP || r.Protocol == ProtoICMPv6 }

// Inner is the header of the packet quoted in an ICMP error message
// (destination unreachable, time exceeded, parameter problem, source quench,
// packet too big). At a telescope, the quoted packet is the one the attacked
// host received with our address forged as its source: its destination and
// port name the attacked service.
type Inner struct {
	Valid            bool // an inner IP header was found and decoded
	Src, Dst         Addr
	Protocol         uint8
	SrcPort, DstPort uint16 // zero when the quote is too short to hold them
	HasPorts         bool
}

// TCPOptions holds the TCP options the fingerprints and reports use, and the
// order in which the options appeared (the "layout").
type TCPOptions struct {
	// Layout holds the option kinds in order, the first in the lowest byte,
	// up to MaxLayout options; LayoutLen counts them and LayoutMore says
	// that more options followed.
	Layout     uint64
	LayoutLen  uint8
	LayoutMore bool

	MSS           uint16
	WScale        uint8
	HasMSS        bool
	HasWScale     bool
	SACKPermitted bool
	HasTimestamps bool
	TSVal, TSEcr  uint32
	Malformed     bool // an option's length ran past the header; parsing stopped there
}

// MaxLayout is the number of option kinds TCPOptions.Layout can hold.
const MaxLayout = 8

// TCP option kinds (IANA).
const (
	OptEOL       uint8 = 0
	OptNOP       uint8 = 1
	OptMSS       uint8 = 2
	OptWScale    uint8 = 3
	OptSACKOK    uint8 = 4
	OptSACK      uint8 = 5
	OptTimestamp uint8 = 8
)

// AddKind appends an option kind to the layout.
func (o *TCPOptions) AddKind(kind uint8) {
	if o.LayoutLen >= MaxLayout {
		o.LayoutMore = true
		return
	}
	o.Layout |= uint64(kind) << (8 * o.LayoutLen)
	o.LayoutLen++
}

// Kind returns the i-th option kind of the layout.
func (o *TCPOptions) Kind(i int) uint8 { return uint8(o.Layout >> (8 * i)) }

// Signature returns the option layout as text, e.g. "mss,nop,ws,sok,ts";
// "" when the segment had no options. Options beyond MaxLayout appear as a
// trailing "...". This allocates: call it when presenting, not per packet.
func (o *TCPOptions) Signature() string {
	if o.LayoutLen == 0 && !o.LayoutMore {
		return ""
	}
	b := make([]byte, 0, 32)
	for i := 0; i < int(o.LayoutLen); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOptName(b, o.Kind(i))
	}
	if o.LayoutMore {
		b = append(b, ",..."...)
	}
	return string(b)
}

func appendOptName(b []byte, kind uint8) []byte {
	switch kind {
	case OptEOL:
		return append(b, "eol"...)
	case OptNOP:
		return append(b, "nop"...)
	case OptMSS:
		return append(b, "mss"...)
	case OptWScale:
		return append(b, "ws"...)
	case OptSACKOK:
		return append(b, "sok"...)
	case OptSACK:
		return append(b, "sack"...)
	case OptTimestamp:
		return append(b, "ts"...)
	default:
		return strconv.AppendUint(append(b, 'o'), uint64(kind), 10)
	}
}

// ProtocolName names an IP protocol the way reports do ("TCP", "ICMPv6"),
// or "IP-<n>" for protocols without a common name here.
func ProtocolName(proto uint8) string {
	switch proto {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoICMP:
		return "ICMP"
	case ProtoICMPv6:
		return "ICMPv6"
	case 2:
		return "IGMP"
	case 4:
		return "IPIP"
	case 41:
		return "IPv6-in-IP"
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 51:
		return "AH"
	case 89:
		return "OSPF"
	case 103:
		return "PIM"
	case 112:
		return "VRRP"
	case 132:
		return "SCTP"
	default:
		return "IP-" + strconv.Itoa(int(proto))
	}
}

// PortKey identifies a destination "port" the way monitoring reports count
// them: protocol plus destination port for TCP and UDP, the protocol alone
// otherwise. It is a small comparable value, cheap as a map key.
type PortKey struct {
	Protocol uint8
	Port     uint16
	HasPort  bool
}

// Key returns the record's PortKey. TCP and UDP packets without a transport
// header (later IP fragments) have no port and count under the protocol alone.
func (r *Record) Key() PortKey {
	if (r.Protocol == ProtoTCP || r.Protocol == ProtoUDP) && r.HasTransport {
		return PortKey{Protocol: r.Protocol, Port: r.DstPort, HasPort: true}
	}
	return PortKey{Protocol: r.Protocol}
}

// Label returns the report label: "23/TCP", "53/UDP", "ICMP", "ICMPv6",
// or the protocol name for other protocols and for port-less fragments.
func (k PortKey) Label() string {
	if k.HasPort {
		return strconv.Itoa(int(k.Port)) + "/" + ProtocolName(k.Protocol)
	}
	return ProtocolName(k.Protocol)
}

// PortLabel is shorthand for r.Key().Label().
func (r *Record) PortLabel() string { return r.Key().Label() }
