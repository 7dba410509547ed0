package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// question is a `nightjar query` subcommand: one of the store's questions
// (api.AskTopPorts...: the JSON API asks the same), its answer written as
// JSON or CSV (the API's shapes) or as the question's own table.
type question[R api.Table] struct {
	use, short, long, example string
	// flags declares the flags of the parameters the question reads.
	flags func(f *pflag.FlagSet, pf *paramFlags)
	// check checks them beyond paramFlags.resolve; nil: nothing more.
	check func(p api.Params) error
	ask   func(ctx context.Context, st store.Questions, p api.Params) (R, error)
	table func(w io.Writer, p api.Params, resp R) error
	// empty says the answer holds none of what the question counts
	// (packets; tagged packets: what): the table format says so, and
	// when the database holds packets, from when to when, instead of
	// printing a header without rows. JSON and CSV stay as they are.
	empty func(resp R) bool
	what  string
}

func (q question[R]) command() *cobra.Command {
	var (
		db, format string
		per        periodOptions
		pf         = newParamFlags()
	)
	cmd := &cobra.Command{Use: q.use, Short: q.short, Long: q.long, Example: q.example}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		// Bad flags fail before the database is opened.
		if len(args) > 0 {
			return fmt.Errorf("unexpected argument %q", args[0])
		}
		if db == "" {
			return errors.New("--db PATH is required")
		}
		if !slices.Contains(analyze.Formats, format) {
			return fmt.Errorf("unknown --format %q (want one of %s)", format, strings.Join(analyze.Formats, ", "))
		}
		p, err := pf.resolve()
		if err != nil {
			return err
		}
		if q.check != nil {
			if err := q.check(p); err != nil {
				return err
			}
		}
		if p.Period, err = per.resolve(); err != nil {
			return err
		}
		st, err := openExisting(cmd.Context(), db)
		if err != nil {
			return err
		}
		defer st.Close()
		resp, err := q.ask(cmd.Context(), st, p)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if ok, err := writeData(w, format, resp); ok {
			return err
		}
		if q.empty(resp) {
			return q.nothing(cmd.Context(), w, st, p)
		}
		return q.table(w, p, resp)
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringVar(&format, "format", "table", "output format: "+strings.Join(analyze.Formats, ", "))
	per.addFlags(f)
	q.flags(f, pf)
	return cmd
}

// nothing writes the line that stands for an empty table: "no packets to
// 23/TCP at sensor jp-1 in 2024Q3 (the database holds packets from
// 2024-07-01 to 2024-08-31)".
func (q question[R]) nothing(ctx context.Context, w io.Writer, st store.Writer, p api.Params) error {
	what := q.what
	if what == "" {
		what = "packets"
	}
	line := "no " + what
	if len(p.Ports) > 0 {
		line += " to " + strings.Join(p.Ports, ", ")
	}
	if len(p.Sensors) > 0 {
		line += " at " + named("sensor", p.Sensors)
	}
	if len(p.Groups) > 0 {
		line += " in " + named("group", p.Groups)
	}
	line += " in " + p.Period.String()
	sensors, err := st.Sensors(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s (%s)\n", line, held(sensors))
	return err
}

// named is "group Japan" or "groups Japan, Mars".
func named(kind string, names []string) string {
	if len(names) > 1 {
		kind += "s"
	}
	return kind + " " + strings.Join(names, ", ")
}

// held says from when to when the stored sensors have packets.
func held(sensors []store.Sensor) string {
	var first, last time.Time
	for _, s := range sensors {
		if s.FirstSeen.IsZero() {
			continue
		}
		if first.IsZero() || s.FirstSeen.Before(first) {
			first = s.FirstSeen
		}
		if s.LastSeen.After(last) {
			last = s.LastSeen
		}
	}
	if first.IsZero() {
		return "the database holds no packets yet"
	}
	return "the database holds packets from " + first.Format(time.DateOnly) + " to " + last.Format(time.DateOnly)
}

// paramFlags are the flags of api.Params, named as the API's query
// parameters; those a question does not declare keep their defaults.
type paramFlags struct {
	api.Params
	resolution, by, kind         string
	country, asn, prefix, listed string
}

func newParamFlags() *paramFlags {
	d := api.DefaultParams()
	return &paramFlags{Params: d, resolution: d.Resolution.String(), by: d.By.String(), kind: d.Kind.String()}
}

// origin declares the flags of an origin filter.
func (pf *paramFlags) origin(f *pflag.FlagSet, what string) {
	f.StringVar(&pf.country, "country", "", what+" of this country (ISO 3166 code, e.g. JP)")
	f.StringVar(&pf.asn, "asn", "", what+" of this AS (AS64500 or 64500)")
	f.StringVar(&pf.prefix, "prefix", "", what+" in this network (192.0.2.0/24, 2001:db8::/32) or address")
	f.StringVar(&pf.listed, "scanner", "", what+` on the research-scanner list of this label ("*": any list)`)
}

func (pf *paramFlags) top(f *pflag.FlagSet, usage string) { f.IntVar(&pf.Top, "top", pf.Top, usage) }

func (pf *paramFlags) sensors(f *pflag.FlagSet, usage string) {
	f.StringSliceVar(&pf.Sensors, "sensor", nil, usage)
}

func (pf *paramFlags) groups(f *pflag.FlagSet, usage string) {
	f.StringSliceVar(&pf.Groups, "group", nil, usage)
}

// resolve checks and parses the flags.
func (pf *paramFlags) resolve() (api.Params, error) {
	p := pf.Params
	if p.Top < 1 {
		return p, fmt.Errorf("--top must be at least 1, got %d", p.Top)
	}
	var err error
	if p.Resolution, err = store.ParseResolution(pf.resolution); err != nil {
		return p, fmt.Errorf("--resolution: %w", err)
	}
	if p.By, err = store.ParseBy(pf.by); err != nil {
		return p, fmt.Errorf("--by: %w", err)
	}
	if p.Kind, err = store.ParseOriginKind(pf.kind); err != nil {
		return p, fmt.Errorf("--kind: %w", err)
	}
	if p.Origin, err = store.ParseOriginFilter(pf.country, pf.asn, pf.prefix, pf.listed); err != nil {
		return p, fmt.Errorf("--%w", err)
	}
	return p, nil
}

// writeData writes resp as JSON or CSV (ok); the table format is each
// question's own.
func writeData(w io.Writer, format string, resp api.Table) (ok bool, err error) {
	switch format {
	case "json":
		return true, writeJSON(w, resp)
	case "csv":
		return true, api.WriteCSV(w, resp)
	}
	return false, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func avg(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func prevRank(r int) string {
	if r == 0 {
		return "new"
	}
	return strconv.Itoa(r)
}

func newTopPortsCommand() *cobra.Command {
	return question[api.TopPortsResponse]{
		use:   "top-ports --db PATH (--period P | --from D --to D) [flags]",
		short: "Top destination ports per sensor, with the previous period's rank",
		long: `Ranks the destination ports of each sensor for a period (packets descending,
then label ascending), side by side, with each port's rank in the previous
period of the same kind: the previous quarter for 2024Q3, the previous
month for 2024-07, the same number of days before a custom range. In the
table, "new" marks a port that had no packets in the previous period.`,
		example: `  nightjar query top-ports --db telescope.duckdb --period 2024Q3
  nightjar query top-ports --db telescope.duckdb --from 2024-07-01 --to 2024-07-31 --top 5 --format json`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of ports per sensor")
			pf.sensors(f, "only these sensors (repeat or comma-separate)")
		},
		ask:   api.AskTopPorts,
		table: tableTopPorts,
		empty: func(resp api.TopPortsResponse) bool {
			return !slices.ContainsFunc(resp.Sensors, func(s store.SensorPorts) bool { return s.Packets > 0 })
		},
	}.command()
}

func tableTopPorts(w io.Writer, p api.Params, resp api.TopPortsResponse) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Top destination ports per sensor, %s (previous rank: %s)\n", p.Period, p.Period.Previous())
	head := []string{"RANK"}
	for _, s := range resp.Sensors {
		head = append(head, s.Sensor)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range p.Top {
		row := []string{"#" + strconv.Itoa(i+1)}
		any := false
		for _, s := range resp.Sensors {
			cell := "-"
			if i < len(s.Ports) {
				rp := s.Ports[i]
				cell = fmt.Sprintf("%s (%s)", rp.Port, prevRank(rp.PreviousRank))
				any = true
			}
			row = append(row, cell)
		}
		if !any {
			break
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	packets := []string{"PACKETS"}
	for _, s := range resp.Sensors {
		packets = append(packets, analyze.Thousands(s.Packets))
	}
	fmt.Fprintln(tw, strings.Join(packets, "\t"))
	return tw.Flush()
}

func newGroupTopPortsCommand() *cobra.Command {
	return question[api.GroupTopPortsResponse]{
		use:   "group-top-ports --db PATH (--period P | --from D --to D) [flags]",
		short: "Top destination ports per group and for the fleet, by average packets per sensor",
		long: `Ranks the destination ports of each group of sensors, and of the whole fleet,
by average packets per sensor: the group's packets to the port divided by
the number of its sensors, quiet ones included (the measure of TSUBAME's
public graphs). Each port shows its rank in the previous period of the same
kind ("new" in the table when it had no packets then).`,
		example: `  nightjar query group-top-ports --db telescope.duckdb --period 2024Q3
  nightjar query group-top-ports --db telescope.duckdb --period 2024-07 --group Japan --top 5 --format csv`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of ports per group")
			pf.groups(f, "only these groups (repeat or comma-separate); the fleet is always shown")
		},
		ask:   api.AskGroupTopPorts,
		table: tableGroupTopPorts,
		// The fleet holds every group.
		empty: func(resp api.GroupTopPortsResponse) bool { return resp.Fleet.Packets == 0 },
	}.command()
}

func tableGroupTopPorts(w io.Writer, p api.Params, resp api.GroupTopPortsResponse) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Top destination ports by average packets per sensor, %s (previous rank: %s)\n", p.Period, p.Period.Previous())
	for _, g := range resp.All() {
		fmt.Fprintf(tw, "\n%s (%s, %s packets, %s per sensor)\n", api.GroupName(g), plural(g.Sensors, "sensor"), analyze.Thousands(g.Packets), avg(g.AvgPacketsPerSensor))
		fmt.Fprintln(tw, "RANK\tPORT\tAVG/SENSOR\tPACKETS\tPREVIOUS")
		for _, rp := range g.Ports {
			fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\n", rp.Rank, rp.Port, avg(rp.AvgPacketsPerSensor), analyze.Thousands(rp.Packets), prevRank(rp.PreviousRank))
		}
	}
	return tw.Flush()
}

func newGroupAveragesCommand() *cobra.Command {
	return question[api.GroupAveragesResponse]{
		use:   "group-averages --db PATH (--period P | --from D --to D) [flags]",
		short: "Average packets per sensor of each group, month by month and day by day",
		long: `Gives each group's average packets per sensor (its packets divided by all of
its sensors) for every UTC month of the period, and with --daily for every
day. The JSON output always holds both; its groups are shaped like those of
"nightjar analyze --format json".`,
		example: `  nightjar query group-averages --db telescope.duckdb --period 2024Q3
  nightjar query group-averages --db telescope.duckdb --period 2024-07 --daily --format csv`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.groups(f, "only these groups (repeat or comma-separate)")
			f.BoolVar(&pf.Daily, "daily", false, "days instead of months (table and CSV)")
		},
		ask:   api.AskGroupAverages,
		table: tableGroupAverages,
		empty: func(resp api.GroupAveragesResponse) bool {
			return !slices.ContainsFunc(resp.Groups, func(g store.GroupAverages) bool { return g.Packets > 0 })
		},
	}.command()
}

func tableGroupAverages(w io.Writer, p api.Params, resp api.GroupAveragesResponse) error {
	// Columns are the months (or days), rows the groups.
	labels, values := resp.Columns()
	unit := resp.Unit()
	head := []string{strings.ToUpper(unit)}
	for _, g := range resp.Groups {
		head = append(head, g.Name)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "Average packets per sensor by %s, %s\n", unit, p.Period)
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, label := range labels {
		row := []string{label}
		for gi := range resp.Groups {
			row = append(row, avg(values[gi][i]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	sensors := []string{"SENSORS"}
	for _, g := range resp.Groups {
		sensors = append(sensors, strconv.Itoa(g.Sensors))
	}
	fmt.Fprintln(tw, strings.Join(sensors, "\t")+"\t")
	return tw.Flush()
}

func newPortSeriesCommand() *cobra.Command {
	return question[api.PortSeriesResponse]{
		use:   "port-series --db PATH (--period P | --from D --to D) --port LABEL... [flags]",
		short: "Packets to given ports over time, per sensor, per group or for the fleet",
		long: `Counts the packets to each given port (a label such as 23/TCP, 53/UDP, ICMP or
GRE) in every hour, day or month of the period, zeros included, per sensor
(--by sensor, optionally --sensor), per group (--by group, the group's
total, optionally --group) or for the whole fleet (--by fleet).`,
		example: `  nightjar query port-series --db telescope.duckdb --period 2024-07 --port 23/TCP,445/TCP --resolution day
  nightjar query port-series --db telescope.duckdb --period 2024Q3 --port ICMP --by group --resolution month --format csv`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			f.StringSliceVar(&pf.Ports, "port", nil, "port `LABELS` (23/TCP, 53/UDP, ICMP...; repeat or comma-separate)")
			f.StringVar(&pf.resolution, "resolution", pf.resolution, "bucket width: "+strings.Join(store.Resolutions, ", "))
			f.StringVar(&pf.by, "by", pf.by, "one series per: "+strings.Join(store.Bys, ", "))
			pf.sensors(f, "only these sensors (with --by sensor)")
			pf.groups(f, "only these groups (with --by group)")
		},
		check: func(p api.Params) error {
			if len(p.Ports) == 0 {
				return errors.New("--port is required: give port labels such as 23/TCP, 53/UDP or ICMP")
			}
			return nil
		},
		ask:   api.AskPortSeries,
		table: tablePortSeries,
		empty: func(resp api.PortSeriesResponse) bool {
			return !slices.ContainsFunc(resp.Series, func(s store.Series) bool { return slices.ContainsFunc(s.Packets, func(n uint64) bool { return n > 0 }) })
		},
	}.command()
}

func tablePortSeries(w io.Writer, p api.Params, resp api.PortSeriesResponse) error {
	layout := map[string]string{"hour": "2006-01-02T15:04Z", "day": time.DateOnly, "month": "2006-01"}[resp.Resolution]
	fmt.Fprintf(w, "Packets per port by %s, %s\n", resp.Resolution, p.Period)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{strings.ToUpper(resp.Resolution)}
	for _, s := range resp.Series {
		head = append(head, resp.Owner(s)+" "+s.Port)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, b := range resp.Buckets {
		row := []string{b.Format(layout)}
		for _, s := range resp.Series {
			row = append(row, analyze.Thousands(s.Packets[i]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func newTopSourcesCommand() *cobra.Command {
	return question[api.TopSourcesResponse]{
		use:   "top-sources --db PATH (--period P | --from D --to D) [flags]",
		short: "Top source addresses: packets, ports, sensors reached, tags, first and last seen",
		long: `Ranks the source addresses of the period by packets (then address), with the
number of distinct destination ports each sent to, the sensors it reached,
its fingerprint tags, when it was first and last seen, and its country,
network (AS) and research-scanner labels as the databases gave them when
its packets were observed (ingest and collector --geoip, --scanner-list).
Ports are exact while the raw records of the period are retained;
otherwise the count is a lower bound, marked "≥" in the table and
"ports_exact": false in JSON.

A source carries a tool's tag only when its packets show it strongly (half
of them for zmap, masscan, nmap and unicornscan: one packet in 65,536 of
any busy source matches zmap's or masscan's mark by chance).

--country, --asn, --prefix and --scanner keep only the sources of that
origin (and only their packets of it).

Each source has a verdict, with its reason: benign when it is on a
research-scanner list; malicious when it carries the Mirai fingerprint or
probed a port that only known IoT exploits use (37215/TCP Huawei HG532,
52869/TCP Realtek miniigd, 7547/TCP TR-064); unknown otherwise. --verdict
keeps one.`,
		example: `  nightjar query top-sources --db telescope.duckdb --period 2024-07 --top 100
  nightjar query top-sources --db telescope.duckdb --period 2024Q3 --sensor jp-tokyo-1 --format json
  nightjar query top-sources --db telescope.duckdb --period 2024-07 --asn AS4134
  nightjar query top-sources --db telescope.duckdb --period 2024-07 --prefix 192.0.2.0/24`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of sources")
			pf.sensors(f, "only the packets of these sensors (repeat or comma-separate)")
			pf.origin(f, "only the sources")
			f.StringVar(&pf.Verdict, "verdict", "", "only the sources of this verdict: benign (on a research-scanner list), malicious (Mirai, IoT exploit ports) or unknown")
		},
		check: func(p api.Params) error {
			_, err := store.ParseVerdict(p.Verdict)
			return err
		},
		ask:   api.AskTopSources,
		table: tableTopSources,
		empty: func(resp api.TopSourcesResponse) bool { return len(resp.Sources) == 0 },
	}.command()
}

func tableTopSources(w io.Writer, p api.Params, resp api.TopSourcesResponse) error {
	title := "Top sources, " + p.Period.String()
	if !p.Origin.IsZero() {
		title += ", " + p.Origin.String()
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tSOURCE\tPACKETS\tPORTS\tSENSORS\tTAGS\tFIRST SEEN\tLAST SEEN\tCOUNTRY\tNETWORK\tSCANNER\tVERDICT")
	for i, s := range resp.Sources {
		ports := analyze.Thousands(s.Ports)
		if !s.PortsExact {
			ports = "≥" + ports
		}
		tags := strings.Join(s.Tags, ",")
		if tags == "" {
			tags = "-"
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, s.IP, analyze.Thousands(s.Packets), ports, s.Sensors, tags,
			s.FirstSeen.Format(time.DateTime), s.LastSeen.Format(time.DateTime), dash(s.Country), network(s.ASN, s.Org), dash(s.Scanner), s.Verdict)
	}
	return tw.Flush()
}

// dash is s, or "-" for nothing.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// network is "AS64500 Example Org", or "-" when unknown.
func network(asn uint32, org string) string {
	if asn == 0 {
		return "-"
	}
	return strings.TrimSpace(fmt.Sprintf("AS%d %s", asn, org))
}

func newOriginsCommand() *cobra.Command {
	return question[api.OriginsResponse]{
		use:   "origins --db PATH (--period P | --from D --to D) [--kind country|asn] [flags]",
		short: "Top countries or networks (ASes) of the sources, with the previous period's rank and change",
		long: `Ranks the countries (--kind country, the default) or the networks (--kind
asn) or the research-scanner lists (--kind scanner; "none" for the sources
on no list) of the period's sources by the packets they sent, with their distinct
sources, each one's rank and packets in the previous period of the same
kind and the change: one table per sensor (--by sensor, the default), per
group (--by group: domestic and overseas sensors see different origins) or
for the whole fleet (--by fleet).

A source counts under the origin the GeoIP/ASN databases gave it when its
packets were observed (ingest and collector --geoip); "unknown" gathers
the sources no database placed, and all of them when none was given.`,
		example: `  nightjar query origins --db telescope.duckdb --period 2024Q3 --by fleet
  nightjar query origins --db telescope.duckdb --period 2024-07 --kind asn --by group --top 20
  nightjar query origins --db telescope.duckdb --period 2024-07 --sensor jp-tokyo-1 --format csv`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of countries or networks per table")
			f.StringVar(&pf.kind, "kind", pf.kind, "rank countries (country), networks (asn) or research-scanner lists (scanner)")
			f.StringVar(&pf.by, "by", pf.by, "one table per sensor, per group, or one for the fleet")
			pf.sensors(f, "only these sensors' tables, with --by sensor (repeat or comma-separate)")
			pf.groups(f, "only these groups' tables, with --by group (repeat or comma-separate)")
		},
		check: func(p api.Params) error {
			return store.OriginsQuery{By: p.By, Sensors: p.Sensors, Groups: p.Groups}.Check()
		},
		ask:   api.AskOrigins,
		table: tableOrigins,
		empty: func(resp api.OriginsResponse) bool {
			return !slices.ContainsFunc(resp.Tables, func(t store.OriginTable) bool { return t.Packets > 0 })
		},
	}.command()
}

func tableOrigins(w io.Writer, p api.Params, resp api.OriginsResponse) error {
	what := map[string]string{"country": "countries", "asn": "networks", "scanner": "research-scanner lists"}[resp.Kind]
	for i, t := range resp.Tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		name := resp.By + " " + resp.Name(t)
		if resp.By == store.ByFleet.String() {
			name = "fleet"
		}
		fmt.Fprintf(w, "Top %s, %s, %s: %s packets from %s sources\n", what, p.Period, name,
			analyze.Thousands(t.Packets), analyze.Thousands(t.Sources))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RANK\tORIGIN\tNAME\tPACKETS\tSOURCES\tPREVIOUS\tCHANGE")
		for _, o := range t.Origins {
			change := "-"
			if o.Change != nil {
				change = fmt.Sprintf("%+.0f%%", *o.Change*100)
			}
			fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Rank, o.Key, dash(o.Org), analyze.Thousands(o.Packets),
				analyze.Thousands(o.Sources), prevRank(o.PreviousRank), change)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func newOriginPortsCommand() *cobra.Command {
	return question[api.OriginPortsResponse]{
		use:   "origin-ports --db PATH (--period P | --from D --to D) (--country C | --asn N | --prefix P | --scanner L) [flags]",
		short: "The ports one country, network, prefix or scanner list probed, by distinct sources",
		long: `Ranks the destination ports that the sources of one origin sent to in the
period by how many distinct sources of that origin did (then label):
what a country's or a network's scanners look for.`,
		example: `  nightjar query origin-ports --db telescope.duckdb --period 2024-07 --country CN
  nightjar query origin-ports --db telescope.duckdb --period 2024Q3 --asn AS4134 --top 20`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of ports")
			pf.sensors(f, "only the packets of these sensors (repeat or comma-separate)")
			pf.origin(f, "the sources")
		},
		check: func(p api.Params) error {
			if p.Origin.IsZero() {
				return errors.New("give the origin: --country, --asn, --prefix or --scanner")
			}
			return nil
		},
		ask:   api.AskOriginPorts,
		table: tableOriginPorts,
		empty: func(resp api.OriginPortsResponse) bool { return len(resp.Ports) == 0 },
		what:  "packets from that origin",
	}.command()
}

func tableOriginPorts(w io.Writer, p api.Params, resp api.OriginPortsResponse) error {
	fmt.Fprintf(w, "Ports probed by the sources of %s, %s\n", resp.Origin, p.Period)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tPORT\tSOURCES")
	for _, o := range resp.Ports {
		fmt.Fprintf(tw, "#%d\t%s\t%s\n", o.Rank, o.Port, analyze.Thousands(o.Sources))
	}
	return tw.Flush()
}

func newPortSourcesCommand() *cobra.Command {
	return question[api.PortSourcesResponse]{
		use:   "port-sources --db PATH (--period P | --from D --to D) [flags]",
		short: "Top ports with their distinct sources and the share of packets tagged mirai",
		long: `Ranks the destination ports of the period by packets, with the number of
distinct source addresses that sent to each over the whole period (exact
while the raw records are retained, "≥" otherwise) and the share of its
packets tagged mirai.`,
		example: `  nightjar query port-sources --db telescope.duckdb --period 2024-07 --top 20`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of ports")
			pf.sensors(f, "only the packets of these sensors (repeat or comma-separate)")
		},
		ask:   api.AskPortSources,
		table: tablePortSources,
		empty: func(resp api.PortSourcesResponse) bool { return len(resp.Ports) == 0 },
	}.command()
}

func tablePortSources(w io.Writer, p api.Params, resp api.PortSourcesResponse) error {
	fmt.Fprintf(w, "Ports with their distinct sources and Mirai share, %s\n", p.Period)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tPORT\tPACKETS\tSOURCES\tMIRAI")
	for _, ps := range resp.Ports {
		sources := analyze.Thousands(ps.Sources)
		if !ps.SourcesExact {
			sources = "≥" + sources
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%.1f%%\n", ps.Rank, ps.Port, analyze.Thousands(ps.Packets), sources, 100*ps.MiraiShare)
	}
	return tw.Flush()
}

func newTagsCommand() *cobra.Command {
	return question[api.TagsResponse]{
		use:   "tags --db PATH (--period P | --from D --to D) [flags]",
		short: "Packets per fingerprint tag, for the fleet and per sensor",
		long: `Counts the packets of the period per fingerprint tag (mirai, zmap, masscan,
nmap, unicornscan, backscatter, spoofed), for the whole fleet and per
sensor. A packet with several tags counts once for each.`,
		example: `  nightjar query tags --db telescope.duckdb --period 2024Q3`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.sensors(f, "only these sensors (repeat or comma-separate)")
		},
		ask:   api.AskTags,
		table: tableTags,
		empty: func(resp api.TagsResponse) bool {
			for _, n := range resp.Tags {
				if n > 0 {
					return false
				}
			}
			return true
		},
		what: "tagged packets",
	}.command()
}

func tableTags(w io.Writer, p api.Params, resp api.TagsResponse) error {
	fmt.Fprintf(w, "Packets per tag, %s\n", p.Period)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"TAG", "FLEET"}
	for _, s := range resp.Sensors {
		head = append(head, s.Sensor)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, tag := range api.TagNames() {
		row := []string{tag, analyze.Thousands(resp.Tags[tag])}
		for _, s := range resp.Sensors {
			row = append(row, analyze.Thousands(s.Tags[tag]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func newDevicesQueryCommand() *cobra.Command {
	return question[api.DevicesResponse]{
		use:   "devices --db PATH (--period P | --from D --to D) [--sensor S] [--group G] [--tag T] [--vendor V] [flags]",
		short: "The device models behind the sources: sources, packets, firmware, ports, countries",
		long: `Lists the device models identified behind the period's source addresses —
the routers, cameras and CPE that send the scans — by distinct sources, with
their packets, the firmware versions their banners carried ("unknown" when
none did; never guessed) and the versions' release dates when known, the
ports most of them sent to, their countries, and first and last seen. The
first line says how many of the period's sources were identified.

Devices are identified by nightjar devices import (banner scans: zgrab2,
Shodan, Censys, Nmap, masscan) and nightjar devices probe; an address whose
evidence names two models is counted under the deciding one and as a
conflict.

--sensor and --group keep the sources those sensors saw, --tag those that
earned a fingerprint tag (mirai), --vendor one vendor's models.`,
		example: `  nightjar query devices --db telescope.duckdb --period 2024Q3
  nightjar query devices --db telescope.duckdb --period 2024-07 --tag mirai --vendor TP-Link
  nightjar query devices --db telescope.duckdb --period 2024Q3 --group Japan --format csv`,
		flags: func(f *pflag.FlagSet, pf *paramFlags) {
			pf.top(f, "number of models")
			pf.sensors(f, "only the sources these sensors saw (repeat or comma-separate)")
			pf.groups(f, "only the sources the sensors of these groups saw")
			f.StringVar(&pf.Tag, "tag", "", "only the sources that earned this fingerprint tag (mirai, zmap, masscan, ...)")
			f.StringVar(&pf.Vendor, "vendor", "", "only this vendor's models (any case)")
		},
		ask:   api.AskDevices,
		table: tableDevices,
		empty: func(resp api.DevicesResponse) bool { return resp.Sources == 0 },
		what:  "sources",
	}.command()
}

func tableDevices(w io.Writer, p api.Params, resp api.DevicesResponse) error {
	fmt.Fprintf(w, "Device models, %s: %s of %s sources identified (%.1f%%), %s with conflicting evidence\n", p.Period,
		analyze.Thousands(resp.Identified), analyze.Thousands(resp.Sources), 100*float64(resp.Identified)/float64(max(resp.Sources, 1)), analyze.Thousands(resp.Conflicts))
	if len(resp.Models) == 0 {
		fmt.Fprintln(w, "No device model identified: import banners of the sources with nightjar devices import FILE...")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tVENDOR\tMODEL\tKIND\tSOURCES\tPACKETS\tFIRMWARE\tPORTS\tCOUNTRIES\tFIRST SEEN\tLAST SEEN")
	for _, m := range resp.Models {
		var fw, ports, countries []string
		for _, f := range m.Firmware {
			v := f.Version
			if v == "" {
				v = "unknown"
			}
			if f.Released != nil {
				v += " (" + f.Released.Format(time.DateOnly) + ")"
			}
			fw = append(fw, fmt.Sprintf("%s ×%d", v, f.Sources))
		}
		for _, pc := range m.Ports {
			ports = append(ports, pc.Port)
		}
		for _, c := range m.Countries {
			countries = append(countries, fmt.Sprintf("%s %d", dash(c.Country), c.Sources))
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Rank, m.Vendor, dash(m.Model), dash(m.Kind), analyze.Thousands(m.Sources),
			analyze.Thousands(m.Packets), strings.Join(fw, "; "), strings.Join(ports, ","), strings.Join(countries, ", "),
			m.FirstSeen.Format(time.DateTime), m.LastSeen.Format(time.DateTime))
	}
	return tw.Flush()
}
