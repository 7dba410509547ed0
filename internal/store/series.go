package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
)

// SeriesFrame is a port series being answered, apart from the counting: a
// backend checks the query with NewSeriesFrame, counts the packets of the
// frame's Slots per sensor and hour in its own SQL, hands each count to
// Add and returns Answer.
type SeriesFrame struct {
	buckets []period.Period
	slots   []int32
	// index[sensor ID] lists the series (owner × port) its packets add
	// to, with the slot of each.
	index  map[int32][]seriesTarget
	answer PortSeries
}

type seriesTarget struct {
	slot   int32
	series int
}

// NewSeriesFrame checks q against the store's sensors (all, in ID order)
// and lays out its answer: every bucket, every owner × port series, zeros.
func NewSeriesFrame(q PortSeriesQuery, all []Sensor) (*SeriesFrame, error) {
	buckets, err := Buckets(q.Period, q.Resolution)
	if err != nil {
		return nil, err
	}
	if len(q.Ports) == 0 {
		return nil, fmt.Errorf("port series: no port given (want labels such as 23/TCP or ICMP)")
	}
	f := &SeriesFrame{buckets: buckets, index: map[int32][]seriesTarget{},
		answer: PortSeries{Resolution: q.Resolution.String(), Buckets: make([]time.Time, len(buckets)), Series: []Series{}}}
	var labels []string
	for _, label := range q.Ports {
		slot, err := portcount.ParseLabel(label)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(f.slots, int32(slot)) {
			f.slots = append(f.slots, int32(slot))
			labels = append(labels, portcount.Key(slot).Label())
		}
	}
	owners, err := seriesOwners(q, all)
	if err != nil {
		return nil, err
	}
	for i, b := range buckets {
		f.answer.Buckets[i] = b.Start
	}
	for _, o := range owners {
		for j, slot := range f.slots {
			for _, id := range o.ids {
				f.index[id] = append(f.index[id], seriesTarget{slot, len(f.answer.Series)})
			}
			f.answer.Series = append(f.answer.Series, Series{Sensor: o.sensor, Group: o.group, Port: labels[j], Packets: make([]uint64, len(buckets))})
		}
	}
	return f, nil
}

// seriesOwner owns series: a sensor, a group or the fleet, and the IDs of
// its sensors.
type seriesOwner struct {
	sensor, group string
	ids           []int32
}

func seriesOwners(q PortSeriesQuery, all []Sensor) ([]seriesOwner, error) {
	var owners []seriesOwner
	switch q.By {
	case BySensor:
		if len(q.Groups) > 0 {
			return nil, fmt.Errorf("port series by sensor: groups given (%s); choose sensors, or split by group", strings.Join(q.Groups, ", "))
		}
		sensors, err := SelectSensors(all, q.Sensors)
		if err != nil {
			return nil, err
		}
		for _, sen := range sensors {
			owners = append(owners, seriesOwner{sensor: sen.Name, group: sen.Group, ids: []int32{sen.ID}})
		}
	case ByGroup, ByFleet:
		if len(q.Sensors) > 0 {
			return nil, fmt.Errorf("port series by %s: sensors given (%s); split by sensor to choose sensors", q.By, strings.Join(q.Sensors, ", "))
		}
		if q.By == ByFleet && len(q.Groups) > 0 {
			return nil, fmt.Errorf("port series by fleet: groups given (%s); split by group to choose groups", strings.Join(q.Groups, ", "))
		}
		groups, err := SelectGroups(all, q.Groups)
		if err != nil {
			return nil, err
		}
		if q.By == ByFleet {
			var ids []int32
			for _, g := range groups {
				ids = append(ids, SensorIDs(g.Sensors)...)
			}
			return []seriesOwner{{ids: ids}}, nil
		}
		for _, g := range groups {
			owners = append(owners, seriesOwner{group: g.Name, ids: SensorIDs(g.Sensors)})
		}
	default:
		return nil, fmt.Errorf("port series: unknown split %s (want one of %s)", q.By, strings.Join(Bys, ", "))
	}
	return owners, nil
}

// Slots are the portcount slots of the asked ports, each once, in the
// query's order: the only ones Add needs.
func (f *SeriesFrame) Slots() []int32 { return f.slots }

// Add counts packets of a sensor to a slot in the hour (or the part of an
// hour at the start of the period) that starts at start. Packets outside
// the period, of other slots or of sensors no series holds are ignored.
func (f *SeriesFrame) Add(sensor, slot int32, start time.Time, packets uint64) {
	b := BucketOf(f.buckets, start)
	if b < 0 {
		return
	}
	for _, t := range f.index[sensor] {
		if t.slot == slot {
			f.answer.Series[t.series].Packets[b] += packets
		}
	}
}

// Answer returns the series, with the packets added so far.
func (f *SeriesFrame) Answer() PortSeries { return f.answer }
