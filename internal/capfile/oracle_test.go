package capfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// oraclePacket is a packet as both readers can express it.
type oraclePacket struct {
	Sec, Nsec int64
	LinkType  uint32
	Data      []byte
	OrigLen   uint32
	Interface int
}

func (o oraclePacket) equal(p oraclePacket) bool {
	return o.Sec == p.Sec && o.Nsec == p.Nsec && o.LinkType == p.LinkType &&
		bytes.Equal(o.Data, p.Data) && o.OrigLen == p.OrigLen && o.Interface == p.Interface
}

type readResult struct {
	pkts []oraclePacket
	err  error
}

// readOurs reads every packet of data with our Reader, copying Data.
func readOurs(name string, data []byte) readResult {
	var res readResult
	r, err := NewReader(name, bytes.NewReader(data))
	if err != nil {
		res.err = err
		return res
	}
	defer r.Close()
	var p Packet
	for {
		if err := r.Next(&p); err != nil {
			if err != io.EOF {
				res.err = err
			}
			return res
		}
		sec, nsec := p.Time/1e9, p.Time%1e9
		if nsec < 0 {
			sec, nsec = sec-1, nsec+1e9
		}
		res.pkts = append(res.pkts, oraclePacket{
			Sec: sec, Nsec: nsec, LinkType: p.LinkType,
			Data: bytes.Clone(p.Data), OrigLen: p.OrigLen, Interface: p.Interface,
		})
	}
}

// readPcapgo reads data with pcapgo. pcapng is read with WantMixedLinkType
// so that every packet carries its interface's link type. The pcap snaplen
// is capped at 16 MiB: pcapgo allocates a snaplen-sized buffer, and four
// fuzzed files claim up to 2 GiB (we reject any record above MaxCapLen).
func readPcapgo(data []byte) (res readResult) {
	defer func() {
		if v := recover(); v != nil {
			res.err = fmt.Errorf("pcapgo panic: %v", v)
		}
	}()
	var (
		next func() ([]byte, gopacket.CaptureInfo, error)
		link func(gopacket.CaptureInfo) uint32
	)
	if bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			res.err = err
			return res
		}
		next = r.ReadPacketData
		link = func(ci gopacket.CaptureInfo) uint32 {
			return uint32(ci.AncillaryData[0].(layers.LinkType))
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			res.err = err
			return res
		}
		r.SetSnaplen(min(r.Snaplen(), 16<<20))
		lt := uint32(r.LinkType())
		next = r.ReadPacketData
		link = func(gopacket.CaptureInfo) uint32 { return lt }
	}
	for {
		data, ci, err := next()
		if err != nil {
			if err != io.EOF {
				res.err = err
			}
			return res
		}
		var sec, nsec int64
		if !ci.Timestamp.IsZero() { // pcapng Simple Packet Block: no time
			sec, nsec = ci.Timestamp.Unix(), int64(ci.Timestamp.Nanosecond())
		}
		res.pkts = append(res.pkts, oraclePacket{
			Sec: sec, Nsec: nsec, LinkType: link(ci),
			Data: data, OrigLen: uint32(ci.Length), Interface: ci.InterfaceIndex,
		})
	}
}

func corpusFiles(t testing.TB) []string {
	var files []string
	for _, dir := range []string{"tcpdump-tests", "scanners"} {
		m, err := filepath.Glob(filepath.Join(testenv.Corpus(t, dir), "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("the capture corpus is empty")
	}
	sort.Strings(files)
	return files
}

// Classes of comparison between our Reader and pcapgo over the corpus.
// Every file must fall in one of them; see README.md.
const (
	// Same packets, and both readers end the same way (clean end, or an
	// error after the same number of packets).
	classAgree = "agree"
	// pcapgo stops at a record whose captured length exceeds the header's
	// snaplen; we accept it (up to max(2*snaplen, 64 KiB), at most
	// MaxCapLen), as libpcap/tcpdump and Wireshark do. We return more
	// packets, the common prefix is identical.
	classCapOverSnap = "caplen > snaplen: pcapgo stops, we continue"
	// pcapgo stops at a record whose captured length exceeds its original
	// length; we return it with OrigLen as recorded, as tcpdump does.
	classCapOverOrig = "caplen > origlen: pcapgo stops, we continue"
	// A microsecond pcap record has a fraction >= 10^6: pcapgo (like
	// Wireshark) multiplies it by 1000 in uint32 and wraps; we carry the
	// excess into the seconds. Only Time differs, by a multiple of 2^32 ns.
	classFracWrap = "usec fraction >= 1 s: pcapgo wraps in uint32, we carry"
)

// TestOracle reads every corpus file with our Reader and with pcapgo and
// checks that they agree up to the first error, or differ only in one of
// the documented classes, whose counts are pinned.
func TestOracle(t *testing.T) {
	files := corpusFiles(t)
	got := map[string]int{}
	errKinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		ours := readOurs(name, data)
		theirs := readPcapgo(data)
		if ours.err != nil {
			var fe *FormatError
			if !errors.As(ours.err, &fe) {
				t.Errorf("%s: error %v is not a *FormatError", name, ours.err)
			}
			errKinds[errKind(ours.err)]++
		}
		cls, diff := classify(ours, theirs)
		if cls == "" {
			t.Errorf("%s: undocumented disagreement: ours %d packets (%v), pcapgo %d (%v)\n%s",
				name, len(ours.pkts), ours.err, len(theirs.pkts), theirs.err, diff)
			continue
		}
		got[cls]++
	}
	t.Logf("our errors by kind: %v", errKinds)
	want := map[string]int{
		classAgree:       801,
		classCapOverSnap: 34,
		classCapOverOrig: 2,
		classFracWrap:    3,
	}
	if len(files) != 840 {
		t.Logf("corpus has %d files, counts were pinned for 840", len(files))
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("oracle classes (-got, +want):\n%s", diff)
	}
}

// classify names the class of a file's comparison, or returns "" and a
// diff for an undocumented disagreement.
func classify(ours, theirs readResult) (string, string) {
	n := min(len(ours.pkts), len(theirs.pkts))
	fracWrap := false
	for i := range n {
		o, p := ours.pkts[i], theirs.pkts[i]
		if o.equal(p) {
			continue
		}
		d := (o.Sec-p.Sec)*1e9 + o.Nsec - p.Nsec
		o.Sec, o.Nsec = p.Sec, p.Nsec
		if d > 0 && d%(1<<32) == 0 && o.equal(p) {
			fracWrap = true
			continue
		}
		return "", fmt.Sprintf("packet %d: Next() (-got, +want):\n%s", i, cmp.Diff(ours.pkts[i], theirs.pkts[i], cmpopts.EquateEmpty()))
	}
	sameEnd := len(ours.pkts) == len(theirs.pkts) && (ours.err == nil) == (theirs.err == nil)
	switch {
	case sameEnd && fracWrap:
		return classFracWrap, ""
	case sameEnd:
		return classAgree, ""
	case len(ours.pkts) > len(theirs.pkts) && theirs.err != nil && !fracWrap:
		switch msg := theirs.err.Error(); {
		case strings.HasPrefix(msg, "capture length exceeds snap length"):
			return classCapOverSnap, ""
		case strings.HasPrefix(msg, "capture length exceeds original packet length"):
			return classCapOverOrig, ""
		}
	}
	return "", ""
}

// errKind names the sentinel an error wraps, for the log.
func errKind(err error) string {
	for _, k := range []error{ErrBadMagic, ErrBadHeader, ErrTruncated, ErrBadLength, ErrBadBlock, ErrBadTimestamp, ErrCompression} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return "other"
}
