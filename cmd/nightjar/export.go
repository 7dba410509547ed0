package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

func newExportCommand() *cobra.Command {
	var (
		db, format, out string
		per             periodOptions
	)
	cmd := &cobra.Command{
		Use:   "export --db PATH --format parquet|csv (--period P | --from D --to D) --out DIR",
		Short: "Export the stored packets of a period as Parquet or CSV",
		Long: `Writes the raw packet records of a period from the embedded database at --db
into --out DIR (created if missing; it must be empty), partitioned by month
the Hive way: DIR/month=2024-07/packets_0.parquet. The DuckDB CLI, pandas
(pyarrow) and Spark read the directory as one table with a "month" column:

  duckdb -c "SELECT * FROM read_parquet('DIR/**/*.parquet', hive_partitioning=true)"
  pandas.read_parquet("DIR")
  spark.read.parquet("DIR")

CSV files have a header row. Columns: time (TIMESTAMP, UTC, microseconds),
time_ns (nanoseconds since 1970), sensor, sensor_group, ip_version, src and
dst (text: IPv4 dotted, IPv6 in RFC 5952 form), protocol (name) and proto
(number), src_port, dst_port, port (report label: 23/TCP, 53/UDP, ICMP),
tcp_flags (number) and tcp_flag_names (FSRPAUEC letters), seq, ack, window,
ip_id, ttl, ip_len, tcp_options (layout: mss,nop,ws,sok,ts), fragment, tags
(comma-separated: mirai,zmap).

Raw records are kept for the retention set at ingest (default 90 days
before the newest packet); a period that starts before the retention
horizon exports the packets since it, with a warning.`,
		Example: `  nightjar export --db telescope.duckdb --format parquet --period 2024Q3 --out q3
  nightjar export --db telescope.duckdb --format csv --from 2024-07-01 --to 2024-07-07 --out week27`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			if db == "" {
				return errors.New("--db PATH is required")
			}
			if out == "" {
				return errors.New("--out DIR is required")
			}
			f, err := store.ParseExportFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			p, err := per.resolve()
			if err != nil {
				return err
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			start := time.Now()
			res, err := st.Export(cmd.Context(), store.ExportQuery{Period: p, Format: f, Dir: out})
			if err != nil {
				return err
			}
			if !res.PrunedBefore.IsZero() {
				fmt.Fprintf(cmd.ErrOrStderr(), "nightjar: warning: raw records before %s were pruned (retention): the export starts there\n",
					res.PrunedBefore.Format(time.DateOnly))
			}
			months := "no months"
			if len(res.Months) > 0 {
				months = "months " + strings.Join(res.Months, ", ")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s packets of %s to %s (%s, %s) in %.1fs\n",
				analyze.Thousands(res.Rows), p, out, f, months, time.Since(start).Seconds())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "database `PATH`")
	fl.StringVar(&format, "format", "parquet", "file format: parquet or csv")
	fl.StringVarP(&out, "out", "o", "", "output `DIR`: created if missing, must be empty")
	per.addFlags(fl)
	return cmd
}
