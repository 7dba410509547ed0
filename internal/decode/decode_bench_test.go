package decode

import (
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// Run with:
//
//	go test -run '^$' -bench . -benchmem ./internal/decode/

func benchDecode(b *testing.B, link LinkType, frame []byte) {
	b.Helper()
	var rec record.Record
	if r := Decode(link, frame, &rec); r != OK {
		b.Fatalf("Decode() = %v, want ok", r)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		Decode(link, frame, &rec)
	}
}

func BenchmarkDecodeEthIPv4TCPSYN(b *testing.B) { benchDecode(b, LinkEthernet, frameEthIPv4SYN) }
func BenchmarkDecodeEthIPv6TCPSYN(b *testing.B) { benchDecode(b, LinkEthernet, frameEthIPv6SYN) }
func BenchmarkDecodeVLANUDP(b *testing.B)       { benchDecode(b, LinkEthernet, frameVLANUDP) }
func BenchmarkDecodeQinQIPv6TCP(b *testing.B)   { benchDecode(b, LinkEthernet, frameQinQIPv6) }
func BenchmarkDecodeICMPUnreach(b *testing.B)   { benchDecode(b, LinkIPv4, frameICMPUnreach) }

// mixedFrames returns up to 4096 frames of the scanner captures and of a
// few tcpdump test captures, on every link type, in file order.
func mixedFrames(b *testing.B) []capFrame {
	b.Helper()
	var out []capFrame
	files := corpusFiles(b, "scanners")
	tcpdump := testenv.Corpus(b, "tcpdump-tests")
	for _, name := range []string{"802.1ad_QinQ.pcap", "forces3.pcap", "ikev2four.pcap", "LINKTYPE_RAW_ipv6.pcap", "icmpv6-RFC2894-RR.pcap", "babel_rtt.pcap"} {
		files = append(files, filepath.Join(tcpdump, name))
	}
	for _, path := range files {
		fs, _ := readFrames(b, path)
		for i, f := range fs {
			if i >= 512 {
				break
			}
			out = append(out, f)
		}
	}
	return out
}

func BenchmarkDecodeMixedCorpus(b *testing.B) {
	frames := mixedFrames(b)
	var size int64
	for _, f := range frames {
		size += int64(len(f.data))
	}
	var rec record.Record
	b.ReportAllocs()
	b.SetBytes(size / int64(len(frames)))
	i := 0
	for b.Loop() {
		f := &frames[i]
		Decode(f.link, f.data, &rec)
		i++
		if i == len(frames) {
			i = 0
		}
	}
}

// BenchmarkGopacketDecodingLayerParser decodes the Ethernet, IPv4, TCP SYN
// frame with gopacket's allocation-free parser for comparison, then copies
// the fields Decode fills into a record.
// BenchmarkGopacketDecodingLayerParser decodes the same SYN (five TCP
// options) with gopacket's fastest API, for comparison.
func BenchmarkGopacketDecodingLayerParser(b *testing.B) { benchGopacket(b, frameEthIPv4SYN) }

// The option-less SYN of Mirai, ZMap < 4.1 and masscan 1.0: the commonest
// darknet probe.
func BenchmarkDecodeEthIPv4SYNNoOptions(b *testing.B) {
	benchDecode(b, LinkEthernet, synWithoutOptions(b))
}

func BenchmarkGopacketDecodingLayerParserNoOptions(b *testing.B) {
	benchGopacket(b, synWithoutOptions(b))
}

// synWithoutOptions serialises an Ethernet/IPv4/TCP SYN with no options.
func synWithoutOptions(b *testing.B) []byte {
	b.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 54321, Protocol: layers.IPProtocolTCP,
		SrcIP: []byte{192, 0, 2, 1}, DstIP: []byte{198, 51, 100, 7}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 23, Seq: 0xc6336407, SYN: true, Window: 65535}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}, ip, tcp)
	if err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchGopacket(b *testing.B, frame []byte) {
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		icmp4   layers.ICMPv4
		icmp6   layers.ICMPv6
		payload gopacket.Payload
		decoded = make([]gopacket.LayerType, 0, 8)
		rec     record.Record
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp, &icmp4, &icmp6, &payload)
	parser.IgnoreUnsupported = true
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := parser.DecodeLayers(frame, &decoded); err != nil {
			b.Fatal(err)
		}
		for _, t := range decoded {
			switch t {
			case layers.LayerTypeIPv4:
				rec.Src = netipFrom4(ip4.SrcIP)
				rec.Dst = netipFrom4(ip4.DstIP)
				rec.TTL, rec.IPID, rec.Protocol = ip4.TTL, uint32(ip4.Id), uint8(ip4.Protocol)
			case layers.LayerTypeTCP:
				rec.SrcPort, rec.DstPort, rec.Seq, rec.Ack, rec.Window = uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Seq, tcp.Ack, tcp.Window
				rec.Options = record.TCPOptions{}
				for _, o := range tcp.Options {
					rec.Options.AddKind(uint8(o.OptionType))
				}
			}
		}
	}
}

func netipFrom4(ip []byte) record.Addr {
	if len(ip) == 4 {
		return record.AddrFrom4([4]byte(ip))
	}
	return record.Addr{}
}
