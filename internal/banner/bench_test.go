package banner

import (
	"bytes"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchFile builds a file of n banner lines (Nmap: hosts) in format f
// from the well-formed lines of its testdata file: real schemas with full
// pages, certificates and the fields the importers skip.
func benchFile(b *testing.B, f Format, n int) []byte {
	b.Helper()
	name := map[Format]string{FormatZgrab2: "zgrab2.jsonl", FormatShodan: "shodan.json", FormatCensys: "censys.jsonl",
		FormatMasscan: "masscan.json", FormatNmap: "nmap-loopback.xml"}[f]
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if f == FormatNmap {
		s := string(data)
		head, rest, _ := strings.Cut(s, "<host ")
		host, tail, _ := strings.Cut(rest, "</host>")
		out.WriteString(head)
		for range n {
			out.WriteString("<host " + host + "</host>\n")
		}
		out.WriteString(tail)
		return out.Bytes()
	}
	var good []string
	for line := range strings.SplitSeq(string(data), "\n") {
		r, err := NewReader(strings.NewReader(line), f)
		if err != nil {
			b.Fatal(err)
		}
		if recs, skips, err := readAll(b, r); err == nil && len(skips) == 0 && len(recs) > 0 {
			good = append(good, line)
		}
	}
	for i := range n {
		out.WriteString(good[i%len(good)])
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// cpuTime is the CPU the process has used, user and system, on all its
// threads.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkRead reads a file of 20,000 realistic lines (Nmap: hosts of
// four services) per iteration.
func BenchmarkRead(b *testing.B) {
	const lines = 20000
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			data := benchFile(b, f, lines)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			records := 0
			cpu := cpuTime(b)
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(data), f)
				if err != nil {
					b.Fatal(err)
				}
				var rec Record
				for r.Next(&rec) == nil {
					records++
				}
				if r.Lines() < lines {
					b.Fatalf("read %d lines of %d", r.Lines(), lines)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(lines*b.N)/sec, "lines/s")
			b.ReportMetric(float64(records)/sec, "records/s")
			// The CPU a line takes, on every core, is what a machine
			// shared with other work still measures.
			b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(lines*b.N), "cpu-ns/line")
		})
	}
}
