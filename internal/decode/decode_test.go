package decode

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

var (
	scanner4 = record.MustParseAddr("192.0.2.1")
	dark4    = record.MustParseAddr("198.51.100.7")
	victim4  = record.MustParseAddr("203.0.113.9")
	scanner6 = record.MustParseAddr("2001:db8::1")
	dark6    = record.MustParseAddr("2001:db8::9907")
	victim6  = record.MustParseAddr("2001:db8:b::9")
)

// cmpAddr compares record.Addr values (they have unexported fields).
var cmpAddr = cmp.Comparer(func(a, b record.Addr) bool { return a == b })

// layout returns o with the option kinds appended to its layout.
func layout(o record.TCPOptions, kinds ...uint8) record.TCPOptions {
	for _, k := range kinds {
		o.AddKind(k)
	}
	return o
}

// patch returns a copy of frame with the bytes at off replaced by b.
func patch(frame []byte, off int, b ...byte) []byte {
	out := append([]byte(nil), frame...)
	copy(out[off:], b)
	return out
}

// Records the crafted frames decode to.
func wantIPv4SYN() record.Record {
	return record.Record{
		Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
		IPID: 0x1234, IPLen: 60, IPFlags: record.IPFlagDF, HasTransport: true,
		SrcPort: 54321, DstPort: 23, TCPFlags: record.FlagSYN, Seq: 0x01020304, Window: 29200,
		Options: layout(record.TCPOptions{
			MSS: 1460, HasMSS: true, WScale: 7, HasWScale: true, SACKPermitted: true,
			HasTimestamps: true, TSVal: 0x0a0b0c0d,
		}, record.OptMSS, record.OptSACKOK, record.OptTimestamp, record.OptNOP, record.OptWScale),
	}
}

func wantIPv6SYN() record.Record {
	return record.Record{
		Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoTCP, TTL: 64, IPLen: 64,
		HasTransport: true, SrcPort: 61000, DstPort: 443, TCPFlags: record.FlagSYN,
		Seq: 0xdeadbeef, Window: 1024,
		Options: layout(record.TCPOptions{MSS: 1460, HasMSS: true}, record.OptMSS),
	}
}

func wantUDP53() record.Record {
	return record.Record{
		Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 255,
		IPID: 1, IPLen: 40, HasTransport: true, SrcPort: 40000, DstPort: 53,
	}
}

func wantEcho() record.Record {
	return record.Record{
		Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 52,
		IPID: 7, IPLen: 32, HasTransport: true, SrcPort: 8, DstPort: 0,
	}
}

// with applies f to a copy of r.
func with(r record.Record, f func(*record.Record)) record.Record {
	f(&r)
	return r
}

// tooManyExtHeaders is a raw IPv6 packet with MaxExtHeaders+1 empty
// destination options headers before a UDP header: 2001:db8::1 >
// 2001:db8::9907: DSTOPT DSTOPT ... 7 > 7: UDP.
func tooManyExtHeaders() []byte {
	n := MaxExtHeaders + 1
	b := append([]byte(nil), frameRawIPv6[:40]...)
	plen := n*8 + 8
	b[4], b[5], b[6] = byte(plen>>8), byte(plen), 60
	for i := range n {
		next := byte(60)
		if i == n-1 {
			next = 17
		}
		b = append(b, next, 0, 1, 4, 0, 0, 0, 0)
	}
	return append(b, 0, 7, 0, 7, 0, 8, 0, 0)
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		link       LinkType
		frame      []byte
		want       record.Record
		wantReason Reason
	}{
		// Link types.
		{name: "ethernet ipv4 tcp syn", link: LinkEthernet, frame: frameEthIPv4SYN, want: wantIPv4SYN()},
		{name: "ethernet ipv6 tcp syn", link: LinkEthernet, frame: frameEthIPv6SYN, want: wantIPv6SYN()},
		{name: "802.1q", link: LinkEthernet, frame: frameVLANUDP, want: wantUDP53()},
		{name: "802.1ad qinq", link: LinkEthernet, frame: frameQinQIPv6, want: wantIPv6SYN()},
		{name: "three tags 0x9100", link: LinkEthernet, frame: frameTripleTagICMP, want: wantEcho()},
		{name: "pppoe session", link: LinkEthernet, frame: framePPPoE, want: wantIPv4SYN()},
		{name: "mpls", link: LinkEthernet, frame: frameMPLS, want: wantUDP53()},
		{name: "llc snap", link: LinkEthernet, frame: frameSNAP, want: wantUDP53()},
		{name: "linux sll", link: LinkLinuxSLL, frame: frameSLL, want: wantUDP53()},
		{name: "linux sll2", link: LinkLinuxSLL2, frame: frameSLL2, want: wantIPv6SYN()},
		{name: "raw ipv4", link: LinkRaw, frame: frameRawIPv4, want: wantUDP53()},
		{name: "raw ipv6", link: LinkRaw, frame: frameRawIPv6, want: wantIPv6SYN()},
		{name: "dlt raw 12", link: 12, frame: frameRawIPv6, want: wantIPv6SYN()},
		{name: "dlt raw 14", link: 14, frame: frameRawIPv4, want: wantUDP53()},
		{name: "linktype ipv4", link: LinkIPv4, frame: frameRawIPv4, want: wantUDP53()},
		{name: "linktype ipv6", link: LinkIPv6, frame: frameRawIPv6, want: wantIPv6SYN()},
		{name: "null little-endian af_inet", link: LinkNull, frame: frameNullLE, want: wantIPv4SYN()},
		{name: "null big-endian af_inet6", link: LinkNull, frame: frameNullBE6, want: wantIPv6SYN()},
		{name: "null af_inet6 freebsd", link: LinkNull, frame: patch(frameNullBE6, 0, 28, 0, 0, 0), want: wantIPv6SYN()},
		{name: "null af_inet6 darwin", link: LinkNull, frame: patch(frameNullBE6, 0, 0, 0, 0, 30), want: wantIPv6SYN()},
		{name: "loop af_inet", link: LinkLoop, frame: frameLoop, want: wantEcho()},

		// IPv4.
		{
			name: "ipv4 options", link: LinkRaw, frame: frameIPv4Options,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 1,
				IPID: 2, IPLen: 32, HasTransport: true, SrcPort: 5000, DstPort: 5001,
			},
		},
		{
			name: "ipv4 first fragment", link: LinkRaw, frame: frameFirstFrag,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 0xbeef, IPLen: 40, IPFlags: record.IPFlagMF | record.IPFlagReserved,
				Fragment: true, HasTransport: true, SrcPort: 1111, DstPort: 80,
				TCPFlags: record.FlagSYN, Seq: 1, Window: 512,
			},
		},
		{
			name: "ipv4 tiny first fragment: 8 bytes of tcp", link: LinkRaw, frame: patch(frameFirstFrag[:28], 2, 0, 28),
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 0xbeef, IPLen: 28, IPFlags: record.IPFlagMF | record.IPFlagReserved, Fragment: true,
			},
		},
		{
			name: "ipv4 later fragment", link: LinkRaw, frame: frameLaterFrag,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 64,
				IPID: 0xbeef, IPLen: 36, Fragment: true, FragOffset: 1480,
			},
		},
		{
			name: "ipv4 total length bounds tcp options, not ethernet padding", link: LinkEthernet, frame: framePadded,
			want: record.Record{
				Src: victim4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 60,
				IPID: 3, IPLen: 40, HasTransport: true, SrcPort: 80, DstPort: 40000,
				TCPFlags: record.FlagRST | record.FlagACK, Seq: 5, Ack: 6,
				Options: record.TCPOptions{Malformed: true},
			},
		},
		{
			name: "ipv4 total length 0 (tso)", link: LinkRaw, frame: frameTSO,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 4, IPLen: 0, IPFlags: record.IPFlagDF, HasTransport: true, SrcPort: 2222, DstPort: 22,
				TCPFlags: record.FlagACK, Seq: 9, Ack: 10, Window: 501,
			},
		},
		{
			name: "ipv4 snaplen cuts tcp options", link: LinkEthernet, frame: frameEthIPv4SYN[:14+20+20+6],
			want: with(wantIPv4SYN(), func(r *record.Record) {
				r.Options = layout(record.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, Malformed: true}, record.OptMSS, record.OptSACKOK)
			}),
		},

		// IPv6.
		{
			name: "ipv6 hop-by-hop, routing, destination options, ah", link: LinkRaw, frame: frameIPv6ExtHeaders,
			want: with(wantIPv6SYN(), func(r *record.Record) { r.IPLen = 120 }),
		},
		{
			name: "ipv6 first fragment", link: LinkRaw, frame: frameIPv6FirstFrag,
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoUDP, TTL: 255,
				IPID: 0x01020304, IPLen: 60, IPFlags: record.IPFlagMF, Fragment: true,
				HasTransport: true, SrcPort: 53, DstPort: 33333,
			},
		},
		{
			name: "ipv6 tiny first fragment: 4 bytes of udp", link: LinkRaw, frame: patch(frameIPv6FirstFrag[:40+8+4], 4, 0, 12),
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoUDP, TTL: 255,
				IPID: 0x01020304, IPLen: 52, IPFlags: record.IPFlagMF, Fragment: true,
			},
		},
		{
			name: "ipv6 later fragment", link: LinkRaw, frame: frameIPv6LaterFrag,
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoTCP, TTL: 255,
				IPID: 0x01020304, IPLen: 57, Fragment: true, FragOffset: 1232,
			},
		},
		{
			name: "ipv6 esp ends the walk", link: LinkRaw, frame: frameIPv6ESP,
			want: record.Record{Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: 50, TTL: 64, IPLen: 65},
		},
		{
			name: "ipv6 no next header", link: LinkIPv6, frame: frameIPv6NoNext,
			want: record.Record{Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: 59, TTL: 1, IPLen: 48},
		},

		// ICMP.
		{
			name: "icmp port unreachable quoting udp", link: LinkIPv4, frame: frameICMPUnreach,
			want: record.Record{
				Src: victim4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 240,
				IPID: 5, IPLen: 62, HasTransport: true, SrcPort: 3, DstPort: 3,
				Inner: record.Inner{
					Valid: true, Src: dark4, Dst: victim4, Protocol: record.ProtoUDP,
					SrcPort: 1234, DstPort: 161, HasPorts: true,
				},
			},
		},
		{
			name: "icmp time exceeded quoting ipv4 options and tcp", link: LinkIPv4, frame: frameICMPTimeExceeded,
			want: record.Record{
				Src: victim4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 250,
				IPID: 6, IPLen: 60, HasTransport: true, SrcPort: 11, DstPort: 0,
				Inner: record.Inner{
					Valid: true, Src: dark4, Dst: victim4, Protocol: record.ProtoTCP,
					SrcPort: 80, DstPort: 8080, HasPorts: true,
				},
			},
		},
		{
			name: "icmp quote too short: inner not valid", link: LinkIPv4, frame: frameICMPShortQuote,
			want: record.Record{
				Src: victim4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 250,
				IPID: 8, IPLen: 40, HasTransport: true, SrcPort: 3, DstPort: 1,
			},
		},
		{
			name: "icmp quote without ports", link: LinkIPv4, frame: frameICMPUnreach[:20+8+20+2],
			want: record.Record{
				Src: victim4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 240,
				IPID: 5, IPLen: 62, HasTransport: true, SrcPort: 3, DstPort: 3,
				Inner: record.Inner{Valid: true, Src: dark4, Dst: victim4, Protocol: record.ProtoUDP},
			},
		},
		{
			name: "icmpv6 port unreachable quoting tcp", link: LinkIPv6, frame: frameICMPv6Unreach,
			want: record.Record{
				Src: victim6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoICMPv6, TTL: 60,
				IPLen: 108, HasTransport: true, SrcPort: 1, DstPort: 4,
				Inner: record.Inner{
					Valid: true, Src: dark6, Dst: victim6, Protocol: record.ProtoTCP,
					SrcPort: 443, DstPort: 50000, HasPorts: true,
				},
			},
		},
		{
			name: "icmpv6 echo request", link: LinkIPv6, frame: frameICMPv6Echo,
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoICMPv6, TTL: 64,
				IPLen: 50, HasTransport: true, SrcPort: 128,
			},
		},

		// TCP options.
		{
			name: "tcp options stop at eol", link: LinkRaw, frame: frameTCPOptsEOL,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 9, IPLen: 48, HasTransport: true, SrcPort: 3333, DstPort: 25,
				TCPFlags: record.FlagSYN, Seq: 1, Window: 65535,
				Options: layout(record.TCPOptions{MSS: 536, HasMSS: true}, record.OptMSS, record.OptEOL),
			},
		},
		{
			name: "tcp option overruns the header", link: LinkRaw, frame: frameTCPOptsOverrun,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 10, IPLen: 52, HasTransport: true, SrcPort: 3333, DstPort: 25,
				TCPFlags: record.FlagSYN, Seq: 1, Window: 65535,
				Options: layout(record.TCPOptions{MSS: 1460, HasMSS: true, Malformed: true},
					record.OptMSS, record.OptNOP, record.OptNOP, record.OptTimestamp),
			},
		},
		{
			name: "tcp options beyond the layout", link: LinkRaw, frame: frameTCPOptsMany,
			want: record.Record{
				Src: scanner4, Dst: dark4, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64,
				IPID: 11, IPLen: 56, HasTransport: true, SrcPort: 3333, DstPort: 25,
				TCPFlags: record.FlagSYN, Seq: 1, Window: 65535,
				Options: layout(record.TCPOptions{WScale: 2, HasWScale: true, SACKPermitted: true},
					1, 1, 1, 1, 1, 1, 1, record.OptWScale, record.OptSACKOK, record.OptEOL),
			},
		},

		// Skips, one or more per reason.
		{name: "unsupported link type", link: 105, frame: frameIEEE80211, wantReason: UnsupportedLinkType},
		{name: "arp", link: LinkEthernet, frame: frameARP, wantReason: NonIP},
		{name: "stp", link: LinkEthernet, frame: frameSTP, wantReason: NonIP},
		{name: "null unknown family", link: LinkNull, frame: patch(frameNullLE, 0, 7), wantReason: NonIP},
		{name: "loop family in host order", link: LinkLoop, frame: patch(frameLoop, 0, 2, 0, 0, 0), wantReason: NonIP},
		{name: "pppoe lcp", link: LinkEthernet, frame: patch(framePPPoE, 20, 0xc0, 0x21), wantReason: NonIP},
		{name: "mpls non-ip payload", link: LinkEthernet, frame: patch(frameMPLS, 22, 0x00), wantReason: NonIP},
		{name: "sll non-ip", link: LinkLinuxSLL, frame: patch(frameSLL, 14, 0x08, 0x06), wantReason: NonIP},
		{name: "truncated ethernet", link: LinkEthernet, frame: frameEthIPv4SYN[:13], wantReason: TruncatedLinkHeader},
		{name: "truncated vlan tag", link: LinkEthernet, frame: frameVLANUDP[:17], wantReason: TruncatedLinkHeader},
		{name: "truncated pppoe", link: LinkEthernet, frame: framePPPoE[:21], wantReason: TruncatedLinkHeader},
		{name: "truncated mpls stack", link: LinkEthernet, frame: frameMPLS[:21], wantReason: TruncatedLinkHeader},
		{name: "truncated snap", link: LinkEthernet, frame: frameSNAP[:20], wantReason: TruncatedLinkHeader},
		{name: "truncated sll", link: LinkLinuxSLL, frame: frameSLL[:15], wantReason: TruncatedLinkHeader},
		{name: "truncated sll2", link: LinkLinuxSLL2, frame: frameSLL2[:19], wantReason: TruncatedLinkHeader},
		{name: "truncated null", link: LinkNull, frame: frameNullLE[:3], wantReason: TruncatedLinkHeader},
		{name: "empty raw frame", link: LinkRaw, frame: nil, wantReason: TruncatedIPHeader},
		{name: "raw version 5", link: LinkRaw, frame: patch(frameRawIPv4, 0, 0x55), wantReason: BadIPVersion},
		{name: "ethertype ipv4 carrying ipv6", link: LinkEthernet, frame: patch(frameEthIPv6SYN, 12, 0x08, 0x00), wantReason: BadIPVersion},
		{name: "ipv4 under 20 bytes", link: LinkRaw, frame: frameRawIPv4[:19], wantReason: TruncatedIPv4Header},
		{name: "ipv4 ihl beyond capture", link: LinkRaw, frame: patch(frameRawIPv4, 0, 0x4f), wantReason: TruncatedIPv4Header},
		{name: "ipv4 ihl 4", link: LinkRaw, frame: patch(frameRawIPv4, 0, 0x44), wantReason: BadIPv4HeaderLength},
		{name: "ipv4 total length 16", link: LinkRaw, frame: patch(frameRawIPv4, 2, 0, 16), wantReason: BadIPv4TotalLength},
		{name: "ipv6 under 40 bytes", link: LinkRaw, frame: frameRawIPv6[:39], wantReason: TruncatedIPv6Header},
		{
			name: "ipv6 extension header beyond capture", link: LinkRaw, frame: frameIPv6ExtHeaders[:40+8+4],
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: 43, TTL: 64, IPLen: 120,
			},
			wantReason: TruncatedIPv6ExtHeader,
		},
		{
			name: "ipv6 extension header beyond payload length", link: LinkRaw, frame: patch(frameIPv6ExtHeaders, 4, 0, 20),
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: 60, TTL: 64, IPLen: 60,
			},
			wantReason: TruncatedIPv6ExtHeader,
		},
		{
			name: "too many ipv6 extension headers", link: LinkRaw, frame: tooManyExtHeaders(),
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: 60, TTL: 64, IPLen: 40 + 8*(MaxExtHeaders+1) + 8,
			},
			wantReason: TooManyIPv6ExtHeaders,
		},
		{
			name: "ipv6 truncated tcp header", link: LinkRaw, frame: frameRawIPv6[:40+19],
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoTCP, TTL: 64, IPLen: 64,
			},
			wantReason: TruncatedTCPHeader,
		},
		{
			name: "ipv4 total length cuts tcp header", link: LinkEthernet, frame: patch(frameEthIPv4SYN, 16, 0, 30),
			want: with(wantIPv4SYN(), func(r *record.Record) {
				*r = record.Record{Src: r.Src, Dst: r.Dst, IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64, IPID: 0x1234, IPLen: 30, IPFlags: record.IPFlagDF}
			}),
			wantReason: TruncatedTCPHeader,
		},
		{
			name: "tcp data offset 4", link: LinkRaw, frame: patch(frameRawIPv6, 40+12, 0x40),
			want: with(wantIPv6SYN(), func(r *record.Record) {
				r.HasTransport = false
				r.Options = record.TCPOptions{}
			}),
			wantReason: BadTCPDataOffset,
		},
		{
			name: "truncated udp header", link: LinkRaw, frame: frameRawIPv4[:27],
			want: with(wantUDP53(), func(r *record.Record) {
				r.HasTransport, r.SrcPort, r.DstPort = false, 0, 0
			}),
			wantReason: TruncatedUDPHeader,
		},
		{
			name: "truncated icmpv6 header", link: LinkRaw, frame: frameICMPv6Echo[:43],
			want: record.Record{
				Src: scanner6, Dst: dark6, IPVersion: 6, Protocol: record.ProtoICMPv6, TTL: 64, IPLen: 50,
			},
			wantReason: TruncatedICMPHeader,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Start from a record full of another packet's fields: Decode
			// must overwrite all of them but Time.
			var rec record.Record
			Decode(LinkEthernet, frameQinQIPv6, &rec)
			rec.Inner.Valid, rec.Tags, rec.Fragment = true, record.TagMirai, true
			rec.Time = 42
			reason := Decode(tt.link, tt.frame, &rec)
			if reason != tt.wantReason {
				t.Errorf("Decode() reason = %v, want %v", reason, tt.wantReason)
			}
			if tt.wantReason != OK && tt.want.IPVersion == 0 {
				return // nothing decoded before the failure worth pinning
			}
			want := tt.want
			want.Time = 42
			if diff := cmp.Diff(rec, want, cmpAddr); diff != "" {
				t.Errorf("Decode() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestDecodeOptionSignature(t *testing.T) {
	tests := []struct {
		name  string
		link  LinkType
		frame []byte
		want  string
	}{
		{name: "linux syn", link: LinkEthernet, frame: frameEthIPv4SYN, want: "mss,sok,ts,nop,ws"},
		{name: "nmap -sS", link: LinkEthernet, frame: frameEthIPv6SYN, want: "mss"},
		{name: "no options", link: LinkRaw, frame: frameFirstFrag, want: ""},
		{name: "eol", link: LinkRaw, frame: frameTCPOptsEOL, want: "mss,eol"},
		{name: "overrun", link: LinkRaw, frame: frameTCPOptsOverrun, want: "mss,nop,nop,ts"},
		{name: "more than the layout holds", link: LinkRaw, frame: frameTCPOptsMany, want: "nop,nop,nop,nop,nop,nop,nop,ws,..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec record.Record
			if r := Decode(tt.link, tt.frame, &rec); r != OK {
				t.Fatalf("Decode() = %v, want ok", r)
			}
			if diff := cmp.Diff(rec.Options.Signature(), tt.want); diff != "" {
				t.Errorf("Decode() option signature (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]Reason{}
	for _, r := range Reasons() {
		s := r.String()
		if !kebab.MatchString(s) {
			t.Errorf("Reason(%d).String() = %q, want a kebab-case label", r, s)
		}
		if prev, ok := seen[s]; ok {
			t.Errorf("Reason(%d) and Reason(%d) are both %q", prev, r, s)
		}
		seen[s] = r
	}
	for r, want := range map[Reason]string{
		OK:                  "ok",
		UnsupportedLinkType: "unsupported-link-type",
		NonIP:               "non-ip",
		TruncatedTCPHeader:  "truncated-tcp-header",
		numReasons:          "reason-" + strconv.Itoa(int(numReasons)),
	} {
		if got := r.String(); got != want {
			t.Errorf("Reason(%d).String() = %q, want %q", r, got, want)
		}
	}
}

func TestLinkTypeString(t *testing.T) {
	for l, want := range map[LinkType]string{
		LinkEthernet:  "ETHERNET (1)",
		LinkNull:      "NULL (0)",
		105:           "IEEE802_11 (105)",
		127:           "IEEE802_11_RADIOTAP (127)",
		LinkLinuxSLL2: "LINUX_SLL2 (276)",
		12:            "RAW (12)",
		150:           "USER3 (150)",
		4242:          "unknown (4242)",
	} {
		if got := l.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q, want %q", uint32(l), got, want)
		}
	}
	for _, l := range []LinkType{LinkNull, LinkEthernet, LinkRaw, 12, 14, LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2} {
		if !l.Supported() {
			t.Errorf("LinkType(%v).Supported() = false", l)
		}
	}
	if LinkType(105).Supported() {
		t.Errorf("LinkType(105).Supported() = true")
	}
}

// allFrames lists every crafted frame with its link type.
var allFrames = []struct {
	link  LinkType
	frame []byte
}{
	{LinkEthernet, frameEthIPv4SYN}, {LinkEthernet, frameEthIPv6SYN}, {LinkEthernet, frameVLANUDP},
	{LinkEthernet, frameQinQIPv6}, {LinkEthernet, frameTripleTagICMP}, {LinkEthernet, framePPPoE},
	{LinkEthernet, frameMPLS}, {LinkEthernet, frameSNAP}, {LinkEthernet, frameARP}, {LinkEthernet, frameSTP},
	{LinkLinuxSLL, frameSLL}, {LinkLinuxSLL2, frameSLL2}, {LinkRaw, frameRawIPv4}, {LinkRaw, frameRawIPv6},
	{LinkNull, frameNullLE}, {LinkNull, frameNullBE6}, {LinkLoop, frameLoop}, {LinkRaw, frameIPv4Options},
	{LinkRaw, frameFirstFrag}, {LinkRaw, frameLaterFrag}, {LinkEthernet, framePadded}, {LinkRaw, frameTSO},
	{LinkRaw, frameIPv6ExtHeaders}, {LinkRaw, frameIPv6FirstFrag}, {LinkRaw, frameIPv6LaterFrag},
	{LinkRaw, frameIPv6ESP}, {LinkIPv6, frameIPv6NoNext}, {LinkIPv4, frameICMPUnreach},
	{LinkIPv4, frameICMPTimeExceeded}, {LinkIPv4, frameICMPShortQuote}, {LinkIPv6, frameICMPv6Unreach},
	{LinkIPv6, frameICMPv6Echo}, {LinkRaw, frameTCPOptsEOL}, {LinkRaw, frameTCPOptsOverrun},
	{LinkRaw, frameTCPOptsMany}, {105, frameIEEE80211},
}

func TestDecodeAllocs(t *testing.T) {
	var rec record.Record
	for _, f := range allFrames {
		// Every prefix too: the skip paths must not allocate either.
		for n := 0; n <= len(f.frame); n++ {
			if a := testing.AllocsPerRun(10, func() { Decode(f.link, f.frame[:n], &rec) }); a != 0 {
				t.Errorf("Decode(%v, %x) allocates %v times per run, want 0", f.link, f.frame[:n], a)
			}
		}
	}
}

// TestDecodeKeepsNoReference checks that the record does not change when
// the frame buffer is reused.
func TestDecodeKeepsNoReference(t *testing.T) {
	for _, f := range allFrames {
		buf := append([]byte(nil), f.frame...)
		var got, want record.Record
		Decode(f.link, buf, &got)
		Decode(f.link, f.frame, &want)
		for i := range buf {
			buf[i] = 0xff
		}
		if diff := cmp.Diff(got, want, cmpAddr); diff != "" {
			t.Errorf("Decode() after the frame was overwritten (-got, +want):\n%s", diff)
		}
	}
}
