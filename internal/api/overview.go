package api

import (
	"context"
	"math"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// OverviewResponse answers /api/v1/overview, the dashboard's first page.
// Today and this month are those of the server's clock, in UTC.
type OverviewResponse struct {
	Time             time.Time `json:"time"`  // the server's clock
	Today            string    `json:"today"` // "2024-07-15"
	Month            string    `json:"month"` // "2024-07"
	PacketsToday     uint64    `json:"packets_today"`
	PacketsThisMonth uint64    `json:"packets_this_month"`
	Sensors          int       `json:"sensors"`
	// ActiveSensors sent a health report within Limits.Active (5 minutes)
	// or have packets today.
	ActiveSensors int `json:"active_sensors"`
	// Fleet is the fleet's top ports of the period (as in
	// /api/v1/group-top-ports), with their ranks in the previous period.
	Period   string `json:"period"`
	Previous string `json:"previous_period"`
	// PeriodPackets are the fleet's packets in the period (so far).
	PeriodPackets uint64           `json:"period_packets"`
	Change        Change           `json:"change"`
	Fleet         store.GroupPorts `json:"fleet"`
	Daily         DailyPackets     `json:"daily"`
}

// Change compares the fleet's packets in the period with the previous
// period (period.CompareAt): the whole periods, or — while the period is
// under way — its elapsed part with the same length of the previous one.
type Change struct {
	Current         string `json:"current"`  // the compared part of the period, an ISO 8601 interval
	Previous        string `json:"previous"` // the compared part of the previous period
	Partial         bool   `json:"partial"`  // the period is under way
	CurrentPackets  uint64 `json:"current_packets"`
	PreviousPackets uint64 `json:"previous_packets"`
}

// DailyPackets are the packets of the fleet and of each group on each UTC
// day of the last Limits.OverviewDays days (90), today (so far) last.
type DailyPackets struct {
	Days   []string     `json:"days"` // "2024-07-15"
	Fleet  []uint64     `json:"fleet"`
	Groups []GroupDaily `json:"groups"`
}

// GroupDaily is a group's packets per day (all its sensors' packets, not
// an average).
type GroupDaily struct {
	Group   string   `json:"group"`
	Sensors int      `json:"sensors"`
	Packets []uint64 `json:"packets"`
}

// overview composes the answers of GroupAverages (per group and day, over
// the days of the series and of this month), GroupTopPorts (the fleet's),
// Sensors and Health.
func (h *handler) overview(ctx context.Context, q *query) (any, error) {
	p, top := q.period(), q.top()
	if q.err != nil {
		return nil, q.err
	}
	today := period.Of(period.Day, q.now)
	month := period.Of(period.Month, q.now)
	out := OverviewResponse{Time: q.now, Today: today.String(), Month: month.String(), Period: p.String(), Previous: p.Previous().String()}

	days, err := h.daily(ctx, today, month, &out)
	if err != nil {
		return nil, err
	}
	out.Daily = days
	ports, err := h.st.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: top})
	if err != nil {
		return nil, err
	}
	out.Fleet = ports.Fleet
	if out.PeriodPackets, err = h.packets(ctx, p); err != nil {
		return nil, err
	}
	if out.Change, err = h.change(ctx, p, q.now); err != nil {
		return nil, err
	}
	sensors, err := h.st.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	health, err := h.st.Health(ctx)
	if err != nil {
		return nil, err
	}
	reported := map[int32]time.Time{}
	for _, hr := range health {
		reported[hr.SensorID] = hr.Received
	}
	out.Sensors = len(sensors)
	for _, s := range sensors {
		if !s.LastSeen.Before(today.Start) || reported[s.ID].After(q.now.Add(-h.limits.Active)) {
			out.ActiveSensors++
		}
	}
	return out, nil
}

// change compares the packets of p at instant now.
func (h *handler) change(ctx context.Context, p period.Period, now time.Time) (Change, error) {
	c := period.CompareAt(p, now)
	out := Change{Current: interval(c.Current), Previous: interval(c.Previous), Partial: c.Partial}
	var err error
	if out.CurrentPackets, err = h.packets(ctx, c.Current); err != nil {
		return out, err
	}
	out.PreviousPackets, err = h.packets(ctx, c.Previous)
	return out, err
}

// interval names p as an ISO 8601 interval, whatever its kind.
func interval(p period.Period) string {
	return p.Start.Format(time.RFC3339Nano) + "/" + p.End.Format(time.RFC3339Nano)
}

// packets returns the fleet's packets in p (0 for an empty p: the first
// instant of a period has nothing to compare yet).
func (h *handler) packets(ctx context.Context, p period.Period) (uint64, error) {
	if !p.End.After(p.Start) {
		return 0, nil
	}
	tp, err := h.st.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 1})
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, s := range tp {
		n += s.Packets
	}
	return n, nil
}

// daily returns the packets per day of the series, and sets the packets of
// today and of this month in out. The groups' daily averages times their
// sensors are their packets (exact below 2^52 packets a day).
func (h *handler) daily(ctx context.Context, today, month period.Period, out *OverviewResponse) (DailyPackets, error) {
	n := h.limits.OverviewDays
	from := today.End.AddDate(0, 0, -n)
	if month.Start.Before(from) {
		from = month.Start
	}
	window, err := period.Range(from, today.End)
	if err != nil {
		return DailyPackets{}, err
	}
	buckets, err := store.Buckets(window, store.Day)
	if err != nil {
		return DailyPackets{}, err
	}
	avgs, err := h.st.GroupAverages(ctx, store.GroupAveragesQuery{Period: window})
	if err != nil {
		return DailyPackets{}, err
	}
	fleet := make([]uint64, len(buckets))
	groups := make([]GroupDaily, len(avgs))
	for gi, g := range avgs {
		groups[gi] = GroupDaily{Group: g.Name, Sensors: g.Sensors, Packets: make([]uint64, len(buckets))}
		for i, d := range g.Days {
			packets := uint64(math.Round(d.AvgPacketsPerSensor * float64(g.Sensors)))
			groups[gi].Packets[i] = packets
			fleet[i] += packets
		}
	}
	labels := make([]string, len(buckets))
	for i, b := range buckets {
		labels[i] = b.Start.Format(time.DateOnly)
		if !b.Start.Before(month.Start) {
			out.PacketsThisMonth += fleet[i]
		}
	}
	out.PacketsToday = fleet[len(fleet)-1]
	tail := len(buckets) - n
	for gi := range groups {
		groups[gi].Packets = groups[gi].Packets[tail:]
	}
	return DailyPackets{Days: labels[tail:], Fleet: fleet[tail:], Groups: groups}, nil
}
