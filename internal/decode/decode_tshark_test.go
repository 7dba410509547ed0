package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// This file compares Decode with tshark, the reference dissector, on every
// frame of the 830 captures of tcpdump's regression suite. It compares the
// outermost IP header and the header right after it: whether that is TCP,
// UDP, ICMP or ICMPv6, its destination address and its port label ("23/TCP",
// "53/UDP", "ICMP", "ICMPv6"), per frame and as counts per (destination,
// label).
//
// tshark costs about 0.3 s of CPU to start here, so running it once per
// capture file took almost 7 minutes on the 2-CPU test host. The test
// instead writes the frames it read into a few pcapng files, one section per
// capture file (with the captured and original lengths of every frame, so
// tshark sees truncation exactly as in the original), and runs tshark on
// those in parallel. capinfos, which reads with the same library as tshark
// (wiretap), counts the frames of every original file so that frames our
// test reader does not read are counted, not silently missed (pcapgo stops
// at a captured length above the snap length, wiretap does not).
//
// Where the two decoders differ for a principled reason, the frame is
// excluded and counted under that reason (see classify and README.md).
// Any other difference fails the test.

// tsharkFields are the fields asked of tshark, in order.
var tsharkFields = []string{"frame.number", "frame.protocols", "ip.dst", "ipv6.dst", "tcp.dstport", "udp.dstport"}

// labelled is one frame's outermost IP destination and port label; the
// zero value means "no IPv4/IPv6 TCP, UDP, ICMP or ICMPv6 packet".
type labelled struct {
	Dst   string
	Label string
}

// proto returns "IPv4/TCP", "IPv6/UDP", "IPv4/ICMP"...
func (l labelled) proto() string {
	v := "IPv4/"
	if strings.Contains(l.Dst, ":") {
		v = "IPv6/"
	}
	if i := strings.IndexByte(l.Label, '/'); i >= 0 {
		return v + l.Label[i+1:]
	}
	return v + l.Label
}

// tsharkFrame is one line of tshark's output.
type tsharkFrame struct {
	protocols string // e.g. "eth:ethertype:ip:tcp"
	stack     []string
	ip        int // index in stack of the outermost ip/ipv6, -1 if none
	next      int // index in stack of the protocol after ip/ipv6 and its extension headers
	labelled
}

// ipv6ExtTokens are the frame.protocols names tshark gives IPv6 extension
// headers that Decode walks.
var ipv6ExtTokens = map[string]bool{
	"ipv6.hopopts": true, "ipv6.routing": true, "ipv6.fraghdr": true, "ipv6.dstopts": true,
	"ah": true, "mipv6": true, "hip": true, "shim6": true, "ipv6.shim6": true,
}

func parseTsharkLine(line string) (int, tsharkFrame, error) {
	f := strings.Split(line, "\t")
	if len(f) != len(tsharkFields) {
		return 0, tsharkFrame{}, fmt.Errorf("tshark line %q has %d fields, want %d", line, len(f), len(tsharkFields))
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, tsharkFrame{}, fmt.Errorf("tshark line %q: %w", line, err)
	}
	tf := tsharkFrame{protocols: f[1], stack: strings.Split(f[1], ":"), ip: -1, next: -1}
	for i, p := range tf.stack {
		if p == "ip" || p == "ipv6" {
			tf.ip = i
			break
		}
	}
	if tf.ip < 0 {
		return n, tf, nil
	}
	i := tf.ip + 1
	if tf.stack[tf.ip] == "ipv6" {
		for i < len(tf.stack) && ipv6ExtTokens[tf.stack[i]] {
			i++
		}
	}
	if i >= len(tf.stack) {
		return n, tf, nil
	}
	tf.next = i
	dst := f[2]
	if tf.stack[tf.ip] == "ipv6" {
		dst = f[3]
	}
	switch tf.stack[i] {
	case "tcp":
		if f[4] != "" {
			tf.labelled = labelled{dst, f[4] + "/TCP"}
		}
	case "udp", "udplite":
		if tf.stack[i] == "udp" && f[5] != "" {
			tf.labelled = labelled{dst, f[5] + "/UDP"}
		}
	case "icmp":
		tf.labelled = labelled{dst, "ICMP"}
	case "icmpv6":
		tf.labelled = labelled{dst, "ICMPv6"}
	}
	return n, tf, nil
}

// tunnel names the encapsulation after the outermost IP header when tshark
// found another IP header inside it ("gre", "ip", "udp:vxlan"...), or "".
// ICMP errors quote an IP header too, and are not tunnels.
func (tf tsharkFrame) tunnel() string {
	if tf.ip < 0 || tf.next < 0 {
		return ""
	}
	switch tf.stack[tf.next] {
	case "icmp", "icmpv6":
		return ""
	}
	for i := tf.next; i < len(tf.stack); i++ {
		if tf.stack[i] == "ip" || tf.stack[i] == "ipv6" {
			if i == tf.next {
				return tf.stack[tf.ip] + "-in-" + tf.stack[i]
			}
			return strings.Join(tf.stack[tf.next:min(i, tf.next+2)], ":")
		}
	}
	return ""
}

// ourLabel is the labelled form of a Decode result.
func ourLabel(reason Reason, rec *record.Record) labelled {
	if reason != OK || !rec.HasTransport {
		return labelled{}
	}
	switch rec.Protocol {
	case record.ProtoTCP, record.ProtoUDP, record.ProtoICMP, record.ProtoICMPv6:
		return labelled{rec.Dst.String(), rec.PortLabel()}
	}
	return labelled{}
}

// corpusFile is one capture file as our reader read it.
type corpusFile struct {
	path   string
	frames []capFrame
	err    error
}

// writePcapng writes the frames of files as a pcapng file, one section per
// capture file and one interface per link type within it.
func writePcapng(path string, files []corpusFile) error {
	var buf bytes.Buffer
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		n := uint32(12 + len(body) + (4-len(body)%4)%4)
		buf.Write(le.AppendUint32(le.AppendUint32(nil, typ), n))
		buf.Write(body)
		buf.Write(make([]byte, (4-len(body)%4)%4))
		buf.Write(le.AppendUint32(nil, n))
	}
	for _, f := range files {
		block(0x0a0d0d0a, []byte{0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		ifaces := map[LinkType]uint32{}
		for _, fr := range f.frames {
			if _, ok := ifaces[fr.link]; !ok {
				ifaces[fr.link] = uint32(len(ifaces))
				block(1, le.AppendUint32(le.AppendUint32(nil, uint32(fr.link)), 0))
			}
			body := le.AppendUint32(nil, ifaces[fr.link])
			body = le.AppendUint64(body, 0)
			body = le.AppendUint32(body, uint32(len(fr.data)))
			body = le.AppendUint32(body, uint32(max(fr.origLen, len(fr.data))))
			block(6, append(body, fr.data...))
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// runTshark runs tshark on path and returns its frames, indexed from 0.
func runTshark(tshark, path string, want int) ([]tsharkFrame, error) {
	args := []string{"-r", path, "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-E", "occurrence=f", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", cmd, err, stderr.String())
	}
	frames := make([]tsharkFrame, 0, want)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n, tf, err := parseTsharkLine(sc.Text())
		if err != nil {
			return nil, err
		}
		if n != len(frames)+1 {
			return nil, fmt.Errorf("tshark frame number %d, want %d", n, len(frames)+1)
		}
		frames = append(frames, tf)
	}
	if len(frames) != want {
		return nil, fmt.Errorf("tshark printed %d frames of %s, want %d", len(frames), path, want)
	}
	return frames, nil
}

// wiretapCounts returns the number of frames capinfos reads from each file
// (nil if capinfos is missing).
func wiretapCounts(t *testing.T, paths []string) map[string]int {
	capinfos, err := exec.LookPath("capinfos")
	if err != nil {
		t.Logf("capinfos not found: frames our reader misses are not counted")
		return nil
	}
	cmd := exec.Command(capinfos, append([]string{"-c", "-T", "-r", "-M"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // non-zero when a file is damaged; parse what it says
	counts := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		name, n, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		if c, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			counts[name] = c
		}
	}
	// "capinfos: An error occurred after reading 12 packets from "f": ..."
	for _, line := range strings.Split(stderr.String(), "\n") {
		var n int
		var name string
		if i := strings.Index(line, "after reading "); i >= 0 {
			if _, err := fmt.Sscanf(line[i:], "after reading %d packets from %q", &n, &name); err == nil {
				counts[name] = n
			} else if j := strings.Index(line, " from \""); j >= 0 {
				fmt.Sscanf(line[i:], "after reading %d", &n)
				name, _, _ = strings.Cut(line[j+7:], "\"")
				counts[name] = n
			}
		}
	}
	return counts
}

// Exclusion classes: frames where tshark and Decode differ for a
// documented reason (see README.md). Classes that name a protocol or link
// type get it appended, e.g. "link type Decode does not support: PPP (9)".
const (
	exUnsupportedLink = "link type Decode does not support"
	exLinkEncap       = "IP behind a link-layer encapsulation Decode does not enter"
	exTruncTransport  = "transport header truncated (or cut by a tiny first fragment): tshark labels a partial header"
	exBadDataOffset   = "TCP data offset < 5: tshark still labels the ports"
	exIPv6PlenZero    = "IPv6 payload length 0 without a jumbo option (BIG TCP/TSO): tshark 4.0 sees an empty payload"
	exReaderMissed    = "not compared: frames capinfos reads after our test reader's first read error"
)

// linkTokens are the frame.protocols names of the link layers Decode
// walks through to IP.
var linkTokens = map[string]bool{
	"eth": true, "ethertype": true, "vlan": true, "ieee8021ad": true, "sll": true, "null": true,
	"loop": true, "raw": true, "pppoes": true, "ppp": true, "mpls": true, "llc": true,
	"ipv4": true, "ipv6": true, "frame": true,
}

// classify explains why our label and tshark's differ for one frame, or
// returns "" when it cannot.
func classify(fr capFrame, reason Reason, rec *record.Record, tf tsharkFrame) string {
	switch reason {
	case UnsupportedLinkType:
		return exUnsupportedLink + ": " + fr.link.String()
	case NonIP, TruncatedLinkHeader:
		if tf.ip > 0 {
			for _, tok := range tf.stack[:tf.ip] {
				if !linkTokens[tok] {
					return exLinkEncap + ": " + tok
				}
			}
		}
	case TruncatedTCPHeader, TruncatedUDPHeader, TruncatedICMPHeader:
		return exTruncTransport
	case BadTCPDataOffset:
		return exBadDataOffset
	case OK:
		if rec.IPVersion == 6 && rec.IPLen == 40 && tf.Label == "" {
			return exIPv6PlenZero
		}
		if rec.Fragment && rec.FragOffset == 0 && !rec.HasTransport && tf.Label != "" {
			return exTruncTransport // a tiny first fragment
		}
	}
	return ""
}

func TestDecodeTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	if testing.Short() {
		t.Skip("skipping the tshark comparison in -short mode")
	}
	paths := corpusFiles(t, "tcpdump-tests")
	files := make([]corpusFile, len(paths))
	for i, p := range paths {
		files[i].path = p
		files[i].frames, files[i].err = readFrames(t, p)
	}

	// Batches of about equal frame counts, run by a small worker pool.
	const nBatches = 8
	var total int
	for _, f := range files {
		total += len(f.frames)
	}
	type batch struct {
		files  []corpusFile
		frames int
		out    []tsharkFrame
		err    error
	}
	var batches []*batch
	cur := &batch{}
	for _, f := range files {
		cur.files = append(cur.files, f)
		cur.frames += len(f.frames)
		if cur.frames >= total/nBatches {
			batches = append(batches, cur)
			cur = &batch{}
		}
	}
	if len(cur.files) > 0 {
		batches = append(batches, cur)
	}
	dir := t.TempDir()
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(max(runtime.NumCPU(), 2), 4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				b := batches[i]
				path := filepath.Join(dir, fmt.Sprintf("batch%d.pcapng", i))
				if b.err = writePcapng(path, b.files); b.err == nil {
					b.out, b.err = runTshark(tshark, path, b.frames)
				}
			}
		}()
	}
	for i := range batches {
		work <- i
	}
	close(work)
	wg.Wait()

	// Counts per (destination, label) and per protocol, over all frames
	// and over the frames not excluded.
	type counts struct {
		all, kept           map[labelled]int
		protoAll, protoKept map[string]int
	}
	newCounts := func() *counts {
		return &counts{map[labelled]int{}, map[labelled]int{}, map[string]int{}, map[string]int{}}
	}
	ours, theirs := newCounts(), newCounts()
	add := func(c *counts, l labelled, kept bool) {
		if l.Label == "" {
			return
		}
		c.all[l]++
		c.protoAll[l.proto()]++
		if kept {
			c.kept[l]++
			c.protoKept[l.proto()]++
		}
	}
	var (
		cleanFiles, explainedFiles int
		frames, agreeFrames        int
		unexplained                int
		excluded                   = map[string]int{}
		tunnels                    = map[string]int{}
		dump                       *os.File
	)
	if p := os.Getenv("NIGHTJAR_TSHARK_DUMP"); p != "" {
		// Every differing frame, for investigating a new class.
		dump, _ = os.Create(p)
		defer dump.Close()
	}
	wiretap := wiretapCounts(t, paths)
	for _, b := range batches {
		if b.err != nil {
			t.Fatal(b.err)
		}
		i := 0
		for _, f := range b.files {
			clean, explained := true, true
			if c, ok := wiretap[f.path]; ok && c > len(f.frames) {
				clean = false // frames our reader misses: exReaderMissed
			}
			for n, fr := range f.frames {
				tf := b.out[i]
				i++
				frames++
				var rec record.Record
				reason := Decode(fr.link, fr.data, &rec)
				our := ourLabel(reason, &rec)
				kept := true
				if our == tf.labelled {
					agreeFrames++
				} else {
					clean = false
					if dump != nil {
						fmt.Fprintf(dump, "%s\t%d\t%v\t%v\tours=%v\ttshark=%v\t%s\t%x\n", filepath.Base(f.path), n+1, fr.link, reason, our, tf.labelled, tf.protocols, fr.data[:min(len(fr.data), 96)])
					}
					if class := classify(fr, reason, &rec, tf); class != "" {
						excluded[class]++
						kept = false
					} else {
						explained = false
						unexplained++
						if unexplained <= 30 {
							t.Errorf("%s frame %d (%v): Decode() = %v, %+v; tshark %+v (%s)", filepath.Base(f.path), n+1, fr.link, reason, our, tf.labelled, tf.protocols)
						}
					}
				}
				if our == tf.labelled && tf.tunnel() != "" {
					tunnels[tf.tunnel()]++
				}
				add(ours, our, kept)
				add(theirs, tf.labelled, kept)
			}
			switch {
			case clean:
				cleanFiles++
			case explained:
				explainedFiles++
			}
		}
	}
	var unread, short []string
	errs := map[string]int{}
	if wiretap != nil {
		for _, f := range files {
			c, ok := wiretap[f.path]
			if ok && c > len(f.frames) {
				excluded[exReaderMissed] += c - len(f.frames)
			}
			switch {
			case !ok:
				unread = append(unread, filepath.Base(f.path))
			case c != len(f.frames):
				short = append(short, fmt.Sprintf("%s (%d of %d)", filepath.Base(f.path), len(f.frames), c))
				if f.err != nil {
					msg, _, _ := strings.Cut(f.err.Error(), ":")
					errs[msg]++
				}
			}
		}
		if len(short) > 0 {
			t.Logf("%d files where our reader reads fewer frames than capinfos, by error %v: %s", len(short), errs, strings.Join(short, " "))
		}
		if len(unread) > 0 {
			t.Logf("%d files capinfos cannot read (unknown link types; their frames still went through tshark): %s", len(unread), strings.Join(unread, " "))
		}
	}
	if diff := cmp.Diff(ours.kept, theirs.kept); diff != "" {
		t.Errorf("packets per (destination, label), excluded frames left out (-ours, +tshark):\n%s", diff)
	}
	if diff := cmp.Diff(ours.protoKept, theirs.protoKept); diff != "" {
		t.Errorf("packets per protocol, excluded frames left out (-ours, +tshark):\n%s", diff)
	}
	t.Logf("%d files: %d agree on every frame, %d once the excluded frames are left out, %d disagree",
		len(files), cleanFiles, explainedFiles, len(files)-cleanFiles-explainedFiles)
	t.Logf("%d frames compared: %d agree, %d excluded, %d unexplained differences", frames, agreeFrames, frames-agreeFrames-unexplained, unexplained)
	t.Logf("packets per protocol, all frames: ours %v, tshark %v", ours.protoAll, theirs.protoAll)
	t.Logf("packets per protocol, excluded frames left out: ours %v, tshark %v; %d (destination, label) pairs",
		ours.protoKept, theirs.protoKept, len(ours.kept))
	t.Logf("agreeing frames whose outer IP carries a tunnel tshark enters (compared on the outer header): %v", tunnels)
	classes := make([]string, 0, len(excluded))
	for c := range excluded {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("excluded: %5d frames: %s", excluded[c], c)
	}
}
