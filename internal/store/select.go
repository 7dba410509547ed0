package store

import (
	"fmt"
	"slices"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// The backend-neutral parts of the answers: every backend chooses sensors
// and groups, checks the size of a ranking, breaks rank ties and names
// tags with these (and builds port series with SeriesFrame), so that only
// the SQL that counts differs between backends.

// SelectSensors returns the named sensors of all (the store's sensors) in
// ID order, each once, or all of them when none is named. A name the
// store does not know fails with ErrUnknownSensor.
func SelectSensors(all []Sensor, names []string) ([]Sensor, error) {
	if len(names) == 0 {
		return all, nil
	}
	var out []Sensor
	for _, name := range names {
		i := slices.IndexFunc(all, func(sen Sensor) bool { return sen.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownSensor, name)
		}
		out = append(out, all[i])
	}
	slices.SortFunc(out, func(a, b Sensor) int { return int(a.ID - b.ID) })
	return slices.CompactFunc(out, func(a, b Sensor) bool { return a.ID == b.ID }), nil
}

// SensorIDs returns the IDs of sensors, in their order.
func SensorIDs(sensors []Sensor) []int32 {
	ids := make([]int32, len(sensors))
	for i, sen := range sensors {
		ids[i] = sen.ID
	}
	return ids
}

// Group is a group of sensors, in ID order.
type Group struct {
	Name    string
	Sensors []Sensor
}

// GroupsOf splits sensors (in ID order) into groups, in the order in which
// each first appears (the order of the questions' answers).
func GroupsOf(sensors []Sensor) []Group {
	var out []Group
	for _, sen := range sensors {
		i := slices.IndexFunc(out, func(g Group) bool { return g.Name == sen.Group })
		if i < 0 {
			i = len(out)
			out = append(out, Group{Name: sen.Group})
		}
		out[i].Sensors = append(out[i].Sensors, sen)
	}
	return out
}

// SelectGroups returns the named groups of all (the store's sensors) in
// the order of GroupsOf, or all of them when none is named. A group no
// sensor belongs to fails with ErrUnknownGroup.
func SelectGroups(all []Sensor, names []string) ([]Group, error) {
	groups := GroupsOf(all)
	if len(names) == 0 {
		return groups, nil
	}
	for _, name := range names {
		if !slices.ContainsFunc(groups, func(g Group) bool { return g.Name == name }) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, name)
		}
	}
	return slices.DeleteFunc(groups, func(g Group) bool { return !slices.Contains(names, g.Name) }), nil
}

// CheckTop checks the N of a ranking question ("top ports").
func CheckTop(question string, n int) error {
	if n < 1 {
		return fmt.Errorf("%s: N must be at least 1, got %d", question, n)
	}
	return nil
}

// RankSlots orders the packets of portcount slots as every ranking does:
// by packets descending, then label ascending.
func RankSlots(slots map[int32]uint64) []portcount.Count {
	out := make([]portcount.Count, 0, len(slots))
	for slot, n := range slots {
		out = append(out, portcount.Count{Port: portcount.Key(uint32(slot)).Label(), Packets: n})
	}
	portcount.Sort(out)
	return out
}

// TagMap names the packets of every tag, indexed by record.Tag.Index
// (zeros, every tag present, when counts is nil).
func TagMap(counts *[16]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for _, t := range record.AllTags() {
		var n uint64
		if counts != nil {
			n = counts[t.Index()]
		}
		m[t.String()] = n
	}
	return m
}

// TagNames names the tags of a record.Tags bit set; empty, not null (in
// JSON), when there are none.
func TagNames(tags uint16) []string {
	if names := record.Tags(tags).Names(); names != nil {
		return names
	}
	return []string{}
}
