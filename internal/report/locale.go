package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/period"
)

// Lang is the language of a report.
type Lang string

// The languages of reports.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
)

// Langs lists the languages ParseLang accepts.
var Langs = []Lang{English, Japanese}

// ParseLang reads "en" or "ja".
func ParseLang(s string) (Lang, error) {
	l := Lang(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Langs, l) {
		return l, nil
	}
	names := make([]string, len(Langs))
	for i, l := range Langs {
		names[i] = string(l)
	}
	return "", fmt.Errorf("unknown language %q (want one of %s)", s, strings.Join(names, ", "))
}

// locale formats the text, numbers and dates of a report in one language.
// Numbers group thousands with commas in both languages (1,234,567), as
// Japanese reports do; dates are "1 July 2024" and "2024年7月1日".
type locale struct {
	lang Lang
	msgs map[string]string
}

func newLocale(l Lang) locale { return locale{lang: l, msgs: catalogs[l]} }

// T returns the message key formatted with args. A key missing from the
// catalogue shows as "!key!" (the tests check that none is).
func (l locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return "!" + key + "!"
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Int formats a count: 1,234,567.
func (l locale) Int(n uint64) string { return analyze.Thousands(n) }

// Num formats an int count.
func (l locale) Num(n int) string { return l.Int(uint64(max(n, 0))) }

// Float formats a number with prec decimals and grouped thousands.
func (l locale) Float(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if frac != "" {
		frac = "." + frac
	}
	return sign + group(whole) + frac
}

// Avg formats an average number of packets: one decimal.
func (l locale) Avg(x float64) string { return l.Float(x, 1) }

// Pct formats a ratio as a percentage with one decimal; a ratio above zero
// that would round to 0.0 % is "<0.1%".
func (l locale) Pct(ratio float64) string {
	if ratio > 0 && ratio < 0.0005 {
		return "<0.1%"
	}
	return l.Float(100*ratio, 1) + "%"
}

// Change formats the relative change from prev to cur: "+12.3%",
// "−4.5%", "±0.0%"; "—" when both are zero, and the "new" word when only
// prev is.
func (l locale) Change(cur, prev float64) string {
	switch {
	case prev == 0 && cur == 0:
		return "—"
	case prev == 0:
		return l.T("change.new")
	}
	c := (cur - prev) / prev
	switch s := l.Pct(math.Abs(c)); {
	case s == "0.0%":
		return "±0.0%"
	case c > 0:
		return "+" + s
	default:
		return "−" + s
	}
}

// group puts commas between groups of three digits.
func group(digits string) string {
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil { // more digits than a uint64: left as they are
		return digits
	}
	return analyze.Thousands(n)
}

var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

// Month names a UTC month: "July 2024", "2024年7月".
func (l locale) Month(t time.Time) string {
	t = t.UTC()
	if l.lang == Japanese {
		return fmt.Sprintf("%d年%d月", t.Year(), t.Month())
	}
	return monthNames[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// MonthShort names a UTC month for chart axes: "Jul 2024", "2024年7月".
func (l locale) MonthShort(t time.Time) string {
	t = t.UTC()
	if l.lang == Japanese {
		return l.Month(t)
	}
	return monthNames[t.Month()-1][:3] + " " + strconv.Itoa(t.Year())
}

// Date names a UTC day: "1 July 2024", "2024年7月1日".
func (l locale) Date(t time.Time) string {
	t = t.UTC()
	if l.lang == Japanese {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
	}
	return strconv.Itoa(t.Day()) + " " + l.Month(t)
}

// Time is a UTC time for tables: "2024-07-15 13:04".
func (l locale) Time(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// Period names a period in full: "2024 Q3 (July–September 2024)",
// "2024年第3四半期（7月〜9月）".
func (l locale) Period(p period.Period) string {
	switch p.Kind {
	case period.Quarter:
		last := p.End.AddDate(0, -1, 0)
		if l.lang == Japanese {
			return fmt.Sprintf("%s（%d月〜%d月）", l.PeriodShort(p), p.Start.Month(), last.Month())
		}
		return fmt.Sprintf("%s (%s–%s %d)", l.PeriodShort(p), monthNames[p.Start.Month()-1], monthNames[last.Month()-1], p.Start.Year())
	case period.Month:
		return l.Month(p.Start)
	case period.Year, period.Day:
		return l.PeriodShort(p)
	}
	return l.rangeText(p, false)
}

// PeriodShort names a period briefly, for table headers and legends:
// "2024 Q3", "2024年第3四半期", "Jul 2024", "2024-07-01 – 2024-07-31".
func (l locale) PeriodShort(p period.Period) string {
	ja := l.lang == Japanese
	switch p.Kind {
	case period.Quarter:
		q := (int(p.Start.Month()) + 2) / 3
		if ja {
			return fmt.Sprintf("%d年第%d四半期", p.Start.Year(), q)
		}
		return fmt.Sprintf("%d Q%d", p.Start.Year(), q)
	case period.Month:
		return l.MonthShort(p.Start)
	case period.Year:
		if ja {
			return strconv.Itoa(p.Start.Year()) + "年"
		}
		return strconv.Itoa(p.Start.Year())
	case period.Day:
		return l.Date(p.Start)
	}
	return l.rangeText(p, true)
}

// rangeText names a custom range: its first and last days when it is made
// of whole UTC days, its start and end times otherwise.
func (l locale) rangeText(p period.Period, short bool) string {
	sep := " – "
	if l.lang == Japanese {
		sep = "〜"
	}
	if wholeDays(p) {
		first, last := p.Start, p.End.AddDate(0, 0, -1)
		if short {
			return first.Format(time.DateOnly) + sep + last.Format(time.DateOnly)
		}
		return l.Date(first) + sep + l.Date(last)
	}
	return l.Time(p.Start) + sep + l.Time(p.End) + " UTC"
}

func wholeDays(p period.Period) bool {
	day := int64(24 * time.Hour)
	return p.Start.UnixNano()%day == 0 && p.End.UnixNano()%day == 0
}

// Days is the length of a period in days (fractional for ranges that are
// not whole days).
func Days(p period.Period) float64 { return p.Duration().Hours() / 24 }

// N counts a noun: "1 sensor", "6 sensors", "センサー6台" (the catalogue's
// keys "n.NOUN.one" and "n.NOUN.other").
func (l locale) N(n int, noun string) string {
	form := "other"
	if n == 1 {
		form = "one"
	}
	return l.T("n."+noun+"."+form, l.Num(n))
}
