package simulate

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// injection is an event as the generator runs it. Each event has sources
// of its own (w.sources[first:first+n], after the ordinary ones), drawn
// from a random stream of their own, so that the ordinary traffic is the
// same packets with or without events; only an outage takes some away.
type injection struct {
	Event                 // with the kind's defaults filled in
	start, end int64      // ns
	sensors    []int      // the sensors it reaches, in fleet order
	rate       []float64  // its packets per ns at each sensor, at full intensity
	phase      []float64  // the offset of each sensor's systematic rounding
	first, n   int32      // its sources
	written    []uint64   // packets written, by sensor
	dropped    []uint64   // packets an outage dropped, by sensor
	reached    [][]uint64 // by sensor, a bitset over its sources
	ramp       bool       // rate and sources grow linearly from the start
	duration   float64    // ns
}

// evPacket is one event packet of the current slice: injection ev sends
// it to its sensor j at ts.
type evPacket struct {
	ts    int64
	ev, j int32
}

// expected returns the number of packets injection in sends to its sensor
// j from its start to t (within the event): the integral of its rate.
func (in *injection) expected(j int, t int64) float64 {
	x := float64(t - in.start)
	if in.ramp {
		return in.rate[j] * x * x / (2 * in.duration)
	}
	return in.rate[j] * x
}

// count returns the packets in sends to sensor j in [a, b): the systematic
// rounding of the expected count, so that consecutive intervals add up to
// the rounded total exactly.
func (in *injection) count(j int, a, b int64) int {
	return int(math.Floor(in.expected(j, b)+in.phase[j]) - math.Floor(in.expected(j, a)+in.phase[j]))
}

// planned returns the packets the event sends (written or dropped).
func (in *injection) planned() uint64 {
	var n uint64
	for j := range in.rate {
		n += uint64(in.count(j, in.start, in.end))
	}
	return n
}

// setupEvents builds the injections of cfg.Events and their sources. It
// runs after setupSources, whose sources it leaves untouched.
func (w *world) setupEvents() error {
	if len(w.cfg.Events) == 0 {
		return nil
	}
	r := newRNG(w.cfg.Seed, 5)
	expected := w.expectedSensorPackets()
	period := float64(w.end - w.start)
	var research []prefix4
	for i := range w.cfg.Events {
		e := w.cfg.Events[i].withDefaults()
		in := &injection{Event: e, start: e.Start.UnixNano(), end: e.End().UnixNano(), ramp: e.Kind == EventMiraiSpread, duration: float64(e.Duration)}
		in.sensors = w.eventSensors(&e)
		if len(in.sensors) == 0 {
			return fmt.Errorf("simulate: event #%d (%s): group %q has no sensor monitoring IPv4", i+1, e.Kind, e.Group)
		}
		in.written = make([]uint64, len(in.sensors))
		in.dropped = make([]uint64, len(in.sensors))
		w.inj = append(w.inj, in)
		if e.Kind == EventSensorOutage {
			continue
		}
		for _, si := range in.sensors {
			in.rate = append(in.rate, e.Rate*expected[si]/period)
			in.phase = append(in.phase, r.float())
		}
		if e.Kind == EventResearchScan && research == nil {
			for _, p := range ResearchNetworks() {
				if p.Addr().Is4() {
					research = append(research, toPrefix4(p))
				}
			}
		}
		in.first, in.n = int32(len(w.sources)), int32(e.Sources)
		for range e.Sources {
			var s source
			if err := w.initEventSource(&s, in, r, research); err != nil {
				return fmt.Errorf("simulate: event #%d (%s): %w", i+1, e.Kind, err)
			}
			w.sources = append(w.sources, s)
			w.months = append(w.months, nil)
		}
		words := (e.Sources + 63) / 64
		for range in.sensors {
			in.reached = append(in.reached, make([]uint64, words))
		}
	}
	return nil
}

// eventSensors returns the sensors event e reaches: its sensor, or the
// IPv4 sensors of its group or of the fleet.
func (w *world) eventSensors(e *Event) []int {
	var out []int
	if e.Sensor != "" {
		for i := range w.sensors {
			if w.sensors[i].name == e.Sensor {
				out = append(out, i)
			}
		}
		return out
	}
	for _, i := range w.v4Sensors {
		if e.Group == "" || w.sensors[i].group == e.Group {
			out = append(out, i)
		}
	}
	return out
}

// expectedSensorPackets returns the expected number of ordinary packets of
// each sensor: each source's expected packets (its weight times the
// daily-cycle mass of its active epochs) spread over the sensors its scope
// reaches, as sensorFor draws them.
func (w *world) expectedSensorPackets() []float64 {
	cum := make([]float64, w.nEpochs+1)
	for e, m := range w.epochMass {
		cum[e+1] = cum[e] + m
	}
	var all4, all6, total float64
	group := make([]float64, len(w.groups))
	out := make([]float64, len(w.sensors))
	for i := range w.lives {
		l, s := &w.lives[i], &w.sources[i]
		x := l.weight * (cum[l.last] - cum[l.first])
		total += x
		switch {
		case s.scope == scopeAll && s.v6:
			all6 += x
		case s.scope == scopeAll:
			all4 += x
		case s.scope == scopeGroup:
			group[s.target] += x
		default:
			out[s.target] += x
		}
	}
	spread := func(idx []int, x float64) {
		var sum float64
		for _, i := range idx {
			sum += w.sensors[i].weight
		}
		for _, i := range idx {
			out[i] += x * w.sensors[i].weight / sum
		}
	}
	spread(w.v4Sensors, all4)
	if all6 > 0 {
		spread(w.v6Sensors, all6)
	}
	for gi, x := range group {
		if x > 0 {
			spread(w.groupV4[gi], x)
		}
	}
	for i := range out {
		out[i] *= float64(w.cfg.Packets) / total
	}
	return out
}

// initEventSource draws a source of injection in: its address (in a
// research network for a research-scan) and the fixed behaviour of its
// kind, aimed at the event's port.
func (w *world) initEventSource(s *source, in *injection, r *rng, research []prefix4) error {
	if in.Kind == EventResearchScan {
		a, ok := w.researchAddress(r, research)
		if !ok {
			return fmt.Errorf("no free address in the research networks")
		}
		s.addr = a
	} else {
		s.addr = w.randomSource4(r, false, true)
	}
	w.used4[s.addr] = true
	hops := uint8(4 + r.intn(25))
	s.key = r.u32()
	s.wscale = uint8(r.between(2, 8))
	s.sport = ephemeral(r)
	s.ports[0], s.nports = in.Port, 1
	udp := in.Protocol == "udp"
	switch in.Kind {
	case EventPortCampaign, EventFleetSurge:
		s.kind = kindScan
		if udp {
			s.kind = kindUDP
		}
		w.drawOS(s, r, hops)
	case EventMiraiSpread:
		s.kind, s.variant = kindMirai, miraiPort
		s.ttl = 64 - hops
		s.window = r.u16() | 1
	case EventBackscatterBurst:
		s.kind, s.variant = kindBackscatter, bsSynAck
		if r.chance(0.25) {
			s.variant = bsRst
		}
		w.drawOS(s, r, hops)
		if s.os == osBare {
			s.os = osLinux
		}
	case EventResearchScan:
		s.kind, s.variant = kindZMap, zmapTCP
		if udp {
			s.variant = zmapUDP
		}
		s.ttl = 255 - hops
		s.window = 65535
	}
	return nil
}

// researchAddress draws an unused address of the research networks that
// is no reserved or monitored one and whose last octet is not 0 or 255.
func (w *world) researchAddress(r *rng, nets []prefix4) (uint32, bool) {
	if len(nets) == 0 {
		return 0, false
	}
	for range 1 << 12 {
		q := nets[r.intn(len(nets))]
		a := q.base | r.u32()&q.hostMask
		if lo := a & 0xff; lo == 0 || lo == 255 || w.excluded4(a) || w.used4[a] {
			continue
		}
		return a, true
	}
	return 0, false
}

// plannedEventPackets returns the event packets the run sends, written or
// dropped by an outage.
func (w *world) plannedEventPackets() uint64 {
	var n uint64
	for _, in := range w.inj {
		n += in.planned()
	}
	return n
}

// plan returns the event packets of the slice [s0, s1) in time order (ties
// in the order of the events and their sensors), reusing g.evq.
func (g *generator) plan(s0, s1 int64) []evPacket {
	q := g.evq[:0]
	for ev, in := range g.w.inj {
		if in.rate == nil || in.end <= s0 || in.start >= s1 {
			continue
		}
		a, b := max(s0, in.start), min(s1, in.end)
		for j := range in.sensors {
			m := in.count(j, a, b)
			step := float64(b-a) / float64(m)
			for i := range m {
				ts := a + int64((float64(i)+g.er.float())*step)
				if ts >= b {
					ts = b - 1
				}
				q = append(q, evPacket{ts: ts, ev: int32(ev), j: int32(j)})
			}
		}
	}
	slices.SortStableFunc(q, func(x, y evPacket) int { return cmp.Compare(x.ts, y.ts) })
	g.evq = q
	return q
}

// eventPacket generates the event packet e, from a source of its event
// drawn among those active at its time, with the events' random stream.
func (g *generator) eventPacket(e *evPacket, p *pkt) error {
	in := g.w.inj[e.ev]
	g.r, g.er = g.er, g.r
	k := in.n
	if in.ramp {
		k = int32(math.Ceil(float64(in.n) * float64(e.ts-in.start) / in.duration))
		k = min(max(k, 1), in.n)
	}
	i := int32(g.r.intn(int(k)))
	written, err := g.emit(e.ts, in.first+i, in.sensors[e.j], p)
	g.r, g.er = g.er, g.r
	if written {
		in.written[e.j]++
		in.reached[e.j][i/64] |= 1 << (i % 64)
	}
	return err
}

// drop reports whether an outage drops the packet of source si that
// sensor receives at ts, and counts it if so.
func (g *generator) drop(si int32, sensor int, ts int64) bool {
	for _, in := range g.outages {
		if in.sensors[0] == sensor && ts >= in.start && ts < in.end {
			in.dropped[0]++
			g.w.dropped[si]++
			return true
		}
	}
	return false
}

// distinct returns the number of bits set in a bitset.
func distinct(set []uint64) int {
	n := 0
	for _, x := range set {
		n += bits.OnesCount64(x)
	}
	return n
}
