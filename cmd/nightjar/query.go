package main

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// periodOptions are the flags that choose a period.
type periodOptions struct{ period, from, to string }

func (o *periodOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.period, "period", "", "period: "+period.Syntax)
	f.StringVar(&o.from, "from", "", "start of a custom period: a date (2024-07-01) or an RFC 3339 time")
	f.StringVar(&o.to, "to", "", "end of a custom period: a date (inclusive) or an RFC 3339 time (exclusive)")
}

// resolve reads the period of the flags; it must lie within the years the
// store answers about (a period before 1970 would silently count nothing).
func (o *periodOptions) resolve() (period.Period, error) {
	p, err := o.parse()
	if err != nil {
		return p, err
	}
	if err := p.CheckBounds(); err != nil {
		return period.Period{}, err
	}
	return p, nil
}

func (o *periodOptions) parse() (period.Period, error) {
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
                   sensors reached, tags, first and last seen, country, network
  origins          the top countries or networks (ASes) of the sources, per
                   sensor, group or fleet, with the previous rank and change
  origin-ports     the ports the sources of one country, network, prefix or
                   scanner list probed, by distinct sources
  port-sources     the top N ports with their distinct sources and the share
                   of their packets tagged mirai
  tags             packets per fingerprint tag, for the fleet and per sensor
  devices          the device models behind the sources (from imported or probed
                   banners): sources, packets, firmware, ports, countries
  sensors          every sensor with its latest health report (no period)`,
	}
	cmd.AddCommand(newTopPortsCommand(), newGroupTopPortsCommand(), newGroupAveragesCommand(),
		newPortSeriesCommand(), newTopSourcesCommand(), newOriginsCommand(), newOriginPortsCommand(), newPortSourcesCommand(),
		newTagsCommand(), newDevicesQueryCommand(), newSensorsQueryCommand())
	return cmd
}
