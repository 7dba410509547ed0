package duckdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The questions beyond TopPorts (query.go). Each reads the rollups when the
// period is made of whole rollup units (hours, or days for sources) and the
// raw records otherwise. Distinct counts over a period cannot be summed
// from per-hour or per-day counts: the ports of a source come from the
// lists of ports in the daily source rollups, and the sources of a port
// from the raw records, checked for completeness against the rollups (see
// store.PortSources).

// wholeHours returns the hours [from, to) of p and whether p is made of
// whole hours.
func wholeHours(p period.Period) (from, to int64, whole bool) {
	start, end := p.Start.UnixNano(), p.End.UnixNano()
	return floorDiv(start, hourNs), floorDiv(end, hourNs), start%hourNs == 0 && end%hourNs == 0
}

// wholeDays is wholeHours for days.
func wholeDays(p period.Period) (from, to int64, whole bool) {
	start, end := p.Start.UnixNano(), p.End.UnixNano()
	return floorDiv(start, dayNs), floorDiv(end, dayNs), start%dayNs == 0 && end%dayNs == 0
}

// inList is the SQL condition "AND col IN (...)" for integers, or "" for
// none (meaning no restriction).
func inList[T int32 | int64](col string, values []T) string {
	if len(values) == 0 {
		return ""
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = strconv.FormatInt(int64(v), 10)
	}
	return " AND " + col + " IN (" + strings.Join(parts, ",") + ")"
}

// sensorFilter returns the IDs of the named sensors, or nil (no
// restriction) when none is named.
func (s *Store) sensorFilter(ctx context.Context, names []string) ([]int32, error) {
	if len(names) == 0 {
		return nil, nil
	}
	sensors, err := s.selectSensors(ctx, names)
	if err != nil {
		return nil, err
	}
	return store.SensorIDs(sensors), nil
}

// selectGroups returns the named groups, or all of them
// (store.SelectGroups).
func (s *Store) selectGroups(ctx context.Context, names []string) ([]store.Group, error) {
	all, err := s.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	return store.SelectGroups(all, names)
}

// hourly calls fn with the packets of p per sensor and hour, and per slot
// when bySlot (slot is -1 otherwise), restricted to the given slots and
// sensors when not empty. start is the start of the hour, or of p when p
// starts within the hour.
func (s *Store) hourly(ctx context.Context, p period.Period, bySlot bool, slots, sensors []int32, fn func(sensor, slot int32, start time.Time, packets uint64)) error {
	slotCol := "-1::INTEGER"
	if bySlot {
		slotCol = "slot"
	}
	from, to, whole := wholeHours(p)
	query, args := `SELECT sensor, `+slotCol+`, hour, sum(packets)::UBIGINT FROM rollup_port_hour
		WHERE hour >= ? AND hour < ?`+inList("slot", slots)+inList("sensor", sensors)+` GROUP BY ALL`, []any{from, to}
	if !whole {
		query, args = `SELECT sensor, `+slotCol+`, `+hourOf+` AS hour, count(*)::UBIGINT FROM packets
		WHERE time_ns >= ? AND time_ns < ?`+inList("slot", slots)+inList("sensor", sensors)+` GROUP BY ALL`, []any{p.Start.UnixNano(), p.End.UnixNano()}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("count packets per hour in %s: %w", p, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sensor, slot int32
			hour         int64
			packets      uint64
		)
		if err := rows.Scan(&sensor, &slot, &hour, &packets); err != nil {
			return fmt.Errorf("count packets per hour in %s: %w", p, err)
		}
		start := time.Unix(0, hour*hourNs).UTC()
		if start.Before(p.Start) {
			start = p.Start
		}
		fn(sensor, slot, start, packets)
	}
	return rows.Err()
}

// GroupTopPorts implements store.Store, from the same rollups as TopPorts
// (or raw records for periods that are not whole hours), summed per group
// and for the fleet and ranked inside DuckDB (see rankPorts).
func (s *Store) GroupTopPorts(ctx context.Context, q store.GroupTopPortsQuery) (store.GroupTopPorts, error) {
	if err := store.CheckTop("group top ports", q.N); err != nil {
		return store.GroupTopPorts{}, err
	}
	groups, err := s.selectGroups(ctx, q.Groups)
	if err != nil {
		return store.GroupTopPorts{}, err
	}
	all, err := s.Sensors(ctx)
	if err != nil {
		return store.GroupTopPorts{}, err
	}
	// Owners: group i is i, the fleet len(groups); each sensor counts in
	// its group and in the fleet.
	fleet := int32(len(groups))
	var members []string
	for i, g := range groups {
		for _, sen := range g.Sensors {
			members = append(members, fmt.Sprintf("(%d, %d)", sen.ID, i))
		}
	}
	for _, sen := range all {
		members = append(members, fmt.Sprintf("(%d, %d)", sen.ID, fleet))
	}
	var ranked map[int32]ranking
	if len(members) > 0 { // else a store without sensors
		ranked, err = s.rankPorts(ctx, q.Period, q.N, func(p period.Period) (string, []any) {
			src, args := portCountsSQL(p, "")
			return `SELECT m.owner, c.slot, sum(c.p)::UBIGINT AS p
				FROM (` + src + `) AS c JOIN (VALUES ` + strings.Join(members, ", ") + `) AS m(sensor, owner) ON m.sensor = c.sensor
				GROUP BY ALL`, args
		})
		if err != nil {
			return store.GroupTopPorts{}, fmt.Errorf("group top ports in %s: %w", q.Period, err)
		}
	}
	groupPorts := func(name string, sensors int, r ranking) store.GroupPorts {
		n := float64(sensors)
		gp := store.GroupPorts{Group: name, Sensors: sensors, Packets: r.total, Ports: []store.AvgRankedPort{}}
		if sensors > 0 {
			gp.AvgPacketsPerSensor = float64(r.total) / n
		}
		for _, rp := range r.ports {
			gp.Ports = append(gp.Ports, store.AvgRankedPort{Rank: rp.Rank, Port: rp.Port, Packets: rp.Packets,
				AvgPacketsPerSensor: float64(rp.Packets) / n, PreviousRank: rp.PreviousRank})
		}
		return gp
	}
	out := store.GroupTopPorts{Groups: []store.GroupPorts{}}
	for i, g := range groups {
		out.Groups = append(out.Groups, groupPorts(g.Name, len(g.Sensors), ranked[int32(i)]))
	}
	out.Fleet = groupPorts("", len(all), ranked[fleet])
	return out, nil
}

// GroupAverages implements store.Store, from the hourly rollups (or raw
// records for periods that are not whole hours) summed per sensor and hour,
// then per day and month.
func (s *Store) GroupAverages(ctx context.Context, q store.GroupAveragesQuery) ([]store.GroupAverages, error) {
	groups, err := s.selectGroups(ctx, q.Groups)
	if err != nil {
		return nil, err
	}
	months, err := store.Buckets(q.Period, store.Month)
	if err != nil {
		return nil, err
	}
	days, err := store.Buckets(q.Period, store.Day)
	if err != nil {
		return nil, err
	}
	type sums struct {
		total        uint64
		months, days []uint64
	}
	bySensor := map[int32]*sums{}
	err = s.hourly(ctx, q.Period, false, nil, nil, func(sensor, _ int32, start time.Time, packets uint64) {
		c := bySensor[sensor]
		if c == nil {
			c = &sums{months: make([]uint64, len(months)), days: make([]uint64, len(days))}
			bySensor[sensor] = c
		}
		c.total += packets
		if i := store.BucketOf(months, start); i >= 0 {
			c.months[i] += packets
		}
		if i := store.BucketOf(days, start); i >= 0 {
			c.days[i] += packets
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.GroupAverages, 0, len(groups))
	for _, g := range groups {
		ga := store.GroupAverages{Name: g.Name, Sensors: len(g.Sensors), Months: make([]store.GroupMonth, len(months)), Days: make([]store.GroupDay, len(days))}
		for i, m := range months {
			ga.Months[i].Month = m.Start.Format("2006-01")
		}
		for i, d := range days {
			ga.Days[i].Day = d.Start.Format(time.DateOnly)
		}
		for _, sen := range g.Sensors {
			c := bySensor[sen.ID]
			if c == nil {
				continue
			}
			ga.Packets += c.total
			for i, n := range c.months {
				ga.Months[i].AvgPacketsPerSensor += float64(n)
			}
			for i, n := range c.days {
				ga.Days[i].AvgPacketsPerSensor += float64(n)
			}
		}
		n := float64(len(g.Sensors))
		for i := range ga.Months {
			ga.Months[i].AvgPacketsPerSensor /= n
		}
		for i := range ga.Days {
			ga.Days[i].AvgPacketsPerSensor /= n
		}
		out = append(out, ga)
	}
	return out, nil
}

// PortSeries implements store.Store, from the hourly rollups (or raw
// records for periods that are not whole hours) of the asked ports.
func (s *Store) PortSeries(ctx context.Context, q store.PortSeriesQuery) (store.PortSeries, error) {
	all, err := s.Sensors(ctx)
	if err != nil {
		return store.PortSeries{}, err
	}
	frame, err := store.NewSeriesFrame(q, all)
	if err != nil {
		return store.PortSeries{}, err
	}
	if err := s.hourly(ctx, q.Period, true, frame.Slots(), nil, frame.Add); err != nil {
		return store.PortSeries{}, err
	}
	return frame.Answer(), nil
}

// TopSources implements store.Store. Whole-day periods read the daily
// source rollups only: they rank the sources, then merge the lists of
// distinct ports of the ranked ones (exact, however many days, sensors or
// pruned raw records); other periods read raw records only.
func (s *Store) TopSources(ctx context.Context, q store.TopSourcesQuery) ([]store.Source, error) {
	if err := store.CheckTop("top sources", q.N); err != nil {
		return nil, err
	}
	filter, err := s.sensorFilter(ctx, q.Sensors)
	if err != nil {
		return nil, err
	}
	verdict, err := store.ParseVerdict(q.Verdict)
	if err != nil {
		return nil, fmt.Errorf("top sources: %w", err)
	}
	from, to, whole := wholeDays(q.Period)
	slotCond := ""
	if q.Port != "" {
		slot, err := portcount.ParseLabel(q.Port)
		if err != nil {
			return nil, fmt.Errorf("top sources: %w", err)
		}
		if horizon := s.PrunedBefore(); q.Period.Start.Before(horizon) {
			return nil, fmt.Errorf("top sources of %s in %s: %w: the raw records before %s were pruned, and only they know the sources of one port",
				q.Port, q.Period, store.ErrPruned, horizon.Format(time.DateOnly))
		}
		whole = false
		slotCond = fmt.Sprintf(" AND slot = %d", slot)
	}
	dayCond, dayArgs := originCondition(q.Origin, true, "")
	portCond, portArgs := originCondition(q.Origin, true, "r")
	rawCond, rawArgs := originCondition(q.Origin, false, "")
	exploits := exploitList()
	// Whether each source probed an exploit port is aggregated over all
	// of them only to filter by verdict; otherwise the ports of the top
	// sources say it (store.Judge).
	judged, dayExploit, rawExploit := `SELECT * FROM agg`, "", ""
	if verdict != "" {
		judged = `SELECT * FROM agg WHERE ` + verdictSQL + ` = '` + verdict + `'`
		dayExploit = `, bool_or(list_has_any(slots, ` + exploits + `)) AS exploit`
		rawExploit = `, bool_or(list_contains(` + exploits + `, slot)) AS exploit`
	}
	// Both queries give: address, packets, distinct ports, sensors, tags
	// (by evidence: fingerprint.SourceEvidence), first and last seen,
	// country, AS, its organisation, scanner labels (those of the last
	// packet), and the exploit ports probed (store.Judge).
	query, args := `WITH agg AS (
			SELECT ip_version, src_hi, src_lo, sum(packets)::UBIGINT AS packets,
				count(DISTINCT sensor) AS sensors, `+sourceTagsSQL("sum(packets)", summedTagHits(""))+` AS tags,
				min(first_ns) AS first_ns, max(last_ns) AS last_ns,
				arg_max(country, last_ns) AS country, arg_max(asn, last_ns) AS asn, arg_max(scanner, last_ns) AS scanner`+dayExploit+`
			FROM rollup_source_day WHERE day >= ? AND day < ?`+inList("sensor", filter)+dayCond+`
			GROUP BY ip_version, src_hi, src_lo
		), top AS (
			`+judged+`
			ORDER BY packets DESC, ip_version, src_hi, src_lo LIMIT ?
		), ports AS (
			SELECT r.ip_version, r.src_hi, r.src_lo, len(list_distinct(flatten(list(r.slots))))::UBIGINT AS ports,
				list_intersect(list_distinct(flatten(list(r.slots))), `+exploits+`) AS exploits
			FROM rollup_source_day r JOIN top t ON r.ip_version = t.ip_version AND r.src_hi = t.src_hi AND r.src_lo = t.src_lo
			WHERE r.day >= ? AND r.day < ?`+inList("r.sensor", filter)+portCond+`
			GROUP BY ALL
		)
		SELECT t.ip_version, t.src_hi, t.src_lo, t.packets, p.ports, t.sensors, t.tags, t.first_ns, t.last_ns,
			t.country, t.asn, coalesce(n.org, ''), t.scanner, p.exploits, `+deviceLabelColumns+`
		FROM top t JOIN ports p ON p.ip_version = t.ip_version AND p.src_hi = t.src_hi AND p.src_lo = t.src_lo
			LEFT JOIN as_names n ON n.asn = t.asn`+deviceJoin("t")+`
		ORDER BY t.packets DESC, t.ip_version, t.src_hi, t.src_lo`, append(append(append([]any{from, to}, dayArgs...), q.N, from, to), portArgs...)
	if !whole {
		query, args = `WITH agg AS (
				SELECT ip_version, src_hi, src_lo, count(*)::UBIGINT AS packets, count(DISTINCT slot)::UBIGINT AS ports,
					count(DISTINCT sensor) AS sensors, `+sourceTagsSQL("count(*)", rawTagHits())+` AS tags,
					min(time_ns) AS first_ns, max(time_ns) AS last_ns,
					`+countryText("arg_max(src_country, time_ns)")+` AS country, arg_max(src_asn, time_ns) AS asn,
					`+scannerText("arg_max(src_scanner, time_ns)")+` AS scanner,
					list_intersect(list(DISTINCT slot), `+exploits+`) AS exploits`+rawExploit+`
				FROM packets WHERE time_ns >= ? AND time_ns < ?`+inList("sensor", filter)+slotCond+rawCond+`
				GROUP BY ip_version, src_hi, src_lo
			), top AS (
				`+judged+`
				ORDER BY packets DESC, ip_version, src_hi, src_lo LIMIT ?
			)
			SELECT t.ip_version, t.src_hi, t.src_lo, t.packets, t.ports, t.sensors, t.tags, t.first_ns, t.last_ns,
				t.country, t.asn, coalesce(n.org, ''), t.scanner, t.exploits, `+deviceLabelColumns+`
			FROM top t LEFT JOIN as_names n ON n.asn = t.asn`+deviceJoin("t")+`
			ORDER BY t.packets DESC, t.ip_version, t.src_hi, t.src_lo`,
			append(append([]any{q.Period.Start.UnixNano(), q.Period.End.UnixNano()}, rawArgs...), q.N)
	}
	out := []store.Source{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			version        uint8
			hi, lo         uint64
			tags           uint16
			first, last    int64
			sensorsReached int
			exploits       int32List
		)
		src := store.Source{PortsExact: true}
		var dev deviceLabel
		if err := scan(&version, &hi, &lo, &src.Packets, &src.Ports, &sensorsReached, &tags, &first, &last,
			&src.Country, &src.ASN, &src.Org, &src.Scanner, &exploits, &dev.vendor, &dev.model, &dev.kind, &dev.firmware, &dev.conflict); err != nil {
			return err
		}
		src.Device = dev.label()
		src.IP = record.AddrFromHalves(hi, lo, version == 4).String()
		src.Sensors = sensorsReached
		src.Tags = store.TagNames(tags)
		src.FirstSeen, src.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		src.Verdict, src.Reason = store.Judge(src.Scanner, src.Tags, exploits)
		out = append(out, src)
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("top sources in %s: %w", q.Period, err)
	}
	return out, nil
}

// PortSources implements store.Store. Packets and mirai packets come from
// the hourly rollups (or raw records for periods that are not whole
// hours); the distinct sources of the top N ports come from the raw
// records, exact while they are all retained (see store.PortSources).
func (s *Store) PortSources(ctx context.Context, q store.PortSourcesQuery) ([]store.PortSources, error) {
	if err := store.CheckTop("port sources", q.N); err != nil {
		return nil, err
	}
	filter, err := s.sensorFilter(ctx, q.Sensors)
	if err != nil {
		return nil, err
	}
	from, to, whole := wholeHours(q.Period)
	start, end := q.Period.Start.UnixNano(), q.Period.End.UnixNano()
	query, args := `SELECT slot, sum(packets)::UBIGINT, sum(mirai)::UBIGINT, max(sources)::UBIGINT FROM rollup_port_hour
		WHERE hour >= ? AND hour < ?`+inList("sensor", filter)+` GROUP BY slot`, []any{from, to}
	if !whole {
		query, args = `SELECT slot, count(*)::UBIGINT, (count(*) FILTER (WHERE tags & 1 <> 0))::UBIGINT,
			count(DISTINCT (ip_version, src_hi, src_lo))::UBIGINT FROM packets
		WHERE time_ns >= ? AND time_ns < ?`+inList("sensor", filter)+` GROUP BY slot`, []any{start, end}
	}
	type stats struct{ packets, mirai, sources uint64 }
	bySlot := map[int32]stats{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			slot int32
			st   stats
		)
		if err := scan(&slot, &st.packets, &st.mirai, &st.sources); err != nil {
			return err
		}
		bySlot[slot] = st
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("port sources in %s: %w", q.Period, err)
	}
	packets := map[int32]uint64{}
	for slot, st := range bySlot {
		packets[slot] = st.packets
	}
	ranked := store.RankSlots(packets)
	ranked = ranked[:min(q.N, len(ranked))]
	out := make([]store.PortSources, len(ranked))
	top := make([]int32, len(ranked))
	for i, c := range ranked {
		slot, _ := portcount.ParseLabel(c.Port) // a label of rank
		top[i] = int32(slot)
		st := bySlot[int32(slot)]
		out[i] = store.PortSources{Rank: i + 1, Port: c.Port, Packets: st.packets, Sources: st.sources, SourcesExact: !whole, Mirai: st.mirai}
		if st.packets > 0 {
			out[i].MiraiShare = float64(st.mirai) / float64(st.packets)
		}
	}
	if !whole || len(top) == 0 {
		return out, nil
	}
	raw := map[int32]stats{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			slot int32
			st   stats
		)
		if err := scan(&slot, &st.packets, &st.sources); err != nil {
			return err
		}
		raw[slot] = st
		return nil
	}, `SELECT slot, count(*)::UBIGINT, count(DISTINCT (ip_version, src_hi, src_lo))::UBIGINT FROM packets
		WHERE time_ns >= ? AND time_ns < ?`+inList("slot", top)+inList("sensor", filter)+` GROUP BY slot`, start, end)
	if err != nil {
		return nil, fmt.Errorf("distinct sources per port in %s: %w", q.Period, err)
	}
	for i := range out {
		r := raw[top[i]]
		out[i].SourcesExact = r.packets == out[i].Packets
		if out[i].SourcesExact {
			out[i].Sources = r.sources
		} else {
			out[i].Sources = max(out[i].Sources, r.sources)
		}
	}
	return out, nil
}

// TagCounts implements store.Store, from the hourly tag rollups (or raw
// records for periods that are not whole hours).
func (s *Store) TagCounts(ctx context.Context, q store.TagCountsQuery) (store.TagCounts, error) {
	sensors, err := s.selectSensors(ctx, q.Sensors)
	if err != nil {
		return store.TagCounts{}, err
	}
	from, to, whole := wholeHours(q.Period)
	query, args := `SELECT sensor, tag, sum(packets)::UBIGINT FROM rollup_tag_hour
		WHERE hour >= ? AND hour < ?`+inList("sensor", store.SensorIDs(sensors))+` GROUP BY ALL`, []any{from, to}
	if !whole {
		query, args = `SELECT sensor, bit, count(*)::UBIGINT FROM packets, range(16) AS bits(bit)
		WHERE time_ns >= ? AND time_ns < ? AND (tags >> bit) & 1 = 1`+inList("sensor", store.SensorIDs(sensors))+` GROUP BY ALL`,
			[]any{q.Period.Start.UnixNano(), q.Period.End.UnixNano()}
	}
	counts := map[int32]*[16]uint64{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			sensor  int32
			tag     int64
			packets uint64
		)
		if err := scan(&sensor, &tag, &packets); err != nil {
			return err
		}
		if tag < 0 || tag >= 16 {
			return fmt.Errorf("tag bit %d out of range", tag)
		}
		if counts[sensor] == nil {
			counts[sensor] = new([16]uint64)
		}
		counts[sensor][tag] += packets
		return nil
	}, query, args...)
	if err != nil {
		return store.TagCounts{}, fmt.Errorf("count tags in %s: %w", q.Period, err)
	}
	out := store.TagCounts{Tags: store.TagMap(nil), Sensors: make([]store.SensorTags, 0, len(sensors))}
	for _, sen := range sensors {
		m := store.TagMap(counts[sen.ID])
		for name, n := range m {
			out.Tags[name] += n
		}
		out.Sensors = append(out.Sensors, store.SensorTags{Sensor: sen.Name, Group: sen.Group, Tags: m})
	}
	return out, nil
}

// scanRows runs a query and calls row for each of its rows.
func (s *Store) scanRows(ctx context.Context, row func(scan func(...any) error) error, query string, args ...any) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
