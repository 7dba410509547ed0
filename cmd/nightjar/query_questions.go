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
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// queryOptions are the flags every question shares.
type queryOptions struct {
	db, format string
	per        periodOptions
}

func (o *queryOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.db, "db", "", "database `PATH`")
	f.StringVar(&o.format, "format", "table", "output format: "+strings.Join(analyze.Formats, ", "))
	o.per.addFlags(f)
}

// ask checks the shared flags, then opens the database and calls fn with
// it and the period. check validates the question's own flags first, so
// that bad flags fail before the database is opened.
func (o *queryOptions) ask(cmd *cobra.Command, args []string, check func() error, fn func(ctx context.Context, st store.Questions, p period.Period) error) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	if o.db == "" {
		return errors.New("--db PATH is required")
	}
	if !slices.Contains(analyze.Formats, o.format) {
		return fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(analyze.Formats, ", "))
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	p, err := o.per.resolve()
	if err != nil {
		return err
	}
	st, err := openExisting(cmd.Context(), o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cmd.Context(), st, p)
}

func checkTop(top int) func() error {
	return func() error {
		if top < 1 {
			return fmt.Errorf("--top must be at least 1, got %d", top)
		}
		return nil
	}
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

func newGroupTopPortsCommand() *cobra.Command {
	var (
		o      queryOptions
		top    int
		groups []string
	)
	cmd := &cobra.Command{
		Use:   "group-top-ports --db PATH (--period P | --from D --to D) [flags]",
		Short: "Top destination ports per group and for the fleet, by average packets per sensor",
		Long: `Ranks the destination ports of each group of sensors, and of the whole fleet,
by average packets per sensor: the group's packets to the port divided by
the number of its sensors, quiet ones included (the measure of TSUBAME's
public graphs). Each port shows its rank in the previous period of the same
kind ("new" in the table when it had no packets then).`,
		Example: `  nightjar query group-top-ports --db telescope.duckdb --period 2024Q3
  nightjar query group-top-ports --db telescope.duckdb --period 2024-07 --group Japan --top 5 --format csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, checkTop(top), func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p, N: top, Groups: groups})
				if err != nil {
					return err
				}
				return writeGroupTopPorts(cmd.OutOrStdout(), o.format, p, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().IntVar(&top, "top", 10, "number of ports per group")
	cmd.Flags().StringSliceVar(&groups, "group", nil, "only these groups (repeat or comma-separate); the fleet is always shown")
	return cmd
}

func writeGroupTopPorts(w io.Writer, format string, p period.Period, ans store.GroupTopPorts) error {
	resp := api.NewGroupTopPortsResponse(p, ans)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Top destination ports by average packets per sensor, %s (previous rank: %s)\n", p, p.Previous())
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
	var (
		o      queryOptions
		groups []string
		daily  bool
	)
	cmd := &cobra.Command{
		Use:   "group-averages --db PATH (--period P | --from D --to D) [flags]",
		Short: "Average packets per sensor of each group, month by month and day by day",
		Long: `Gives each group's average packets per sensor (its packets divided by all of
its sensors) for every UTC month of the period, and with --daily for every
day. The JSON output always holds both; its groups are shaped like those of
"nightjar analyze --format json".`,
		Example: `  nightjar query group-averages --db telescope.duckdb --period 2024Q3
  nightjar query group-averages --db telescope.duckdb --period 2024-07 --daily --format csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, nil, func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.GroupAverages(ctx, store.GroupAveragesQuery{Period: p, Groups: groups})
				if err != nil {
					return err
				}
				return writeGroupAverages(cmd.OutOrStdout(), o.format, p, daily, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringSliceVar(&groups, "group", nil, "only these groups (repeat or comma-separate)")
	cmd.Flags().BoolVar(&daily, "daily", false, "days instead of months (table and CSV)")
	return cmd
}

func writeGroupAverages(w io.Writer, format string, p period.Period, daily bool, ans []store.GroupAverages) error {
	resp := api.NewGroupAveragesResponse(p, ans, daily)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	// Columns are the months (or days), rows the groups.
	labels, values := resp.Columns()
	unit := resp.Unit()
	head := []string{strings.ToUpper(unit)}
	for _, g := range ans {
		head = append(head, g.Name)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "Average packets per sensor by %s, %s\n", unit, p)
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, label := range labels {
		row := []string{label}
		for gi := range ans {
			row = append(row, avg(values[gi][i]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	sensors := []string{"SENSORS"}
	for _, g := range ans {
		sensors = append(sensors, strconv.Itoa(g.Sensors))
	}
	fmt.Fprintln(tw, strings.Join(sensors, "\t")+"\t")
	return tw.Flush()
}

func newPortSeriesCommand() *cobra.Command {
	var (
		o                      queryOptions
		ports, sensors, groups []string
		resolution, by         string
	)
	cmd := &cobra.Command{
		Use:   "port-series --db PATH (--period P | --from D --to D) --port LABEL... [flags]",
		Short: "Packets to given ports over time, per sensor, per group or for the fleet",
		Long: `Counts the packets to each given port (a label such as 23/TCP, 53/UDP, ICMP or
GRE) in every hour, day or month of the period, zeros included, per sensor
(--by sensor, optionally --sensor), per group (--by group, the group's
total, optionally --group) or for the whole fleet (--by fleet).`,
		Example: `  nightjar query port-series --db telescope.duckdb --period 2024-07 --port 23/TCP,445/TCP --resolution day
  nightjar query port-series --db telescope.duckdb --period 2024Q3 --port ICMP --by group --resolution month --format csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var q store.PortSeriesQuery
			check := func() error {
				var err error
				if q.Resolution, err = store.ParseResolution(resolution); err != nil {
					return fmt.Errorf("--resolution: %w", err)
				}
				if q.By, err = store.ParseBy(by); err != nil {
					return fmt.Errorf("--by: %w", err)
				}
				if len(ports) == 0 {
					return errors.New("--port is required: give port labels such as 23/TCP, 53/UDP or ICMP")
				}
				q.Ports, q.Sensors, q.Groups = ports, sensors, groups
				return nil
			}
			return o.ask(cmd, args, check, func(ctx context.Context, st store.Questions, p period.Period) error {
				q.Period = p
				ans, err := st.PortSeries(ctx, q)
				if err != nil {
					return err
				}
				return writePortSeries(cmd.OutOrStdout(), o.format, p, q.By, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringSliceVar(&ports, "port", nil, "port `LABELS` (23/TCP, 53/UDP, ICMP...; repeat or comma-separate)")
	f.StringVar(&resolution, "resolution", "day", "bucket width: "+strings.Join(store.Resolutions, ", "))
	f.StringVar(&by, "by", "sensor", "one series per: "+strings.Join(store.Bys, ", "))
	f.StringSliceVar(&sensors, "sensor", nil, "only these sensors (with --by sensor)")
	f.StringSliceVar(&groups, "group", nil, "only these groups (with --by group)")
	return cmd
}

func writePortSeries(w io.Writer, format string, p period.Period, by store.By, ans store.PortSeries) error {
	resp := api.NewPortSeriesResponse(p, by, ans)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	layout := map[string]string{"hour": "2006-01-02T15:04Z", "day": time.DateOnly, "month": "2006-01"}[ans.Resolution]
	fmt.Fprintf(w, "Packets per port by %s, %s\n", ans.Resolution, p)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{strings.ToUpper(ans.Resolution)}
	for _, s := range ans.Series {
		head = append(head, resp.Owner(s)+" "+s.Port)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, b := range ans.Buckets {
		row := []string{b.Format(layout)}
		for _, s := range ans.Series {
			row = append(row, analyze.Thousands(s.Packets[i]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func newTopSourcesCommand() *cobra.Command {
	var (
		o       queryOptions
		top     int
		sensors []string
	)
	cmd := &cobra.Command{
		Use:   "top-sources --db PATH (--period P | --from D --to D) [flags]",
		Short: "Top source addresses: packets, ports, sensors reached, tags, first and last seen",
		Long: `Ranks the source addresses of the period by packets (then address), with the
number of distinct destination ports each sent to, the sensors it reached,
its fingerprint tags and when it was first and last seen. Ports are exact
while the raw records of the period are retained; otherwise the count is a
lower bound, marked "≥" in the table and "ports_exact": false in JSON.`,
		Example: `  nightjar query top-sources --db telescope.duckdb --period 2024-07 --top 100
  nightjar query top-sources --db telescope.duckdb --period 2024Q3 --sensor jp-tokyo-1 --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, checkTop(top), func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.TopSources(ctx, store.TopSourcesQuery{Period: p, N: top, Sensors: sensors})
				if err != nil {
					return err
				}
				return writeTopSources(cmd.OutOrStdout(), o.format, p, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().IntVar(&top, "top", 10, "number of sources")
	cmd.Flags().StringSliceVar(&sensors, "sensor", nil, "only the packets of these sensors (repeat or comma-separate)")
	return cmd
}

func writeTopSources(w io.Writer, format string, p period.Period, ans []store.Source) error {
	resp := api.NewTopSourcesResponse(p, ans)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	fmt.Fprintf(w, "Top sources, %s\n", p)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tSOURCE\tPACKETS\tPORTS\tSENSORS\tTAGS\tFIRST SEEN\tLAST SEEN")
	for i, s := range ans {
		ports := analyze.Thousands(s.Ports)
		if !s.PortsExact {
			ports = "≥" + ports
		}
		tags := strings.Join(s.Tags, ",")
		if tags == "" {
			tags = "-"
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", i+1, s.IP, analyze.Thousands(s.Packets), ports, s.Sensors, tags,
			s.FirstSeen.Format(time.DateTime), s.LastSeen.Format(time.DateTime))
	}
	return tw.Flush()
}

func newPortSourcesCommand() *cobra.Command {
	var (
		o       queryOptions
		top     int
		sensors []string
	)
	cmd := &cobra.Command{
		Use:   "port-sources --db PATH (--period P | --from D --to D) [flags]",
		Short: "Top ports with their distinct sources and the share of packets tagged mirai",
		Long: `Ranks the destination ports of the period by packets, with the number of
distinct source addresses that sent to each over the whole period (exact
while the raw records are retained, "≥" otherwise) and the share of its
packets tagged mirai.`,
		Example: `  nightjar query port-sources --db telescope.duckdb --period 2024-07 --top 20`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, checkTop(top), func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.PortSources(ctx, store.PortSourcesQuery{Period: p, N: top, Sensors: sensors})
				if err != nil {
					return err
				}
				return writePortSources(cmd.OutOrStdout(), o.format, p, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().IntVar(&top, "top", 10, "number of ports")
	cmd.Flags().StringSliceVar(&sensors, "sensor", nil, "only the packets of these sensors (repeat or comma-separate)")
	return cmd
}

func writePortSources(w io.Writer, format string, p period.Period, ans []store.PortSources) error {
	resp := api.NewPortSourcesResponse(p, ans)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	fmt.Fprintf(w, "Ports with their distinct sources and Mirai share, %s\n", p)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tPORT\tPACKETS\tSOURCES\tMIRAI")
	for _, ps := range ans {
		sources := analyze.Thousands(ps.Sources)
		if !ps.SourcesExact {
			sources = "≥" + sources
		}
		fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%.1f%%\n", ps.Rank, ps.Port, analyze.Thousands(ps.Packets), sources, 100*ps.MiraiShare)
	}
	return tw.Flush()
}

func newTagsCommand() *cobra.Command {
	var (
		o       queryOptions
		sensors []string
	)
	cmd := &cobra.Command{
		Use:   "tags --db PATH (--period P | --from D --to D) [flags]",
		Short: "Packets per fingerprint tag, for the fleet and per sensor",
		Long: `Counts the packets of the period per fingerprint tag (mirai, zmap, masscan,
nmap, unicornscan, backscatter, spoofed), for the whole fleet and per
sensor. A packet with several tags counts once for each.`,
		Example: `  nightjar query tags --db telescope.duckdb --period 2024Q3`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, nil, func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.TagCounts(ctx, store.TagCountsQuery{Period: p, Sensors: sensors})
				if err != nil {
					return err
				}
				return writeTags(cmd.OutOrStdout(), o.format, p, ans)
			})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringSliceVar(&sensors, "sensor", nil, "only these sensors (repeat or comma-separate)")
	return cmd
}

func writeTags(w io.Writer, format string, p period.Period, ans store.TagCounts) error {
	resp := api.NewTagsResponse(p, ans)
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	tags := api.TagNames()
	fmt.Fprintf(w, "Packets per tag, %s\n", p)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"TAG", "FLEET"}
	for _, s := range ans.Sensors {
		head = append(head, s.Sensor)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, tag := range tags {
		row := []string{tag, analyze.Thousands(ans.Tags[tag])}
		for _, s := range ans.Sensors {
			row = append(row, analyze.Thousands(s.Tags[tag]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}
