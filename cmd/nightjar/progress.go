package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
)

// progressLine redraws one status line on a terminal, at most a few times a
// second. It is silent when the writer is not a terminal (a pipe or a log
// file gets no carriage-return noise).
type progressLine struct {
	w        io.Writer
	started  time.Time
	last     time.Time
	shown    bool
	fileNo   int
	files    int
	previous uint64 // frames of the files already finished
	unit     string // what is counted: "frames" unless set
}

func newProgressLine(w io.Writer, files int) *progressLine {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressLine{w: w, started: time.Now(), files: files, unit: "frames"}
}

// counting sets what the line counts ("lines"); a nil line stays nil.
func (p *progressLine) counting(unit string) *progressLine {
	if p != nil {
		p.unit = unit
	}
	return p
}

func (p *progressLine) nextFile(frames uint64) {
	if p == nil {
		return
	}
	p.fileNo++
	p.previous = frames
}

// update is an analyze.Progress; a nil line ignores it.
func (p *progressLine) update(file string, done, total int64, frames uint64) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	all := p.previous + frames
	rate := float64(all) / now.Sub(p.started).Seconds()
	pct := ""
	if total > 0 {
		pct = fmt.Sprintf(" %3.0f%%", 100*float64(done)/float64(total))
	}
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s%s  %s %s  %.2fM %[6]s/s", p.fileNo, p.files, file, pct, analyze.Thousands(all), p.unit, rate/1e6)
	p.shown = true
}

func (p *progressLine) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
