package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// hasMirai is the SQL condition that tags (a column or an expression)
// hold the mirai tag.
func hasMirai(tags string) string { return tags + " & " + strconv.Itoa(int(record.TagMirai)) + " <> 0" }

// sourceRowsSQL returns a query of the source rows of p — columns
// ip_version, src_hi, src_lo, packets, the packets per tag h0, h1, ...
// (by bit) and, when withSlot, slot (one row per destination slot, so the
// counts repeat) — from the daily source rollups for whole-day periods
// (exact: they are kept forever and list each source's slots) and from the
// raw records otherwise. sourceTags gives a source's tags from them.
func sourceRowsSQL(p period.Period, withSlot bool) (string, []any) {
	return filteredSourceRowsSQL(p, withSlot, store.OriginFilter{})
}

// filteredSourceRowsSQL is sourceRowsSQL of the rows of the sources f
// takes.
func filteredSourceRowsSQL(p period.Period, withSlot bool, f store.OriginFilter) (string, []any) {
	from, to, whole := wholeDays(p)
	hits := make([]string, record.NumTags)
	for bit := range hits {
		if whole {
			hits[bit] = fmt.Sprintf("%s AS h%d", tagPacketsColumn(bit), bit)
		} else {
			hits[bit] = fmt.Sprintf("(tags & %d <> 0)::UBIGINT AS h%d", 1<<bit, bit)
		}
	}
	cols := strings.Join(hits, ", ")
	if whole {
		slot := ""
		if withSlot {
			slot = ", unnest(slots) AS slot"
		}
		cond, args := originCondition(f, true, "")
		return `SELECT ip_version, src_hi, src_lo, packets, ` + cols + slot + ` FROM rollup_source_day WHERE day >= ? AND day < ?` + cond,
			append([]any{from, to}, args...)
	}
	slot := ""
	if withSlot {
		slot = ", slot"
	}
	cond, args := originCondition(f, false, "")
	return `SELECT ip_version, src_hi, src_lo, 1::UBIGINT AS packets, ` + cols + slot + ` FROM packets WHERE time_ns >= ? AND time_ns < ?` + cond,
		append([]any{p.Start.UnixNano(), p.End.UnixNano()}, args...)
}

// sourceTags is SQL for the tags a source earns from its rows of
// sourceRowsSQL (grouped by source).
func sourceTags() string {
	hits := make([]string, record.NumTags)
	for bit := range hits {
		hits[bit] = fmt.Sprintf("sum(h%d)", bit)
	}
	return sourceTagsSQL("sum(packets)", hits)
}

// SourceCounts implements store.Store: each source's tags are those its
// packets of the period earn (fingerprint.SourceEvidence), then the
// sources are counted in all (bit -1) and per tag bit.
func (s *Store) SourceCounts(ctx context.Context, q store.SourceCountsQuery) (store.SourceCounts, error) {
	rows, args := filteredSourceRowsSQL(q.Period, false, q.Origin)
	var (
		counts [16]uint64
		total  uint64
	)
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			bit int64
			n   uint64
		)
		if err := scan(&bit, &n); err != nil {
			return err
		}
		switch {
		case bit == -1:
			total = n
		case bit >= 0 && bit < 16:
			counts[bit] = n
		default:
			return fmt.Errorf("tag bit %d out of range", bit)
		}
		return nil
	}, `WITH s AS MATERIALIZED (SELECT `+sourceTags()+` AS tags FROM (`+rows+`) GROUP BY ip_version, src_hi, src_lo)
		SELECT -1::BIGINT, count(*)::UBIGINT FROM s
		UNION ALL
		SELECT bit, count(*)::UBIGINT FROM s, range(16) AS bits(bit) WHERE (tags >> bit) & 1 = 1 GROUP BY bit`, args...)
	if err != nil {
		return store.SourceCounts{}, fmt.Errorf("count sources in %s: %w", q.Period, err)
	}
	return store.SourceCounts{Sources: total, Tags: store.TagMap(&counts)}, nil
}

// MiraiPorts implements store.Store. Packets and Mirai-tagged packets per
// port come from the hourly rollups (or raw records for periods that are
// not whole hours); the Mirai-tagged sources of the top N ports from the
// source rows of sourceRowsSQL.
func (s *Store) MiraiPorts(ctx context.Context, q store.MiraiPortsQuery) ([]store.MiraiPort, error) {
	if err := store.CheckTop("mirai ports", q.N); err != nil {
		return nil, err
	}
	from, to, whole := wholeHours(q.Period)
	query, args := `SELECT slot, sum(packets)::UBIGINT, sum(mirai)::UBIGINT FROM rollup_port_hour
		WHERE hour >= ? AND hour < ? GROUP BY slot HAVING sum(mirai) > 0`, []any{from, to}
	if !whole {
		query, args = `SELECT slot, count(*)::UBIGINT, (count(*) FILTER (WHERE `+hasMirai("tags")+`))::UBIGINT FROM packets
		WHERE time_ns >= ? AND time_ns < ? GROUP BY slot HAVING count(*) FILTER (WHERE `+hasMirai("tags")+`) > 0`,
			[]any{q.Period.Start.UnixNano(), q.Period.End.UnixNano()}
	}
	packets, mirai := map[int32]uint64{}, map[int32]uint64{}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			slot    int32
			all, mr uint64
		)
		if err := scan(&slot, &all, &mr); err != nil {
			return err
		}
		packets[slot], mirai[slot] = all, mr
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("mirai ports in %s: %w", q.Period, err)
	}
	ranked := store.RankSlots(mirai)
	ranked = ranked[:min(q.N, len(ranked))]
	out := make([]store.MiraiPort, len(ranked))
	top := make([]int32, len(ranked))
	for i, c := range ranked {
		slot, _ := portcount.ParseLabel(c.Port) // a label of rank
		top[i] = int32(slot)
		out[i] = store.MiraiPort{Rank: i + 1, Port: c.Port, Packets: packets[top[i]], Mirai: c.Packets,
			MiraiShare: float64(c.Packets) / float64(packets[top[i]])}
	}
	if len(top) == 0 {
		return out, nil
	}
	withSlots, args := sourceRowsSQL(q.Period, true)
	perSource, args2 := sourceRowsSQL(q.Period, false)
	sources, err := s.slotCounts(ctx, `WITH m AS (SELECT ip_version, src_hi, src_lo FROM (`+perSource+`) GROUP BY ip_version, src_hi, src_lo HAVING `+hasMirai(sourceTags())+`)
		SELECT r.slot, count(DISTINCT (r.ip_version, r.src_hi, r.src_lo))::UBIGINT
		FROM (`+withSlots+`) AS r JOIN m ON r.ip_version = m.ip_version AND r.src_hi = m.src_hi AND r.src_lo = m.src_lo
		WHERE true`+inList("r.slot", top)+` GROUP BY r.slot`, append(args2, args...)...)
	if err != nil {
		return nil, fmt.Errorf("mirai sources per port in %s: %w", q.Period, err)
	}
	for i := range out {
		out[i].Sources = sources[top[i]]
	}
	return out, nil
}

// slotCounts runs a query of rows (slot, count) and returns the counts by
// slot.
func (s *Store) slotCounts(ctx context.Context, query string, args ...any) (map[int32]uint64, error) {
	counts := map[int32]uint64{}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			slot int32
			n    uint64
		)
		if err := scan(&slot, &n); err != nil {
			return err
		}
		counts[slot] = n
		return nil
	}, query, args...)
	return counts, err
}
