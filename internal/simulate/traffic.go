package simulate

import (
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Variants of the classes.
const (
	// Mirai
	miraiClassic uint8 = iota // 23 (90%) and 2323 (10%), as mirai/bot/scanner.c
	miraiVariant              // later variants: 37215 (Huawei HG532), 52869 (Realtek UPnP), 8080
	miraiPort                 // a variant spreading to a new port, ports[0] (EventMiraiSpread)
)

const (
	zmapTCP uint8 = iota
	zmapICMP
	zmapUDP
)

const (
	masscanClassic uint8 = iota // no TCP options (masscan < 1.3)
	masscanMSS                  // masscan >= 1.3: window 1024 and an MSS option, like nmap
)

const (
	osLinux uint8 = iota
	osWindows
	osBare // raw-socket tools: no options
)

const (
	bsSynAck uint8 = iota
	bsRst
	bsRstAck
	bsEchoReply
	bsUnreach
	bsTimeExceeded
	bsDNS
	numBackscatter
)

// Backscatter variant shares: SYN floods dominate (Moore et al. 2006).
var bsShares = []weighted{{uint16(bsSynAck), 45}, {uint16(bsRst), 15}, {uint16(bsRstAck), 5}, {uint16(bsEchoReply), 10}, {uint16(bsUnreach), 12}, {uint16(bsTimeExceeded), 5}, {uint16(bsDNS), 8}}

const (
	spOctet uint8 = iota // source address ending in .0 or .255
	spTTL                // TTL >= 200 on a TCP SYN of no known tool
	spFlags              // NULL, Xmas, FIN+URG, SYN+URG
	spProto              // GRE
	spFrag               // later IPv4 fragment
	spEvil               // IPv4 reserved ("evil") bit
	spLand               // source == destination
	spPort0              // port 0
	numSpoofed
)

const (
	v6Syn uint8 = iota
	v6Echo
	v6UDP
	v6Backscatter
)

var v6Shares = []weighted{{uint16(v6Syn), 60}, {uint16(v6Echo), 20}, {uint16(v6UDP), 8}, {uint16(v6Backscatter), 12}}

// initSource draws a new source's address, scope and fixed behaviour.
func (w *world) initSource(s *source, r *rng) error {
	k := s.kind
	prof := profiles[k]
	hops := uint8(4 + r.intn(25))
	s.key = r.u32()
	s.wscale = uint8(r.between(2, 8))
	s.sport = ephemeral(r)
	switch k {
	case kindMirai:
		// mirai/bot/scanner.c: TTL 64, no options, window and source
		// port drawn at random.
		s.ttl = 64 - hops
		s.window = r.u16() | 1
		if r.chance(0.2) {
			s.variant = miraiVariant
		}
	case kindZMap:
		// ZMap (src/probe_modules/packet.c): TTL 255, window 65535, no
		// options, IP ID 54321; one port per scan.
		s.ttl = 255 - hops
		s.window = 65535
		switch x := r.float(); {
		case x < 0.8:
			s.variant = zmapTCP
			s.ports[0], s.nports = w.zmapTCP.draw(r), 1
		case x < 0.9:
			s.variant = zmapICMP
		default:
			s.variant = zmapUDP
			s.ports[0], s.nports = []uint16{53, 123, 161, 1900}[r.intn(4)], 1
		}
	case kindMasscan:
		// masscan (src/templ-pkt.c): TTL 255, window 1024, a fixed source
		// port, a few ports per scan.
		s.ttl = 255 - hops
		s.window = 1024
		if r.chance(0.5) {
			s.variant = masscanMSS
		}
		s.nports = uint8(r.between(2, 4))
		w.drawPorts(s, r, w.tcp)
	case kindNmap:
		// nmap -sS (scan_engine_raw.cc): window 1024, one MSS option,
		// TTL drawn in 37..64 at the sender.
		s.ttl = uint8(r.between(37, 64)) - hops/4
		s.window = 1024
	case kindUnicornscan:
		s.ttl = 64 - hops
		s.window = 4096
		s.sweep = uint16(r.intn(65535))
	case kindScan:
		w.drawOS(s, r, hops)
		if r.chance(0.7) {
			s.nports = uint8(r.between(1, 4))
			w.drawPorts(s, r, w.tcp)
		}
	case kindICMP:
		w.drawOS(s, r, hops)
	case kindUDP:
		w.drawOS(s, r, hops)
		s.nports = uint8(r.between(1, 3))
		w.drawPorts(s, r, w.udp)
	case kindBackscatter:
		s.variant = drawWeighted(r, bsShares)
		w.drawOS(s, r, hops)
		if s.os == osBare {
			s.os = osLinux
		}
		switch s.variant {
		case bsSynAck, bsRst, bsRstAck:
			s.ports[0], s.nports = w.bsPorts.draw(r), 1
		case bsUnreach, bsTimeExceeded, bsEchoReply:
			if r.chance(0.5) { // from a router on the victim's path
				s.ttl = 255 - hops
			}
			s.ports[0], s.nports = []uint16{53, 123, 80, 443, 27015}[r.intn(5)], 1
		}
	case kindSpoofed:
		s.variant = uint8(r.intn(int(numSpoofed)))
		w.drawOS(s, r, hops)
		switch s.variant {
		case spTTL:
			s.ttl = 255 - uint8(r.between(5, 50))
		case spLand:
			s.ports[0], s.nports = []uint16{139, 445, 80, 23}[r.intn(4)], 1
		}
	case kindIPv6:
		s.v6 = true
		s.variant = drawWeighted(r, v6Shares)
		w.drawOS(s, r, hops)
		if s.os == osBare {
			s.os = osLinux
		}
	}
	w.drawScope(s, r, prof)
	if s.kind == kindSpoofed && s.variant == spLand {
		if !w.landAddress(s, r) {
			s.variant = spTTL
			s.ttl = 255 - uint8(r.between(5, 50))
		} else {
			return nil
		}
	}
	if s.v6 {
		a := w.randomSource6(r)
		w.used6[a] = true
		s.addr = uint32(len(w.addr6))
		w.addr6 = append(w.addr6, a)
		return nil
	}
	edge := s.kind == kindSpoofed && s.variant == spOctet
	s.addr = w.randomSource4(r, edge, true)
	w.used4[s.addr] = true
	return nil
}

// drawOS gives a source the TCP/IP stack of Linux (TTL 64, options
// "mss,sok,ts,nop,ws", window 64240), Windows (TTL 128, "mss,nop,ws,nop,nop,sok",
// window 64240 or 8192, incrementing IP ID) or a raw-socket tool (TTL 64,
// no options).
func (w *world) drawOS(s *source, r *rng, hops uint8) {
	switch x := r.float(); {
	case x < 0.55:
		s.os, s.ttl = osLinux, 64-hops
		s.window = []uint16{64240, 29200, 65535}[r.intn(3)]
	case x < 0.85:
		s.os, s.ttl = osWindows, 128-hops
		s.window = []uint16{64240, 8192}[r.intn(2)]
	default:
		s.os, s.ttl = osBare, 64-hops
		s.window = []uint16{5840, 14600, 29200, 65535}[r.intn(4)]
	}
}

func (w *world) drawPorts(s *source, r *rng, t *table) {
	for i := 0; i < int(s.nports); i++ {
		s.ports[i] = t.draw(r)
	}
}

func drawWeighted(r *rng, ws []weighted) uint8 {
	var sum float64
	for _, x := range ws {
		sum += x.weight
	}
	x := r.float() * sum
	for _, c := range ws {
		if x < c.weight {
			return uint8(c.port)
		}
		x -= c.weight
	}
	return uint8(ws[len(ws)-1].port)
}

func (w *world) drawScope(s *source, r *rng, prof kindProfile) {
	all := prof.allSensors
	if all < 0 {
		all = w.cfg.AllSensorsShare
	}
	if s.v6 {
		if r.chance(all) {
			s.scope = scopeAll
		} else {
			s.scope, s.target = scopeOne, int16(w.v6Sensors[w.v6all.pick(r)])
		}
		return
	}
	switch {
	case r.chance(all):
		s.scope = scopeAll
	case len(w.groups) > 1 && r.intn(3) == 0:
		// a group, chosen as the group of a sensor drawn by weight
		s.scope = scopeGroup
		s.target = int16(w.sensors[w.v4Sensors[w.v4all.pick(r)]].groupIdx)
	default:
		s.scope, s.target = scopeOne, int16(w.v4Sensors[w.v4all.pick(r)])
	}
}

// landAddress makes s a LAND-style source: one of a sensor's addresses as
// both source and destination. It reports false when no unused address was
// found.
func (w *world) landAddress(s *source, r *rng) bool {
	si := w.v4Sensors[w.v4all.pick(r)]
	sen := &w.sensors[si]
	for range 16 {
		q := sen.v4[sen.v4pick.pick(r)]
		a := q.base | r.u32()&q.hostMask
		if !w.used4[a] {
			s.scope, s.target, s.addr = scopeOne, int16(si), a
			w.used4[a] = true
			return true
		}
	}
	return false
}

// randomSource4 draws a public unicast IPv4 address outside the reserved
// ranges and the fleet's prefixes, whose last octet is 0 or 255 when edge is
// set and never otherwise, and that no other source has when fresh is set.
func (w *world) randomSource4(r *rng, edge, fresh bool) uint32 {
	for {
		a := r.u32()
		if edge {
			a = a&^0xff | uint32(r.intn(2))*0xff
		} else if lo := a & 0xff; lo == 0 || lo == 255 {
			continue
		}
		if w.excluded4(a) || fresh && w.used4[a] {
			continue
		}
		return a
	}
}

func (w *world) excluded4(a uint32) bool {
	for _, p := range w.excl4 {
		if p.contains(a) {
			return true
		}
	}
	return false
}

// randomSource6 draws a global unicast IPv6 address (2000::/3) outside the
// reserved ranges and the fleet's prefixes.
func (w *world) randomSource6(r *rng) [16]byte {
	for {
		var a [16]byte
		x, y := r.u64(), r.u64()
		for i := range 8 {
			a[i] = byte(x >> (56 - 8*i))
			a[8+i] = byte(y >> (56 - 8*i))
		}
		a[0] = 0x20 | a[0]&0x1f
		if w.used6[a] {
			continue
		}
		bad := false
		for i := range w.excl6 {
			if w.excl6[i].contains(&a) {
				bad = true
				break
			}
		}
		if !bad {
			return a
		}
	}
}

// fill draws the header fields of the next packet of s (addresses are
// already in p) and returns the tags the packet is meant to carry.
func (g *generator) fill(s *source, p *pkt) record.Tags {
	r := g.r
	w := g.w
	p.ttl = s.ttl
	switch s.kind {
	case kindMirai:
		p.proto, p.flags = protoTCP, record.FlagSYN
		p.id, p.sport = r.u16(), r.u16()
		p.seq = p.dst // mirai/bot/scanner.c: tcph->seq = iph->daddr
		p.window = s.window
		switch s.variant {
		case miraiClassic:
			p.dport = 23
			if r.intn(10) == 0 {
				p.dport = 2323
			}
		case miraiVariant:
			p.dport = []uint16{23, 23, 23, 23, 23, 23, 23, 2323, 37215, 37215, 52869, 8080}[r.intn(12)]
		default:
			p.dport = s.ports[0]
		}
		return record.TagMirai
	case kindZMap:
		p.id = fingerprint.ZMapIPID
		switch s.variant {
		case zmapTCP:
			p.proto, p.flags = protoTCP, record.FlagSYN
			p.sport = uint16(32768 + r.intn(61000-32768))
			p.dport = s.ports[0]
			p.seq = r.u32()
			p.window = s.window
		case zmapICMP:
			p.proto, p.icmpType = protoICMP, 8
			p.icmpID, p.icmpSeq = r.u16(), r.u16()
		default:
			p.proto = protoUDP
			p.sport = uint16(32768 + r.intn(61000-32768))
			p.dport = s.ports[0]
			p.payload = udpPayloads[p.dport]
		}
		return record.TagZMap
	case kindMasscan:
		p.proto, p.flags = protoTCP, record.FlagSYN
		p.sport = s.sport
		p.dport = s.ports[r.intn(int(s.nports))]
		p.seq = r.u32()
		p.id = uint16(p.dst ^ uint32(p.dport) ^ p.seq) // templ-pkt.c: ip_id = ip_them ^ port_them ^ seqno
		p.window = s.window
		if s.variant == masscanMSS {
			p.opts, p.mss = optMSS, 1460
		}
		return record.TagMasscan
	case kindNmap:
		p.proto, p.flags = protoTCP, record.FlagSYN
		p.sport = s.sport
		if r.chance(0.3) {
			p.dport = randomPort(r)
		} else {
			p.dport = w.tcp.draw(r)
		}
		p.seq, p.id = r.u32(), r.u16()
		p.window = 1024
		p.opts, p.mss = optMSS, 1460
		return record.TagNmap
	case kindUnicornscan:
		p.proto, p.flags = protoTCP, record.FlagSYN
		s.sweep = (s.sweep + 1) % 65535
		p.dport = 1 + s.sweep
		p.sport = ephemeral(r)
		p.seq = s.key ^ p.dst ^ (uint32(p.dport)<<16 + uint32(p.sport))
		p.id = r.u16()
		p.window = s.window
		// The rule needs the source's previous probe as captured: a
		// probe an outage dropped does not count.
		if s.uni != (fingerprint.UnicornState{}) {
			return record.TagUnicornscan
		}
		return 0
	case kindScan:
		g.syn(s, p)
		p.dport = g.scanPort(s)
		return 0
	case kindICMP:
		g.echo(s, p)
		return 0
	case kindUDP:
		p.proto = protoUDP
		g.ipID(s, p)
		p.sport = ephemeral(r)
		p.dport = s.ports[r.intn(int(s.nports))]
		p.payload = udpPayloads[p.dport]
		return 0
	case kindBackscatter:
		return g.backscatter(s, p)
	case kindSpoofed:
		g.spoofed(s, p)
		return record.TagSpoofed
	case kindIPv6:
		return g.ipv6(s, p)
	}
	return 0
}

// syn fills an ordinary TCP SYN of the source's stack.
func (g *generator) syn(s *source, p *pkt) {
	r := g.r
	p.proto, p.flags = protoTCP, record.FlagSYN
	p.seq = r.u32()
	p.window = s.window
	g.ipID(s, p)
	switch s.os {
	case osLinux:
		p.sport = uint16(32768 + r.intn(61000-32768))
		p.opts = optLinux
		p.ipFlags = record.IPFlagDF
	case osWindows:
		p.sport = uint16(49152 + r.intn(65536-49152))
		p.opts = optWindows
		p.ipFlags = record.IPFlagDF
	default:
		p.sport = ephemeral(r)
	}
	p.mss, p.wscale = 1460, s.wscale
	if p.v6 {
		p.mss -= 20
	}
	p.tsval = g.tsval(s)
}

// tsval is the TCP timestamp of the source's stack: a millisecond clock
// with a per-host random offset (Linux, RFC 7323).
func (g *generator) tsval(s *source) uint32 { return s.key + uint32(g.ts/1e6) }

// ipID sets a random IP ID, or the next one of the source's counter for
// Windows stacks.
func (g *generator) ipID(s *source, p *pkt) {
	if s.os == osWindows {
		// Windows: one counter for every packet the host sends, of
		// which we see a few; it grows between our packets.
		p.id = uint16(s.key>>16) + uint16(s.packets)*37 + uint16(g.r.intn(32))
		return
	}
	p.id = g.r.u16()
}

func (g *generator) scanPort(s *source) uint16 {
	if s.nports > 0 {
		return s.ports[g.r.intn(int(s.nports))]
	}
	if g.r.chance(tailShare) {
		return randomPort(g.r)
	}
	return g.w.tcp.draw(g.r)
}

func (g *generator) echo(s *source, p *pkt) {
	p.proto, p.icmpType = protoICMP, 8
	if p.v6 {
		p.proto, p.icmpType = protoICMPv6, 128
	}
	g.ipID(s, p)
	// ping: one identifier per process, sequence numbers counting up
	p.icmpID, p.icmpSeq = uint16(s.key), uint16(s.key>>16)+uint16(s.packets)
	p.payload = pingLinux
	if s.os == osWindows {
		p.payload = pingWindows
	}
}

func (g *generator) backscatter(s *source, p *pkt) record.Tags {
	r := g.r
	g.ipID(s, p)
	want := record.TagBackscatter
	switch s.variant {
	case bsSynAck, bsRst, bsRstAck:
		p.proto = protoTCP
		p.sport = s.ports[0]
		p.dport = ephemeral(r) // the port the attacker forged
		p.seq = r.u32()
		switch s.variant {
		case bsSynAck:
			p.flags = record.FlagSYN | record.FlagACK
			p.ack = r.u32()
			p.window = s.window
			p.opts, p.mss, p.wscale = s.os+optLinux-osLinux, 1460, s.wscale
			p.tsval = g.tsval(s)
		case bsRst:
			p.flags = record.FlagRST
		default:
			// RST+ACK, the reply of a closed port; corsaro's flag list
			// does not include it, so it is tagged spoofed as well.
			p.flags = record.FlagRST | record.FlagACK
			p.ack = r.u32()
			want |= record.TagSpoofed
		}
	case bsEchoReply:
		p.proto, p.icmpType = protoICMP, 0
		p.icmpID, p.icmpSeq = r.u16(), r.u16()
		p.payload = pingLinux
	case bsUnreach, bsTimeExceeded:
		p.proto = protoICMP
		q := &p.inner
		q.src = p.dst // the forged source: us
		q.id = r.u16()
		q.ttl = uint8(r.between(30, 60))
		q.sport = ephemeral(r)
		q.dport = s.ports[0]
		q.proto = protoUDP
		q.plen = uint16(r.between(0, 64))
		q.ucsum = r.u16()
		if s.variant == bsTimeExceeded {
			p.icmpType, p.icmpCode = 11, 0
			q.ttl = 1
			q.proto, q.seq, q.plen = protoTCP, r.u32(), 0
			q.dst = g.w.randomSource4(r, false, false)
		} else if s.ttl > 128 { // a router: host unreachable / prohibited
			p.icmpType, p.icmpCode = 3, []uint8{1, 13}[r.intn(2)]
			q.dst = g.w.randomSource4(r, false, false)
		} else { // the victim itself: port unreachable
			p.icmpType, p.icmpCode = 3, 3
			q.dst = s.addr
		}
	default: // bsDNS
		p.proto = protoUDP
		p.sport, p.dport = 53, ephemeral(r)
		p.payload = dnsResponse
	}
	return want
}

func (g *generator) spoofed(s *source, p *pkt) {
	r := g.r
	switch s.variant {
	case spOctet, spTTL, spEvil:
		g.syn(s, p)
		p.dport = g.w.tcp.draw(r)
		if s.variant == spEvil {
			p.ipFlags |= record.IPFlagReserved
		}
	case spLand:
		g.syn(s, p)
		p.opts = optNone
		p.dport = s.ports[0]
	case spPort0:
		if r.chance(0.7) {
			g.syn(s, p)
		} else {
			p.proto = protoUDP
			g.ipID(s, p)
			p.sport = ephemeral(r)
		}
		p.dport = 0
	case spFlags:
		p.proto = protoTCP
		p.flags = []uint8{0, record.FlagFIN | record.FlagPSH | record.FlagURG, record.FlagFIN | record.FlagURG, record.FlagSYN | record.FlagURG}[r.intn(4)]
		p.sport, p.dport = ephemeral(r), g.w.tcp.draw(r)
		p.seq, p.id = r.u32(), r.u16()
		p.window = s.window
	case spProto:
		p.proto = protoGRE
		p.id = r.u16()
		q := &p.inner
		q.src, q.dst = p.dst, s.addr // a GRE keepalive bounced back
		q.ttl, q.id = 255, r.u16()
		q.sport, q.dport = r.u16(), r.u16() // echo ID and sequence
	case spFrag:
		p.proto = protoUDP
		p.id = r.u16()
		p.fragOff = uint16(8 * r.between(1, 185))
		if r.chance(0.5) {
			p.ipFlags = record.IPFlagMF
		}
		p.payload = fragmentPayload[:8*r.between(1, 4)]
	}
}

func (g *generator) ipv6(s *source, p *pkt) record.Tags {
	r := g.r
	p.flow = s.key & 0xfffff
	switch s.variant {
	case v6Syn:
		g.syn(s, p)
		p.dport = g.scanPort(s)
		return 0
	case v6Echo:
		g.echo(s, p)
		return 0
	case v6UDP:
		p.proto = protoUDP
		p.sport = ephemeral(r)
		p.dport = g.w.udp.draw(r)
		p.payload = udpPayloads[p.dport]
		return 0
	}
	switch x := r.intn(4); x {
	case 0, 1:
		p.proto, p.icmpType = protoICMPv6, 129
		p.icmpID, p.icmpSeq = r.u16(), r.u16()
		p.payload = pingLinux
	case 2:
		p.proto, p.icmpType, p.icmpCode = protoICMPv6, 1, 4 // port unreachable
		q := &p.inner
		q.src6, q.dst6 = p.dst6, g.w.addr6[s.addr]
		q.proto, q.ttl = protoUDP, uint8(r.between(30, 60))
		q.sport, q.dport = ephemeral(r), 53
		q.plen, q.ucsum = uint16(r.between(0, 64)), r.u16()
	default:
		p.proto = protoTCP
		p.flags = record.FlagSYN | record.FlagACK
		p.sport, p.dport = []uint16{80, 443}[r.intn(2)], ephemeral(r)
		p.seq, p.ack = r.u32(), r.u32()
		p.window = s.window
		p.opts, p.mss, p.wscale = s.os+optLinux-osLinux, 1440, s.wscale
	}
	return record.TagBackscatter
}
