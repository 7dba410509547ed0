package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// periodOptions are the flags that choose a period.
type periodOptions struct{ period, from, to string }

func (o *periodOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.period, "period", "", "period: "+period.Syntax)
	f.StringVar(&o.from, "from", "", "start of a custom period: a date (2024-07-01) or an RFC 3339 time")
	f.StringVar(&o.to, "to", "", "end of a custom period: a date (inclusive) or an RFC 3339 time (exclusive)")
}

func (o *periodOptions) resolve() (period.Period, error) {
	switch {
	case o.period != "" && (o.from != "" || o.to != ""):
		return period.Period{}, errors.New("give either --period or --from and --to, not both")
	case o.period != "":
		return period.Parse(o.period)
	case o.from != "" && o.to != "":
		return period.ParseRange(o.from, o.to)
	case o.from != "" || o.to != "":
		return period.Period{}, errors.New("a custom period needs both --from and --to")
	}
	return period.Period{}, errors.New("no period: give --period (" + period.Syntax + ") or --from and --to")
}

func newQueryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query QUESTION --db PATH [flags]",
		Short: "Ask the embedded database a question",
		Long: `Answers the questions a monitoring team asks of its stored observations.

Questions:
  top-ports        the top N destination ports of each sensor, side by side,
                   with each port's rank in the previous period of the same kind
  group-top-ports  the top N ports of each group and of the whole fleet, by
                   average packets per sensor, with the previous rank
  group-averages   each group's average packets per sensor, month by month and
                   day by day
  port-series      packets to given ports over time (hour, day or month), per
                   sensor, per group or for the fleet
  top-sources      the top N source addresses: packets, distinct ports,
                   sensors reached, tags, first and last seen
  port-sources     the top N ports with their distinct sources and the share
                   of their packets tagged mirai
  tags             packets per fingerprint tag, for the fleet and per sensor
  sensors          every sensor with its latest health report (no period)`,
	}
	cmd.AddCommand(newTopPortsCommand(), newGroupTopPortsCommand(), newGroupAveragesCommand(),
		newPortSeriesCommand(), newTopSourcesCommand(), newPortSourcesCommand(), newTagsCommand(), newSensorsQueryCommand())
	return cmd
}

func newTopPortsCommand() *cobra.Command {
	var (
		o       queryOptions
		top     int
		sensors []string
	)
	cmd := &cobra.Command{
		Use:   "top-ports --db PATH (--period P | --from D --to D) [flags]",
		Short: "Top destination ports per sensor, with the previous period's rank",
		Long: `Ranks the destination ports of each sensor for a period (packets descending,
then label ascending), side by side, with each port's rank in the previous
period of the same kind: the previous quarter for 2024Q3, the previous
month for 2024-07, the same number of days before a custom range. In the
table, "new" marks a port that had no packets in the previous period.`,
		Example: `  nightjar query top-ports --db telescope.duckdb --period 2024Q3
  nightjar query top-ports --db telescope.duckdb --from 2024-07-01 --to 2024-07-31 --top 5 --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.ask(cmd, args, checkTop(top), func(ctx context.Context, st store.Questions, p period.Period) error {
				ans, err := st.TopPorts(ctx, store.TopPortsQuery{Period: p, N: top, Sensors: sensors})
				if err != nil {
					return err
				}
				return writeTopPorts(cmd.OutOrStdout(), o.format, p, top, ans)
			})
		},
	}
	f := cmd.Flags()
	o.addFlags(f)
	f.IntVar(&top, "top", 10, "number of ports per sensor")
	f.StringSliceVar(&sensors, "sensor", nil, "only these sensors (repeat or comma-separate)")
	return cmd
}

func writeTopPorts(w io.Writer, format string, p period.Period, top int, ans []store.SensorPorts) error {
	if ok, err := writeData(w, format, api.NewTopPortsResponse(p, ans)); ok {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Top destination ports per sensor, %s (previous rank: %s)\n", p, p.Previous())
	head := []string{"RANK"}
	for _, s := range ans {
		head = append(head, s.Sensor)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i := range top {
		row := []string{"#" + strconv.Itoa(i+1)}
		any := false
		for _, s := range ans {
			cell := "-"
			if i < len(s.Ports) {
				rp := s.Ports[i]
				prev := "new"
				if rp.PreviousRank > 0 {
					prev = strconv.Itoa(rp.PreviousRank)
				}
				cell = fmt.Sprintf("%s (%s)", rp.Port, prev)
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
	for _, s := range ans {
		packets = append(packets, analyze.Thousands(s.Packets))
	}
	fmt.Fprintln(tw, strings.Join(packets, "\t"))
	return tw.Flush()
}
