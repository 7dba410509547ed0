package analyze

import (
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// TestCountedTags: the analyzer counts the packets of every tag whose rule
// needs more than one, and may take the union for the others.
func TestCountedTags(t *testing.T) {
	t.Parallel()
	if countedTags.Len() != numCounted {
		t.Fatalf("countedTags has %d tags, numCounted says %d", countedTags.Len(), numCounted)
	}
	for _, tag := range record.AllTags() {
		e := fingerprint.SourceEvidence(tag.Index())
		onePacket := e.MinHits <= 1 && e.ShareNum == 0
		if !onePacket && !countedTags.Has(tag) {
			t.Errorf("tag %v needs %+v but is not counted", tag, e)
		}
	}
}

func TestTagHitsStopAtTheMaximum(t *testing.T) {
	t.Parallel()
	h := tagHits{1, 2, 3, 4}
	h.merge(&tagHits{^uint32(0), 0, 0, 1})
	h.add(record.TagZMap | record.TagUnicornscan | record.TagMirai)
	if want := (tagHits{^uint32(0), 2, 3, 6}); h != want {
		t.Errorf("hits = %v, want %v", h, want)
	}
}

// TestSourceTagsNeedEvidence: a packet keeps its tags; a source carries a
// scanner tag only with the evidence its rule asks for.
func TestSourceTagsNeedEvidence(t *testing.T) {
	t.Parallel()
	a := New(Config{Sources: 10}, testFleet(t))
	zmap := func(r *record.Record) { r.IPID = fingerprint.ZMapIPID }
	dst := "198.18.2.9"
	pkts := repeat(99, pkt{"192.0.2.1", dst, record.ProtoTCP, 80, "2024-07-01", nil}) // busy, ordinary
	pkts = append(pkts, pkt{"192.0.2.1", dst, record.ProtoTCP, 81, "2024-07-01", zmap})
	pkts = append(pkts, repeat(3, pkt{"192.0.2.2", dst, record.ProtoTCP, 80, "2024-07-01", zmap})...) // zmap
	pkts = append(pkts, repeat(3, pkt{"192.0.2.2", dst, record.ProtoTCP, 80, "2024-07-01", nil})...)
	pkts = append(pkts, pkt{"192.0.2.3", dst, record.ProtoTCP, 80, "2024-07-01", zmap}) // one packet: not enough
	feed(t, a, pkts...)
	rep := a.Report()
	if rep.Tags["zmap"] != 5 {
		t.Errorf("zmap packets = %d, want 5: every marked packet keeps its tag", rep.Tags["zmap"])
	}
	got := map[string][]string{}
	for _, s := range rep.Sources {
		got[s.IP] = s.Tags
	}
	want := map[string][]string{"192.0.2.1": {}, "192.0.2.2": {"zmap"}, "192.0.2.3": {}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("source tags (-got, +want):\n%s", diff)
	}
}

// TestHeldOutOrdinarySources is issue 12's held-out case: 20,000
// ordinary sources of about 50 SYNs each, with random IP IDs and ISNs.
// Some of their packets carry zmap's or masscan's mark by chance (about
// 30 of the million); no source may be tagged zmap or masscan.
func TestHeldOutOrdinarySources(t *testing.T) {
	t.Parallel()
	const sources = 20_000
	path := filepath.Join(t.TempDir(), "ordinary.pcap")
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 3))
	quota := make([]int, sources)
	for i := range quota {
		quota[i] = 40 + rng.IntN(21)
	}
	frame := make([]byte, 0, 128)
	ts := int64(1719792000) * 1e9 // 2024-07-01
	for round := range slices.Max(quota) {
		for i, q := range quota {
			if round >= q {
				continue
			}
			src := 0x64400000 + uint32(i)*7 // 100.64.0.0/10
			dst := 0xc6120200 | rng.Uint32N(256)
			dport := []uint16{22, 23, 80, 443, 445, 3389, 8080}[rng.IntN(7)]
			frame = linuxSYN(frame[:0], src, dst, uint16(rng.Uint32()), uint16(32768+rng.IntN(28232)), dport, rng.Uint32())
			ts += 1e5
			if err := w.WritePacket(ts, frame); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	a := New(Config{Sources: 1 << 30}, testFleet(t))
	for _, err := range a.ReadAll(t.Context(), []Input{{Path: path}}, 2, nil) {
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := a.Report()
	if rep.Distinct != sources || len(rep.Sources) != sources {
		t.Fatalf("%d distinct sources, %d listed; want %d", rep.Distinct, len(rep.Sources), sources)
	}
	if rep.Tags["zmap"]+rep.Tags["masscan"] == 0 {
		t.Fatalf("no packet carries zmap's or masscan's mark: the capture no longer shows chance marks (tags %v)", rep.Tags)
	}
	var tagged []string
	for _, s := range rep.Sources {
		if slices.Contains(s.Tags, "zmap") || slices.Contains(s.Tags, "masscan") {
			tagged = append(tagged, s.IP+" "+s.Tags[0])
		}
	}
	if len(tagged) > 0 {
		t.Errorf("%d ordinary sources tagged zmap or masscan (packet tags: zmap %d, masscan %d): %v",
			len(tagged), rep.Tags["zmap"], rep.Tags["masscan"], tagged)
	}
}

// linuxSYN appends to b an Ethernet frame of a Linux TCP SYN from src to
// dst (window 64240; options mss, sackOK, timestamp, nop, wscale), with the
// given IP ID, ports and ISN; checksums are left zero (the decoder does
// not read them).
func linuxSYN(b []byte, src, dst uint32, id, sport, dport uint16, seq uint32) []byte {
	b = append(b, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	b = append(b, 0x45, 0, 0, 60)
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x40, 0, 50, 6, 0, 0) // DF, TTL 50, TCP, checksum
	b = binary.BigEndian.AppendUint32(b, src)
	b = binary.BigEndian.AppendUint32(b, dst)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0) // ack, offset 10 words, SYN, window 64240, checksum, urgent
	return append(b,
		2, 4, 0x05, 0xb4, // mss 1460
		4, 2, // sackOK
		8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamp
		1,       // nop
		3, 3, 7) // wscale 7
}

// TestSourceStatsSize: the per-source state every packet touches stays at
// 56 bytes; counters live apart, for the sources that need them.
func TestSourceStatsSize(t *testing.T) {
	t.Parallel()
	if got := unsafe.Sizeof(sourceStats{}); got != 56 {
		t.Errorf("sourceStats is %d bytes, want 56", got)
	}
}
