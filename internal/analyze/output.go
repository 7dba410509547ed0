package analyze

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Formats lists the output formats Write accepts.
var Formats = []string{"table", "json", "csv"}

// Write renders the report in one of Formats.
func (rep *Report) Write(w io.Writer, format string) error {
	switch format {
	case "table":
		return rep.WriteTable(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return rep.WriteCSV(w)
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
}

// WriteTable renders the report as the tables of a quarterly report.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	p("%s packets from %d file(s), %s frames read", Thousands(rep.Packets), len(rep.Files), Thousands(rep.Frames))
	if rep.First != nil {
		p(", %s to %s (UTC)", rep.First.Format("2006-01-02 15:04:05"), rep.Last.Format("2006-01-02 15:04:05"))
	}
	p("\n%s distinct sources; %s skipped; %s to no sensor's address\n", Thousands(uint64(rep.Distinct)), Thousands(sum(rep.Skipped)), Thousands(rep.Unmatched))
	for _, f := range rep.Files {
		if f.Error != "" {
			p("error: %s (the %s frames before it are counted)\n", f.Error, Thousands(f.Frames))
		}
	}

	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	section := func(title string, header ...string) {
		p("\n%s\n", title)
		row(header...)
	}

	section("Packets per sensor", "SENSOR", "GROUP", "PACKETS")
	for _, s := range rep.Sensors {
		row(s.Name, s.Group, Thousands(s.Packets))
	}

	top := 0
	names := []string{"RANK"}
	for _, s := range rep.Sensors {
		top = max(top, len(s.TopPorts))
		names = append(names, s.Name)
	}
	section("Top destination ports per sensor", names...)
	for i := range top {
		cells := []string{"#" + strconv.Itoa(i+1)}
		for _, s := range rep.Sensors {
			cell := "-"
			if i < len(s.TopPorts) {
				cell = s.TopPorts[i].Port
			}
			cells = append(cells, cell)
		}
		row(cells...)
	}

	section("Packets per sensor per month (UTC)", append([]string{"SENSOR"}, rep.Months...)...)
	for _, s := range rep.Sensors {
		cells := []string{s.Name}
		for _, m := range s.Months {
			cells = append(cells, Thousands(m.Packets))
		}
		row(cells...)
	}

	section("Average packets per sensor per month, by group", append([]string{"GROUP", "SENSORS"}, rep.Months...)...)
	for _, g := range rep.Groups {
		cells := []string{g.Name, strconv.Itoa(g.Sensors)}
		for _, m := range g.Months {
			cells = append(cells, formatAvg(m.AvgPacketsPerSensor))
		}
		row(cells...)
	}

	tags := []string{"SENSOR"}
	for _, t := range record.AllTags() {
		tags = append(tags, t.String())
	}
	section("Tagged packets", tags...)
	for _, s := range rep.Sensors {
		cells := []string{s.Name}
		for _, t := range tags[1:] {
			cells = append(cells, Thousands(s.Tags[t]))
		}
		row(cells...)
	}

	if len(rep.Sources) > 0 {
		section("Top sources", "SOURCE", "PACKETS", "SENSORS", "FIRST SEEN", "LAST SEEN", "TAGS")
		for _, s := range rep.Sources {
			sensors := "-"
			if s.Sensors > 0 {
				sensors = strconv.Itoa(s.Sensors)
			}
			row(s.IP, Thousands(s.Packets), sensors,
				s.FirstSeen.Format("2006-01-02 15:04"), s.LastSeen.Format("2006-01-02 15:04"), strings.Join(s.Tags, ","))
		}
	}

	if len(rep.Skipped) > 0 {
		section("Skipped frames", "REASON", "FRAMES")
		for _, k := range sortedKeys(rep.Skipped) {
			row(k, Thousands(rep.Skipped[k]))
		}
	}
	return tw.Flush()
}

// WriteCSV renders the report as one tidy table: a row per value, with the
// table it belongs to in the first column, ready for a spreadsheet or pandas.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(table, sensor, group string, rank int, key, value, tags string) {
		r := ""
		if rank > 0 {
			r = strconv.Itoa(rank)
		}
		cw.Write([]string{table, sensor, group, r, key, value, tags})
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	row("table", "sensor", "group", 0, "key", "value", "tags")
	for _, s := range rep.Sensors {
		row("sensor_packets", s.Name, s.Group, 0, "", u(s.Packets), "")
	}
	for _, s := range rep.Sensors {
		for i, p := range s.TopPorts {
			row("top_ports", s.Name, s.Group, i+1, p.Port, u(p.Packets), "")
		}
	}
	for _, s := range rep.Sensors {
		for _, m := range s.Months {
			row("sensor_months", s.Name, s.Group, 0, m.Month, u(m.Packets), "")
		}
	}
	for _, g := range rep.Groups {
		for _, m := range g.Months {
			row("group_months", "", g.Name, 0, m.Month, strconv.FormatFloat(m.AvgPacketsPerSensor, 'f', -1, 64), "")
		}
	}
	for _, s := range rep.Sensors {
		for _, t := range record.AllTags() {
			row("tags", s.Name, s.Group, 0, t.String(), u(s.Tags[t.String()]), "")
		}
	}
	for i, s := range rep.Sources {
		row("sources", "", "", i+1, s.IP, u(s.Packets), strings.Join(s.Tags, " "))
	}
	for _, k := range sortedKeys(rep.Skipped) {
		row("skipped", "", "", 0, k, u(rep.Skipped[k]), "")
	}
	cw.Flush()
	return cw.Error()
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// Thousands formats n with comma separators: 1234567 → "1,234,567".
func Thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func formatAvg(x float64) string {
	whole := uint64(x)
	frac := int((x-float64(whole))*10 + 0.5)
	if frac == 10 {
		whole, frac = whole+1, 0
	}
	return Thousands(whole) + "." + strconv.Itoa(frac)
}
