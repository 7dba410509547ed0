package decode

import (
	"bytes"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// fuzzLinks are the link types FuzzDecode exercises: its first argument is
// an index into this list (modulo its length), so that every mutation
// lands on a link type Decode decodes rather than on an unsupported one.
var fuzzLinks = []LinkType{
	LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2, LinkNull, LinkLoop,
	LinkIPv4, LinkIPv6, linkRaw12, linkRaw14, 105, // the last is unsupported
}

func fuzzLinkIndex(l LinkType) uint8 {
	for i, fl := range fuzzLinks {
		if fl == l {
			return uint8(i)
		}
	}
	return uint8(len(fuzzLinks) - 1)
}

// FuzzDecode checks that Decode never panics and that the records it
// produces are consistent. The committed seeds (testdata/fuzz/FuzzDecode)
// are frames of the capture corpus on every supported link type, some of
// them truncated. Run with:
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 1m ./internal/decode/
func FuzzDecode(f *testing.F) {
	for _, fr := range allFrames {
		f.Add(fuzzLinkIndex(fr.link), fr.frame)
	}
	f.Fuzz(func(t *testing.T, li uint8, frame []byte) {
		link := fuzzLinks[int(li)%len(fuzzLinks)]
		orig := bytes.Clone(frame)
		rec := record.Record{Time: 7, Tags: record.TagZMap, SrcPort: 1, Inner: record.Inner{Valid: true}}
		reason := Decode(link, frame, &rec)
		if !bytes.Equal(frame, orig) {
			t.Fatalf("Decode modified the frame")
		}
		var again record.Record
		if r := Decode(link, frame, &again); r != reason {
			t.Fatalf("Decode() = %v then %v", reason, r)
		}
		again.Time = 7
		if again != rec {
			t.Fatalf("Decode() is not deterministic: %+v then %+v", rec, again)
		}
		checkInvariants(t, link, reason, &rec)
	})
}

func checkInvariants(t *testing.T, link LinkType, reason Reason, rec *record.Record) {
	t.Helper()
	if reason >= numReasons {
		t.Fatalf("Decode() = %d, not a declared Reason", reason)
	}
	if rec.Time != 7 || rec.Tags != 0 {
		t.Fatalf("Decode() changed Time to %d or left Tags %v", rec.Time, rec.Tags)
	}
	if (reason == UnsupportedLinkType) != !link.Supported() {
		t.Fatalf("Decode(%v) = %v", link, reason)
	}
	if rec.Options.LayoutLen > record.MaxLayout {
		t.Fatalf("layout of %d options", rec.Options.LayoutLen)
	}
	if rec.FragOffset%8 != 0 || (rec.FragOffset != 0 && !rec.Fragment) {
		t.Fatalf("FragOffset %d, Fragment %v", rec.FragOffset, rec.Fragment)
	}
	if !rec.Inner.Valid && rec.Inner != (record.Inner{}) {
		t.Fatalf("invalid Inner with fields set: %+v", rec.Inner)
	}
	if rec.Inner.HasPorts && rec.Inner.Protocol != record.ProtoTCP && rec.Inner.Protocol != record.ProtoUDP {
		t.Fatalf("Inner ports for protocol %d", rec.Inner.Protocol)
	}
	if reason != OK {
		if rec.HasTransport {
			t.Fatalf("Decode() = %v with HasTransport", reason)
		}
		return
	}
	switch rec.IPVersion {
	case 4:
		if !rec.Src.Is4() || !rec.Dst.Is4() {
			t.Fatalf("IPv4 record with addresses %v > %v", rec.Src, rec.Dst)
		}
		if rec.IPLen != 0 && rec.IPLen < 20 {
			t.Fatalf("IPv4 record with IPLen %d", rec.IPLen)
		}
	case 6:
		if !rec.Src.Is6() || !rec.Dst.Is6() || rec.IPLen < 40 || rec.IPFlags&^record.IPFlagMF != 0 {
			t.Fatalf("IPv6 record with addresses %v > %v, IPLen %d, flags %#x", rec.Src, rec.Dst, rec.IPLen, rec.IPFlags)
		}
	default:
		t.Fatalf("Decode() = ok with IPVersion %d", rec.IPVersion)
	}
	if rec.HasTransport {
		switch rec.Protocol {
		case record.ProtoTCP, record.ProtoUDP, record.ProtoICMP, record.ProtoICMPv6:
		default:
			t.Fatalf("transport header for protocol %d", rec.Protocol)
		}
		if rec.FragOffset != 0 {
			t.Fatalf("transport header in a fragment at offset %d", rec.FragOffset)
		}
		if rec.IsICMP() && (rec.SrcPort > 255 || rec.DstPort > 255) {
			t.Fatalf("ICMP type %d code %d", rec.SrcPort, rec.DstPort)
		}
	} else if rec.SrcPort != 0 || rec.DstPort != 0 {
		t.Fatalf("ports %d > %d without a transport header", rec.SrcPort, rec.DstPort)
	}
	if rec.Protocol != record.ProtoTCP || !rec.HasTransport {
		if rec.TCPFlags != 0 || rec.Seq != 0 || rec.Ack != 0 || rec.Window != 0 || rec.Options != (record.TCPOptions{}) {
			t.Fatalf("TCP fields set on a protocol %d record: %+v", rec.Protocol, rec)
		}
	}
	if rec.Inner.Valid {
		if !rec.IsICMP() {
			t.Fatalf("Inner set on a protocol %d record", rec.Protocol)
		}
		if rec.Inner.Src.Is4() != (rec.Protocol == record.ProtoICMP) || rec.Inner.Src.Is4() != rec.Inner.Dst.Is4() {
			t.Fatalf("Inner addresses %v > %v in protocol %d", rec.Inner.Src, rec.Inner.Dst, rec.Protocol)
		}
	}
}

// TestDecodeCorpusInvariants checks the fuzz invariants on every frame of
// the capture corpus (testdata/corpus).
func TestDecodeCorpusInvariants(t *testing.T) {
	for _, path := range append(corpusFiles(t, "tcpdump-tests"), corpusFiles(t, "scanners")...) {
		frames, _ := readFrames(t, path)
		for _, fr := range frames {
			for _, data := range [][]byte{fr.data, fr.data[:len(fr.data)/2]} {
				rec := record.Record{Time: 7, Tags: record.TagZMap}
				checkInvariants(t, fr.link, Decode(fr.link, data, &rec), &rec)
			}
		}
	}
}
