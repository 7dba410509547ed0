package period

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		start, end string
		kind       Kind
		name       string
	}{
		{in: "2024Q3", start: "2024-07-01", end: "2024-10-01", kind: Quarter, name: "2024Q3"},
		{in: "2024-q1", start: "2024-01-01", end: "2024-04-01", kind: Quarter, name: "2024Q1"},
		{in: " 2023Q4 ", start: "2023-10-01", end: "2024-01-01", kind: Quarter, name: "2023Q4"},
		{in: "2024-02", start: "2024-02-01", end: "2024-03-01", kind: Month, name: "2024-02"},
		{in: "2024-12", start: "2024-12-01", end: "2025-01-01", kind: Month, name: "2024-12"},
		{in: "2024-02-29", start: "2024-02-29", end: "2024-03-01", kind: Day, name: "2024-02-29"},
		{in: "2024", start: "2024-01-01", end: "2025-01-01", kind: Year, name: "2024"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := Period{Start: day(tt.start), End: day(tt.end), Kind: tt.kind}
			if diff := cmp.Diff(p, want); diff != "" {
				t.Errorf("Parse(%q) (-got, +want):\n%s", tt.in, diff)
			}
			if p.String() != tt.name {
				t.Errorf("String() = %q, want %q", p.String(), tt.name)
			}
			if back, err := Parse(p.String()); err != nil || back != p {
				t.Errorf("Parse(String()) = %v, %v; want %v", back, err, p)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2024Q5":     "quarter must be 1 to 4",
		"2024Q0":     "quarter must be 1 to 4",
		"2024-13":    "want one of",
		"2023-02-29": "want one of",
		"Q3 2024":    "want one of",
		"":           "want one of",
		"yesterday":  `period "yesterday"`,
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func TestPrevious(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2024Q1":     "2023Q4",
		"2024Q3":     "2024Q2",
		"2024-01":    "2023-12",
		"2024-03-01": "2024-02-29",
		"2023-03-01": "2023-02-28",
		"2024":       "2023",
	} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Previous().String(); got != want {
			t.Errorf("Parse(%q).Previous() = %s, want %s", in, got, want)
		}
	}
	custom, err := ParseRange("2024-07-01", "2024-07-07")
	if err != nil {
		t.Fatal(err)
	}
	prev := custom.Previous()
	want := Period{Start: day("2024-06-24"), End: day("2024-07-01"), Kind: Custom}
	if diff := cmp.Diff(prev, want); diff != "" {
		t.Errorf("custom Previous() (-got, +want):\n%s", diff)
	}
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to   string
		start, end time.Time
		err        string
	}{
		{from: "2024-07-01", to: "2024-09-30", start: day("2024-07-01"), end: day("2024-10-01")},
		{from: "2024-07-01T06:00:00Z", to: "2024-07-01T18:00:00+09:00", start: day("2024-07-01").Add(6 * time.Hour), end: day("2024-07-01").Add(9 * time.Hour)},
		{from: "2024-07-01", to: "2024-07-01", start: day("2024-07-01"), end: day("2024-07-02")},
		{from: "2024-07-02", to: "2024-07-01", err: "empty period"},
		{from: "2024-07-01T00:00:00Z", to: "2024-07-01T00:00:00Z", err: "empty period"},
		{from: "July", to: "2024-07-01", err: `--from: "July" is neither a date`},
		{from: "2024-07-01", to: "2024/07/02", err: "--to:"},
	}
	for _, tt := range tests {
		p, err := ParseRange(tt.from, tt.to)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRange(%q, %q) error = %v, want %q", tt.from, tt.to, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRange(%q, %q): %v", tt.from, tt.to, err)
			continue
		}
		if !p.Start.Equal(tt.start) || !p.End.Equal(tt.end) || p.Kind != Custom {
			t.Errorf("ParseRange(%q, %q) = %v, want [%v, %v)", tt.from, tt.to, p, tt.start, tt.end)
		}
	}
}

func TestMonths(t *testing.T) {
	t.Parallel()
	q, _ := Parse("2024Q3")
	var got []string
	for _, m := range q.Months() {
		got = append(got, m.String())
	}
	if diff := cmp.Diff(got, []string{"2024-07", "2024-08", "2024-09"}); diff != "" {
		t.Errorf("2024Q3 months (-got, +want):\n%s", diff)
	}
	custom, _ := ParseRange("2024-07-15", "2024-08-10")
	months := custom.Months()
	want := []Period{
		{Start: day("2024-07-15"), End: day("2024-08-01"), Kind: Custom},
		{Start: day("2024-08-01"), End: day("2024-08-11"), Kind: Custom},
	}
	if diff := cmp.Diff(months, want); diff != "" {
		t.Errorf("custom months (-got, +want):\n%s", diff)
	}
}

func TestOfAndContains(t *testing.T) {
	t.Parallel()
	ts := time.Date(2024, 8, 31, 23, 59, 59, 999, time.FixedZone("JST", 9*3600)) // 14:59:59Z
	for kind, want := range map[Kind]string{Day: "2024-08-31", Month: "2024-08", Quarter: "2024Q3", Year: "2024", Custom: "2024-08-31"} {
		p := Of(kind, ts)
		if p.String() != want || !p.Contains(ts) || p.Contains(p.End) || !p.Contains(p.Start) {
			t.Errorf("Of(%v, %v) = %v, want %s containing it (and its start, not its end)", kind, ts, p, want)
		}
	}
	if got := Of(Quarter, ts).Duration(); got != 92*24*time.Hour {
		t.Errorf("2024Q3 lasts %v, want 92 days", got)
	}
	if Kind(9).String() != "kind(9)" || Quarter.String() != "quarter" {
		t.Error("Kind.String")
	}
}

// TestCompareAt runs the comparison at the instants where calendars trip:
// the first minute of a month, the first hour of a quarter, New Year, 29
// February and the last second of a month.
func TestCompareAt(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	iv := func(c Comparison) [2]string { return [2]string{c.Current.String(), c.Previous.String()} }
	for _, tc := range []struct {
		name    string
		period  string
		now     string
		want    [2]string
		partial bool
	}{
		{"first minute of a month", "2026-12", "2026-12-01T00:00:30Z",
			[2]string{"2026-12-01T00:00:00Z/2026-12-01T00:00:30Z", "2026-11-01T00:00:00Z/2026-11-01T00:00:30Z"}, true},
		{"first hour of a quarter", "2027Q2", "2027-04-01T00:45:00Z",
			[2]string{"2027-04-01T00:00:00Z/2027-04-01T00:45:00Z", "2027-01-01T00:00:00Z/2027-01-01T00:45:00Z"}, true},
		{"after the first hour: whole hours", "2027Q2", "2027-04-01T05:45:10Z",
			[2]string{"2027-04-01T00:00:00Z/2027-04-01T05:00:00Z", "2027-01-01T00:00:00Z/2027-01-01T05:00:00Z"}, true},
		{"New Year's first second", "2027", "2027-01-01T00:00:01Z",
			[2]string{"2027-01-01T00:00:00Z/2027-01-01T00:00:01Z", "2026-01-01T00:00:00Z/2026-01-01T00:00:01Z"}, true},
		{"New Year's Eve, last second", "2026-12-31", "2026-12-31T23:59:59Z",
			[2]string{"2026-12-31T00:00:00Z/2026-12-31T23:00:00Z", "2026-12-30T00:00:00Z/2026-12-30T23:00:00Z"}, true},
		{"29 February", "2028-02", "2028-02-29T12:30:00Z",
			[2]string{"2028-02-01T00:00:00Z/2028-02-29T12:00:00Z", "2028-01-01T00:00:00Z/2028-01-29T12:00:00Z"}, true},
		{"last second of March against February", "2027-03", "2027-03-31T23:59:59Z",
			[2]string{"2027-03-01T00:00:00Z/2027-03-31T23:00:00Z", "2027-02-01T00:00:00Z/2027-03-01T00:00:00Z"}, true},
		{"a period that is over", "2026-11", "2026-12-01T00:00:30Z", [2]string{"2026-11", "2026-10"}, false},
		{"a period not begun", "2027-01", "2026-12-31T23:59:59Z", [2]string{"2027-01", "2026-12"}, false},
	} {
		p, err := Parse(tc.period)
		if err != nil {
			t.Fatal(err)
		}
		c := CompareAt(p, at(tc.now))
		if got := iv(c); got != tc.want || c.Partial != tc.partial {
			t.Errorf("%s: CompareAt(%s, %s) = %v partial %v, want %v partial %v", tc.name, tc.period, tc.now, got, c.Partial, tc.want, tc.partial)
		}
		if c.Partial && c.Previous.Duration() > c.Current.Duration() {
			t.Errorf("%s: the previous part (%v) is longer than the current one (%v)", tc.name, c.Previous.Duration(), c.Current.Duration())
		}
	}
}

func TestLastDays(t *testing.T) {
	for _, tc := range []struct{ now, want string }{
		{"2026-12-01T00:00:30Z", "2026-11-02T00:00:00Z/2026-12-02T00:00:00Z"},
		{"2027-01-01T00:00:00Z", "2026-12-03T00:00:00Z/2027-01-02T00:00:00Z"},
		{"2028-02-29T23:59:59Z", "2028-01-31T00:00:00Z/2028-03-01T00:00:00Z"},
		{"2028-03-01T00:00:00Z", "2028-02-01T00:00:00Z/2028-03-02T00:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		p := LastDays(30, now)
		if got := p.String(); got != tc.want || p.Duration() != 30*24*time.Hour || !p.Contains(now) {
			t.Errorf("LastDays(30, %s) = %s, want %s (30 days with now in it)", tc.now, got, tc.want)
		}
	}
}

func TestCheckBounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ from, to, want string }{
		{from: "1970-01-01", to: "2199-12-31"},
		{from: "2024-07-01", to: "2024-09-30"},
		{from: "1969-12-31", to: "2024-09-30", want: "1969-12-31T00:00:00Z/2024-10-01T00:00:00Z is outside the years 1970 to 2199"},
		{from: "1677-01-01", to: "2026-12-31", want: "1677-01-01T00:00:00Z/2027-01-01T00:00:00Z is outside the years 1970 to 2199"},
		{from: "2024-07-01", to: "2200-01-01", want: "2024-07-01T00:00:00Z/2200-01-02T00:00:00Z is outside the years 1970 to 2199"},
		{from: "2199-12-31T23:59:59Z", to: "2200-01-01T00:00:00Z"},
	} {
		p, err := ParseRange(tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := p.CheckBounds(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s.CheckBounds() = %q, want %q", p, got, tt.want)
		}
	}
	if err := Of(Year, day("2200-06-01")).CheckBounds(); err == nil {
		t.Errorf("CheckBounds() of the year 2200 = nil, want an error")
	}
}
