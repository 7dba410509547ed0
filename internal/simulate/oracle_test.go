package simulate

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// This file is the test oracle: it decodes the written frames with
// gopacket, checks their checksums, and recomputes the truth with its own
// implementation of the tag rules (written from the rule table of the
// fingerprint package's specification, not from rules.go).

// frame is what the oracle learns from one decoded frame.
type frame struct {
	ts        int64
	src, dst  netip.Addr
	v6        bool
	proto     uint8
	ttl       uint8
	ipID      uint16
	evil      bool
	fragOff   uint16
	transport bool
	sport     uint16
	dport     uint16
	tcp       *layers.TCP
	icmpType  uint8
	label     string
	// set by recountCapture when it keeps the frames
	sensor int
	tags   record.Tags
}

// decodeFrame decodes and checks one Ethernet frame.
func decodeFrame(ts int64, data []byte) (*frame, error) {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	f := &frame{ts: ts}
	var netLayer gopacket.NetworkLayer
	if l := pkt.Layer(layers.LayerTypeIPv4); l != nil {
		ip := l.(*layers.IPv4)
		if err, res := ip.VerifyChecksum(); err != nil || !res.Valid {
			return nil, fmt.Errorf("IPv4 checksum: %v %+v", err, res)
		}
		if int(ip.Length) != len(data)-ethLen {
			return nil, fmt.Errorf("IPv4 length %d, frame carries %d", ip.Length, len(data)-ethLen)
		}
		f.src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		f.dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		f.proto, f.ttl, f.ipID = uint8(ip.Protocol), ip.TTL, ip.Id
		f.evil = ip.Flags&layers.IPv4EvilBit != 0
		f.fragOff = ip.FragOffset * 8
		netLayer = ip
	} else if l := pkt.Layer(layers.LayerTypeIPv6); l != nil {
		ip := l.(*layers.IPv6)
		if int(ip.Length) != len(data)-ethLen-ipv6Len {
			return nil, fmt.Errorf("IPv6 length %d, frame carries %d", ip.Length, len(data)-ethLen-ipv6Len)
		}
		f.v6 = true
		f.src, _ = netip.AddrFromSlice(ip.SrcIP)
		f.dst, _ = netip.AddrFromSlice(ip.DstIP)
		f.proto, f.ttl = uint8(ip.NextHeader), ip.HopLimit
		netLayer = ip
	} else {
		return nil, fmt.Errorf("no IP layer: %v", pkt)
	}
	f.transport = f.fragOff == 0
	switch {
	case !f.transport:
		if pkt.Layer(gopacket.LayerTypeFragment) == nil {
			return nil, fmt.Errorf("fragment not decoded as one: %v", pkt)
		}
		f.label = record.ProtocolName(f.proto)
	case f.proto == uint8(layers.IPProtocolTCP):
		l := pkt.Layer(layers.LayerTypeTCP)
		if l == nil {
			return nil, fmt.Errorf("no TCP layer: %v", pkt)
		}
		t := l.(*layers.TCP)
		t.SetNetworkLayerForChecksum(netLayer)
		if err, res := t.VerifyChecksum(); err != nil || !res.Valid {
			return nil, fmt.Errorf("TCP checksum: %v %+v", err, res)
		}
		f.tcp, f.sport, f.dport = t, uint16(t.SrcPort), uint16(t.DstPort)
		f.label = fmt.Sprintf("%d/TCP", f.dport)
	case f.proto == uint8(layers.IPProtocolUDP):
		l := pkt.Layer(layers.LayerTypeUDP)
		if l == nil {
			return nil, fmt.Errorf("no UDP layer: %v", pkt)
		}
		u := l.(*layers.UDP)
		u.SetNetworkLayerForChecksum(netLayer)
		// A computed UDP checksum of 0 is sent as 0xffff (RFC 768), which
		// gopacket does not equate with 0.
		if err, res := u.VerifyChecksum(); err != nil || u.Checksum == 0 || !res.Valid && !(res.Actual == 0xffff && res.Correct == 0) {
			return nil, fmt.Errorf("UDP checksum: %v %+v", err, res)
		}
		if int(u.Length) != len(u.Contents)+len(u.Payload) {
			return nil, fmt.Errorf("UDP length %d, datagram is %d", u.Length, len(u.Contents)+len(u.Payload))
		}
		f.sport, f.dport = uint16(u.SrcPort), uint16(u.DstPort)
		f.label = fmt.Sprintf("%d/UDP", f.dport)
	case f.proto == uint8(layers.IPProtocolICMPv4):
		l := pkt.Layer(layers.LayerTypeICMPv4)
		if l == nil {
			return nil, fmt.Errorf("no ICMP layer: %v", pkt)
		}
		c := l.(*layers.ICMPv4)
		if err, res := c.VerifyChecksum(); err != nil || !res.Valid {
			return nil, fmt.Errorf("ICMP checksum: %v %+v", err, res)
		}
		f.icmpType = c.TypeCode.Type()
		if t := f.icmpType; t == 3 || t == 11 {
			if err := checkQuote4(c.Payload, f.dst); err != nil {
				return nil, err
			}
		}
		f.label = "ICMP"
	case f.proto == uint8(layers.IPProtocolICMPv6):
		l := pkt.Layer(layers.LayerTypeICMPv6)
		if l == nil {
			return nil, fmt.Errorf("no ICMPv6 layer: %v", pkt)
		}
		c := l.(*layers.ICMPv6)
		c.SetNetworkLayerForChecksum(netLayer)
		if err, res := c.VerifyChecksum(); err != nil || !res.Valid {
			return nil, fmt.Errorf("ICMPv6 checksum: %v %+v", err, res)
		}
		f.icmpType = c.TypeCode.Type()
		f.label = "ICMPv6"
	case f.proto == uint8(layers.IPProtocolGRE):
		if pkt.Layer(layers.LayerTypeGRE) == nil {
			return nil, fmt.Errorf("no GRE layer: %v", pkt)
		}
		f.label = "GRE"
	default:
		return nil, fmt.Errorf("unexpected protocol %d", f.proto)
	}
	// Failures past the transport header (application payloads gopacket
	// tries to parse) are not the simulator's concern; earlier ones are.
	if e := pkt.ErrorLayer(); e != nil && f.label == "" {
		return nil, fmt.Errorf("decode: %v", e.Error())
	}
	return f, nil
}

// checkQuote4 checks the IPv4 header quoted by an ICMP error: valid
// checksum, and our address as its (forged) source.
func checkQuote4(payload []byte, us netip.Addr) error {
	// gopacket's ICMPv4 header holds the 4 unused bytes (as Id and Seq):
	// the payload is the quoted header and 8 bytes of its transport header.
	if len(payload) < 20+8 {
		return fmt.Errorf("ICMP error quote too short: %d bytes", len(payload))
	}
	q := payload
	var ip layers.IPv4
	if err := ip.DecodeFromBytes(q, gopacket.NilDecodeFeedback); err != nil {
		return fmt.Errorf("quoted IPv4: %w", err)
	}
	if err, res := ip.VerifyChecksum(); err != nil || !res.Valid {
		return fmt.Errorf("quoted IPv4 checksum: %v %+v", err, res)
	}
	if src, _ := netip.AddrFromSlice(ip.SrcIP.To4()); src != us {
		return fmt.Errorf("quoted source %s, want our address %s", src, us)
	}
	return nil
}

func u32(a netip.Addr) uint32 { return binary.BigEndian.Uint32(a.AsSlice()) }

// oracleTags applies the rule table to a decoded frame; prev is the
// source's unicornscan memory.
func oracleTags(f *frame, prev *oracleUni) record.Tags {
	var t record.Tags
	tcp := f.tcp
	synOnly := tcp != nil && tcp.SYN && !tcp.ACK
	if synOnly && !f.v6 {
		dst := u32(f.dst)
		if tcp.Seq == dst {
			t |= record.TagMirai
		}
		if f.ipID == 54321 {
			t |= record.TagZMap
		}
		if f.ipID == uint16((dst^uint32(tcp.DstPort)^tcp.Seq)&0xffff) {
			t |= record.TagMasscan
		}
		k := tcp.Seq ^ dst ^ ((uint32(tcp.DstPort) << 16) + uint32(tcp.SrcPort))
		if prev.valid && prev.k == k && (prev.dst != dst || prev.port != uint16(tcp.DstPort)) {
			t |= record.TagUnicornscan
		}
		*prev = oracleUni{valid: true, k: k, dst: dst, port: uint16(tcp.DstPort)}
	}
	if !f.v6 && f.ipID == 54321 && f.transport && (f.proto == 17 || f.proto == 1 && f.icmpType == 8) {
		t |= record.TagZMap
	}
	if synOnly && t&record.TagMasscan == 0 && tcp.Window == 1024 && len(tcp.Options) == 1 && tcp.Options[0].OptionType == layers.TCPOptionKindMSS {
		t |= record.TagNmap
	}
	// masscan's own RSTs carry its ID identity and are masscan's, not backscatter.
	masscanRST := tcp != nil && tcp.RST && !tcp.SYN && !tcp.ACK && !f.v6 &&
		f.ipID == uint16((u32(f.dst)^uint32(tcp.DstPort)^tcp.Seq)&0xffff)
	if masscanRST {
		t |= record.TagMasscan
	} else if tcp != nil && (tcp.SYN && tcp.ACK || tcp.RST) {
		t |= record.TagBackscatter
	}
	if f.proto == 1 && f.transport && slices.Contains([]uint8{0, 3, 4, 5, 11, 12, 14, 16, 18}, f.icmpType) {
		t |= record.TagBackscatter
	}
	if f.proto == 58 && slices.Contains([]uint8{1, 2, 3, 4, 129}, f.icmpType) {
		t |= record.TagBackscatter
	}
	if f.proto == 17 && f.transport && f.sport == 53 {
		t |= record.TagBackscatter
	}
	// spoofed, after corsaro
	spoof := false
	if f.v6 {
		spoof = f.proto != 6 && f.proto != 17 && f.proto != 58
	} else {
		spoof = f.proto != 6 && f.proto != 17 && f.proto != 1 && f.proto != 41
	}
	if tcp != nil {
		var fl uint8
		for _, x := range []struct {
			set bool
			bit uint8
		}{{tcp.FIN, 1}, {tcp.SYN, 2}, {tcp.RST, 4}, {tcp.PSH, 8}, {tcp.ACK, 16}, {tcp.URG, 32}} {
			if x.set {
				fl |= x.bit
			}
		}
		if !slices.Contains([]uint8{2, 16, 4, 1, 3, 18, 17, 24, 25}, fl) {
			spoof = true
		}
	}
	isICMP := f.proto == 1 || f.proto == 58
	if f.ttl >= 200 && !isICMP && t&(record.TagZMap|record.TagMasscan) == 0 {
		spoof = true
	}
	if !f.v6 {
		if f.fragOff != 0 || f.evil {
			spoof = true
		}
		if last := f.src.As4()[3]; last == 0 || last == 255 {
			spoof = true
		}
	}
	if f.src == f.dst {
		spoof = true
	}
	if (f.proto == 6 || f.proto == 17) && f.transport && (f.sport == 0 || f.dport == 0) {
		spoof = true
	}
	if spoof {
		t |= record.TagSpoofed
	}
	return t
}

type oracleUni struct {
	valid bool
	k     uint32
	dst   uint32
	port  uint16
}

// recount is the truth rebuilt from the capture.
type recount struct {
	truth     *Truth
	frames    []*frame // kept only when asked
	hourOfDay [24]uint64
	v6        uint64
	uni       map[netip.Addr]*oracleUni
	reached   map[netip.Addr]map[int]bool
}

// recountCapture decodes every frame of a capture and rebuilds the truth.
func recountCapture(pcap []byte, f *fleet.Fleet, start, end time.Time, keep bool) (*recount, error) {
	m := fleet.NewMatcher(f)
	rc := &recount{
		truth:   &Truth{Tags: map[string]uint64{}, Groups: map[string]GroupTruth{}, Sensors: map[string]*SensorTruth{}, Sources: map[string]*SourceTruth{}},
		uni:     map[netip.Addr]*oracleUni{},
		reached: map[netip.Addr]map[int]bool{},
	}
	for _, s := range f.Sensors {
		rc.truth.Sensors[s.Name] = &SensorTruth{Group: s.Group, Ports: map[string]uint64{}, Months: map[string]uint64{}, Tags: map[string]uint64{}}
		g := rc.truth.Groups[s.Group]
		g.Sensors++
		rc.truth.Groups[s.Group] = g
	}
	var last int64
	err := readPcap(pcap, func(ts int64, data []byte) error {
		n := rc.truth.Packets
		if ts < last {
			return fmt.Errorf("packet %d at %d is before the previous one at %d", n, ts, last)
		}
		last = ts
		if ts < start.UnixNano() || ts >= end.UnixNano() {
			return fmt.Errorf("packet %d at %s is outside [%s, %s)", n, time.Unix(0, ts).UTC(), start, end)
		}
		fr, err := decodeFrame(ts, data)
		if err != nil {
			return fmt.Errorf("packet %d: %w\n%s", n, err, gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default).Dump())
		}
		si := m.Lookup(fr.dst)
		if si < 0 {
			return fmt.Errorf("packet %d: destination %s is no sensor's", n, fr.dst)
		}
		if want := sensorMAC(si + 1); [6]byte(data[0:6]) != want {
			return fmt.Errorf("packet %d: destination MAC % x, want % x", n, data[0:6], want)
		}
		u := rc.uni[fr.src]
		if u == nil {
			u = &oracleUni{}
			rc.uni[fr.src] = u
		}
		tags := oracleTags(fr, u)
		rc.truth.Packets++
		if fr.v6 {
			rc.v6++
		}
		rc.hourOfDay[time.Unix(0, ts).UTC().Hour()]++
		sen := &f.Sensors[si]
		st := rc.truth.Sensors[sen.Name]
		st.Packets++
		st.Ports[fr.label]++
		month := time.Unix(0, ts).UTC().Format("2006-01")
		st.Months[month]++
		for _, name := range tags.Names() {
			st.Tags[name]++
			rc.truth.Tags[name]++
		}
		g := rc.truth.Groups[sen.Group]
		g.Packets++
		rc.truth.Groups[sen.Group] = g
		src := rc.truth.Sources[fr.src.String()]
		if src == nil {
			src = &SourceTruth{TagPackets: map[string]uint64{}, Months: map[string]SourceCount{}}
			rc.truth.Sources[fr.src.String()] = src
			rc.reached[fr.src] = map[int]bool{}
		}
		src.Packets++
		inMonth := src.Months[month]
		inMonth.Packets++
		if inMonth.TagPackets == nil {
			inMonth.TagPackets = map[string]uint64{}
		}
		for _, name := range tags.Names() {
			src.TagPackets[name]++
			inMonth.TagPackets[name]++
		}
		src.Months[month] = inMonth
		rc.reached[fr.src][si] = true
		if keep {
			fr.tcp, fr.sensor, fr.tags = nil, si, tags
			rc.frames = append(rc.frames, fr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for a, reached := range rc.reached {
		s := rc.truth.Sources[a.String()]
		s.Tags = oracleSourceTags(s.Packets, s.TagPackets)
		s.Sensors = len(reached)
	}
	return rc, nil
}

// oracleSourceTags is a source's tag set by the evidence rules
// (fingerprint.SourceEvidence), from its packets and its packets per tag
// name, sorted by name.
func oracleSourceTags(packets uint64, tagPackets map[string]uint64) []string {
	tags := []string{}
	for _, tag := range record.AllTags() {
		if n := tagPackets[tag.String()]; n > 0 && fingerprint.SourceEvidence(tag.Index()).Holds(n, packets) {
			tags = append(tags, tag.String())
		}
	}
	slices.Sort(tags)
	return tags
}
