package analyze

import (
	"math"
	"math/bits"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// How ReadAll gives the one-goroutine answers: every count but
// unicornscan's is a sum, minimum, maximum or union, so each worker's
// share (an Analyzer with a partLog) counts its parts apart and merge adds
// the shares up at the end. The unicornscan rule is not: a probe's tag
// depends on its source's previous probe and on the bound of the
// fingerprint.UnicornBook, whose resets depend on every source before it.
// So the shares log each probe, and the merge replays the logs in capture
// order into the one book, as the single goroutine would have met them.

// partLog is what a share leaves of one part for the in-order merge.
type partLog struct {
	id     uint32 // the part's number, stamped on the sensors it reached
	probes []loggedProbe
	// sensors: without a fleet, the share's sensors that the part
	// reached, in the order of their first packet in it, so that the merge
	// numbers sensors by their first packet in the capture as one
	// goroutine does.
	sensors []reachedSensor
	// stamp is the share's, by sensor: the id of the last part that
	// logged it.
	stamp *[]uint32
}

// loggedProbe is one unicornscan probe (IPv4 only) and where it went.
type loggedProbe struct {
	src    uint32
	sensor int32 // the share's index
	probe  fingerprint.UnicornProbe
}

type reachedSensor struct {
	share int32 // the sensor's index in the share
	addr  record.Addr
}

// reset empties l for the part numbered id.
func (l *partLog) reset(id uint32, stamp *[]uint32) {
	l.id, l.stamp = id, stamp
	l.probes, l.sensors = l.probes[:0], l.sensors[:0]
}

// reached logs the first packet of the part to the share's sensor i.
func (l *partLog) reached(i int32, addr record.Addr) {
	stamp := *l.stamp
	for int(i) >= len(stamp) {
		stamp = append(stamp, 0)
	}
	*l.stamp = stamp
	if stamp[i] != l.id {
		stamp[i] = l.id
		l.sensors = append(l.sensors, reachedSensor{share: i, addr: addr})
	}
}

// addProbes logs the unicornscan probes of a counted batch.
func (l *partLog) addProbes(recs []record.Record, sensors []int32) {
	for i := range recs {
		if p, ok := fingerprint.ProbeOf(&recs[i]); ok {
			l.probes = append(l.probes, loggedProbe{src: recs[i].Src.Uint32(), sensor: sensors[i], probe: p})
		}
	}
}

// replayState is the unicornscan state of the sources the merge replays
// probes for, during one ReadAll. It is kept apart from a.sources, whose
// entries are three times larger, so that the replay — on one goroutine,
// for every probe — stays in cache; it starts from the state a.sources
// holds, and finish puts it back there with the tags it gave, so that
// reads before and after (ReadFile, another ReadAll) carry on from it.
type replayState struct {
	index   *addrTable // IPv4 source → entries
	entries []replayEntry
}

type replayEntry struct {
	unicorn fingerprint.UnicornEntry
	tagged  uint32 // probes the replay tagged unicornscan
}

// replay feeds a part's probes to a's unicornscan book, in order, and
// counts the tags they earn; toGlobal maps the share's sensor indexes to
// a's (nil: the same, with a fleet).
func (a *Analyzer) replay(st *replayState, probes []loggedProbe, toGlobal []int32) {
	for _, p := range probes {
		i := st.index.get(p.src)
		if i < 0 {
			i = int32(len(st.entries))
			st.index.put(p.src, i)
			st.entries = append(st.entries, replayEntry{})
		}
		e := &st.entries[i]
		if !a.unicorn.ObserveProbe(&e.unicorn, p.probe) {
			continue
		}
		if e.tagged < math.MaxUint32 {
			e.tagged++
		}
		sensor := p.sensor
		if toGlobal != nil {
			sensor = toGlobal[sensor]
		}
		a.sensors[sensor].tags[record.TagUnicornscan.Index()]++
	}
}

// newReplayState starts from the unicornscan state of a's sources.
func newReplayState(a *Analyzer) *replayState {
	st := &replayState{index: newAddrTable()}
	for i := range a.sources {
		if addr := a.sourceAddrs[i]; addr.Is4() && a.unicorn.Holds(&a.sources[i].unicorn) {
			st.index.put(addr.Uint32(), int32(len(st.entries)))
			st.entries = append(st.entries, replayEntry{unicorn: a.sources[i].unicorn})
		}
	}
	return st
}

// finish puts the state back into a's sources, with the tags the replay
// gave (after the merge of the shares, which adds every source).
func (st *replayState) finish(a *Analyzer) {
	st.index.each(func(src uint32, i int32) {
		to := &a.sources[a.sourceIndex(record.AddrFromUint32(src))]
		to.unicorn = st.entries[i].unicorn
		if n := st.entries[i].tagged; n > 0 {
			to.tags |= record.TagUnicornscan
			a.hitsOf(to).addAt(hitSlot(record.TagUnicornscan), n)
		}
	})
}

// mapSensors numbers the sensors a part reached in a (without a fleet),
// adding those it meets first, and records their numbers in toGlobal.
func (a *Analyzer) mapSensors(reached []reachedSensor, toGlobal *[]int32) {
	for _, s := range reached {
		for int(s.share) >= len(*toGlobal) {
			*toGlobal = append(*toGlobal, -1)
		}
		if (*toGlobal)[s.share] < 0 {
			(*toGlobal)[s.share] = a.autoSensor(s.addr)
		}
	}
}

// merge adds a share's counts to a; toGlobal maps its sensor indexes
// (nil: the same, with a fleet).
func (a *Analyzer) merge(share *Analyzer, toGlobal []int32) {
	a.path.Stats().Add(share.path.Stats())
	switch {
	case share.packets == 0:
	case a.packets == 0:
		a.first, a.last = share.first, share.last
	default:
		a.first, a.last = min(a.first, share.first), max(a.last, share.last)
	}
	a.packets += share.packets
	months := make([]int, len(share.months))
	for i, m := range share.months {
		months[i] = a.monthIndex(m)
	}
	global := func(i int) int {
		if toGlobal == nil {
			return i
		}
		return int(toGlobal[i])
	}
	for i := range share.sensors {
		from, to := &share.sensors[i], &a.sensors[global(i)]
		to.packets += from.packets
		for mi, n := range from.months {
			gm := months[mi]
			if gm >= len(to.months) {
				to.months = append(to.months, make([]uint64, gm+1-len(to.months))...)
			}
			to.months[gm] += n
		}
		for t, n := range from.tags {
			to.tags[t] += n
		}
		to.ports.Merge(&from.ports)
	}
	for i := range share.sources {
		from := &share.sources[i]
		to := &a.sources[a.sourceIndex(share.sourceAddrs[i])]
		if to.packets == 0 { // new, or added by replay
			to.first, to.last = from.first, from.last
		} else {
			to.first, to.last = min(to.first, from.first), max(to.last, from.last)
		}
		to.packets += from.packets
		to.tags |= from.tags
		if from.hits != 0 {
			a.hitsOf(to).merge(&share.hits[from.hits-1])
		}
		for set := from.sensors; set != 0; set &= set - 1 {
			if g := global(bits.TrailingZeros64(set)); g < 64 {
				to.sensors |= 1 << g
			}
		}
	}
}
