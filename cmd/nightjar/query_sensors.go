package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/api"
)

func newSensorsQueryCommand() *cobra.Command {
	var db, format string
	cmd := &cobra.Command{
		Use:   "sensors --db PATH [--format table|json|csv]",
		Short: "Sensors with their latest health: last seen, lag, drops, spool backlog, version",
		Long: `Lists every sensor in the database with its group, country and addresses,
the times of its first and last stored packets, and the latest health report
the collector received from it: when, the sensor's version and uptime,
packets seen, ignored (not to a monitored address), excluded and undecodable,
kernel drops, batches waiting in its spool, batches and records dropped
because the spool was full, and its lag (age of its oldest unacknowledged
batch). Sensors only imported from captures have no health.`,
		Example: `  nightjar query sensors --db telescope.duckdb
  nightjar query sensors --db telescope.duckdb --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return errors.New("--db PATH is required")
			}
			if !slices.Contains(analyze.Formats, format) {
				return fmt.Errorf("unknown --format %q (want one of %s)", format, strings.Join(analyze.Formats, ", "))
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			resp, err := api.AskSensors(cmd.Context(), st)
			if err != nil {
				return err
			}
			return writeSensors(cmd.OutOrStdout(), format, resp, time.Now())
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database `PATH`")
	cmd.Flags().StringVar(&format, "format", "table", "output format: "+strings.Join(analyze.Formats, ", "))
	return cmd
}

func writeSensors(w io.Writer, format string, resp api.SensorsResponse, now time.Time) error {
	if ok, err := writeData(w, format, resp); ok {
		return err
	}
	if len(resp.Sensors) == 0 {
		_, err := fmt.Fprintln(w, "no sensors yet: nightjar ingest --sensors FILE stores those of a fleet file, the collector those that connect")
		return err
	}
	header, _ := resp.CSV()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
	for _, s := range resp.Sensors {
		fmt.Fprintln(tw, strings.Join(s.Cells(now), "\t"))
	}
	return tw.Flush()
}
