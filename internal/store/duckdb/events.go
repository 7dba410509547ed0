package duckdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Events implements store.Store from the raw records: a period that
// starts before the retention horizon is refused (its records are gone,
// and an owner's report must not look complete when it is not).
func (s *Store) Events(ctx context.Context, q store.EventsQuery) ([]store.Event, error) {
	if len(q.ASNs) == 0 && len(q.Prefixes) == 0 {
		return nil, errors.New("events: give the networks: AS numbers or prefixes")
	}
	if h := s.PrunedBefore(); !h.IsZero() && q.Period.Start.Before(h) {
		return nil, fmt.Errorf("events of %s: the raw records before %s were pruned (retention %s): %w",
			q.Period, h.Format(time.DateOnly), s.Retention(), store.ErrPruned)
	}
	// where is the condition of the events' records, over the raw
	// records of alias q ("" or "p").
	where := func(alias string) (string, []any) {
		col := func(c string) string {
			if alias == "" {
				return c
			}
			return alias + "." + c
		}
		var nets []string
		var args []any
		for _, asn := range q.ASNs {
			nets, args = append(nets, col("src_asn")+" = ?"), append(args, asn)
		}
		for _, p := range q.Prefixes {
			cond, _ := originCondition(store.OriginFilter{Prefix: p.Masked()}, false, alias)
			nets = append(nets, "("+strings.TrimPrefix(cond, " AND ")+")")
		}
		return col("time_ns") + ` >= ? AND ` + col("time_ns") + ` < ? AND (` + strings.Join(nets, " OR ") + `)`,
			append([]any{q.Period.Start.UnixNano(), q.Period.End.UnixNano()}, args...)
	}
	inSrc, srcArgs := where("")
	inP, pArgs := where("p")
	sensors, err := s.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	names := map[int32]string{}
	for _, sen := range sensors {
		names[sen.ID] = sen.Name
	}
	hits := rawTagHits()
	var out []store.Event
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			e            store.Event
			hour         int64
			version      uint8
			srcHi, srcLo uint64
			dstHi, dstLo uint64
			sensor       int32
			tags         uint16
			hasPort      bool
		)
		if err := scan(&hour, &version, &srcHi, &srcLo, &dstHi, &dstLo, &e.Protocol, &e.DstPort, &hasPort, &sensor,
			&e.Country, &e.ASN, &tags, &e.Packets, &e.DeviceVendor, &e.DeviceModel); err != nil {
			return err
		}
		e.Hour = time.Unix(hour*3600, 0).UTC()
		e.Src = record.AddrFromHalves(srcHi, srcLo, version == 4).Netip()
		e.Dst = record.AddrFromHalves(dstHi, dstLo, version == 4).Netip()
		if !hasPort {
			e.DstPort = 0
		}
		e.Sensor, e.Tags = names[sensor], store.TagNames(tags)
		out = append(out, e)
		return nil
	}, `WITH src AS (
			SELECT ip_version, src_hi, src_lo, `+sourceTagsSQL("count(*)", hits)+` AS tags
			FROM packets WHERE `+inSrc+` GROUP BY ip_version, src_hi, src_lo
		)
		SELECT `+strings.ReplaceAll(hourOf, "time_ns", "p.time_ns")+` AS hour, p.ip_version, p.src_hi, p.src_lo, p.dst_hi, p.dst_lo, p.proto, p.dport,
			p.slot < 131072 AS has_port, p.sensor, `+countryText("arg_max(p.src_country, p.time_ns)")+`, arg_max(p.src_asn, p.time_ns),
			any_value(s.tags), count(*)::UBIGINT, coalesce(any_value(d.vendor), ''), coalesce(any_value(d.model), '')
		FROM packets p JOIN src s ON s.ip_version = p.ip_version AND s.src_hi = p.src_hi AND s.src_lo = p.src_lo`+deviceJoin("p")+`
		WHERE `+inP+`
		GROUP BY ALL
		ORDER BY hour, p.ip_version, p.src_hi, p.src_lo, p.dst_hi, p.dst_lo, p.proto, p.dport`, append(srcArgs, pArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", q.Period, err)
	}
	return out, nil
}
