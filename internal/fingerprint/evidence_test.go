package fingerprint_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

func TestSourceTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		packets uint64
		hits    map[record.Tags]uint64
		want    []string
	}{
		{name: "no packet", packets: 0, want: nil},
		{name: "one mirai packet among a million", packets: 1_000_000, hits: map[record.Tags]uint64{record.TagMirai: 1}, want: []string{"mirai"}},
		{name: "one backscatter and one spoofed packet", packets: 500, hits: map[record.Tags]uint64{record.TagBackscatter: 1, record.TagSpoofed: 1}, want: []string{"backscatter", "spoofed"}},
		{name: "one zmap packet alone", packets: 1, hits: map[record.Tags]uint64{record.TagZMap: 1}, want: nil},
		{name: "two zmap packets of two", packets: 2, hits: map[record.Tags]uint64{record.TagZMap: 2}, want: []string{"zmap"}},
		{name: "masscan on exactly half", packets: 10, hits: map[record.Tags]uint64{record.TagMasscan: 5}, want: []string{"masscan"}},
		{name: "masscan under half", packets: 11, hits: map[record.Tags]uint64{record.TagMasscan: 5}, want: nil},
		{name: "zmap on a few packets of a busy source", packets: 100_000, hits: map[record.Tags]uint64{record.TagZMap: 3, record.TagMasscan: 2}, want: nil},
		{name: "one nmap packet alone", packets: 1, hits: map[record.Tags]uint64{record.TagNmap: 1}, want: []string{"nmap"}},
		{name: "unicornscan on every probe but the first", packets: 2, hits: map[record.Tags]uint64{record.TagUnicornscan: 1}, want: []string{"unicornscan"}},
		{name: "nmap among ordinary packets", packets: 9, hits: map[record.Tags]uint64{record.TagNmap: 4}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits [record.NumTags]uint64
			for tag, n := range tt.hits {
				hits[tag.Index()] = n
			}
			if diff := cmp.Diff(fingerprint.SourceTags(tt.packets, &hits).Names(), tt.want); diff != "" {
				t.Errorf("SourceTags(%d, %v) (-got, +want):\n%s", tt.packets, hits, diff)
			}
		})
	}
}

// TestOrdinarySourcesUntagged: ordinary sources (random IP IDs and ISNs,
// Linux SYN options) of 10, 1,000 and 100,000 packets get no scanner tag,
// though the busiest one's packets carry some by chance.
func TestOrdinarySourcesUntagged(t *testing.T) {
	t.Parallel()
	for _, n := range []int{10, 1_000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(n), 12))
			tagger := fingerprint.NewTagger(0)
			var hits [record.NumTags]uint64
			var union record.Tags
			src := record.MustParseAddr("192.0.2.44")
			for range n {
				rec := ordinaryPacket(rng, src)
				tagger.Tag(&rec)
				union |= rec.Tags
				fingerprint.CountTags(&hits, rec.Tags)
			}
			if got := fingerprint.SourceTags(uint64(n), &hits); got&record.ScannerTags != 0 {
				t.Errorf("SourceTags(%d, %v) = %v, want no scanner tag", n, hits, got)
			}
			// At 100,000 packets, about 1.5 carry zmap's mark and 1.2
			// masscan's: the test would show a source rule that trusts a
			// packet.
			if n == 100_000 && union&record.ScannerTags == 0 {
				t.Errorf("no packet of %d carries a scanner tag: the test no longer shows chance marks", n)
			}
		})
	}
}

// ordinaryPacket returns a packet of an ordinary host: mostly TCP SYNs of a
// Linux stack, some UDP and ICMP echo requests, every IP ID, ISN and
// source port random.
func ordinaryPacket(rng *rand.Rand, src record.Addr) record.Record {
	r := record.Record{
		Src: src, Dst: record.AddrFromUint32(0xc6120000 | rng.Uint32N(1<<17)), IPVersion: 4,
		TTL: 50, IPID: rng.Uint32N(1 << 16), IPLen: 60, HasTransport: true,
		SrcPort: uint16(32768 + rng.IntN(28232)),
	}
	switch x := rng.IntN(10); {
	case x < 8:
		r.Protocol, r.TCPFlags, r.Seq, r.Window = record.ProtoTCP, record.FlagSYN, rng.Uint32(), 64240
		r.DstPort = []uint16{22, 23, 80, 443, 445, 3389, 8080}[rng.IntN(7)]
		for _, k := range []uint8{record.OptMSS, record.OptSACKOK, record.OptTimestamp, record.OptNOP, record.OptWScale} {
			r.Options.AddKind(k)
		}
	case x < 9:
		r.Protocol, r.DstPort = record.ProtoUDP, []uint16{53, 123, 161, 1900}[rng.IntN(4)]
	default:
		r.Protocol, r.SrcPort = record.ProtoICMP, 8 // echo request: type 8, code 0
	}
	return r
}

// TestEvidenceFalsePositives checks the false-positive probabilities that
// the doc comment of sourceEvidence states, from the rules themselves:
// P(Binomial(trials, p) ≥ max(MinHits, ⌈n·ShareNum/ShareDen⌉)) for an
// ordinary source of n packets.
func TestEvidenceFalsePositives(t *testing.T) {
	t.Parallel()
	const p16, p32 = 1.0 / (1 << 16), 1.0 / (1 << 32)
	type rule struct {
		tag    record.Tags
		p      float64
		trials func(n int) int // independent chances of a false mark
	}
	every := func(n int) int { return n }
	mirai := rule{record.TagMirai, p32, every}
	zmap := rule{record.TagZMap, p16, every}
	masscan := rule{record.TagMasscan, p16, every}
	// Each probe but the first is compared with its predecessor.
	unicorn := rule{record.TagUnicornscan, p32, func(n int) int { return n - 1 }}

	stated := []struct {
		rule rule
		n    int
		want string // %.1e, or "0"
	}{
		{mirai, 1, "2.3e-10"}, {mirai, 100_000, "2.3e-05"}, {mirai, 10_000_000, "2.3e-03"},
		{zmap, 1, "0"}, {zmap, 2, "2.3e-10"}, {zmap, 3, "7.0e-10"}, {zmap, 4, "1.4e-09"}, {zmap, 5, "3.6e-14"}, {zmap, 10, "2.1e-22"},
		{unicorn, 2, "2.3e-10"}, {unicorn, 3, "5.4e-20"}, {unicorn, 4, "1.6e-19"},
	}
	for _, s := range stated {
		got := "0"
		if lp := falsePositive(s.rule.tag, s.rule.p, s.rule.trials, s.n); !math.IsInf(lp, -1) {
			got = fmt.Sprintf("%.1e", math.Pow(10, lp))
		}
		if got != s.want {
			t.Errorf("%v at n = %d: probability %s, the comment says %s", s.rule.tag, s.n, got, s.want)
		}
	}

	// Bounds stated for every n from a point on; masscan's rule is zmap's.
	bounds := []struct {
		rule     rule
		from, to int
		log10Max float64
	}{
		{zmap, 1, 200_000, math.Log10(1.4e-9) + 1e-3}, // n = 4 is the largest
		{zmap, 20, 200_000, -40},
		{masscan, 1, 200_000, math.Log10(1.4e-9) + 1e-3},
		{unicorn, 5, 200_000, -27},
	}
	for _, b := range bounds {
		for n := b.from; n <= b.to; n++ {
			if lp := falsePositive(b.rule.tag, b.rule.p, b.rule.trials, n); lp > b.log10Max {
				t.Errorf("%v at n = %d: probability 1e%.2f, above the stated 1e%.2f", b.rule.tag, n, lp, b.log10Max)
				break
			}
		}
	}
	if zm, ms := fingerprint.SourceEvidence(record.TagZMap.Index()), fingerprint.SourceEvidence(record.TagMasscan.Index()); zm != ms {
		t.Errorf("the comment gives masscan zmap's figures, but their rules differ: %+v, %+v", ms, zm)
	}
}

// falsePositive returns log10 of the probability that a source of n
// packets whose marks each appear by chance with probability p, over
// trials(n) independent chances, carries tag (-Inf when impossible).
func falsePositive(tag record.Tags, p float64, trials func(int) int, n int) float64 {
	e := fingerprint.SourceEvidence(tag.Index())
	k := max(e.MinHits, (uint64(n)*e.ShareNum+e.ShareDen-1)/e.ShareDen)
	return log10BinomialTail(trials(n), p, int(k))
}

// log10BinomialTail returns log10 P(Binomial(m, p) ≥ k), summing the
// terms from k on in log space until they no longer count.
func log10BinomialTail(m int, p float64, k int) float64 {
	if k > m {
		return math.Inf(-1)
	}
	if k <= 0 {
		return 0
	}
	logTerm := func(j int) float64 {
		a, _ := math.Lgamma(float64(m + 1))
		b, _ := math.Lgamma(float64(j + 1))
		c, _ := math.Lgamma(float64(m - j + 1))
		return a - b - c + float64(j)*math.Log(p) + float64(m-j)*math.Log1p(-p)
	}
	top := logTerm(k) // the terms fall from k on, since k > m·p here
	sum := 0.0
	for j := k; j <= m; j++ {
		d := logTerm(j) - top
		if d < -50 {
			break
		}
		sum += math.Exp(d)
	}
	return (top + math.Log(sum)) / math.Ln10
}
