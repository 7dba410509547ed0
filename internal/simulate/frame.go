package simulate

import "encoding/binary"

// IP protocol numbers.
const (
	protoICMP   uint8 = 1
	protoTCP    uint8 = 6
	protoUDP    uint8 = 17
	protoGRE    uint8 = 47
	protoICMPv6 uint8 = 58
)

// TCP option layouts the simulator writes.
const (
	optNone    uint8 = iota
	optMSS           // "mss": nmap, masscan >= 1.3
	optLinux         // "mss,sok,ts,nop,ws": Linux connect()
	optWindows       // "mss,nop,ws,nop,nop,sok": Windows connect()
)

// pkt holds the header fields of one packet before it is encoded. IPv4
// addresses are uint32 in host order; IPv6 ones are in src6/dst6.
type pkt struct {
	v6         bool
	src, dst   uint32
	src6, dst6 [16]byte
	flow       uint32 // IPv6 flow label

	proto   uint8
	ttl     uint8
	id      uint16 // IPv4 identification
	ipFlags uint8  // record.IPFlag* bits
	fragOff uint16 // bytes, a multiple of 8; non-zero means no transport header

	sport, dport uint16
	flags        uint8 // TCP flags
	seq, ack     uint32
	window       uint16
	opts         uint8 // opt* layout
	mss          uint16
	wscale       uint8
	tsval        uint32

	icmpType, icmpCode uint8
	icmpID, icmpSeq    uint16

	payload []byte // UDP, ICMP echo, GRE or fragment payload; not owned
	inner   inner  // quoted packet of an ICMP error, or GRE's inner packet
}

// inner is the packet quoted by an ICMP error: the packet a DoS victim (or
// a router on its path) received with our address forged as its source.
type inner struct {
	src, dst     uint32
	src6, dst6   [16]byte
	proto        uint8
	ttl          uint8
	id           uint16
	sport, dport uint16
	seq          uint32 // TCP sequence number
	plen         uint16 // payload length of the original packet
	ucsum        uint16 // UDP checksum of the original datagram
}

// Link-layer addresses. Frames arrive from the sensor's upstream router,
// shown with the IANA VRRP virtual-router MAC 00:00:5e:00:01:01, and go to
// the sensor's NIC, a locally administered address ending in the sensor's
// index.
var gatewayMAC = [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x01}

func sensorMAC(i int) [6]byte { return [6]byte{0x02, 0x4e, 0x4a, byte(i >> 16), byte(i >> 8), byte(i)} }

const (
	ethLen     = 14
	ipv4Len    = 20
	ipv6Len    = 40
	maxFrame   = 1600
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	linkTypeEN = 1 // LINKTYPE_ETHERNET
)

// encode writes p as an Ethernet frame into b (at least maxFrame bytes) and
// returns the frame length. Every checksum is valid.
func encode(b []byte, p *pkt, dmac [6]byte) int {
	copy(b[0:6], dmac[:])
	copy(b[6:12], gatewayMAC[:])
	if p.v6 {
		binary.BigEndian.PutUint16(b[12:], etherIPv6)
		ip := b[ethLen:]
		n := encodeL4(ip[ipv6Len:], p)
		ip[0] = 0x60 | byte(p.flow>>16&0x0f)
		ip[1] = byte(p.flow >> 8)
		ip[2] = byte(p.flow)
		ip[3] = 0
		binary.BigEndian.PutUint16(ip[4:], uint16(n))
		ip[6] = p.proto
		ip[7] = p.ttl
		copy(ip[8:24], p.src6[:])
		copy(ip[24:40], p.dst6[:])
		l4 := ip[ipv6Len : ipv6Len+n]
		switch p.proto {
		case protoTCP, protoUDP, protoICMPv6:
			putL4Csum(l4, p.proto, pseudo6(&p.src6, &p.dst6, p.proto, n))
		}
		return ethLen + ipv6Len + n
	}
	binary.BigEndian.PutUint16(b[12:], etherIPv4)
	ip := b[ethLen:]
	var n int
	if p.fragOff != 0 {
		n = copy(ip[ipv4Len:], p.payload)
	} else {
		n = encodeL4(ip[ipv4Len:], p)
	}
	putIPv4(ip, p.src, p.dst, p.proto, p.ttl, p.id, p.ipFlags, p.fragOff, ipv4Len+n)
	if p.fragOff == 0 {
		l4 := ip[ipv4Len : ipv4Len+n]
		switch p.proto {
		case protoTCP, protoUDP:
			putL4Csum(l4, p.proto, pseudo4(p.src, p.dst, p.proto, n))
		case protoICMP:
			putL4Csum(l4, p.proto, 0)
		}
	}
	return ethLen + ipv4Len + n
}

// putL4Csum stores the transport checksum of l4, given the pseudo-header
// sum (0 for ICMP). A UDP checksum of zero is sent as 0xffff (RFC 768).
func putL4Csum(l4 []byte, proto uint8, sum uint32) {
	c := csumFinish(csumAdd(sum, l4))
	switch proto {
	case protoTCP:
		binary.BigEndian.PutUint16(l4[16:], c)
	case protoUDP:
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[6:], c)
	default:
		binary.BigEndian.PutUint16(l4[2:], c)
	}
}

// putIPv4 writes a 20-byte IPv4 header with its checksum.
func putIPv4(ip []byte, src, dst uint32, proto, ttl uint8, id uint16, flags uint8, fragOff uint16, total int) {
	ip[0] = 0x45
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], uint16(flags)<<13|fragOff>>3)
	ip[8] = ttl
	ip[9] = proto
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint32(ip[12:], src)
	binary.BigEndian.PutUint32(ip[16:], dst)
	binary.BigEndian.PutUint16(ip[10:], csumFinish(csumAdd(0, ip[:ipv4Len])))
}

// encodeL4 writes the transport header and payload, checksum zero, and
// returns its length.
func encodeL4(b []byte, p *pkt) int {
	switch p.proto {
	case protoTCP:
		return encodeTCP(b, p)
	case protoUDP:
		n := 8 + copy(b[8:], p.payload)
		binary.BigEndian.PutUint16(b[0:], p.sport)
		binary.BigEndian.PutUint16(b[2:], p.dport)
		binary.BigEndian.PutUint16(b[4:], uint16(n))
		b[6], b[7] = 0, 0
		return n
	case protoICMP, protoICMPv6:
		b[0], b[1], b[2], b[3] = p.icmpType, p.icmpCode, 0, 0
		switch p.icmpType {
		case 0, 8, 128, 129: // echo
			binary.BigEndian.PutUint16(b[4:], p.icmpID)
			binary.BigEndian.PutUint16(b[6:], p.icmpSeq)
			return 8 + copy(b[8:], p.payload)
		}
		b[4], b[5], b[6], b[7] = 0, 0, 0, 0 // unused / next-hop MTU
		return 8 + encodeQuote(b[8:], p)
	case protoGRE:
		// GRE (RFC 2784) carrying an IPv4 echo request: a tunnel keepalive
		// or misconfigured tunnel endpoint.
		b[0], b[1] = 0, 0
		binary.BigEndian.PutUint16(b[2:], etherIPv4)
		q := &p.inner
		in := b[4:]
		icmp := in[ipv4Len:]
		icmp[0], icmp[1], icmp[2], icmp[3] = 8, 0, 0, 0
		binary.BigEndian.PutUint16(icmp[4:], q.sport)
		binary.BigEndian.PutUint16(icmp[6:], q.dport)
		binary.BigEndian.PutUint16(icmp[2:], csumFinish(csumAdd(0, icmp[:8])))
		putIPv4(in, q.src, q.dst, protoICMP, q.ttl, q.id, 0, 0, ipv4Len+8)
		return 4 + ipv4Len + 8
	}
	return copy(b, p.payload)
}

// encodeQuote writes the quoted packet of an ICMP error: its IP header and
// the first 8 bytes of its transport header (RFC 792, RFC 4443).
func encodeQuote(b []byte, p *pkt) int {
	q := &p.inner
	hl := ipv4Len
	if p.v6 {
		hl = ipv6Len
	}
	l4 := b[hl:]
	binary.BigEndian.PutUint16(l4[0:], q.sport)
	binary.BigEndian.PutUint16(l4[2:], q.dport)
	l4Len := 8 + int(q.plen)
	if q.proto == protoTCP {
		binary.BigEndian.PutUint32(l4[4:], q.seq)
		l4Len += 12
	} else { // UDP length and checksum of the original datagram
		binary.BigEndian.PutUint16(l4[4:], uint16(l4Len))
		binary.BigEndian.PutUint16(l4[6:], q.ucsum)
	}
	origLen := hl + l4Len
	if p.v6 {
		b[0], b[1], b[2], b[3] = 0x60, 0, 0, 0
		binary.BigEndian.PutUint16(b[4:], uint16(l4Len))
		b[6] = q.proto
		b[7] = q.ttl
		copy(b[8:24], q.src6[:])
		copy(b[24:40], q.dst6[:])
	} else {
		putIPv4(b, q.src, q.dst, q.proto, q.ttl, q.id, 0, 0, origLen)
	}
	return hl + 8
}

func encodeTCP(b []byte, p *pkt) int {
	binary.BigEndian.PutUint16(b[0:], p.sport)
	binary.BigEndian.PutUint16(b[2:], p.dport)
	binary.BigEndian.PutUint32(b[4:], p.seq)
	binary.BigEndian.PutUint32(b[8:], p.ack)
	o := b[20:]
	var n int
	switch p.opts {
	case optMSS:
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], p.mss)
		n = 4
	case optLinux: // mss,sok,ts,nop,ws
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], p.mss)
		o[4], o[5] = 4, 2
		o[6], o[7] = 8, 10
		binary.BigEndian.PutUint32(o[8:], p.tsval)
		binary.BigEndian.PutUint32(o[12:], 0)
		o[16] = 1
		o[17], o[18], o[19] = 3, 3, p.wscale
		n = 20
	case optWindows: // mss,nop,ws,nop,nop,sok
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], p.mss)
		o[4] = 1
		o[5], o[6], o[7] = 3, 3, p.wscale
		o[8], o[9] = 1, 1
		o[10], o[11] = 4, 2
		n = 12
	}
	hl := 20 + n
	b[12] = byte(hl/4) << 4
	b[13] = p.flags
	binary.BigEndian.PutUint16(b[14:], p.window)
	b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	return hl
}

// Internet checksum (RFC 1071).

func csumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 8 {
		sum += uint32(binary.BigEndian.Uint16(b)) + uint32(binary.BigEndian.Uint16(b[2:])) +
			uint32(binary.BigEndian.Uint16(b[4:])) + uint32(binary.BigEndian.Uint16(b[6:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func csumFinish(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func pseudo4(src, dst uint32, proto uint8, n int) uint32 {
	return src>>16 + src&0xffff + dst>>16 + dst&0xffff + uint32(proto) + uint32(n)
}

func pseudo6(src, dst *[16]byte, proto uint8, n int) uint32 {
	sum := csumAdd(0, src[:])
	sum = csumAdd(sum, dst[:])
	return sum + uint32(proto) + uint32(n)
}
