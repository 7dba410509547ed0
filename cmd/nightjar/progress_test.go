package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	// newProgressLine stays silent off a terminal: a buffer is not one.
	if p := newProgressLine(&buf, 2); p != nil {
		t.Fatal("progress line on a non-terminal writer")
	}
	p := &progressLine{w: &buf, started: time.Now().Add(-time.Second), files: 2, unit: "frames"}
	p.nextFile(0)
	p.update("a.pcap", 50, 100, 2_500_000)
	got := buf.String()
	for _, want := range []string{"\r\033[K", "[1/2] a.pcap", " 50%", "2,500,000 frames", "M frames/s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress line %q lacks %q", got, want)
		}
	}
	buf.Reset()
	p.update("a.pcap", 60, 100, 3_000_000) // within 200 ms of the last redraw
	if buf.Len() != 0 {
		t.Errorf("redrawn too soon: %q", buf.String())
	}
	p.done()
	if got := buf.String(); got != "\r\033[K" {
		t.Errorf("done() wrote %q, want the line cleared", got)
	}
	var none *progressLine
	none.nextFile(1) // a nil line (no terminal) is a no-op
	none.done()
	if none.counting("lines") != nil {
		t.Error("counting made a line of no terminal")
	}
	// devices import counts banner lines.
	buf.Reset()
	p = (&progressLine{w: &buf, started: time.Now().Add(-time.Second), files: 1}).counting("lines")
	p.nextFile(0)
	p.update("shodan.json.gz", 0, 0, 120_000)
	if got := buf.String(); !strings.Contains(got, "120,000 lines") || !strings.Contains(got, "M lines/s") || strings.Contains(got, "%") {
		t.Errorf("progress line of lines %q", got)
	}
}
