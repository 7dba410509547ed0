package simulate

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// PacketWriter receives the frames in time order. capfile.Writer
// satisfies it. WritePacket must not keep data after it returns.
type PacketWriter interface {
	WritePacket(ts int64, data []byte) error
}

// LinkType is the pcap link type of the frames Run writes (Ethernet).
const LinkType = linkTypeEN

// maxAttempts bounds the redraws of a packet's random fields until the
// rules give the intended tags; reaching it is a bug in the generator.
const maxAttempts = 64

// Run generates cfg.Packets ordinary packets and the packets of
// cfg.Events in non-decreasing time order, writes them to w (but those a
// sensor-outage drops) and returns the ground truth. progress, if not nil,
// is called from Run's goroutine now and then and once at the end, with
// the packets generated so far (written or dropped) and the total to
// generate.
//
// Generation runs in a goroutine of its own while Run's goroutine writes,
// so that a compressing writer and the generator use two cores. Memory is
// proportional to the number of sources (and to the fleet size), never to
// the number of packets.
func Run(ctx context.Context, cfg Config, w PacketWriter, progress func(done, total uint64)) (*Truth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wd, err := newWorld(cfg)
	if err != nil {
		return nil, err
	}
	g := newGenerator(wd)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *batch, 2)
	free := make(chan *batch, 3)
	for range 3 {
		free <- newBatch()
	}
	genErr := make(chan error, 1)
	go func() {
		defer close(full)
		genErr <- g.run(ctx, free, full)
	}()

	total := cfg.Packets + wd.plannedEventPackets()
	var done uint64
	var writeErr error
	for b := range full {
		if writeErr == nil {
			for i := range b.n {
				if err := w.WritePacket(b.ts[i], b.buf[b.off[i]:b.off[i+1]]); err != nil {
					writeErr = fmt.Errorf("simulate: write packet: %w", err)
					cancel()
					break
				}
			}
			done += uint64(b.gen)
			if progress != nil && writeErr == nil {
				progress(done, total)
			}
		}
		b.reset()
		free <- b
	}
	gerr := <-genErr
	switch {
	case writeErr != nil:
		return nil, writeErr
	case gerr != nil:
		return nil, gerr
	}
	if progress != nil && done == 0 {
		progress(0, total)
	}
	return wd.truth(&g.kinds, g.monthNames), nil
}

// batch is a run of encoded frames passed from the generator to the writer.
type batch struct {
	buf []byte
	ts  []int64
	off []int // frame i is buf[off[i]:off[i+1]]
	n   int
	gen int // packets generated: the n written and those an outage dropped
}

const (
	batchPackets = 4096
	batchBytes   = batchPackets * 128
)

func newBatch() *batch {
	b := &batch{buf: make([]byte, 0, batchBytes+maxFrame), ts: make([]int64, 0, batchPackets), off: make([]int, 1, batchPackets+1)}
	return b
}

func (b *batch) reset() {
	b.buf, b.ts, b.off, b.n, b.gen = b.buf[:0], b.ts[:0], b.off[:1], 0, 0
}

func (b *batch) full() bool { return b.n >= batchPackets || len(b.buf) >= batchBytes }

// generator produces the packets in time order.
type generator struct {
	w     *world
	r     *rng
	kinds [numKinds]uint64

	// active sources of the current epoch and their sampler
	active  []int32
	pos     []int32 // index of each source in active, -1 if inactive
	byFirst [][]int32
	byLast  [][]int32
	weights []float64
	pick    alias
	scratch []float64

	// next is the source of the next packet, drawn one packet ahead so
	// that its (likely uncached) state is loaded while the current packet
	// is built; -1 when not drawn yet. touch keeps that load alive.
	next  int32
	touch uint8
	ts    int64 // time of the packet being built

	// months
	monthNames []string
	monthEnd   int64
	month      int

	// the injected events (inject.go): er is their random stream, apart
	// from r so that the ordinary packets are the same with or without
	// events; evq holds the current slice's event packets.
	er      *rng
	outages []*injection
	evq     []evPacket

	// batches: b is being filled; full ones go to out, empty ones come
	// from free.
	ctx  context.Context
	b    *batch
	free <-chan *batch
	out  chan<- *batch
}

func newGenerator(w *world) *generator {
	g := &generator{w: w, r: newRNG(w.cfg.Seed, 2), er: newRNG(w.cfg.Seed, 6), next: -1}
	for _, in := range w.inj {
		if in.Kind == EventSensorOutage {
			g.outages = append(g.outages, in)
		}
	}
	g.pos = make([]int32, len(w.lives))
	g.byFirst = make([][]int32, w.nEpochs+1)
	g.byLast = make([][]int32, w.nEpochs+1)
	for i := range w.lives { // the ordinary sources: events draw their own
		l := &w.lives[i]
		g.pos[i] = -1
		g.byFirst[l.first] = append(g.byFirst[l.first], int32(i))
		g.byLast[l.last] = append(g.byLast[l.last], int32(i))
	}
	return g
}

// enter makes the sources active in epoch e the current ones, and reports
// whether the set changed.
func (g *generator) enter(e int) bool {
	changed := false
	for _, i := range g.byLast[e] {
		if p := g.pos[i]; p >= 0 {
			last := g.active[len(g.active)-1]
			g.active[p] = last
			g.pos[last] = p
			g.active = g.active[:len(g.active)-1]
			g.pos[i] = -1
			changed = true
		}
	}
	for _, i := range g.byFirst[e] {
		g.pos[i] = int32(len(g.active))
		g.active = append(g.active, i)
		changed = true
	}
	return changed
}

// activeWeight returns the summed weight of the active sources.
func (g *generator) activeWeight() float64 {
	var sum float64
	for _, i := range g.active {
		sum += g.w.lives[i].weight
	}
	return sum
}

func (g *generator) rebuild() {
	g.weights = grow(g.weights, len(g.active))
	for j, i := range g.active {
		g.weights[j] = g.w.lives[i].weight
	}
	g.pick.build(g.weights, &g.scratch)
}

// epochWeights returns the summed active-source weight of every epoch. It
// walks the epochs with the same active set bookkeeping as run, then
// leaves the generator as it found it.
func (g *generator) epochWeights() []float64 {
	out := make([]float64, g.w.nEpochs)
	for e := range g.w.nEpochs {
		g.enter(e)
		out[e] = g.activeWeight()
	}
	g.enter(g.w.nEpochs)
	return out
}

// run generates every packet; it sends full batches on out and takes empty
// ones from free.
func (g *generator) run(ctx context.Context, free <-chan *batch, out chan<- *batch) error {
	w := g.w
	g.ctx, g.free, g.out = ctx, free, out
	total := w.cfg.Packets
	ew := g.epochWeights()
	var mass float64
	for k := range w.nSlices {
		mass += w.sliceMass(k) * ew[k/w.epochSlices]
	}
	g.initMonths()
	// Packets per slice: systematic rounding of the cumulative expected
	// count, so that the total is exact and each slice gets its share to
	// within one packet.
	phase := newRNG(w.cfg.Seed, 3).float()
	var cum float64
	var done uint64
	epoch := -1
	g.b = <-free
	var p pkt
	for k := range w.nSlices {
		if e := k / w.epochSlices; e != epoch {
			epoch = e
			if g.enter(e) && len(g.active) > 0 {
				g.rebuild()
				g.next = -1
			}
		}
		cum += w.sliceMass(k) * ew[epoch]
		upto := uint64(math.Floor(float64(total)*(cum/mass) + phase))
		if k == w.nSlices-1 || upto > total {
			upto = total
		}
		var n uint64
		if upto > done {
			n = upto - done
			done = upto
		}
		s0, s1 := w.slice(k)
		var events []evPacket
		if len(w.inj) > 0 {
			events = g.plan(s0, s1)
		}
		if n == 0 && len(events) == 0 {
			continue
		}
		step := float64(s1-s0) / float64(n)
		j := 0
		for i := range n {
			ts := s0 + int64((float64(i)+g.r.float())*step)
			if ts >= s1 {
				ts = s1 - 1
			}
			for ; j < len(events) && events[j].ts < ts; j++ {
				if err := g.eventPacket(&events[j], &p); err != nil {
					return err
				}
			}
			if err := g.packet(ts, &p); err != nil {
				return err
			}
		}
		for ; j < len(events); j++ {
			if err := g.eventPacket(&events[j], &p); err != nil {
				return err
			}
		}
	}
	if g.b.gen > 0 {
		select {
		case out <- g.b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// swap sends the current batch, when full, and takes an empty one.
func (g *generator) swap() error {
	select {
	case g.out <- g.b:
	case <-g.ctx.Done():
		return g.ctx.Err()
	}
	select {
	case g.b = <-g.free:
	case <-g.ctx.Done():
		return g.ctx.Err()
	}
	return nil
}

func (g *generator) initMonths() {
	t := time.Unix(0, g.w.start).UTC()
	m := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	for m.UnixNano() < g.w.end {
		g.monthNames = append(g.monthNames, m.Format("2006-01"))
		m = m.AddDate(0, 1, 0)
	}
	g.monthEnd = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
}

// packet generates one ordinary packet at time ts.
func (g *generator) packet(ts int64, p *pkt) error {
	w := g.w
	si := g.next
	if si < 0 {
		si = g.active[g.pick.pick(g.r)]
	}
	g.next = g.active[g.pick.pick(g.r)]
	g.touch += w.sources[g.next].ttl
	_, err := g.emit(ts, si, g.sensorFor(&w.sources[si]), p)
	return err
}

// emit generates the packet of source si that sensor receives at ts, and
// encodes it into the current batch unless an outage drops it; it
// reports whether it was written.
func (g *generator) emit(ts int64, si int32, sensor int, p *pkt) (bool, error) {
	w := g.w
	if g.b.full() {
		if err := g.swap(); err != nil {
			return false, err
		}
	}
	for ts >= g.monthEnd {
		g.month++
		t := time.Unix(0, g.monthEnd).UTC()
		g.monthEnd = t.AddDate(0, 1, 0).UnixNano()
	}
	g.ts = ts
	s := &w.sources[si]
	sen := &w.sensors[sensor]

	var want, got record.Tags
	var uni fingerprint.UnicornState
	for attempt := 0; ; attempt++ {
		*p = pkt{v6: s.v6}
		if s.v6 {
			p.src6 = w.addr6[s.addr]
			q := &sen.v6[0]
			if len(sen.v6) > 1 {
				q = &sen.v6[sen.v6pick.pick(g.r)]
			}
			x, y := g.r.u64(), g.r.u64()
			for i := range 8 {
				p.dst6[i] = q.base[i] | byte(x>>(56-8*i))&q.hostMask[i]
				p.dst6[8+i] = q.base[8+i] | byte(y>>(56-8*i))&q.hostMask[8+i]
			}
		} else {
			p.src = s.addr
			if s.kind == kindSpoofed && s.variant == spLand {
				p.dst = s.addr
			} else {
				q := &sen.v4[0]
				if len(sen.v4) > 1 {
					q = &sen.v4[sen.v4pick.pick(g.r)]
				}
				p.dst = q.base | g.r.u32()&q.hostMask
			}
		}
		want = g.fill(s, p)
		got, uni = tagsOf(p, s.uni)
		if got == want {
			break
		}
		if attempt == maxAttempts {
			return false, fmt.Errorf("simulate: bug: a %s packet meant to be tagged %q is tagged %q after %d draws", s.kind, want, got, maxAttempts)
		}
	}
	// The host sent it, captured or not: its own counters go on.
	s.packets++
	g.b.gen++
	if len(g.outages) > 0 && g.drop(si, sensor, ts) {
		return false, nil
	}
	s.uni = uni

	// account
	w.countMonth(si, g.month, got)
	if sensor < 64 {
		s.sensors |= 1 << sensor
	}
	g.kinds[s.kind]++
	sen.count.count(keyOf(p), g.month, got)

	// encode
	b := g.b
	off := len(b.buf)
	b.buf = b.buf[:off+maxFrame]
	n := encode(b.buf[off:], p, sen.mac)
	b.buf = b.buf[:off+n]
	b.ts = append(b.ts, ts)
	b.off = append(b.off, off+n)
	b.n++
	return true, nil
}

// keyOf returns the report key (record.PortKey) of p.
func keyOf(p *pkt) record.PortKey {
	if (p.proto == protoTCP || p.proto == protoUDP) && p.fragOff == 0 {
		return record.PortKey{Protocol: p.proto, Port: p.dport, HasPort: true}
	}
	return record.PortKey{Protocol: p.proto}
}

// sensorFor draws the sensor that receives the source's next packet.
func (g *generator) sensorFor(s *source) int {
	w := g.w
	switch s.scope {
	case scopeAll:
		if s.v6 {
			return w.v6Sensors[w.v6all.pick(g.r)]
		}
		return w.v4Sensors[w.v4all.pick(g.r)]
	case scopeGroup:
		idx := w.groupV4[s.target]
		return idx[w.groupPick[s.target].pick(g.r)]
	}
	return int(s.target)
}
