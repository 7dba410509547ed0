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
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
)

// sensorRow is one sensor with its latest health, as `query sensors`
// prints it.
type sensorRow struct {
	Name        string        `json:"name"`
	Group       string        `json:"group"`
	Country     string        `json:"country,omitempty"`
	Addresses   []string      `json:"addresses"`
	FirstPacket *time.Time    `json:"first_packet,omitempty"`
	LastPacket  *time.Time    `json:"last_packet,omitempty"`
	Health      *store.Health `json:"health,omitempty"` // absent for a sensor that never connected
}

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
			st, err := duckdb.Open(cmd.Context(), db, duckdb.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			sensors, err := st.Sensors(cmd.Context())
			if err != nil {
				return err
			}
			health, err := st.Health(cmd.Context())
			if err != nil {
				return err
			}
			byID := map[int32]*store.Health{}
			for i := range health {
				byID[health[i].SensorID] = &health[i]
			}
			rows := make([]sensorRow, len(sensors))
			for i, s := range sensors {
				rows[i] = sensorRow{Name: s.Name, Group: s.Group, Country: s.Country, Addresses: s.Addresses, Health: byID[s.ID]}
				if !s.FirstSeen.IsZero() {
					rows[i].FirstPacket, rows[i].LastPacket = &s.FirstSeen, &s.LastSeen
				}
			}
			return writeSensors(cmd.OutOrStdout(), format, rows, time.Now())
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database `PATH`")
	cmd.Flags().StringVar(&format, "format", "table", "output format: "+strings.Join(analyze.Formats, ", "))
	return cmd
}

func writeSensors(w io.Writer, format string, rows []sensorRow, now time.Time) error {
	header := []string{"sensor", "group", "country", "addresses", "last_report", "version", "uptime", "lag",
		"packets_seen", "ignored", "excluded", "undecodable", "kernel_drops", "spool_batches", "dropped_records"}
	cells := func(r sensorRow, ago bool) []string {
		out := []string{r.Name, r.Group, r.Country, strings.Join(r.Addresses, " ")}
		h := r.Health
		if h == nil {
			return append(out, "never", "", "", "", "", "", "", "", "", "", "")
		}
		last := rfc(h.Received)
		if ago {
			last = now.Sub(h.Received).Round(time.Second).String() + " ago"
		}
		return append(out, last, h.Version, h.Uptime.Round(time.Second).String(), h.Lag.Round(time.Millisecond).String(),
			u64(h.PacketsSeen), u64(h.PacketsIgnored), u64(h.PacketsExcluded), u64(h.PacketsSkipped),
			u64(h.KernelDrops), u64(h.SpoolBatches), u64(h.DroppedRecords))
	}
	switch format {
	case "json":
		return writeJSON(w, struct {
			Sensors []sensorRow `json:"sensors"`
		}{rows})
	case "csv":
		out := make([][]string, len(rows))
		for i, r := range rows {
			out[i] = cells(r, false)
		}
		return writeCSV(w, header, out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(cells(r, true), "\t"))
	}
	return tw.Flush()
}
