package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TopPorts implements store.Store. Whole-hour periods read the hourly
// rollups (or the monthly or quarterly ones); others (a custom range
// starting mid-hour) read raw records. The ranking happens inside DuckDB
// (see rankPorts).
func (s *Store) TopPorts(ctx context.Context, q store.TopPortsQuery) ([]store.SensorPorts, error) {
	if err := store.CheckTop("top ports", q.N); err != nil {
		return nil, err
	}
	sensors, err := s.selectSensors(ctx, q.Sensors)
	if err != nil {
		return nil, err
	}
	filter := inList("sensor", store.SensorIDs(sensors))
	ranked, err := s.rankPorts(ctx, q.Period, q.N, func(p period.Period) (string, []any) {
		src, args := portCountsSQL(p, filter)
		return `SELECT sensor AS owner, slot, p FROM (` + src + `)`, args
	})
	if err != nil {
		return nil, fmt.Errorf("top ports in %s: %w", q.Period, err)
	}
	out := make([]store.SensorPorts, 0, len(sensors))
	for _, sen := range sensors {
		r := ranked[sen.ID]
		out = append(out, store.SensorPorts{Sensor: sen.Name, Group: sen.Group, Packets: r.total, Ports: append([]store.RankedPort{}, r.ports...)})
	}
	return out, nil
}

// ownerCounts returns a query of the packets in p per owner (a sensor, or a
// group of sensors) and slot: columns owner, slot and p.
type ownerCounts func(p period.Period) (query string, args []any)

// ranking is an owner's top ports and total packets.
type ranking struct {
	total uint64
	ports []store.RankedPort
}

// rankPorts returns the top n ports of each owner with packets in p, and
// the ranks of those ports in the previous period.
//
// A quarter can hold more than a million (sensor, port) pairs (backscatter
// and random-port scans touch almost every port), so the ranking happens
// inside DuckDB: only each owner's candidates for the top n (the ports with
// at least the n-th largest count) leave it, and the previous period's ranks
// are computed for the ports shown only — from the number of ports with
// more packets, and the labels of those tied with them.
func (s *Store) rankPorts(ctx context.Context, p period.Period, n int, counts ownerCounts) (map[int32]ranking, error) {
	conn, err := s.db.Conn(ctx) // the previous period's temporary table lives on one connection
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	src, args := counts(p)
	// max(p, n) keeps each owner's n largest counts (a heap, not a sort of
	// every pair); the candidates are the ports with at least the smallest.
	rows, err := conn.QueryContext(ctx, `WITH c AS MATERIALIZED (`+src+`),
			t AS (SELECT owner, list_min(max(p, ?)) AS threshold, sum(p)::UBIGINT AS total FROM c GROUP BY owner)
		SELECT c.owner, c.slot, c.p, t.total FROM c JOIN t ON t.owner = c.owner WHERE c.p >= t.threshold`, append(args, n)...)
	if err != nil {
		return nil, err
	}
	top := map[int32][]portcount.Count{}
	totals := map[int32]uint64{}
	slots := map[string]int32{} // label → slot, for the previous ranks
	for rows.Next() {
		var (
			owner, slot    int32
			packets, total uint64
		)
		if err := rows.Scan(&owner, &slot, &packets, &total); err != nil {
			rows.Close()
			return nil, err
		}
		label := portcount.Key(uint32(slot)).Label()
		slots[label] = slot
		top[owner] = append(top[owner], portcount.Count{Port: label, Packets: packets})
		totals[owner] = total
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	var shown []ownerSlot
	for owner, c := range top {
		portcount.Sort(c)
		top[owner] = c[:min(n, len(c))]
		for _, pc := range top[owner] {
			shown = append(shown, ownerSlot{owner, slots[pc.Port]})
		}
	}
	prev := p.Previous()
	prevSrc, prevArgs := counts(prev)
	prevRank, err := previousRanks(ctx, conn, prevSrc, prevArgs, shown)
	if err != nil {
		return nil, fmt.Errorf("previous ranks in %s: %w", prev, err)
	}
	out := map[int32]ranking{}
	for owner, c := range top {
		r := ranking{total: totals[owner]}
		for i, pc := range c {
			r.ports = append(r.ports, store.RankedPort{Rank: i + 1, Port: pc.Port, Packets: pc.Packets,
				PreviousRank: prevRank[ownerSlot{owner, slots[pc.Port]}]})
		}
		out[owner] = r
	}
	return out, nil
}

type ownerSlot struct{ owner, slot int32 }

// previousRanks returns the rank of each of the wanted ports (absent: no
// packets) among the ports of its owner in src (an ownerCounts query): one
// plus the number of the owner's ports with more packets, plus those with
// as many and a smaller label.
func previousRanks(ctx context.Context, conn *sql.Conn, src string, args []any, want []ownerSlot) (map[ownerSlot]int, error) {
	out := map[ownerSlot]int{}
	if len(want) == 0 {
		return out, nil
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE nj_prev AS `+src, args...); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS nj_prev`)
	values := make([]string, len(want))
	for i, w := range want {
		values[i] = fmt.Sprintf("(%d, %d)", w.owner, w.slot)
	}
	wanted := `(VALUES ` + strings.Join(values, ", ") + `) AS w(owner, slot)`
	// How many ports had more packets, per wanted port...
	rows, err := conn.QueryContext(ctx, `SELECT w.owner, w.slot, pv.p,
			(SELECT count(*) FROM nj_prev AS q WHERE q.owner = w.owner AND q.p > pv.p)
		FROM `+wanted+` JOIN nj_prev AS pv ON pv.owner = w.owner AND pv.slot = w.slot`)
	if err != nil {
		return nil, err
	}
	type tieKey struct {
		owner   int32
		packets uint64
	}
	counts := map[ownerSlot]tieKey{}
	for rows.Next() {
		var (
			w       ownerSlot
			packets uint64
			greater int
		)
		if err := rows.Scan(&w.owner, &w.slot, &packets, &greater); err != nil {
			rows.Close()
			return nil, err
		}
		out[w] = greater + 1
		counts[w] = tieKey{w.owner, packets}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	// ...then, among the ports tied with each, those with a smaller label.
	rows, err = conn.QueryContext(ctx, `SELECT q.owner, q.slot, q.p FROM nj_prev AS q
		WHERE (q.owner, q.p) IN (SELECT pv.owner, pv.p FROM `+wanted+` JOIN nj_prev AS pv ON pv.owner = w.owner AND pv.slot = w.slot)`)
	if err != nil {
		return nil, err
	}
	ties := map[tieKey][]string{}
	for rows.Next() {
		var (
			owner, slot int32
			packets     uint64
		)
		if err := rows.Scan(&owner, &slot, &packets); err != nil {
			rows.Close()
			return nil, err
		}
		k := tieKey{owner, packets}
		ties[k] = append(ties[k], portcount.Key(uint32(slot)).Label())
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for w, k := range counts {
		label := portcount.Key(uint32(w.slot)).Label()
		for _, other := range ties[k] {
			if other < label {
				out[w]++
			}
		}
	}
	return out, nil
}

// portCountsSQL returns a query of packets per sensor and slot in p (columns
// sensor, slot, p): from the quarterly rollups for whole quarters, the
// monthly ones for whole months, the hourly
// rollups for whole hours, and raw records otherwise; filter is an extra
// condition (see inList).
func portCountsSQL(p period.Period, filter string) (string, []any) {
	start, end := p.Start.UnixNano(), p.End.UnixNano()
	first, last := monthIndex(start), monthIndex(end)
	if monthStart(first) == start && monthStart(last) == end {
		table, col, lo, hi := "rollup_port_month", "month", first, last
		if first%3 == 0 && last%3 == 0 {
			table, col, lo, hi = "rollup_port_quarter", "quarter", first/3, last/3
		}
		if hi == lo+1 {
			// One quarter or month: its rows are already one per (sensor,
			// slot), and skipping the regrouping of a million rows is most
			// of the time of a quarterly report (255 ms → 47 ms at 100M
			// packets).
			return `SELECT sensor, slot, packets AS p FROM ` + table + ` WHERE ` + col + ` = ?` + filter, []any{lo}
		}
		return `SELECT sensor, slot, sum(packets)::UBIGINT AS p FROM ` + table + ` WHERE ` + col + ` >= ? AND ` + col + ` < ?` + filter + ` GROUP BY ALL`,
			[]any{lo, hi}
	}
	if start%hourNs == 0 && end%hourNs == 0 {
		return `SELECT sensor, slot, sum(packets)::UBIGINT AS p FROM rollup_port_hour WHERE hour >= ? AND hour < ?` + filter + ` GROUP BY ALL`,
			[]any{floorDiv(start, hourNs), floorDiv(end, hourNs)}
	}
	return `SELECT sensor, slot, count(*)::UBIGINT AS p FROM packets WHERE time_ns >= ? AND time_ns < ?` + filter + ` GROUP BY ALL`,
		[]any{start, end}
}

// selectSensors returns the named sensors in ID order, or all of them
// (store.SelectSensors).
func (s *Store) selectSensors(ctx context.Context, names []string) ([]store.Sensor, error) {
	all, err := s.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	return store.SelectSensors(all, names)
}
