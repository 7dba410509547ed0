package duckdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TopPorts implements store.Store. Whole-hour periods read the hourly
// rollups; others (a custom range starting mid-hour) read raw records.
func (s *Store) TopPorts(ctx context.Context, q store.TopPortsQuery) ([]store.SensorPorts, error) {
	if q.N < 1 {
		return nil, fmt.Errorf("top ports: N must be at least 1, got %d", q.N)
	}
	sensors, err := s.selectSensors(ctx, q.Sensors)
	if err != nil {
		return nil, err
	}
	cur, err := s.portCounts(ctx, q.Period)
	if err != nil {
		return nil, err
	}
	prev, err := s.portCounts(ctx, q.Period.Previous())
	if err != nil {
		return nil, err
	}
	out := make([]store.SensorPorts, 0, len(sensors))
	for _, sen := range sensors {
		ranked := rank(cur[sen.ID])
		prevRank := map[string]int{}
		for i, c := range rank(prev[sen.ID]) {
			prevRank[c.Port] = i + 1
		}
		sp := store.SensorPorts{Sensor: sen.Name, Group: sen.Group, Ports: []store.RankedPort{}}
		for i, c := range ranked {
			sp.Packets += c.Packets
			if i < q.N {
				sp.Ports = append(sp.Ports, store.RankedPort{Rank: i + 1, Port: c.Port, Packets: c.Packets, PreviousRank: prevRank[c.Port]})
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// selectSensors returns the named sensors in ID order, or all of them.
func (s *Store) selectSensors(ctx context.Context, names []string) ([]store.Sensor, error) {
	all, err := s.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return all, nil
	}
	var out []store.Sensor
	for _, name := range names {
		i := slices.IndexFunc(all, func(sen store.Sensor) bool { return sen.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", store.ErrUnknownSensor, name)
		}
		out = append(out, all[i])
	}
	slices.SortFunc(out, func(a, b store.Sensor) int { return int(a.ID - b.ID) })
	return slices.CompactFunc(out, func(a, b store.Sensor) bool { return a.ID == b.ID }), nil
}

// portCounts returns packets per sensor and slot in p.
func (s *Store) portCounts(ctx context.Context, p period.Period) (map[int32]map[int32]uint64, error) {
	start, end := p.Start.UnixNano(), p.End.UnixNano()
	query, args := `SELECT sensor, slot, sum(packets)::UBIGINT FROM rollup_port_hour WHERE hour >= ? AND hour < ? GROUP BY ALL`,
		[]any{start / hourNs, end / hourNs}
	if start%hourNs != 0 || end%hourNs != 0 {
		query, args = `SELECT sensor, slot, count(*)::UBIGINT FROM packets WHERE time_ns >= ? AND time_ns < ? GROUP BY ALL`, []any{start, end}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("count ports in %s: %w", p, err)
	}
	defer rows.Close()
	out := map[int32]map[int32]uint64{}
	for rows.Next() {
		var (
			sensor, slot int32
			packets      uint64
		)
		if err := rows.Scan(&sensor, &slot, &packets); err != nil {
			return nil, fmt.Errorf("count ports in %s: %w", p, err)
		}
		if out[sensor] == nil {
			out[sensor] = map[int32]uint64{}
		}
		out[sensor][slot] = packets
	}
	return out, rows.Err()
}

// rank orders a sensor's ports by packets, then label.
func rank(slots map[int32]uint64) []portcount.Count {
	out := make([]portcount.Count, 0, len(slots))
	for slot, n := range slots {
		out = append(out, portcount.Count{Port: portcount.Key(uint32(slot)).Label(), Packets: n})
	}
	portcount.Sort(out)
	return out
}
