package decode

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// oracleFields are the fields compared with gopacket's decoding.
type oracleFields struct {
	Src, Dst         string
	Protocol, TTL    uint8
	IPID             uint32
	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	OptionSignature  string
	OptionMalformed  bool
	HasTransport     bool
	Inner            record.Inner
}

func ourFields(rec *record.Record) oracleFields {
	f := oracleFields{
		Src: rec.Src.String(), Dst: rec.Dst.String(), Protocol: rec.Protocol, TTL: rec.TTL,
		SrcPort: rec.SrcPort, DstPort: rec.DstPort, TCPFlags: rec.TCPFlags,
		Seq: rec.Seq, Ack: rec.Ack, Window: rec.Window, HasTransport: rec.HasTransport,
		OptionSignature: rec.Options.Signature(), OptionMalformed: rec.Options.Malformed,
		Inner: rec.Inner,
	}
	if rec.IPVersion == 4 {
		f.IPID = rec.IPID
	}
	return f
}

// gopacketFields returns the oracle fields of a packet gopacket decoded
// cleanly as link, IPv4/IPv6 (with extension headers), then TCP, UDP,
// ICMPv4 or ICMPv6; ok is false for any other packet.
func gopacketFields(p gopacket.Packet) (f oracleFields, ok bool) {
	if p.ErrorLayer() != nil || p.Metadata().Truncated {
		return f, false
	}
	ls := p.Layers()
	i := 0
	for i < len(ls) {
		t := ls[i].LayerType()
		if t == layers.LayerTypeIPv4 || t == layers.LayerTypeIPv6 {
			break
		}
		i++
	}
	if i == len(ls) {
		return f, false
	}
	switch ip := ls[i].(type) {
	case *layers.IPv4:
		f.Src, f.Dst, f.TTL, f.IPID = ip.SrcIP.String(), ip.DstIP.String(), ip.TTL, uint32(ip.Id)
	case *layers.IPv6:
		f.Src, f.Dst, f.TTL = ip.SrcIP.String(), ip.DstIP.String(), ip.HopLimit
	}
	for i++; i < len(ls); i++ {
		switch ls[i].LayerType() {
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination,
			layers.LayerTypeIPSecAH:
			continue
		case layers.LayerTypeIPv6Fragment:
			if ls[i].(*layers.IPv6Fragment).FragmentOffset != 0 {
				return f, false
			}
			continue
		}
		break
	}
	if i == len(ls) {
		return f, false
	}
	f.HasTransport = true
	switch l := ls[i].(type) {
	case *layers.TCP:
		f.Protocol = record.ProtoTCP
		f.SrcPort, f.DstPort, f.Seq, f.Ack, f.Window = uint16(l.SrcPort), uint16(l.DstPort), l.Seq, l.Ack, l.Window
		for _, b := range []struct {
			set  bool
			flag uint8
		}{
			{l.FIN, record.FlagFIN}, {l.SYN, record.FlagSYN}, {l.RST, record.FlagRST}, {l.PSH, record.FlagPSH},
			{l.ACK, record.FlagACK}, {l.URG, record.FlagURG}, {l.ECE, record.FlagECE}, {l.CWR, record.FlagCWR},
		} {
			if b.set {
				f.TCPFlags |= b.flag
			}
		}
		var o record.TCPOptions
		for _, opt := range l.Options {
			o.AddKind(uint8(opt.OptionType))
		}
		f.OptionSignature = o.Signature()
	case *layers.UDP:
		f.Protocol = record.ProtoUDP
		f.SrcPort, f.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
	case *layers.ICMPv4:
		f.Protocol = record.ProtoICMP
		f.SrcPort, f.DstPort = uint16(l.TypeCode.Type()), uint16(l.TypeCode.Code())
		switch l.TypeCode.Type() {
		case 3, 4, 5, 11, 12:
			f.Inner = gopacketInner4(l.Payload)
		}
	case *layers.ICMPv6:
		f.Protocol = record.ProtoICMPv6
		f.SrcPort, f.DstPort = uint16(l.TypeCode.Type()), uint16(l.TypeCode.Code())
		if t := l.TypeCode.Type(); t >= 1 && t <= 4 && len(l.Payload) >= 4 {
			f.Inner = gopacketInner6(l.Payload[4:])
		}
	default:
		return f, false
	}
	return f, true
}

// gopacketInner4 decodes the IPv4 header quoted by an ICMP error with
// gopacket, and the ports after it.
func gopacketInner4(q []byte) record.Inner {
	var ip layers.IPv4
	if len(q) < 20 || q[0]>>4 != 4 || ip.DecodeFromBytes(q, gopacket.NilDecodeFeedback) != nil {
		return record.Inner{}
	}
	in := record.Inner{Valid: true, Protocol: uint8(ip.Protocol)}
	in.Src = record.AddrFrom4([4]byte(ip.SrcIP.To4()))
	in.Dst = record.AddrFrom4([4]byte(ip.DstIP.To4()))
	hl := int(ip.IHL) * 4
	if ip.FragOffset == 0 && (in.Protocol == record.ProtoTCP || in.Protocol == record.ProtoUDP) && len(q) >= hl+4 {
		in.SrcPort, in.DstPort, in.HasPorts = binary.BigEndian.Uint16(q[hl:]), binary.BigEndian.Uint16(q[hl+2:]), true
	}
	return in
}

// gopacketInner6 decodes the IPv6 header quoted by an ICMPv6 error with
// gopacket, and the ports of a TCP or UDP header right after it; ok is
// false when extension headers follow (gopacket does not walk them here).
func gopacketInner6(q []byte) record.Inner {
	var ip layers.IPv6
	if len(q) < 40 || q[0]>>4 != 6 || ip.DecodeFromBytes(q, gopacket.NilDecodeFeedback) != nil {
		return record.Inner{}
	}
	in := record.Inner{Valid: true, Protocol: uint8(ip.NextHeader)}
	in.Src = record.AddrFrom16([16]byte(ip.SrcIP.To16()))
	in.Dst = record.AddrFrom16([16]byte(ip.DstIP.To16()))
	if (in.Protocol == record.ProtoTCP || in.Protocol == record.ProtoUDP) && len(q) >= 44 {
		in.SrcPort, in.DstPort, in.HasPorts = binary.BigEndian.Uint16(q[40:]), binary.BigEndian.Uint16(q[42:]), true
	}
	return in
}

func gopacketLinkType(l LinkType) layers.LinkType {
	if l == linkRaw12 || l == linkRaw14 {
		return layers.LinkTypeRaw
	}
	return layers.LinkType(l)
}

// TestDecodeGopacketOracle decodes every frame of the corpus and compares
// our fields with gopacket's wherever gopacket decodes an IPv4/IPv6 packet
// with a TCP, UDP, ICMPv4 or ICMPv6 header cleanly.
func TestDecodeGopacketOracle(t *testing.T) {
	files := append(corpusFiles(t, "tcpdump-tests"), corpusFiles(t, "scanners")...)
	var frames, compared, inners, unsupported, badVersion, mismatched int
	for _, path := range files {
		fs, _ := readFrames(t, path)
		for n, fr := range fs {
			frames++
			var rec record.Record
			reason := Decode(fr.link, fr.data, &rec) // must not panic
			if !fr.link.Supported() {
				unsupported++
				continue
			}
			p := gopacket.NewPacket(fr.data, gopacketLinkType(fr.link), gopacket.DecodeOptions{NoCopy: true})
			want, ok := gopacketFields(p)
			if !ok {
				continue
			}
			compared++
			if want.Inner.Valid {
				inners++
			}
			if reason == BadIPVersion {
				// gopacket does not check the IPv6 version nibble
				// (ipv6-bad-version.pcap); we, tcpdump and tshark do.
				badVersion++
				continue
			}
			var got oracleFields
			if reason == OK {
				got = ourFields(&rec)
			}
			// gopacket stops at an option error, so it only gives clean
			// layouts.
			want.OptionMalformed = got.OptionMalformed
			if want.Inner.Valid && got.Inner.Valid && isExtHeader(want.Inner.Protocol) {
				// We walk the quoted extension headers; gopacketInner6 does not.
				want.Inner.Protocol, want.Inner.SrcPort, want.Inner.DstPort, want.Inner.HasPorts =
					got.Inner.Protocol, got.Inner.SrcPort, got.Inner.DstPort, got.Inner.HasPorts
			}
			if diff := cmp.Diff(got, want, cmpAddr); diff != "" {
				mismatched++
				if mismatched <= 20 {
					t.Errorf("%s frame %d (%v, reason %v): Decode() (-got, +want):\n%s", filepath.Base(path), n+1, fr.link, reason, diff)
				}
			}
		}
	}
	t.Logf("%d files, %d frames; %d on unsupported link types; %d compared with gopacket (%d with an ICMP quote), %d mismatched; %d IPv6 with a bad version that gopacket decodes",
		len(files), frames, unsupported, compared, inners, mismatched, badVersion)
	if compared == 0 {
		t.Error("no frame compared")
	}
}

func isExtHeader(proto uint8) bool {
	switch proto {
	case 0, 43, 44, 51, 60, 135, 139, 140, 253, 254:
		return true
	}
	return false
}
