package fingerprint_test

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// sourceTags reads a capture and returns, per source address, the tags of
// its probes and packets, and how many carry each. Probes are what a telescope
// receives from a scanner: TCP SYNs without ACK, UDP, ICMP echo requests.
// (These captures were taken at the scanner and hold both directions, so the
// scanner host's kernel also sends RSTs to the targets' SYN-ACKs — packets a
// telescope never sees.)
type sourceSummary struct {
	union, every record.Tags // tags on any probe, tags on every probe
	probes       int
	allTags      record.Tags // tags on any packet, probe or not
	packets      int
	// probeHits and hits count the probes and the packets of each tag,
	// for fingerprint.SourceTags.
	probeHits, hits [record.NumTags]uint64
}

// probeTags and packetTags are the source's tags (fingerprint.SourceTags)
// over its probes, and over every packet it sent.
func (s *sourceSummary) probeTags() record.Tags {
	return fingerprint.SourceTags(uint64(s.probes), &s.probeHits)
}

func (s *sourceSummary) packetTags() record.Tags {
	return fingerprint.SourceTags(uint64(s.packets), &s.hits)
}

func sourceTags(t *testing.T, path string) map[record.Addr]*sourceSummary {
	t.Helper()
	out := map[record.Addr]*sourceSummary{}
	forEachRecord(t, path, func(rec *record.Record) {
		s := out[rec.Src]
		if s == nil {
			s = &sourceSummary{every: ^record.Tags(0)}
			out[rec.Src] = s
		}
		s.packets++
		s.allTags |= rec.Tags
		fingerprint.CountTags(&s.hits, rec.Tags)
		if isProbe(rec) {
			s.probes++
			s.union |= rec.Tags
			s.every &= rec.Tags
			fingerprint.CountTags(&s.probeHits, rec.Tags)
		}
	})
	return out
}

// forEachRecord decodes and tags every packet of a capture.
func forEachRecord(t *testing.T, path string, fn func(*record.Record)) {
	t.Helper()
	r, err := capfile.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	tagger := fingerprint.NewTagger(0)
	var p capfile.Packet
	var rec record.Record
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if decode.Decode(decode.LinkType(p.LinkType), p.Data, &rec) != decode.OK {
			continue
		}
		tagger.Tag(&rec)
		fn(&rec)
	}
}

func isProbe(r *record.Record) bool {
	switch r.Protocol {
	case record.ProtoTCP:
		return r.TCPFlags&(record.FlagSYN|record.FlagACK) == record.FlagSYN
	case record.ProtoUDP:
		return true
	case record.ProtoICMP:
		return r.ICMPType() == 8
	}
	return false
}

// TestScannerCorpus checks the rules on real scanner traffic
// (testdata/corpus/README.md says how each capture was made).
func TestScannerCorpus(t *testing.T) {
	scanners := testenv.Corpus(t, "scanners")
	tests := []struct {
		file string
		// want: the exact tag set of each probing source (union over its probes).
		want map[string][]string
		// every: the tag each of the source's probes must carry.
		every record.Tags
		// scanFree: sources that must carry no scanner tag at all.
		scanFree []string
	}{
		// -p0-1000 includes a probe to port 0, which corsaro's port-0 rule
		// calls spoofed.
		{file: "masscan_tcp_0_1000_20190821.pcap", want: map[string][]string{"172.31.15.102": {"masscan", "spoofed"}}, every: record.TagMasscan},
		{file: "masscan_1.3.2_tcp.pcap", want: map[string][]string{"203.0.113.88": {"masscan"}}, every: record.TagMasscan},
		{file: "zmap_2.1.1_tcp23.pcap", want: map[string][]string{"203.0.113.77": {"zmap"}}, every: record.TagZMap},
		{file: "nmap_7.93_sS.pcap", want: map[string][]string{"203.0.113.99": {"nmap"}}, every: record.TagNmap},
		{file: "mirai_like_crafted.pcap", want: map[string][]string{
			"203.0.113.11": {"mirai"}, "203.0.113.12": {"mirai"}, "203.0.113.13": {"mirai"},
		}, every: record.TagMirai},
		// masscan's UDP probes carry a keyed cookie, not the ID identity, and
		// TTL 252: corsaro's TTL rule calls them spoofed, and so do we.
		{file: "masscan_udp_0_1000_20190821.pcap", want: map[string][]string{"172.31.15.102": {"spoofed"}}},
		// Unprivileged nmap: TCP connect scans with Linux's own SYN options.
		{file: "nmap_80_vanilla.pcap", scanFree: []string{"10.87.1.10", "130.211.223.103"}},
		{file: "nmap_80_w_service_detection.pcap", scanFree: []string{"10.87.1.10", "130.211.223.103"}},
		{file: "nmap_80_all.pcap", scanFree: []string{"10.87.1.10", "130.211.223.103"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sources := sourceTags(t, filepath.Join(scanners, tt.file))
			for src, want := range tt.want {
				s := sources[record.MustParseAddr(src)]
				if s == nil || s.probes == 0 {
					t.Fatalf("no probes from %s", src)
				}
				if diff := cmp.Diff(s.union.Names(), want); diff != "" {
					t.Errorf("tags of %s (-got, +want):\n%s", src, diff)
				}
				if !s.every.Has(tt.every) {
					t.Errorf("%s: tag %v not on every one of its %d probes (on all: %v)", src, tt.every, s.probes, s.every)
				}
				// The source keeps its tags by the evidence rules: over
				// its probes, what a telescope sees, and over every packet
				// the capture holds of it, replies to its targets included.
				if diff := cmp.Diff(s.probeTags().Names(), want); diff != "" {
					t.Errorf("SourceTags of %s over its %d probes (-got, +want):\n%s", src, s.probes, diff)
				}
				if got, want := s.packetTags()&record.ScannerTags, s.union&record.ScannerTags; got != want {
					t.Errorf("SourceTags of %s over its %d packets: scanner tags %v, want %v", src, s.packets, got, want)
				}
			}
			for _, src := range tt.scanFree {
				s := sources[record.MustParseAddr(src)]
				if s == nil || s.packets == 0 {
					t.Fatalf("no packets from %s", src)
				}
				if got := s.allTags & record.ScannerTags; got != 0 {
					t.Errorf("source %s tagged %v, want no scanner tag", src, got)
				}
				if got := s.packetTags() & record.ScannerTags; got != 0 {
					t.Errorf("SourceTags of %s = %v, want no scanner tag", src, got)
				}
			}
		})
	}
}

// TestBackscatterCorpus: hping3 -SA --rand-source sends SYN-ACKs from random
// sources, what a spoofed SYN flood's victim sends to a telescope. Every
// source must be tagged backscatter and none a scanner.
func TestBackscatterCorpus(t *testing.T) {
	path := filepath.Join(testenv.Corpus(t, "scanners"), "hping3_synack_randsrc.pcap")
	sources := sourceTags(t, path)
	if len(sources) < 100 {
		t.Fatalf("got %d sources, want the ~200 random ones", len(sources))
	}
	for src, s := range sources {
		if tg := s.allTags; !tg.Has(record.TagBackscatter) || tg&record.ScannerTags != 0 {
			t.Errorf("source %s: packets tagged %v, want backscatter and no scanner tag", src, tg)
		}
		if tg := s.packetTags(); !tg.Has(record.TagBackscatter) || tg&record.ScannerTags != 0 {
			t.Errorf("SourceTags of %s = %v, want backscatter and no scanner tag", src, tg)
		}
	}
}
