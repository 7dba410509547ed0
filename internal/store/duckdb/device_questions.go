package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// deviceSources returns a query of a period's distinct sources — columns
// ip_version, src_hi, src_lo, packets, tags (by evidence:
// fingerprint.SourceEvidence), first_ns, last_ns, country (of its last
// packet), slots (its distinct ports) — of the given sensors (nil: all)
// that earned tag (0: any): from the daily source rollups for whole-day
// periods, from the raw records otherwise.
func deviceSources(p period.Period, sensors []int32, tag record.Tags) (string, []any) {
	from, to, whole := wholeDays(p)
	query := `SELECT ip_version, src_hi, src_lo, sum(packets)::UBIGINT AS packets,
			` + sourceTagsSQL("sum(packets)", summedTagHits("")) + ` AS tags,
			min(first_ns) AS first_ns, max(last_ns) AS last_ns, arg_max(country, last_ns) AS country,
			list_distinct(flatten(list(slots))) AS slots
		FROM rollup_source_day WHERE day >= ? AND day < ?` + inList("sensor", sensors) + `
		GROUP BY ip_version, src_hi, src_lo`
	args := []any{from, to}
	if !whole {
		query = `SELECT ip_version, src_hi, src_lo, count(*)::UBIGINT AS packets,
				` + sourceTagsSQL("count(*)", rawTagHits()) + ` AS tags,
				min(time_ns) AS first_ns, max(time_ns) AS last_ns,
				` + countryText("arg_max(src_country, time_ns)") + ` AS country, list(DISTINCT slot) AS slots
			FROM packets WHERE time_ns >= ? AND time_ns < ?` + inList("sensor", sensors) + `
			GROUP BY ip_version, src_hi, src_lo`
		args = []any{p.Start.UnixNano(), p.End.UnixNano()}
	}
	if tag != 0 {
		query = `SELECT * FROM (` + query + `) WHERE tags & ` + fmt.Sprint(uint16(tag)) + ` <> 0`
	}
	return query, args
}

// deviceFilter resolves the sensors, groups and tag of a device
// question: the IDs of the named sensors and of the sensors of the named
// groups (nil: all), and the tag.
func (s *Store) deviceFilter(ctx context.Context, sensors, groups []string, tag string) ([]int32, record.Tags, error) {
	ids, err := s.sensorFilter(ctx, sensors)
	if err != nil {
		return nil, 0, err
	}
	if len(groups) > 0 {
		gs, err := s.selectGroups(ctx, groups)
		if err != nil {
			return nil, 0, err
		}
		for _, g := range gs {
			ids = append(ids, store.SensorIDs(g.Sensors)...)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var t record.Tags
	if tag != "" {
		if t, err = record.ParseTag(tag); err != nil {
			return nil, 0, &store.ParamError{Param: "tag", Msg: err.Error()}
		}
	}
	return ids, t, nil
}

// Devices implements store.DeviceStore. One query gives the period's
// count of sources (a first row) and each attributed source with its
// device; the models are summed from them here, so that the filters
// count every source once however many days and sensors it reached.
func (s *Store) Devices(ctx context.Context, q store.DevicesQuery) (store.DeviceTable, error) {
	if err := store.CheckTop("devices", q.N); err != nil {
		return store.DeviceTable{}, err
	}
	sensors, tag, err := s.deviceFilter(ctx, q.Sensors, q.Groups, q.Tag)
	if err != nil {
		return store.DeviceTable{}, err
	}
	src, args := deviceSources(q.Period, sensors, tag)
	query := `WITH src AS MATERIALIZED (` + src + `)
		SELECT 0 AS part, count(*)::UBIGINT AS packets, 0 AS first_ns, 0 AS last_ns, '' AS country, []::INTEGER[] AS slots,
			'' AS vendor, '' AS model, '' AS kind, '' AS firmware, NULL::BIGINT AS released_ns, false AS conflict
		FROM src
		UNION ALL
		SELECT 1, s.packets, s.first_ns, s.last_ns, s.country, s.slots,
			d.vendor, d.model, d.kind, d.firmware, d.released_ns, d.conflict
		FROM src s JOIN devices d ON d.ip_version = s.ip_version AND d.src_hi = s.src_hi AND d.src_lo = s.src_lo
		ORDER BY part`
	type key struct{ vendor, model, kind string }
	type acc struct {
		m         store.DeviceModel
		firmware  map[string]*store.FirmwareCount
		ports     map[int32]uint64
		countries map[string]uint64
	}
	var out store.DeviceTable
	models := map[key]*acc{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			part                    int
			packets                 uint64
			first, last             int64
			country                 string
			slots                   int32List
			vendor, model, kind, fw string
			released                sql.NullInt64
			conflict                bool
		)
		if err := scan(&part, &packets, &first, &last, &country, &slots, &vendor, &model, &kind, &fw, &released, &conflict); err != nil {
			return err
		}
		if part == 0 {
			out.Sources = packets
			return nil
		}
		out.Identified++
		if conflict {
			out.Conflicts++
		}
		if q.Vendor != "" && !strings.EqualFold(q.Vendor, vendor) {
			return nil
		}
		k := key{vendor, model, kind}
		a := models[k]
		if a == nil {
			a = &acc{m: store.DeviceModel{Vendor: vendor, Model: model, Kind: kind, FirstSeen: time.Unix(0, first).UTC(), LastSeen: time.Unix(0, last).UTC()},
				firmware: map[string]*store.FirmwareCount{}, ports: map[int32]uint64{}, countries: map[string]uint64{}}
			models[k] = a
		}
		a.m.Sources++
		a.m.Packets += packets
		if t := time.Unix(0, first).UTC(); t.Before(a.m.FirstSeen) {
			a.m.FirstSeen = t
		}
		if t := time.Unix(0, last).UTC(); t.After(a.m.LastSeen) {
			a.m.LastSeen = t
		}
		f := a.firmware[fw]
		if f == nil {
			f = &store.FirmwareCount{Version: fw}
			if released.Valid {
				t := time.Unix(0, released.Int64).UTC()
				f.Released = &t
			}
			a.firmware[fw] = f
		}
		f.Sources++
		for _, slot := range slots {
			a.ports[slot]++
		}
		a.countries[country]++
		return nil
	}, query, args...)
	if err != nil {
		return store.DeviceTable{}, fmt.Errorf("devices in %s: %w", q.Period, err)
	}
	out.Models = []store.DeviceModel{}
	for _, a := range models {
		m := a.m
		for _, f := range a.firmware {
			m.Firmware = append(m.Firmware, *f)
		}
		slices.SortFunc(m.Firmware, func(x, y store.FirmwareCount) int {
			return cmp.Or(cmp.Compare(y.Sources, x.Sources), strings.Compare(x.Version, y.Version))
		})
		m.Ports = topPorts(a.ports, store.DevicePorts)
		m.Countries = topCountries(a.countries, store.DeviceCountries)
		out.Models = append(out.Models, m)
	}
	store.RankDeviceModels(out.Models)
	out.Models = out.Models[:min(q.N, len(out.Models))]
	return out, nil
}

// topPorts ranks ports by sources descending, then label.
func topPorts(ports map[int32]uint64, n int) []store.PortSourceCount {
	out := make([]store.PortSourceCount, 0, len(ports))
	for slot, c := range ports {
		out = append(out, store.PortSourceCount{Port: slotLabel(slot), Sources: c})
	}
	slices.SortFunc(out, func(x, y store.PortSourceCount) int {
		return cmp.Or(cmp.Compare(y.Sources, x.Sources), strings.Compare(x.Port, y.Port))
	})
	return out[:min(n, len(out))]
}

// topCountries ranks countries by sources descending, then code.
func topCountries(countries map[string]uint64, n int) []store.CountrySources {
	out := make([]store.CountrySources, 0, len(countries))
	for c, k := range countries {
		out = append(out, store.CountrySources{Country: c, Sources: k})
	}
	slices.SortFunc(out, func(x, y store.CountrySources) int {
		return cmp.Or(cmp.Compare(y.Sources, x.Sources), strings.Compare(x.Country, y.Country))
	})
	return out[:min(n, len(out))]
}

// DeviceSeries implements store.DeviceStore: the top models of the
// period (Devices), then their sources per bucket from the daily source
// rollups of the days the period overlaps. The filters choose the sources
// over the whole period, as Devices does.
func (s *Store) DeviceSeries(ctx context.Context, q store.DeviceSeriesQuery) (store.DeviceSeries, error) {
	bucket, err := store.DeviceBucket(q.Period, q.Bucket)
	if err != nil {
		return store.DeviceSeries{}, err
	}
	table, err := s.Devices(ctx, store.DevicesQuery{Period: q.Period, N: q.N, Sensors: q.Sensors, Groups: q.Groups, Tag: q.Tag, Vendor: q.Vendor})
	if err != nil {
		return store.DeviceSeries{}, err
	}
	out := store.NewDeviceSeries(q.Period, bucket, table.Models)
	if len(table.Models) == 0 {
		return out, nil
	}
	sensors, tag, err := s.deviceFilter(ctx, q.Sensors, q.Groups, q.Tag)
	if err != nil {
		return store.DeviceSeries{}, err
	}
	src, args := deviceSources(q.Period, sensors, tag)
	from, to := floorDiv(q.Period.Start.UnixNano(), dayNs), -floorDiv(-q.Period.End.UnixNano(), dayNs)
	day := `r.day`
	if bucket == "month" {
		day = `(epoch(date_trunc('month', to_timestamp(r.day * 86400))) / 86400)::INTEGER`
	}
	query := `WITH src AS (` + src + `)
		SELECT ` + day + ` AS bucket, d.vendor, d.model, d.kind, count(DISTINCT (r.ip_version, r.src_hi, r.src_lo))::UBIGINT
		FROM rollup_source_day r
			JOIN src s ON s.ip_version = r.ip_version AND s.src_hi = r.src_hi AND s.src_lo = r.src_lo
			JOIN devices d ON d.ip_version = r.ip_version AND d.src_hi = r.src_hi AND d.src_lo = r.src_lo
		WHERE r.day >= ? AND r.day < ?` + inList("r.sensor", sensors) + `
		GROUP BY ALL`
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			b                   int64
			vendor, model, kind string
			n                   uint64
		)
		if err := scan(&b, &vendor, &model, &kind, &n); err != nil {
			return err
		}
		out.Add(time.Unix(b*86400, 0).UTC(), vendor, model, kind, n)
		return nil
	}, query, append(args, from, to)...)
	if err != nil {
		return store.DeviceSeries{}, fmt.Errorf("device series in %s: %w", q.Period, err)
	}
	return out, nil
}
