// Package period names the time ranges a monitoring team asks about — a
// day, a month, a quarter such as "2024Q3", a year, or a custom range — and
// the previous period of the same kind, against which reports rank ports
// ("previous rank"). Periods are half-open [Start, End) in UTC: darknet
// reports from several countries need one clock.
package period

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of a period.
type Kind uint8

// The kinds of period.
const (
	Custom Kind = iota
	Day
	Month
	Quarter
	Year
)

var kindNames = [...]string{Custom: "custom", Day: "day", Month: "month", Quarter: "quarter", Year: "year"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Period is a half-open time range [Start, End) in UTC.
type Period struct {
	Start, End time.Time
	Kind       Kind
}

// Syntax lists the forms Parse accepts, for help texts and error messages.
const Syntax = `2024 (a year), 2024Q3 (a quarter), 2024-07 (a month), 2024-07-15 (a day)`

var quarterRE = regexp.MustCompile(`^(\d{4})[-]?[Qq]([0-9]+)$`)

// Parse reads a named period: a year "2024", a quarter "2024Q3" (also
// "2024-Q3", "2024q3"), a month "2024-07" or a day "2024-07-15".
func Parse(s string) (Period, error) {
	in := strings.TrimSpace(s)
	if m := quarterRE.FindStringSubmatch(in); m != nil {
		year, _ := strconv.Atoi(m[1])
		q, _ := strconv.Atoi(m[2])
		if q < 1 || q > 4 {
			return Period{}, fmt.Errorf("period %q: quarter must be 1 to 4", s)
		}
		return Of(Quarter, time.Date(year, time.Month(3*q-2), 1, 0, 0, 0, 0, time.UTC)), nil
	}
	for _, f := range []struct {
		layout string
		kind   Kind
	}{{"2006", Year}, {"2006-01", Month}, {time.DateOnly, Day}} {
		if len(in) != len(f.layout) {
			continue
		}
		if t, err := time.Parse(f.layout, in); err == nil {
			return Of(f.kind, t), nil
		}
	}
	return Period{}, fmt.Errorf("period %q: want one of %s", s, Syntax)
}

// Of returns the period of the given kind that contains t: the day, month,
// quarter or year of t in UTC. Of(Custom, t) is the day of t.
func Of(kind Kind, t time.Time) Period {
	t = t.UTC()
	y, m, d := t.Date()
	var start, end time.Time
	switch kind {
	case Year:
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(1, 0, 0)
	case Quarter:
		start = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 3, 0)
	case Month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		kind = Day
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	}
	return Period{Start: start, End: end, Kind: kind}
}

// Range returns the custom period [from, to). It must not be empty.
func Range(from, to time.Time) (Period, error) {
	from, to = from.UTC(), to.UTC()
	if !to.After(from) {
		return Period{}, fmt.Errorf("empty period: %s is not after %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return Period{Start: from, End: to, Kind: Custom}, nil
}

// ParseRange reads the --from and --to of a custom period. Each is a date
// ("2024-07-01") or an RFC 3339 time ("2024-07-01T12:00:00Z"). A date as
// --to is inclusive — "--from 2024-07-01 --to 2024-09-30" covers the whole
// of September 30 — and a time is exclusive.
func ParseRange(from, to string) (Period, error) {
	start, _, err := parseInstant(from)
	if err != nil {
		return Period{}, fmt.Errorf("--from: %w", err)
	}
	end, isDate, err := parseInstant(to)
	if err != nil {
		return Period{}, fmt.Errorf("--to: %w", err)
	}
	if isDate {
		end = end.AddDate(0, 0, 1)
	}
	return Range(start, end)
}

func parseInstant(s string) (t time.Time, isDate bool, err error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is neither a date (2024-07-01) nor an RFC 3339 time (2024-07-01T12:00:00Z)", s)
}

// Previous returns the period of the same kind just before p: the previous
// day, month, quarter or year (calendar periods, so a quarter's previous
// quarter may be a few days shorter), or, for a custom range, the range of
// the same duration ending where p starts.
func (p Period) Previous() Period {
	switch p.Kind {
	case Day, Month, Quarter, Year:
		return Of(p.Kind, p.Start.Add(-time.Nanosecond))
	}
	return Period{Start: p.Start.Add(-p.Duration()), End: p.Start, Kind: Custom}
}

// The periods Nightjar answers about lie in [minTime, maxTime), well
// inside what the store can represent (int64 nanoseconds since 1970: the
// years 1678 to 2262). Outside, a question would silently count nothing.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckBounds returns an error when p does not lie within the years 1970
// to 2199, the periods the store, the API and the command line answer about.
func (p Period) CheckBounds() error {
	if p.Start.Before(minTime) || p.End.After(maxTime) {
		return fmt.Errorf("%s is outside the years %d to %d", p, minTime.Year(), maxTime.Year()-1)
	}
	return nil
}

// Duration returns End - Start.
func (p Period) Duration() time.Duration { return p.End.Sub(p.Start) }

// Contains reports whether t falls in [Start, End).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Months returns the calendar months that p overlaps, each clipped to p.
func (p Period) Months() []Period {
	var out []Period
	for month := Of(Month, p.Start); month.Start.Before(p.End); month = Of(Month, month.End) {
		m := month
		if m.Start.Before(p.Start) {
			m.Start, m.Kind = p.Start, Custom
		}
		if m.End.After(p.End) {
			m.End, m.Kind = p.End, Custom
		}
		out = append(out, m)
	}
	return out
}

// String names p the way Parse reads it ("2024Q3", "2024-07",
// "2024-07-15", "2024"); a custom range is an ISO 8601 interval
// ("2024-07-01T00:00:00Z/2024-07-08T00:00:00Z").
func (p Period) String() string {
	switch p.Kind {
	case Year:
		return p.Start.Format("2006")
	case Quarter:
		return p.Start.Format("2006") + "Q" + strconv.Itoa((int(p.Start.Month())+2)/3)
	case Month:
		return p.Start.Format("2006-01")
	case Day:
		return p.Start.Format(time.DateOnly)
	}
	return p.Start.Format(time.RFC3339Nano) + "/" + p.End.Format(time.RFC3339Nano)
}

// LastDays returns the rolling period of the n UTC days up to now, the day
// of now (so far) included: the default view of the dashboard and the API,
// meaningful on any date, unlike the calendar month so far, which holds a
// few minutes on the 1st.
func LastDays(n int, now time.Time) Period {
	today := Of(Day, now)
	return Period{Start: today.Start.AddDate(0, 0, 1-n), End: today.End, Kind: Custom}
}

// Comparison is what a period's packets are compared with at an instant.
type Comparison struct {
	// Current and Previous are the ranges set side by side: p and
	// p.Previous() when p is over or not begun; while p is under way, the
	// part of p up to now and the same length of the previous period.
	Current, Previous Period
	// Partial says that p is under way, so Current is the part of it that
	// has elapsed.
	Partial bool
}

// CompareAt returns what p is compared with at instant now. A period under
// way is compared with the same elapsed part of the previous one — a few
// minutes of December with the first minutes of November, not with the
// whole month — clipped to the previous period's end (31 days of March
// against the whole of February). After its first hour both parts end on
// the last whole hour, so that a store answers them from hourly rollups.
func CompareAt(p Period, now time.Time) Comparison {
	prev := p.Previous()
	if !p.Contains(now) {
		return Comparison{Current: p, Previous: prev}
	}
	elapsed := now.Sub(p.Start)
	if cut := now.Truncate(time.Hour); cut.Sub(p.Start) >= time.Hour {
		elapsed = cut.Sub(p.Start)
	}
	prevEnd := prev.Start.Add(elapsed)
	if prevEnd.After(prev.End) {
		prevEnd = prev.End
	}
	return Comparison{
		Current:  Period{Start: p.Start, End: p.Start.Add(elapsed), Kind: Custom},
		Previous: Period{Start: prev.Start, End: prevEnd, Kind: Custom},
		Partial:  true,
	}
}
