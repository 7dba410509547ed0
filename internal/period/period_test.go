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
