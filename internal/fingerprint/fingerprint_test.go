package fingerprint

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

func ip(s string) record.Addr { return record.MustParseAddr(s) }

// syn returns an IPv4 TCP SYN record with neutral values that trip no rule.
func syn(mod func(r *record.Record)) record.Record {
	r := record.Record{
		Src: ip("192.0.2.10"), Dst: ip("198.18.1.5"), IPVersion: 4,
		Protocol: record.ProtoTCP, TTL: 50, IPID: 1234, IPLen: 60, HasTransport: true,
		SrcPort: 40000, DstPort: 23, TCPFlags: record.FlagSYN, Seq: 1000, Window: 29200,
	}
	// Linux SYN options: mss,sok,ts,nop,ws
	for _, k := range []uint8{record.OptMSS, record.OptSACKOK, record.OptTimestamp, record.OptNOP, record.OptWScale} {
		r.Options.AddKind(k)
	}
	if mod != nil {
		mod(&r)
	}
	return r
}

func noOptions(r *record.Record) { r.Options = record.TCPOptions{} }

func TestTag(t *testing.T) {
	t.Parallel()
	dst := ip("198.18.1.5")
	dst32 := dst.Uint32()
	tests := []struct {
		name string
		rec  record.Record
		want []string
	}{
		{name: "ordinary linux syn", rec: syn(nil), want: nil},
		{name: "mirai seq equals destination", rec: syn(func(r *record.Record) { noOptions(r); r.Seq = dst32; r.TTL = 64 }), want: []string{"mirai"}},
		{name: "mirai on a variant port", rec: syn(func(r *record.Record) { noOptions(r); r.Seq = dst32; r.DstPort = 37215 }), want: []string{"mirai"}},
		{name: "mirai needs syn without ack", rec: syn(func(r *record.Record) { r.Seq = dst32; r.TCPFlags = record.FlagSYN | record.FlagACK }), want: []string{"backscatter"}},
		{name: "zmap ip id 54321 ttl 255 not spoofed", rec: syn(func(r *record.Record) { noOptions(r); r.IPID = 54321; r.TTL = 255; r.Window = 65535 }), want: []string{"zmap"}},
		{name: "zmap udp probe", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 240, IPID: 54321, HasTransport: true, SrcPort: 5000, DstPort: 161}, want: []string{"zmap"}},
		{name: "zmap icmp echo", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 240, IPID: 54321, HasTransport: true, SrcPort: 8}, want: []string{"zmap"}},
		{name: "ip id 54321 on an icmp reply is not zmap", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 50, IPID: 54321, HasTransport: true, SrcPort: 0}, want: []string{"backscatter"}},
		{name: "masscan id identity", rec: syn(func(r *record.Record) {
			noOptions(r)
			r.TTL, r.Window, r.Seq, r.DstPort = 252, 1024, 0xdeadbeef, 8728
			r.IPID = uint32(uint16(dst32 ^ 8728 ^ 0xdeadbeef))
		}), want: []string{"masscan"}},
		{name: "masscan with mss option is masscan not nmap", rec: syn(func(r *record.Record) {
			noOptions(r)
			r.Options.AddKind(record.OptMSS)
			r.TTL, r.Window, r.Seq, r.DstPort = 252, 1024, 77, 80
			r.IPID = uint32(uint16(dst32 ^ 80 ^ 77))
		}), want: []string{"masscan"}},
		{name: "masscan rst closing its own connection", rec: syn(func(r *record.Record) {
			noOptions(r)
			r.TCPFlags, r.TTL, r.Seq, r.DstPort = record.FlagRST, 252, 536396312, 80
			r.IPID = uint32(uint16(dst32 ^ 80 ^ 536396312))
		}), want: []string{"masscan"}},
		{name: "nmap syn window 1024 mss only", rec: syn(func(r *record.Record) { noOptions(r); r.Options.AddKind(record.OptMSS); r.Window = 1024 }), want: []string{"nmap"}},
		{name: "window 1024 without options is not nmap", rec: syn(func(r *record.Record) { noOptions(r); r.Window = 1024 }), want: nil},
		{name: "window 1024 with linux options is not nmap", rec: syn(func(r *record.Record) { r.Window = 1024 }), want: nil},
		{name: "syn-ack backscatter", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagSYN | record.FlagACK; r.SrcPort = 80 }), want: []string{"backscatter"}},
		{name: "rst backscatter", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagRST }), want: []string{"backscatter"}},
		// corsaro's list of normal flag combinations has no RST+ACK.
		{name: "rst-ack backscatter is also spoofed", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagRST | record.FlagACK }), want: []string{"backscatter", "spoofed"}},
		{name: "icmp destination unreachable", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 50, HasTransport: true, SrcPort: 3, DstPort: 3}, want: []string{"backscatter"}},
		{name: "icmp echo request is not backscatter", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 50, HasTransport: true, SrcPort: 8}, want: nil},
		{name: "icmpv6 time exceeded", rec: record.Record{Src: ip("2001:db8::1"), Dst: ip("2001:db8:1::5"), IPVersion: 6, Protocol: record.ProtoICMPv6, TTL: 50, HasTransport: true, SrcPort: 3}, want: []string{"backscatter"}},
		{name: "dns response backscatter", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 50, HasTransport: true, SrcPort: 53, DstPort: 33000}, want: []string{"backscatter"}},
		{name: "spoofed ttl 200", rec: syn(func(r *record.Record) { r.TTL = 200 }), want: []string{"spoofed"}},
		{name: "ttl 199 not spoofed", rec: syn(func(r *record.Record) { r.TTL = 199 }), want: nil},
		{name: "icmp with ttl 250 not spoofed", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoICMP, TTL: 250, HasTransport: true, SrcPort: 8}, want: nil},
		{name: "spoofed source .0", rec: syn(func(r *record.Record) { r.Src = ip("192.0.2.0") }), want: []string{"spoofed"}},
		{name: "spoofed source .255", rec: syn(func(r *record.Record) { r.Src = ip("192.0.2.255") }), want: []string{"spoofed"}},
		{name: "spoofed src equals dst", rec: syn(func(r *record.Record) { r.Src = r.Dst }), want: []string{"spoofed"}},
		{name: "spoofed port 0", rec: syn(func(r *record.Record) { r.DstPort = 0 }), want: []string{"spoofed"}},
		{name: "spoofed udp source port 0", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 50, HasTransport: true, SrcPort: 0, DstPort: 53}, want: []string{"spoofed"}},
		{name: "spoofed later fragment", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: record.ProtoUDP, TTL: 50, Fragment: true, FragOffset: 1480}, want: []string{"spoofed"}},
		{name: "first fragment not spoofed (corsaro masks MF)", rec: syn(func(r *record.Record) { r.Fragment = true; r.IPFlags = record.IPFlagMF }), want: nil},
		{name: "spoofed evil bit", rec: syn(func(r *record.Record) { r.IPFlags = record.IPFlagReserved }), want: []string{"spoofed"}},
		{name: "spoofed abnormal protocol gre", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: 47, TTL: 50}, want: []string{"spoofed"}},
		{name: "ipv6-in-ipv4 is normal", rec: record.Record{Src: ip("192.0.2.10"), Dst: dst, IPVersion: 4, Protocol: 41, TTL: 50}, want: nil},
		{name: "spoofed xmas flags", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagFIN | record.FlagPSH | record.FlagURG }), want: []string{"spoofed"}},
		{name: "spoofed syn-rst", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagSYN | record.FlagRST }), want: []string{"backscatter", "spoofed"}},
		{name: "null scan flags spoofed", rec: syn(func(r *record.Record) { r.TCPFlags = 0 }), want: []string{"spoofed"}},
		{name: "syn with ece and cwr is normal", rec: syn(func(r *record.Record) { r.TCPFlags = record.FlagSYN | record.FlagECE | record.FlagCWR }), want: nil},
		{name: "ipv6 syn with 255 hop limit is spoofed", rec: syn(func(r *record.Record) {
			r.Src, r.Dst, r.IPVersion, r.TTL = ip("2001:db8::1"), ip("2001:db8:1::5"), 6, 255
		}), want: []string{"spoofed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Tag(&tt.rec).Names()
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Tag() (-got, +want):\n%s", diff)
			}
		})
	}
}

// unicornProbe builds a probe whose key seq ^ dst ^ ((dport<<16)+sport) is key.
func unicornProbe(key uint32, dst string, dport, sport uint16) record.Record {
	return syn(func(r *record.Record) {
		noOptions(r)
		r.Dst, r.DstPort, r.SrcPort = ip(dst), dport, sport
		r.Seq = key ^ r.Dst.Uint32() ^ (uint32(dport)<<16 + uint32(sport))
	})
}

func TestUnicornscan(t *testing.T) {
	t.Parallel()
	const key = 0x5eed1e55
	tests := []struct {
		name   string
		probes []record.Record
		want   []bool
	}{
		{
			name:   "constant key across targets",
			probes: []record.Record{unicornProbe(key, "198.18.1.1", 80, 1000), unicornProbe(key, "198.18.1.2", 443, 1001), unicornProbe(key, "198.18.1.3", 22, 2000)},
			want:   []bool{false, true, true},
		},
		{
			name:   "retransmission of the same probe is not a scan",
			probes: []record.Record{unicornProbe(key, "198.18.1.1", 80, 1000), unicornProbe(key, "198.18.1.1", 80, 1000)},
			want:   []bool{false, false},
		},
		{
			name:   "random ISNs",
			probes: []record.Record{syn(func(r *record.Record) { r.Seq = 1 }), syn(func(r *record.Record) { r.Seq = 99999; r.DstPort = 80 })},
			want:   []bool{false, false},
		},
		{
			name: "a syn-ack in between changes nothing",
			probes: []record.Record{unicornProbe(key, "198.18.1.1", 80, 1000),
				syn(func(r *record.Record) { r.TCPFlags = record.FlagSYN | record.FlagACK }),
				unicornProbe(key, "198.18.1.9", 8080, 1000)},
			want: []bool{false, false, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tagger := NewTagger(0)
			var got []bool
			for i := range tt.probes {
				tagger.Tag(&tt.probes[i])
				got = append(got, tt.probes[i].Tags.Has(record.TagUnicornscan))
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Tagger.Tag() unicornscan (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestTaggerMaxSources(t *testing.T) {
	t.Parallel()
	tagger := NewTagger(2)
	if got := tagger.MaxSources(); got != 2 {
		t.Fatalf("NewTagger(2).MaxSources() = %d, want 2", got)
	}
	probe := func(src byte, dst string, port uint16) bool {
		r := unicornProbe(0x5eed, dst, port, 1000)
		r.Src = record.AddrFrom4([4]byte{192, 0, 2, src})
		tagger.Tag(&r)
		return r.Tags.Has(record.TagUnicornscan)
	}
	// Two sources fit: their second probes are tagged.
	got := []bool{probe(1, "198.18.1.1", 80), probe(2, "198.18.1.1", 80), probe(1, "198.18.1.2", 80), probe(2, "198.18.1.2", 80)}
	// A third source resets the table: the next probe of source 1 starts
	// afresh, the one after it is tagged again.
	got = append(got, probe(3, "198.18.1.1", 80), probe(1, "198.18.1.3", 80), probe(1, "198.18.1.4", 80))
	want := []bool{false, false, true, true, false, false, true}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Tagger.Tag() unicornscan around a reset (-got, +want):\n%s", diff)
	}
	if n := tagger.Sources(); n > 2 {
		t.Errorf("Tagger kept %d sources, want at most 2", n)
	}
}

// TestTaggerGenerationWrap: after 65,536 resets (more than 16 bits of
// generations) the generation is not 0, which marks never-used slots, and
// no stale slot comes back to life.
func TestTaggerGenerationWrap(t *testing.T) {
	t.Parallel()
	tagger := NewTagger(1)
	for i := range 1 << 16 {
		r := unicornProbe(0x5eed, "198.18.1.1", 80, 1000)
		r.Src = record.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		tagger.Tag(&r)
	}
	if tagger.book.gen == 0 {
		t.Fatal("generation 0 marks never-used slots; the tagger reached it")
	}
	r := unicornProbe(0x5eed, "198.18.1.2", 80, 1000)
	r.Src = record.AddrFrom4([4]byte{10, 0, 0, 0})
	tagger.Tag(&r)
	if r.Tags.Has(record.TagUnicornscan) {
		t.Error("a source forgotten many resets ago was remembered")
	}
}

// TestTaggerAllocs: tagging allocates nothing, new sources and resets included.
func TestTaggerAllocs(t *testing.T) {
	tagger := NewTagger(64)
	r := unicornProbe(0x5eed, "198.18.1.1", 80, 1000)
	i := uint32(0)
	allocs := testing.AllocsPerRun(10_000, func() {
		i++
		r.Src = record.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tagger.Tag(&r)
	})
	if allocs != 0 {
		t.Errorf("Tagger.Tag() allocates %v times per packet, want 0", allocs)
	}
}

func BenchmarkTagger(b *testing.B) {
	tagger := NewTagger(0)
	r := unicornProbe(0x5eed, "198.18.1.1", 80, 1000)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		i++
		r.Src = record.AddrFrom4([4]byte{10, 0, byte(i >> 8 & 0x3f), byte(i)}) // 16,384 sources
		tagger.Tag(&r)
	}
}

func BenchmarkTag(b *testing.B) {
	r := syn(nil)
	b.ReportAllocs()
	for b.Loop() {
		r.Tags = Tag(&r)
	}
}

// TestBookTagsAsTheTagger: entries kept by the caller (as the analyzer
// keeps them, beside its per-source counts) and bounded by a UnicornBook
// tag every record exactly as a Tagger's table does, resets included.
func TestBookTagsAsTheTagger(t *testing.T) {
	t.Parallel()
	const bound = 8
	tagger := NewTagger(bound)
	book := NewUnicornBook(tagger.MaxSources())
	entries := map[uint32]*UnicornEntry{}
	rng := rand.New(rand.NewPCG(1, 2))
	tagged := 0
	for i := range 20_000 {
		// 24 sources, three times the bound: resets; mostly one key per
		// source, sometimes another (a new scan).
		src := rng.Uint32N(24)
		key := 0x5eed + src
		if rng.IntN(10) == 0 {
			key = rng.Uint32()
		}
		r := unicornProbe(key, fmt.Sprintf("198.18.1.%d", rng.IntN(4)), uint16(rng.IntN(6)), 1000+uint16(src))
		r.Src = record.AddrFrom4([4]byte{10, 0, 0, byte(src)})
		if i%7 == 0 {
			r.TCPFlags = record.FlagACK // not a probe: neither side keeps it
		}
		want := r
		tagger.Tag(&want)
		e := entries[src]
		if e == nil {
			e = &UnicornEntry{}
			entries[src] = e
		}
		got := book.Observe(e, &r)
		if got != want.Tags.Has(record.TagUnicornscan) {
			t.Fatalf("record %d (source %d): the book says unicornscan %v, the tagger %v", i, src, got, !got)
		}
		if got {
			tagged++
		}
	}
	if tagged < 1000 || book.n != tagger.Sources() {
		t.Errorf("%d records tagged, book holds %d sources and the tagger %d: the test shows too little", tagged, book.n, tagger.Sources())
	}
}
