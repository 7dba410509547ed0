package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go4.org/netipx"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// originRowsSQL returns a query of the source rows of p with their origin
// — columns sensor, ip_version, src_hi, src_lo, country, asn, scanner,
// packets, last_ns and, when withSlot, slot (one row per destination slot)
// — of the given sensors (nil: all) and the sources f takes: from the
// daily source rollups for whole-day periods, from the raw records
// otherwise (as sourceRowsSQL).
func originRowsSQL(p period.Period, sensors []int32, f store.OriginFilter, withSlot bool) (string, []any) {
	from, to, whole := wholeDays(p)
	var query string
	var args []any
	if whole {
		slot := ""
		if withSlot {
			slot = ", unnest(slots) AS slot"
		}
		query = `SELECT sensor, ip_version, src_hi, src_lo, country, asn, scanner, packets, last_ns` + slot + `
			FROM rollup_source_day WHERE day >= ? AND day < ?`
		args = []any{from, to}
	} else {
		slot := ""
		if withSlot {
			slot = ", slot"
		}
		query = `SELECT sensor, ip_version, src_hi, src_lo, ` + countryText("src_country") + ` AS country, src_asn AS asn,
				` + scannerText("src_scanner") + ` AS scanner,
				1 AS packets, time_ns AS last_ns` + slot + `
			FROM packets WHERE time_ns >= ? AND time_ns < ?`
		args = []any{p.Start.UnixNano(), p.End.UnixNano()}
	}
	cond, condArgs := originCondition(f, whole, "")
	return query + inList("sensor", sensors) + cond, append(args, condArgs...)
}

// originCondition is the SQL "AND ..." of the sources f takes, over a
// source rollup (whole) or the raw records, whose columns are qualified
// by alias when it is not "".
func originCondition(f store.OriginFilter, whole bool, alias string) (string, []any) {
	q := ""
	if alias != "" {
		q = alias + "."
	}
	var conds []string
	var args []any
	if whole {
		if f.Country != "" {
			conds, args = append(conds, q+"country = ?"), append(args, f.Country)
		}
		switch f.Scanner {
		case "":
		case "*":
			conds = append(conds, q+"scanner <> ''")
		default:
			conds, args = append(conds, "list_contains(string_split("+q+"scanner, ','), ?)"), append(args, f.Scanner)
		}
	} else { // the raw records' numbers (see rawwriter.go)
		if f.Country != "" {
			conds, args = append(conds, q+"src_country = ?"), append(args, record.CountryOf(f.Country).Code())
		}
		switch f.Scanner {
		case "":
		case "*":
			conds = append(conds, q+"src_scanner <> 0")
		default:
			conds, args = append(conds, q+"src_scanner IN (SELECT id FROM scanner_labels WHERE list_contains(string_split(label, ','), ?))"), append(args, f.Scanner)
		}
	}
	if f.ASN != 0 {
		asn := q + "asn"
		if !whole {
			asn = q + "src_asn"
		}
		conds, args = append(conds, asn+" = ?"), append(args, f.ASN)
	}
	version, hi, lo := q+"ip_version", q+"src_hi", q+"src_lo"
	if f.Prefix.IsValid() {
		firstHi, firstLo := record.AddrFromNetip(f.Prefix.Masked().Addr()).Halves()
		lastHi, lastLo := record.AddrFromNetip(netipx.PrefixLastIP(f.Prefix)).Halves()
		family := 6
		if f.Prefix.Addr().Is4() {
			family = 4
		}
		// database/sql refuses uint64 arguments with the high bit set:
		// the bounds are written as literals.
		conds = append(conds, fmt.Sprintf(`%[1]s = %[4]d AND (%[2]s > %[5]d::UBIGINT OR (%[2]s = %[5]d::UBIGINT AND %[3]s >= %[6]d::UBIGINT))
			AND (%[2]s < %[7]d::UBIGINT OR (%[2]s = %[7]d::UBIGINT AND %[3]s <= %[8]d::UBIGINT))`,
			version, hi, lo, family, firstHi, firstLo, lastHi, lastLo))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}

// Origins implements store.Store. Each source counts under the origin of
// its rows (one per day and sensor, or per raw record), so a source the
// databases moved within the period counts under both origins, and once
// in the table's total.
func (s *Store) Origins(ctx context.Context, q store.OriginsQuery) (store.Origins, error) {
	if err := store.CheckTop("origins", q.N); err != nil {
		return store.Origins{}, err
	}
	if q.Kind < store.ByCountry || q.Kind > store.ByScanner {
		return store.Origins{}, fmt.Errorf("origins: unknown kind %d", q.Kind)
	}
	if q.By == 0 {
		q.By = store.ByFleet
	}
	if err := q.Check(); err != nil {
		return store.Origins{}, err
	}
	all, err := s.Sensors(ctx)
	if err != nil {
		return store.Origins{}, err
	}
	// The tables, each with its part key and its sensors.
	type table struct {
		t       store.OriginTable
		part    string
		sensors []int32
	}
	var tables []table
	switch q.By {
	case store.BySensor:
		sel, err := store.SelectSensors(all, q.Sensors)
		if err != nil {
			return store.Origins{}, err
		}
		for _, sen := range sel {
			tables = append(tables, table{store.OriginTable{Sensor: sen.Name, Group: sen.Group}, strconv.Itoa(int(sen.ID)), []int32{sen.ID}})
		}
	case store.ByGroup:
		groups, err := store.SelectGroups(all, q.Groups)
		if err != nil {
			return store.Origins{}, err
		}
		for _, g := range groups {
			tables = append(tables, table{store.OriginTable{Group: g.Name}, g.Name, store.SensorIDs(g.Sensors)})
		}
	case store.ByFleet:
		tables = append(tables, table{part: ""})
	default:
		return store.Origins{}, fmt.Errorf("origins: unknown split %d", q.By)
	}
	var sensors []int32
	if q.By != store.ByFleet {
		for _, t := range tables {
			sensors = append(sensors, t.sensors...)
		}
	}
	cur, totals, err := s.originCounts(ctx, q.Period, q.Kind, q.By, sensors)
	if err != nil {
		return store.Origins{}, fmt.Errorf("origins in %s: %w", q.Period, err)
	}
	prev, _, err := s.originCounts(ctx, q.Period.Previous(), q.Kind, q.By, sensors)
	if err != nil {
		return store.Origins{}, fmt.Errorf("origins in %s: %w", q.Period.Previous(), err)
	}
	var orgs map[uint32]string
	if q.Kind == store.ByAS {
		if orgs, err = s.orgNames(ctx, cur); err != nil {
			return store.Origins{}, err
		}
	}
	out := store.Origins{Kind: q.Kind.String(), By: q.By.String(), Tables: make([]store.OriginTable, len(tables))}
	for i, t := range tables {
		t.t.Packets, t.t.Sources = totals[t.part].Packets, totals[t.part].Sources
		t.t.Origins = store.RankOrigins(q.Kind, cur[t.part], prev[t.part], q.N, orgs)
		out.Tables[i] = t.t
	}
	return out, nil
}

// originCounts returns, per part (sensor ID, group name or "" for the
// fleet), the packets and distinct sources of each origin, and the
// part's totals.
func (s *Store) originCounts(ctx context.Context, p period.Period, kind store.OriginKind, by store.By, sensors []int32) (map[string]map[store.OriginKey]store.OriginCount, map[string]store.OriginCount, error) {
	rows, args := originRowsSQL(p, sensors, store.OriginFilter{}, false)
	part, join := `''`, ""
	switch by {
	case store.BySensor:
		part = `r.sensor::VARCHAR`
	case store.ByGroup:
		part, join = `sn.grp`, ` JOIN sensors sn ON sn.id = r.sensor`
	}
	key := map[store.OriginKind]string{
		store.ByCountry: `r.country AS country, 0::UINTEGER AS asn, '' AS scanner`,
		store.ByAS:      `'' AS country, r.asn AS asn, '' AS scanner`,
		store.ByScanner: `'' AS country, 0::UINTEGER AS asn, r.scanner AS scanner`,
	}[kind]
	counts := map[string]map[store.OriginKey]store.OriginCount{}
	totals := map[string]store.OriginCount{}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			part    string
			k       store.OriginKey
			c       store.OriginCount
			isTotal bool
		)
		if err := scan(&part, &k.Country, &k.ASN, &k.Scanner, &c.Packets, &c.Sources, &isTotal); err != nil {
			return err
		}
		if isTotal {
			totals[part] = c
			return nil
		}
		if counts[part] == nil {
			counts[part] = map[store.OriginKey]store.OriginCount{}
		}
		counts[part][k] = c
		return nil
	}, `WITH s AS (
			SELECT `+part+` AS part, `+key+`, r.ip_version, r.src_hi, r.src_lo, sum(r.packets) AS packets
			FROM (`+rows+`) AS r`+join+` GROUP BY ALL
		)
		SELECT part, coalesce(country, ''), coalesce(asn, 0), coalesce(scanner, ''), sum(packets)::UBIGINT,
			count(DISTINCT (ip_version, src_hi, src_lo))::UBIGINT, grouping(country, asn, scanner) <> 0
		FROM s GROUP BY GROUPING SETS ((part, country, asn, scanner), (part))`, args...)
	return counts, totals, err
}

// orgNames returns the organisations of the ASes in counts (as_names).
func (s *Store) orgNames(ctx context.Context, counts map[string]map[store.OriginKey]store.OriginCount) (map[uint32]string, error) {
	seen := map[uint32]bool{}
	var list []string
	for _, m := range counts {
		for k := range m {
			if k.ASN != 0 && !seen[k.ASN] {
				seen[k.ASN] = true
				list = append(list, strconv.FormatUint(uint64(k.ASN), 10))
			}
		}
	}
	out := map[uint32]string{}
	if len(list) == 0 {
		return out, nil
	}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			asn uint32
			org string
		)
		if err := scan(&asn, &org); err != nil {
			return err
		}
		out[asn] = org
		return nil
	}, `SELECT asn, org FROM as_names WHERE asn IN (`+strings.Join(list, ",")+`)`)
	if err != nil {
		return nil, fmt.Errorf("read the AS names: %w", err)
	}
	return out, nil
}

// OriginPorts implements store.Store from the source rows of
// originRowsSQL: exact distinct sources per port, for any period.
func (s *Store) OriginPorts(ctx context.Context, q store.OriginPortsQuery) ([]store.OriginPort, error) {
	if err := store.CheckTop("origin ports", q.N); err != nil {
		return nil, err
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	filter, err := s.sensorFilter(ctx, q.Sensors)
	if err != nil {
		return nil, err
	}
	rows, args := originRowsSQL(q.Period, filter, q.Origin, true)
	sources, err := s.slotCounts(ctx, `SELECT slot, count(DISTINCT (ip_version, src_hi, src_lo))::UBIGINT FROM (`+rows+`) GROUP BY slot`, args...)
	if err != nil {
		return nil, fmt.Errorf("origin ports in %s: %w", q.Period, err)
	}
	ranked := store.RankSlots(sources) // by sources, as ports rank by packets
	out := make([]store.OriginPort, 0, min(q.N, len(ranked)))
	for i, c := range ranked[:min(q.N, len(ranked))] {
		out = append(out, store.OriginPort{Rank: i + 1, Port: c.Port, Sources: c.Packets})
	}
	return out, nil
}

// verdictSQL is store.Judge's verdict in SQL, over a source's aggregated
// row (scanner, tags, exploit: whether it probed one of
// store.ExploitPorts).
var verdictSQL = `(CASE WHEN scanner <> '' THEN '` + store.VerdictBenign + `'
	WHEN tags & ` + strconv.Itoa(int(record.TagMirai)) + ` <> 0 OR exploit THEN '` + store.VerdictMalicious + `'
	ELSE '` + store.VerdictUnknown + `' END)`

// exploitList is SQL for the list of store.ExploitSlots.
func exploitList() string {
	var parts []string
	for _, s := range store.ExploitSlots() {
		parts = append(parts, strconv.Itoa(int(s)))
	}
	return "[" + strings.Join(parts, ", ") + "]::INTEGER[]"
}

// int32List scans a DuckDB INTEGER[] (which the driver gives as []any).
type int32List []int32

func (l *int32List) Scan(src any) error {
	vals, ok := src.([]any)
	if !ok && src != nil {
		return fmt.Errorf("scan a list: got %T", src)
	}
	*l = (*l)[:0]
	for _, v := range vals {
		n, ok := v.(int32)
		if !ok {
			return fmt.Errorf("scan a list: an element is %T", v)
		}
		*l = append(*l, n)
	}
	return nil
}
