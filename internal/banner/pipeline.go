package banner

import (
	"errors"
	"runtime"
	"sync"
)

// A pipeline decodes the values of a JSON file on every core and hands
// their Records out in file order: one goroutine splits the input into
// batches of values, a pool of workers decodes the batches, and decode
// takes them back in the order they were split. There are only a fixed
// number of batches, recycled once read, so a Reader holds at most that
// many batches of input and Records whatever the size of its file.
type pipeline struct {
	split *jsonLines
	// value appends the Records of one JSON value; an error skips it.
	value   func(v []byte, recs []Record) ([]Record, error)
	workers int

	started, stopped bool
	free             chan *batch // batches ready to fill
	work             chan *batch // filled, for the workers
	ordered          chan *batch // filled, in file order, for decode
	quit             chan struct{}
	done             sync.WaitGroup

	cur  *batch // the batch decode reads
	next int    // its next unit
	read int    // the lines of the units decode handed out
}

const (
	// batchValues and batchBytes bound a batch: 1,024 values or 1 MiB of
	// them, whichever comes first (one longer value is a batch of its
	// own, up to MaxLine).
	batchValues = 1024
	batchBytes  = 1 << 20
)

// errClosed is what Next returns once the Reader is closed.
var errClosed = errors.New("banner reader closed")

// batch is a run of consecutive values of the input and, once decoded,
// their Records.
type batch struct {
	units []unit
	text  []byte // the units' values, one after another
	recs  []Record
	// end, after the units, is io.EOF or the error that stopped reading,
	// when lines lines were read.
	end     error
	lines   int
	decoded chan struct{} // closed by the worker that decoded the batch
}

// unit is one value of a batch: where it is in the input, its text in
// the batch's, then its Records in the batch's or why it is skipped.
type unit struct {
	start, end int
	off, len   int
	lo, hi     int
	skip       *SkipError
}

func newPipeline(split *jsonLines, value func([]byte, []Record) ([]Record, error)) *pipeline {
	return &pipeline{split: split, value: value, workers: runtime.GOMAXPROCS(0)}
}

func (p *pipeline) lines() int { return p.read }

// start runs the splitter and the workers. Two batches more than workers
// keep every worker busy while decode reads one batch and the splitter
// fills another.
func (p *pipeline) start() {
	p.started = true
	batches := p.workers + 2
	p.free = make(chan *batch, batches)
	p.work = make(chan *batch, batches) // never full: there are no more batches
	p.ordered = make(chan *batch, batches)
	p.quit = make(chan struct{})
	for range batches {
		p.free <- &batch{}
	}
	p.done.Add(1 + p.workers)
	go p.splitAll()
	for range p.workers {
		go p.decodeAll()
	}
}

// stop ends the goroutines, waiting for the splitter's read in progress.
func (p *pipeline) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	if p.started {
		close(p.quit)
		p.done.Wait()
	}
}

// decode appends the Records of the next value that has any, returning
// its *SkipError instead when it is skipped, and io.EOF or the read
// error at the end (again at every later call).
func (p *pipeline) decode(recs []Record) ([]Record, error) {
	if p.stopped {
		return recs, errClosed
	}
	if !p.started {
		p.start()
	}
	for {
		if p.cur == nil {
			p.cur, p.next = <-p.ordered, 0
			<-p.cur.decoded
		}
		b := p.cur
		if p.next == len(b.units) {
			if b.end != nil {
				p.read = b.lines
				return recs, b.end
			}
			p.recycle(b)
			p.cur = nil
			continue
		}
		u := &b.units[p.next]
		p.next++
		p.read = u.end
		if u.skip != nil {
			return recs, u.skip
		}
		if u.hi > u.lo {
			return append(recs, b.recs[u.lo:u.hi]...), nil
		}
		// A value without evidence (a port that answered nothing) gives
		// no Record: read on.
	}
}

// recycle empties a batch read to its end and gives it back to the
// splitter, dropping the references of its Records and, past four
// times the usual, its text.
func (p *pipeline) recycle(b *batch) {
	clear(b.recs[:cap(b.recs)])
	b.units, b.recs = b.units[:0], b.recs[:0]
	b.text = b.text[:0]
	if cap(b.text) > 4*batchBytes {
		b.text = nil
	}
	p.free <- b
}

// splitAll fills the free batches with the input's values until its end
// or a read error, which ends the last batch.
func (p *pipeline) splitAll() {
	defer p.done.Done()
	defer close(p.work)
	for {
		var b *batch
		select {
		case b = <-p.free:
		case <-p.quit:
			return
		}
		p.fill(b)
		b.decoded = make(chan struct{})
		p.work <- b
		p.ordered <- b
		if b.end != nil {
			return
		}
	}
}

func (p *pipeline) fill(b *batch) {
	for len(b.units) < batchValues && len(b.text) < batchBytes {
		v, err := p.split.next()
		if err != nil {
			b.end, b.lines = err, p.split.lines()
			return
		}
		b.units = append(b.units, unit{start: v.start, end: v.end, off: len(b.text), len: len(v.text), skip: v.skip})
		b.text = append(b.text, v.text...)
	}
}

// decodeAll decodes the batches the splitter fills until it stops.
func (p *pipeline) decodeAll() {
	defer p.done.Done()
	for b := range p.work {
		p.decodeBatch(b)
		close(b.decoded)
	}
}

func (p *pipeline) decodeBatch(b *batch) {
	for i := range b.units {
		u := &b.units[i]
		u.lo = len(b.recs)
		if u.skip != nil {
			u.hi = u.lo
			continue
		}
		var err error
		if b.recs, err = p.value(b.text[u.off:u.off+u.len], b.recs); err != nil {
			b.recs, u.skip = b.recs[:u.lo], &SkipError{Line: u.start, Reason: err.Error()}
		}
		u.hi = len(b.recs)
	}
}
