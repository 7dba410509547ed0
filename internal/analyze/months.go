package analyze

import (
	"fmt"
	"time"
)

// monthKey is a UTC calendar month.
type monthKey struct {
	year  int
	month time.Month
}

func (m monthKey) String() string { return fmt.Sprintf("%04d-%02d", m.year, int(m.month)) }

func (m monthKey) less(o monthKey) bool {
	return m.year < o.year || m.year == o.year && m.month < o.month
}

// switchMonth makes the month containing t (ns since the epoch) current.
func (a *Analyzer) switchMonth(t int64) {
	tm := time.Unix(0, t).UTC()
	k := monthKey{tm.Year(), tm.Month()}
	start := time.Date(k.year, k.month, 1, 0, 0, 0, 0, time.UTC)
	a.curStart = start.UnixNano()
	a.curEnd = start.AddDate(0, 1, 0).UnixNano()
	a.curMonth = a.monthIndex(k)
}

// monthIndex returns the index of month k in a.months, adding it.
func (a *Analyzer) monthIndex(k monthKey) int {
	for i, m := range a.months {
		if m == k {
			return i
		}
	}
	a.months = append(a.months, k)
	return len(a.months) - 1
}
