package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
)

// Input is one capture for ReadAll: the file at Path ("-" for standard
// input), or, when Stream is set, the capture Stream holds, named Path.
type Input struct {
	Path   string
	Stream io.Reader
}

// InputProgress receives the reading position of input number i and the
// frames read from it so far.
type InputProgress func(i int, done, total int64, frames uint64)

// ReadAll reads the inputs in order into the analyzer, on workers
// goroutines, and returns the error of each input (nil when read to its
// end, as ReadFile's). The report is the one a single goroutine gives
// (workers ≤ 1: ReadFile and ReadStream, one input after the other).
//
// The inputs become a stream of parts, in capture order: byte ranges of
// each memory-mapped plain pcap file (their record boundaries found by
// walking the headers, capfile.Reader.Boundary), and blocks of frames
// that one reader goroutine copies out of every other input — compressed
// and pcapng files, pipes — whose records cannot be found from an
// arbitrary offset (a gzip or zstd stream decompresses from its start).
// Each worker decodes, attributes, tags and counts the parts it takes in
// its own share (merge.go), and the calling goroutine merges the parts'
// logs in order: unicornscan probes replayed into one book, sensors
// numbered by first packet. At most 4×workers parts are in flight, so
// memory stays bounded whatever the capture's size.
func (a *Analyzer) ReadAll(ctx context.Context, inputs []Input, workers int, progress InputProgress) []error {
	if workers <= 1 {
		return a.readInOrder(ctx, inputs, progress)
	}
	r := newRun(ctx, a, inputs, workers, progress)
	return r.wait()
}

func (a *Analyzer) readInOrder(ctx context.Context, inputs []Input, progress InputProgress) []error {
	errs := make([]error, len(inputs))
	for i, in := range inputs {
		var cb Progress
		if progress != nil {
			cb = func(_ string, done, total int64, frames uint64) { progress(i, done, total, frames) }
		}
		switch {
		case in.Stream != nil:
			errs[i] = a.ReadStream(ctx, in.Path, in.Stream, cb)
		default:
			errs[i] = a.ReadFile(ctx, in.Path, cb)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errs
}

// partSizes sets how ReadAll cuts its inputs into parts.
type partSizes struct {
	// rangeBytes is the size of a byte range of a mapped file.
	rangeBytes int64
	// blockBytes and blockFrames bound a block of copied frames.
	blockBytes, blockFrames int
}

// defaultPartSizes: ranges of about 50,000 packets, so that a part's fixed
// costs vanish and the last parts still spread over the workers; blocks
// of 1 MiB. Tests cut smaller.
func defaultPartSizes() partSizes {
	return partSizes{rangeBytes: 4 << 20, blockBytes: 1 << 20, blockFrames: 16 << 10}
}

// minRecord is the size of a pcap record of the smallest Ethernet frame.
const minRecord = 16 + 60

// partsPerWorker bounds the parts in flight.
const partsPerWorker = 4

// part is one unit of work: a byte range of a mapped file (rng), or a
// block of frames copied from a stream (block), or only the error that
// ended an input (neither). A worker fills its results; the merge reads
// them once the part's turn comes.
type part struct {
	seq   int // in capture order, over all inputs
	input int
	path  string
	last  bool // the input's last part
	rng   *capfile.Reader
	block *frameBlock
	// done and total are the input's progress after this part.
	done, total int64
	// closer is the input's reader, closed once its last part is merged.
	closer io.Closer

	// Results.
	frames uint64
	err    error
	log    *partLog
	share  *share
}

// frameBlock holds copied frames: frame i is data[ends[i-1]:ends[i]].
type frameBlock struct {
	data   []byte
	frames []blockFrame
}

type blockFrame struct {
	time int64
	link uint32
	end  uint32
}

func (b *frameBlock) add(p *capfile.Packet) {
	b.data = append(b.data, p.Data...)
	b.frames = append(b.frames, blockFrame{time: p.Time, link: p.LinkType, end: uint32(len(b.data))})
}

func (b *frameBlock) full(sizes partSizes) bool {
	return len(b.data) >= sizes.blockBytes || len(b.frames) >= sizes.blockFrames
}

// share is a worker's Analyzer, and the merge's numbering of its sensors.
type share struct {
	a        *Analyzer
	stamp    []uint32 // partLog.stamp
	toGlobal []int32  // owned by the merge
}

// unmerged returns the share's sensors, to number those that only parts
// left out of the merge (by an interruption) reached. The workers must be
// done.
func (sh *share) unmerged() []reachedSensor {
	var out []reachedSensor
	for i := range sh.a.sensors {
		if i >= len(sh.toGlobal) || sh.toGlobal[i] < 0 {
			out = append(out, reachedSensor{share: int32(i), addr: sh.a.sensors[i].addr})
		}
	}
	return out
}

// run is one parallel ReadAll.
type run struct {
	ctx      context.Context
	a        *Analyzer
	inputs   []Input
	progress InputProgress
	sizes    partSizes
	parts    chan *part
	done     chan *part
	slots    chan struct{} // a token per part in flight
	// blocks and logs are free lists, as many as the parts in flight:
	// not sync.Pools, which every collection empties (the probes of a
	// part are about a megabyte).
	blocks  chan *frameBlock
	logs    chan *partLog
	shares  []*share
	workers sync.WaitGroup
	replay  *replayState // the merge's
	// mapped lists the mapped files split, to close any whose last part
	// an interruption kept from the merge (after the workers are done).
	mapped []*capfile.Reader
}

func newRun(ctx context.Context, a *Analyzer, inputs []Input, workers int, progress InputProgress) *run {
	r := &run{
		ctx:      ctx,
		a:        a,
		inputs:   inputs,
		progress: progress,
		replay:   newReplayState(a),
		parts:    make(chan *part),
		done:     make(chan *part, partsPerWorker*workers),
		slots:    make(chan struct{}, partsPerWorker*workers),
	}
	if r.sizes = a.partSizes; r.sizes == (partSizes{}) {
		r.sizes = defaultPartSizes()
	}
	r.blocks = make(chan *frameBlock, cap(r.slots))
	r.logs = make(chan *partLog, cap(r.slots))
	go r.split()
	for range workers {
		sh := &share{a: New(a.cfg, a.fleet)}
		r.shares = append(r.shares, sh)
		r.workers.Add(1)
		go r.work(sh)
	}
	go func() {
		r.workers.Wait()
		close(r.done)
	}()
	return r
}

// send hands p to the workers once a slot is free; false when ctx ended.
func (r *run) send(p *part) bool {
	select {
	case r.slots <- struct{}{}:
	case <-r.ctx.Done():
		return false
	}
	r.parts <- p
	return true
}

// split turns the inputs into parts, in order.
func (r *run) split() {
	defer close(r.parts)
	seq := 0
	next := func(input int) *part {
		p := &part{seq: seq, input: input, path: r.inputs[input].Path}
		seq++
		return p
	}
	for i, in := range r.inputs {
		var rd *capfile.Reader
		var err error
		if in.Stream != nil {
			rd, err = capfile.NewReader(in.Path, in.Stream)
		} else {
			rd, err = capfile.OpenForRanges(r.ctx, in.Path)
		}
		ok := true
		switch {
		case err != nil:
			p := next(i)
			p.last, p.err = true, err
			ok = r.send(p)
		case rd.Splittable():
			ok = r.splitRanges(rd, next(i), next)
		default:
			ok = r.splitBlocks(rd, i, next)
			rd.Close()
		}
		if !ok {
			return
		}
	}
}

// splitRanges cuts a mapped pcap file into byte ranges at record
// boundaries; first is the first part.
func (r *run) splitRanges(rd *capfile.Reader, first *part, next func(int) *part) bool {
	r.mapped = append(r.mapped, rd)
	size := rd.Size()
	p := first
	for from := rd.DataStart(); ; {
		to := rd.Boundary(from, r.sizes.rangeBytes)
		p.rng, p.done, p.total = rd.Range(from, to), to, size
		p.last = to >= size
		if p.last {
			p.closer = rd
		}
		if !r.send(p) {
			return false
		}
		if p.last {
			return true
		}
		from, p = to, next(p.input)
	}
}

// splitBlocks copies the frames of a stream into blocks.
func (r *run) splitBlocks(rd *capfile.Reader, input int, next func(int) *part) bool {
	var pkt capfile.Packet
	for {
		p := next(input)
		p.block = r.newBlock()
		for !p.block.full(r.sizes) {
			if err := rd.Next(&pkt); err != nil {
				if !errors.Is(err, io.EOF) {
					p.err = err
				}
				p.last = true
				break
			}
			p.block.add(&pkt)
		}
		p.done, p.total = rd.Progress()
		if !r.send(p) {
			return false
		}
		if p.last {
			return true
		}
		if err := r.ctx.Err(); err != nil {
			return false
		}
	}
}

// work reads parts into the worker's share.
func (r *run) work(sh *share) {
	defer r.workers.Done()
	for p := range r.parts {
		p.share = sh
		p.log = reuse(r.logs, func() *partLog {
			// Room for a part of SYNs, the smallest frames, from the start.
			return &partLog{probes: make([]loggedProbe, 0, max(r.sizes.rangeBytes/minRecord, int64(r.sizes.blockFrames)))}
		})
		p.log.reset(uint32(p.seq+1), &sh.stamp)
		sh.a.log = p.log
		switch {
		case p.rng != nil:
			p.rng.Populate()
			var res FileResult
			p.err = sh.a.readAll(r.ctx, p.rng, p.path, nil, &res)
			p.frames = res.Frames
		case p.block != nil:
			p.frames, p.err = sh.a.readBlock(r.ctx, p.block), firstErr(r.ctx.Err(), p.err)
			free(r.blocks, p.block)
			p.block = nil
		}
		r.done <- p
	}
}

func (r *run) newBlock() *frameBlock {
	b := reuse(r.blocks, func() *frameBlock {
		return &frameBlock{data: make([]byte, 0, r.sizes.blockBytes+capfile.MaxCapLen)}
	})
	b.data, b.frames = b.data[:0], b.frames[:0]
	return b
}

// reuse takes an item from a free list, or makes one.
func reuse[T any](list chan T, make func() T) T {
	select {
	case x := <-list:
		return x
	default:
		return make()
	}
}

// free gives an item back to its free list, unless the list is full.
func free[T any](list chan T, x T) {
	select {
	case list <- x:
	default:
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readBlock counts a block's frames, as readAll counts a file's.
func (a *Analyzer) readBlock(ctx context.Context, b *frameBlock) uint64 {
	if ctx.Err() != nil {
		return 0
	}
	start := uint32(0)
	for _, f := range b.frames {
		a.path.Frame(f.time, decode.LinkType(f.link), b.data[start:f.end])
		start = f.end
		if a.path.Full() {
			a.flush()
		}
	}
	a.flush()
	return uint64(len(b.frames))
}

// wait merges the parts in order as they come back, then the shares.
func (r *run) wait() []error {
	errs := make([]error, len(r.inputs))
	results := make([]FileResult, len(r.inputs))
	finished := make([]bool, len(r.inputs))
	waiting := map[int]*part{}
	next := 0
	for p := range r.done {
		waiting[p.seq] = p
		for {
			p, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			r.mergePart(p, &results[p.input], &errs[p.input])
			finished[p.input] = finished[p.input] || p.last
			<-r.slots
		}
	}
	for _, rd := range r.mapped {
		rd.Close() // again, harmlessly, for most
	}
	for _, sh := range r.shares {
		var toGlobal []int32
		if r.a.fleet == nil {
			r.a.mapSensors(sh.unmerged(), &sh.toGlobal)
			toGlobal = sh.toGlobal
		}
		r.a.merge(sh.a, toGlobal)
	}
	r.replay.finish(r.a)
	for i := range r.inputs {
		if !finished[i] { // interrupted before its end
			errs[i] = firstErr(errs[i], r.ctx.Err(), fmt.Errorf("%s: not read to its end", r.inputs[i].Path))
			results[i] = FileResult{Path: r.inputs[i].Path, Frames: results[i].Frames}
		}
		if errs[i] != nil {
			results[i].Error = errs[i].Error()
		}
	}
	r.a.files = append(r.a.files, results...)
	return errs
}

// mergePart merges a part's log into the analyzer, in capture order.
func (r *run) mergePart(p *part, res *FileResult, err *error) {
	res.Path = p.path
	res.Frames += p.frames
	if *err == nil {
		*err = p.err
	}
	if sh := p.share; sh != nil {
		var toGlobal []int32
		if r.a.fleet == nil {
			r.a.mapSensors(p.log.sensors, &sh.toGlobal)
			toGlobal = sh.toGlobal
		}
		r.a.replay(r.replay, p.log.probes, toGlobal)
		free(r.logs, p.log)
	}
	if p.closer != nil {
		p.closer.Close()
	}
	if r.progress != nil {
		r.progress(p.input, p.done, p.total, res.Frames)
	}
}
