package pipeline

import (
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Fleet attributes a record to the sensor of m's fleet that monitors its
// destination (the sensor's index in the fleet).
func Fleet(m *fleet.Matcher) Attributor { return fleetAttributor{m} }

type fleetAttributor struct{ m *fleet.Matcher }

func (f fleetAttributor) Attribute(r *record.Record) (int, Outcome) {
	i := Lookup(f.m, r.Dst)
	if i < 0 {
		return 0, Unmatched
	}
	return i, Kept
}

// Lookup returns the index of the sensor monitoring a, or -1, taking the
// matcher's fast path for IPv4.
func Lookup(m *fleet.Matcher, a record.Addr) int {
	if a.Is4() {
		return m.Lookup4(a.Uint32())
	}
	return m.Lookup(a.Netip())
}

// OneSensor attributes every record to the sensor of index i: the
// collector's, whose records come from one authenticated sensor.
func OneSensor(i int) Attributor { return oneSensor(i) }

type oneSensor int

func (s oneSensor) Attribute(*record.Record) (int, Outcome) { return int(s), Kept }
