package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// SourceHistory implements store.Store. Whole-day periods read the daily
// source rollups (exact distinct ports from their per-day port lists, also
// after the raw records are pruned); other periods read the raw records,
// shaped like those rollups. One query answers the days, the sensors
// reached and the totals, as grouping sets of the source's rows.
func (s *Store) SourceHistory(ctx context.Context, q store.SourceHistoryQuery) (store.SourceHistory, error) {
	if !q.IP.IsValid() {
		return store.SourceHistory{}, errors.New("source history: no address given")
	}
	addr := record.AddrFromNetip(q.IP)
	hi, lo := addr.Halves()
	version := uint8(6)
	if addr.Is4() {
		version = 4
	}
	// database/sql refuses uint64 arguments with the high bit set: the
	// address is written as literals.
	isSource := fmt.Sprintf(" AND ip_version = %d AND src_hi = %d::UBIGINT AND src_lo = %d::UBIGINT", version, hi, lo)
	from, to, whole := wholeDays(q.Period)
	dayHits, rawHits := make([]string, record.NumTags), rawTagHits()
	for bit := range dayHits {
		dayHits[bit] = fmt.Sprintf("%s AS h%d", tagPacketsColumn(bit), bit)
		rawHits[bit] += fmt.Sprintf(" AS h%d", bit)
	}
	src, args := `SELECT day, sensor, packets, slots, first_ns, last_ns, country, asn, scanner, `+strings.Join(dayHits, ", ")+`
		FROM rollup_source_day WHERE day >= ? AND day < ?`+isSource, []any{from, to}
	if !whole {
		src, args = `SELECT `+dayOf+` AS day, sensor, count(*)::UBIGINT AS packets, list(DISTINCT slot) AS slots,
				min(time_ns) AS first_ns, max(time_ns) AS last_ns,
				`+countryText("arg_max(src_country, time_ns)")+` AS country, arg_max(src_asn, time_ns) AS asn,
				`+scannerText("arg_max(src_scanner, time_ns)")+` AS scanner,
				`+strings.Join(rawHits, ", ")+`
			FROM packets WHERE time_ns >= ? AND time_ns < ?`+isSource+`
			GROUP BY ALL`, []any{q.Period.Start.UnixNano(), q.Period.End.UnixNano()}
	}
	sensors, err := s.Sensors(ctx)
	if err != nil {
		return store.SourceHistory{}, err
	}
	names := map[int32]string{}
	for _, sen := range sensors {
		names[sen.ID] = sen.Name
	}
	out := store.SourceHistory{IP: addr.String(), PortsExact: true, Tags: []string{}, SensorNames: []string{}, Days: []store.SourceDay{}}
	// grouping(day, sensor) is 1 for a day's row, 2 for a sensor's and 3
	// for the totals.
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			set, reached int
			day          sql.NullInt64
			sensor       sql.NullInt32
			packets      uint64
			ports        uint64
			tags         uint16
			first, last  int64
			o            store.SourceOrigin
		)
		if err := scan(&set, &day, &sensor, &packets, &ports, &reached, &tags, &first, &last, &o.Country, &o.ASN, &o.Org, &o.Scanner); err != nil {
			return err
		}
		switch set {
		case 1:
			out.Days = append(out.Days, store.SourceDay{Day: nsTime(dayStart(day.Int64)).Format(time.DateOnly), Packets: packets,
				Ports: ports, Sensors: reached, Tags: store.TagNames(tags), FirstSeen: nsTime(first), LastSeen: nsTime(last), SourceOrigin: o})
		case 2:
			out.SensorNames = append(out.SensorNames, names[sensor.Int32])
		case 3:
			firstSeen, lastSeen := nsTime(first), nsTime(last)
			out.Packets, out.Ports, out.Sensors, out.Tags = packets, ports, reached, store.TagNames(tags)
			out.SourceOrigin = o
			out.FirstSeen, out.LastSeen = &firstSeen, &lastSeen
		}
		return nil
	}, `WITH s AS MATERIALIZED (`+src+`)
		SELECT grouping(day, sensor), day, sensor, sum(packets)::UBIGINT, len(list_distinct(flatten(list(slots))))::UBIGINT,
			count(DISTINCT sensor), `+sourceTags()+`, min(first_ns), max(last_ns),
			arg_max(country, last_ns), arg_max(s.asn, last_ns), coalesce(arg_max(n.org, last_ns), ''), arg_max(scanner, last_ns)
		FROM s LEFT JOIN as_names n ON n.asn = s.asn
		GROUP BY GROUPING SETS ((day), (sensor), ()) HAVING count(*) > 0
		ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return store.SourceHistory{}, fmt.Errorf("history of source %s in %s: %w", out.IP, q.Period, err)
	}
	dev, _, ok, err := s.SourceDevice(ctx, q.IP)
	if err != nil {
		return store.SourceHistory{}, err
	}
	if ok {
		out.Device = dev.Label()
	}
	return out, nil
}

func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
