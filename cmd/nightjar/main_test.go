package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/testenv"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// nightjar runs the CLI in-process and returns its exit status and output.
func nightjar(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("output differs from %s (-got, +want):\n%s", path, diff)
	}
}

type probe struct {
	src, dst string
	sport    uint16
	dport    uint16
	flags    string // "S", "SA", "R"; "" for UDP
	seq      uint32
	ipid     uint16
	ttl      uint8
	when     string
}

// frame serialises an Ethernet/IPv4/TCP-or-UDP frame with gopacket.
func (p probe) frame(t *testing.T) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: p.ttl, Id: p.ipid, SrcIP: net.ParseIP(p.src).To4(), DstIP: net.ParseIP(p.dst).To4()}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if p.flags == "" {
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
		udp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, eth, ip, udp)
	} else {
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), Seq: p.seq, Window: 1024,
			SYN: strings.Contains(p.flags, "S"), ACK: strings.Contains(p.flags, "A"), RST: strings.Contains(p.flags, "R")}
		tcp.SetNetworkLayerForChecksum(ip)
		err = gopacket.SerializeLayers(buf, opts, eth, ip, tcp)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writePcap(t *testing.T, path string, probes []probe) {
	t.Helper()
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		ts, err := time.Parse(time.DateTime, p.when)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ts.UnixNano(), p.frame(t)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

const testSensors = `sensors:
  - name: jp-1
    group: Japan
    addresses: [198.18.1.1]
  - name: jp-2
    group: Japan
    addresses: [198.18.2.0/24]
  - name: us-1
    group: overseas
    addresses: [198.19.1.1]
`

// smallCapture writes a capture whose every count is easy to check by hand:
// a Mirai-like source, a ZMap source, a masscan source, a backscatter SYN-ACK,
// and a UDP probe, over July and August 2024.
func smallCapture(t *testing.T) (dir, pcap, sensors string) {
	t.Helper()
	dir = t.TempDir()
	pcap = filepath.Join(dir, "small.pcap")
	sensors = filepath.Join(dir, "sensors.yaml")
	if err := os.WriteFile(sensors, []byte(testSensors), 0o644); err != nil {
		t.Fatal(err)
	}
	const jp1 = 0xc6120101 // 198.18.1.1
	var probes []probe
	for i := range 5 { // Mirai: seq == destination
		probes = append(probes, probe{"192.0.2.11", "198.18.1.1", uint16(40000 + i), 23, "S", jp1, uint16(100 + i), 60, "2024-07-01 10:00:00"})
	}
	probes = append(probes, probe{"192.0.2.11", "198.18.1.1", 40010, 2323, "S", jp1, 7, 60, "2024-07-01 10:00:01"})
	for i := range 3 { // ZMap: IP ID 54321, TTL 250
		probes = append(probes, probe{"192.0.2.22", []string{"198.18.1.1", "198.18.2.7", "198.19.1.1"}[i], 50000, 80, "S", 999, 54321, 250, "2024-07-15 00:00:00"})
	}
	// masscan: ID == (dst ^ dport ^ seq) & 0xffff
	probes = append(probes, probe{"192.0.2.33", "198.19.1.1", 61000, 8728, "S", 0x12345678, uint16((0xc6130101 ^ 8728 ^ 0x12345678) & 0xffff), 252, "2024-08-02 12:00:00"})
	probes = append(probes, probe{"192.0.2.33", "198.19.1.1", 61000, 22, "S", 0x12345678, uint16((0xc6130101 ^ 22 ^ 0x12345678) & 0xffff), 252, "2024-08-02 12:00:01"})
	// backscatter: SYN-ACK from a DoS victim's web server
	probes = append(probes, probe{"192.0.2.44", "198.18.2.9", 443, 33333, "SA", 5, 5, 55, "2024-08-03 00:00:00"})
	// UDP probe to 53 and one packet to an address of no sensor
	probes = append(probes, probe{"192.0.2.55", "198.18.2.9", 44444, 53, "", 0, 6, 50, "2024-08-04 00:00:00"})
	probes = append(probes, probe{"192.0.2.55", "203.0.113.9", 44444, 53, "", 0, 6, 50, "2024-08-04 00:00:01"})
	writePcap(t, pcap, probes)
	return dir, pcap, sensors
}

func TestAnalyzeGolden(t *testing.T) {
	t.Parallel()
	_, pcap, sensors := smallCapture(t)
	for _, format := range []string{"table", "json", "csv"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := nightjar(t, "analyze", "--sensors", sensors, "--top", "3", "--sources", "5", "--format", format, pcap)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			// The capture's path differs per run; the golden files hold a placeholder.
			golden(t, "analyze-small."+format, strings.ReplaceAll(stdout, pcap, "SMALL.pcap"))
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t)
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.pcap")
	// Cut inside the last packet record: 24-byte file header, then records.
	if err := os.WriteFile(truncated, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	badKey := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badKey, []byte("sensors:\n  - name: a\n    grup: Japan\n    addresses: [198.18.1.1]\n"), 0o644)

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantStdout string // substring; "" means stdout must be empty
	}{
		{name: "missing file", args: []string{"analyze", filepath.Join(dir, "nope.pcap")}, wantCode: 1,
			wantStderr: []string{"nope.pcap", "no such file"}, wantStdout: "0 packets from 1 file(s)"},
		{name: "truncated file keeps earlier packets", args: []string{"analyze", "--sensors", sensors, truncated}, wantCode: 1,
			wantStderr: []string{"truncated.pcap", "byte ", "could not be read to the end"}, wantStdout: "13 packets from 1 file(s)"},
		{name: "unknown format", args: []string{"analyze", "--format", "xml", pcap}, wantCode: 1, wantStderr: []string{`unknown --format "xml"`}},
		{name: "bad top", args: []string{"analyze", "--top", "0", pcap}, wantCode: 1, wantStderr: []string{"--top must be at least 1"}},
		{name: "unknown sensors key", args: []string{"analyze", "--sensors", badKey, pcap}, wantCode: 1, wantStderr: []string{"bad.yaml", "grup"}},
		{name: "no files", args: []string{"analyze"}, wantCode: 1, wantStderr: []string{"no capture files given"}},
		{name: "simulate with files", args: []string{"analyze", "--simulate", pcap}, wantCode: 1, wantStderr: []string{"give no FILE"}},
		{name: "simulate without out", args: []string{"simulate"}, wantCode: 1, wantStderr: []string{"--out FILE is required"}},
		{name: "simulate bad start", args: []string{"simulate", "--out", filepath.Join(dir, "x.pcap"), "--start", "July"}, wantCode: 1, wantStderr: []string{`--start "July"`}},
		{name: "bad --now", args: []string{"--now", "tomorrow", "simulate", "--out", filepath.Join(dir, "x.pcap")}, wantCode: 1, wantStderr: []string{`--now: "tomorrow" is neither an RFC 3339 time`}},
		{name: "impossible --now", args: []string{"demo", "--now", "2027-02-29"}, wantCode: 1, wantStderr: []string{`--now: "2027-02-29"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := nightjar(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.wantStdout == "" && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if tt.wantStdout != "" && !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantStdout, stdout)
			}
		})
	}
}

// TestNow: every command runs on the clock of --now, or of NIGHTJAR_NOW
// when the flag is not given; the flag wins.
func TestNow(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcap")
	simulated := func(args ...string) string {
		t.Helper()
		code, _, stderr := nightjar(t, append(args, "simulate", "--out", out, "--days", "2", "--packets", "100")...)
		if code != 0 {
			t.Fatalf("simulate %v: exit %d: %s", args, code, stderr)
		}
		return stderr
	}
	if got := simulated("--now", "2027-01-01T00:01:00Z"); !strings.Contains(got, "from 2026-12-30 to 2027-01-01") {
		t.Errorf("--now 2027-01-01T00:01:00Z: %q, want the two days up to then", got)
	}
	t.Setenv("NIGHTJAR_NOW", "2028-03-01")
	if got := simulated(); !strings.Contains(got, "from 2028-02-28 to 2028-03-01") {
		t.Errorf("NIGHTJAR_NOW=2028-03-01: %q, want the two days before (29 February included)", got)
	}
	if got := simulated("--now", "2024-07-02T00:00:00Z"); !strings.Contains(got, "from 2024-06-30 to 2024-07-02") {
		t.Errorf("--now over NIGHTJAR_NOW: %q, want the flag's instant", got)
	}
	t.Setenv("NIGHTJAR_NOW", "soon")
	if code, _, stderr := nightjar(t, "simulate", "--out", out); code == 0 || !strings.Contains(stderr, `NIGHTJAR_NOW: "soon"`) {
		t.Errorf("NIGHTJAR_NOW=soon: exit %d, %q; want an error naming the variable", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"analyze", "--help"}, {"simulate", "--help"}} {
		code, stdout, _ := nightjar(t, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("nightjar %v: exit %d, output:\n%s", args, code, stdout)
		}
	}
}

// TestAnalyzeStdin: "-" reads the capture from standard input, compressed
// or not, with the same report as the file.
func TestAnalyzeStdin(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t)
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	_, fromFile, _ := nightjar(t, "analyze", "--sensors", sensors, "--format", "json", pcap)

	zst := filepath.Join(dir, "small.pcap.zst")
	cmd := exec.Command("zstd", "-q", "-o", zst, pcap)
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "zstd not available: %v %s", err, out)
	}
	compressed, err := os.ReadFile(zst)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"plain": data, "zstd": compressed} {
		var out, errb bytes.Buffer
		code := run(t.Context(), []string{"analyze", "--sensors", sensors, "--format", "json", "-"}, bytes.NewReader(in), &out, &errb)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errb.String())
		}
		got := strings.Replace(out.String(), `"path": "-"`, `"path": "`+pcap+`"`, 1)
		if diff := cmp.Diff(got, fromFile); diff != "" {
			t.Errorf("%s stdin report differs from the file's (-stdin, +file):\n%s", name, diff)
		}
	}
}

// TestAnalyzeCorpusLosesNothing runs the CLI over tcpdump's 830 regression
// captures, many malformed on purpose: no crash, no error, and every frame
// is either a counted packet or a skip with a reason.
func TestAnalyzeCorpusLosesNothing(t *testing.T) {
	t.Parallel()
	dir := testenv.Corpus(t, "tcpdump-tests")
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) < 800 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	code, stdout, stderr := nightjar(t, append([]string{"analyze", "--quiet", "--format", "json", "--top", "1", "--sources", "1"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Frames, Packets, Unmatched uint64
		Skipped                    map[string]uint64
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var skipped uint64
	for _, n := range rep.Skipped {
		skipped += n
	}
	if rep.Frames == 0 || rep.Packets+rep.Unmatched+skipped != rep.Frames {
		t.Errorf("frames %d != packets %d + unmatched %d + skipped %d", rep.Frames, rep.Packets, rep.Unmatched, skipped)
	}
	if rep.Skipped["unsupported-link-type: IEEE802_11_RADIOTAP (127)"] == 0 {
		t.Errorf("skips do not name the link type: %v", rep.Skipped)
	}
}
