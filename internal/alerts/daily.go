package alerts

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// DailyQuestions are the store's answers the daily detectors read: the
// origins of a day's sources and the device models behind them. The
// store keeps them per day (rollup_origin_day, the attributions), so
// they are decided once a day, at the end of its last hour.
type DailyQuestions interface {
	Origins(ctx context.Context, q store.OriginsQuery) (store.Origins, error)
	Devices(ctx context.Context, q store.DevicesQuery) (store.DeviceTable, error)
}

// The daily detectors.
const (
	// DetectOriginSurge: a country's or a network's (AS) distinct
	// sources far above the days before.
	DetectOriginSurge = "origin-surge"
	// DetectNewDevice: a device model seen scanning that the weeks before
	// had not.
	DetectNewDevice = "new-device"
)

// dailyDays is how many days before a day its baseline is made of.
const dailyDays = 7

// deviceMemory is how long a model stays known without scanning.
const deviceMemory = 28 * 24 * time.Hour

// maxOrigins is how many origins of a day are compared: enough that an
// origin in the top of the day is in the answers of the days before.
const maxOrigins = 1000

// daily runs the daily detectors, remembering the days it read.
type daily struct {
	cfg     *Config
	q       DailyQuestions
	origins map[string]map[string]float64 // day and kind → origin key → sources
	totals  map[string]float64            // day and kind → sources of the day
	devices map[string]time.Time          // "vendor model" → last day seen
	known   bool                          // devices holds the memory
}

func newDaily(cfg *Config, q DailyQuestions) *daily {
	return &daily{cfg: cfg, q: q, origins: map[string]map[string]float64{}, totals: map[string]float64{}, devices: map[string]time.Time{}}
}

// at returns the findings of the day that ends with the hour h, none for
// the other hours.
func (d *daily) at(ctx context.Context, h time.Time) ([]Finding, error) {
	if h.Hour() != 23 {
		return nil, nil
	}
	return d.evaluate(ctx, h)
}

// evaluate decides the day of hour h (the day's last hour).
func (d *daily) evaluate(ctx context.Context, h time.Time) ([]Finding, error) {
	day := h.Truncate(24 * time.Hour)
	var out []Finding
	for _, kind := range []store.OriginKind{store.ByCountry, store.ByAS} {
		fs, err := d.originSurges(ctx, day, kind, h)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	fs, err := d.newDevices(ctx, day, h)
	if err != nil {
		return nil, err
	}
	return append(out, fs...), nil
}

// dayOrigins returns the sources of each origin of a day, read once.
func (d *daily) dayOrigins(ctx context.Context, day time.Time, kind store.OriginKind) (map[string]float64, float64, error) {
	k := day.Format(time.DateOnly) + strconv.Itoa(int(kind))
	if m, ok := d.origins[k]; ok {
		return m, d.totals[k], nil
	}
	ans, err := d.q.Origins(ctx, store.OriginsQuery{Period: period.Of(period.Day, day), Kind: kind, N: maxOrigins})
	if err != nil {
		return nil, 0, fmt.Errorf("origins of %s: %w", day.Format(time.DateOnly), err)
	}
	m, total := map[string]float64{}, 0.0
	for _, t := range ans.Tables {
		total += float64(t.Sources)
		for _, o := range t.Origins {
			if o.Key != "unknown" {
				m[o.Key] = float64(o.Sources)
			}
		}
	}
	d.origins[k], d.totals[k] = m, total
	for key := range d.origins { // forget the days no baseline needs
		if key < day.AddDate(0, 0, -dailyDays-1).Format(time.DateOnly) {
			delete(d.origins, key)
			delete(d.totals, key)
		}
	}
	return m, total, nil
}

// originSurges compares each origin's sources of the day with the days
// before, brought to the day's volume of sources, as the hourly
// detectors do (relative).
func (d *daily) originSurges(ctx context.Context, day time.Time, kind store.OriginKind, h time.Time) ([]Finding, error) {
	today, total, err := d.dayOrigins(ctx, day, kind)
	if err != nil {
		return nil, err
	}
	var before []map[string]float64
	var totals []float64
	for k := 1; k <= dailyDays; k++ {
		m, t, err := d.dayOrigins(ctx, day.AddDate(0, 0, -k), kind)
		if err != nil {
			return nil, err
		}
		if t > 0 {
			before, totals = append(before, m), append(totals, t)
		}
	}
	if len(before) < dailyDays/2 {
		return nil, nil // a fleet too young
	}
	var out []Finding
	for key, x := range today {
		sc := store.Scope{Country: key}
		if kind == store.ByAS {
			n, err := strconv.ParseUint(key[len("AS"):], 10, 32)
			if err != nil {
				continue
			}
			sc = store.Scope{ASN: uint32(n)}
		}
		th, on := d.cfg.thresholds(DetectOriginSurge, sc)
		if !on || x < float64(th.MinSources)*dailyFactor {
			continue
		}
		var raw, samples, scales []float64
		for i, m := range before {
			scale := math.Max(total-x, 0) / math.Max(totals[i]-m[key], 1)
			raw, scales = append(raw, m[key]), append(scales, scale)
			samples = append(samples, m[key]*scale)
		}
		b, _ := newBaseline(samples)
		b.spread = max(b.spread, math.Sqrt(median(raw)+1)*median(scales))
		score, ratio := b.score(x), b.ratio(x)
		if score < th.MinScore || ratio < th.MinRatio {
			continue
		}
		what := "country " + key
		if kind == store.ByAS {
			what = "network " + key
		}
		out = append(out, Finding{Detector: DetectOriginSurge, Scope: sc, Hour: h, Severity: store.SeverityWarning,
			Summary: fmt.Sprintf("sources from %s surged on %s: %s distinct sources against %s a day usually", what, day.Format(time.DateOnly), count(x), count(b.median)),
			Evidence: store.Evidence{Measure: "sources per day", Hour: day, Observed: x, Baseline: b.median, Spread: b.spread, Score: round2(score),
				Method: "median of the 7 days before, each brought to the day's volume of other sources"}})
	}
	return out, nil
}

// dailyFactor: an origin's sources of a day must be this many times the
// hourly minimum of sources.
const dailyFactor = 4

// newDevices finds the device models seen scanning on the day that the
// deviceMemory before had not; on its first day it learns the weeks
// before first.
func (d *daily) newDevices(ctx context.Context, day, h time.Time) ([]Finding, error) {
	if !d.known {
		p, err := period.Range(day.Add(-deviceMemory), day)
		if err != nil {
			return nil, err
		}
		past, err := d.q.Devices(ctx, store.DevicesQuery{Period: p, N: maxOrigins})
		if err != nil {
			return nil, fmt.Errorf("device models before %s: %w", day.Format(time.DateOnly), err)
		}
		for _, m := range past.Models {
			d.devices[m.Vendor+" "+m.Model] = m.LastSeen
		}
		d.known = true
	}
	ans, err := d.q.Devices(ctx, store.DevicesQuery{Period: period.Of(period.Day, day), N: maxOrigins})
	if err != nil {
		return nil, fmt.Errorf("device models of %s: %w", day.Format(time.DateOnly), err)
	}
	var out []Finding
	for _, m := range ans.Models {
		key := m.Vendor + " " + m.Model
		last, seen := d.devices[key]
		d.devices[key] = day
		sc := store.Scope{Device: key}
		if _, on := d.cfg.thresholds(DetectNewDevice, sc); !on || seen && day.Sub(last) <= deviceMemory {
			continue
		}
		out = append(out, Finding{Detector: DetectNewDevice, Scope: sc, Hour: h, Severity: store.SeverityInfo,
			Summary:  fmt.Sprintf("a device model not seen scanning in the %d days before: %s, %d sources on %s", int(deviceMemory.Hours()/24), key, m.Sources, day.Format(time.DateOnly)),
			Evidence: store.Evidence{Measure: "sources per day", Hour: day, Observed: float64(m.Sources), Method: "the models of the sources of the day against those of the 28 days before"}})
	}
	return out, nil
}
