package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/ingest"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

func newIngestCommand() *cobra.Command {
	var (
		db, sensors, retention, memoryLimit string
		quiet, force                        bool
		enrichOpts                          enrichOptions
	)
	cmd := &cobra.Command{
		Use:   "ingest --db PATH [--sensors FILE] [--geoip FILE] [--scanner-list PATH] FILE...",
		Short: "Import captures into the embedded database",
		Long: `Decodes and fingerprints captures (pcap or pcapng, gzip or zstd compressed)
and stores their packets in the embedded DuckDB database at --db (created if
missing), attributed to the sensors whose addresses they were sent to.

--sensors FILE (the YAML that "analyze --sensors" reads) adds or updates the
sensors in the database; later imports can omit it and use the stored ones.
Packets to no sensor's address are counted and not stored.

Nothing is counted twice. Each file is identified by the SHA-256 of its
decompressed content: importing the same capture again, under another
name or compressed otherwise, is skipped with a note. A file whose packets
of a sensor overlap the period that sensor has from another import (a copy
cut short, or two captures of the same traffic) is refused, storing
nothing of it, and makes the exit status 1; --force imports it anyway,
with a warning. A corrupt or truncated file keeps the packets read before
the damage and makes the exit status 1.

Raw packet records are kept for the database's retention before the newest
stored packet: 90 days for a new database; --retention changes it, and the
database remembers it for later imports. The clock is the data's, not the
wall clock's, so importing
old captures works. After each file, the raw records of the days before
that horizon are deleted; the hourly and daily rollups the questions read
are kept forever. Packets of a day whose raw records were already deleted
cannot be merged exactly into its final rollups: they are counted and not
stored. Older days that had no packets are imported as usual. Packets
stamped before 1990, or whose pcap fraction of a second is a second or
more, are skipped and counted.

--geoip FILE (a GeoLite2/GeoIP2 Country, City or ASN .mmdb, DB-IP Lite or
IPinfo Lite; repeat for several) stores each source's country and network
(AS number and organisation) with its packets, as those databases say
today; --scanner-list PATH (MISP warninglists, your own lists of networks,
or a directory of them) labels the research scanners. Packets already
stored keep what was found when they were imported: a newer database
changes only the packets imported after it.`,
		Example: `  nightjar ingest --db telescope.duckdb --sensors fleet.yaml day1.pcap.zst day2.pcap.zst
  nightjar ingest --db telescope.duckdb day3.pcap.zst
  nightjar ingest --db telescope.duckdb --geoip GeoLite2-Country.mmdb --geoip GeoLite2-ASN.mmdb \
      --scanner-list scanner-lists/ day4.pcap.zst`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return errors.New("--db PATH is required")
			}
			if len(args) == 0 {
				return errors.New("no capture files given")
			}
			opts, err := storeOptions(cmd, retention)
			if err != nil {
				return err
			}
			opts.MemoryLimit = memoryLimit
			if !cmd.Flags().Changed("db-memory-limit") {
				opts.MemoryLimit = ingestMemoryLimit()
			}
			return runIngest(cmd, ingestOptions{db: db, sensors: sensors, quiet: quiet, force: force, store: opts, enrich: enrichOpts}, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&retention, "retention", "", "set the database's raw-record retention to `DURATION` (e.g. 90d, 36h; 0 keeps them forever; default: the database's, 90d when new); rollups are kept forever")
	f.StringVar(&db, "db", "", "database `PATH` (a DuckDB file)")
	f.StringVar(&sensors, "sensors", "", "YAML `FILE` of sensors to add or update before importing")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line on standard error")
	f.StringVar(&memoryLimit, "db-memory-limit", "", `bound DuckDB's own memory (e.g. "1GiB"; "" is DuckDB's default, 80 % of RAM); beyond it DuckDB spills to a temporary directory beside the database (default `+ingestMemoryLimit()+`: 256 MiB and 64 MiB per core)`)
	enrichOpts.addFlags(f)
	f.BoolVar(&force, "force", false, "import files whose packets overlap the period a sensor has from another import (warns instead of refusing)")
	return cmd
}

// ingestMemoryLimit is ingest's default DuckDB memory limit: 256 MiB and
// 64 MiB per core (one DuckDB thread each). Unbounded, DuckDB held 2.8 GiB
// for a 30 M-packet capture; with 384 MiB (2 cores) the whole process
// peaked at 0.8 GiB, as fast (BENCHMARKS.md, issue 11).
func ingestMemoryLimit() string { return fmt.Sprintf("%dMiB", 256+64*runtime.NumCPU()) }

// ingestOptions are the flags of nightjar ingest.
type ingestOptions struct {
	db, sensors  string
	quiet, force bool
	store        backend.Options
	enrich       enrichOptions
}

// storeOptions returns the store options of a command with a --retention
// flag: the retention is set only when the flag was given, so that an
// existing database keeps its own.
func storeOptions(cmd *cobra.Command, retention string) (backend.Options, error) {
	var opts backend.Options
	if cmd.Flags().Changed("retention") {
		keep, err := parseRetention(retention)
		if err != nil {
			return opts, err
		}
		opts.Retention = &keep
	}
	return opts, nil
}

// parseRetention parses a retention: days ("90d") or a Go duration
// ("36h"); "0" keeps raw records forever.
func parseRetention(s string) (time.Duration, error) {
	var (
		d   time.Duration
		err error
	)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		n, err = strconv.ParseFloat(days, 64)
		d = time.Duration(n * float64(24*time.Hour))
		if err == nil && (n > 100*365 || math.IsNaN(n)) {
			err = errors.New("too long")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--retention %q: want a positive number of days (90d) or a duration (36h), or 0 to keep raw records forever", s)
	}
	return d, nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func runIngest(cmd *cobra.Command, o ingestOptions, files []string) error {
	ctx := cmd.Context()
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, f := range files {
		if f == "-" {
			return errors.New(`ingest reads files, not standard input ("-"): it hashes each capture to refuse duplicates; save the capture to a file first`)
		}
		// A FIFO or a device (/dev/zero) cannot be read twice, once to
		// hash it and once to import it, and may never end.
		if fi, err := os.Stat(f); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("ingest reads regular files: %s is a %s; it hashes each capture to refuse duplicates (nightjar analyze reads streams)", f, fileKind(fi.Mode()))
		}
	}
	st, err := backend.Open(ctx, o.db, o.store)
	if err != nil {
		return interrupted(ctx, err, "opening the database "+o.db)
	}
	defer st.Close()

	// An ingest interrupted after storing a file (with its import) may not
	// have rolled it up: Sync does, before anything can skip the file.
	if err := st.Sync(ctx); err != nil {
		return interrupted(ctx, err, "rolling up the database "+o.db)
	}
	fl, ids, err := ingest.Fleet(ctx, st, o.sensors)
	if err != nil {
		doing := "reading the stored sensors"
		if o.sensors != "" {
			doing = "reading the sensors file " + o.sensors
		}
		return interrupted(ctx, err, doing)
	}
	enriched, err := o.enrich.open(ctx, nil)
	if err != nil {
		return err
	}
	defer enriched.close()
	if !o.quiet {
		fmt.Fprintf(stderr, "nightjar: %s\n", enriched.describe())
	}
	in, err := ingest.New(st, fl, ids, enriched.enrichers(0)...)
	if err != nil {
		return err
	}
	in.Force = o.force
	var progress *progressLine
	if !o.quiet {
		progress = newProgressLine(stderr, len(files))
	}
	var failed, refused int
	for _, path := range files {
		progress.nextFile(0)
		res, err := in.File(ctx, path, progress.update)
		progress.done()
		if err != nil && ctx.Err() != nil {
			return interrupted(ctx, err, "importing "+path)
		}
		var overlap *ingest.OverlapError
		switch {
		case errors.Is(err, ingest.ErrAlreadyImported):
			fmt.Fprintf(out, "%s: already imported on %s (%s packets); skipped\n", path, res.Previous.Imported.Format(time.DateTime), analyze.Thousands(res.Previous.Packets))
			continue
		case errors.As(err, &overlap):
			fmt.Fprintf(stderr, "nightjar: %v\n", err)
			refused++
			continue
		case errors.Is(err, ingest.ErrNotRolledUp):
			hint := "the next ingest builds them"
			if strings.Contains(err.Error(), "Out of Memory") {
				hint = fmt.Sprintf("DuckDB needed more memory than its limit (--db-memory-limit %s): run nightjar ingest with a larger one, which builds them", cmp.Or(o.store.MemoryLimit, "DuckDB's default"))
			}
			fmt.Fprintf(stderr, "nightjar: %s: %v; %s\n", path, err, hint)
			failed++
		case err != nil && res.Frames == 0:
			fmt.Fprintf(stderr, "nightjar: %v\n", err)
			failed++
			continue
		case err != nil:
			fmt.Fprintf(stderr, "nightjar: %v (the %s packets before it are stored)\n", err, analyze.Thousands(res.Packets))
			failed++
		}
		if len(res.Overlaps) > 0 {
			fmt.Fprintf(stderr, "nightjar: warning: %s: %s; imported anyway (--force)\n", path, res.Overlaps)
		}
		rate := 0.0
		if res.Elapsed > 0 {
			rate = float64(res.Frames) / res.Elapsed.Seconds()
		}
		pruned := ""
		if res.Pruned > 0 {
			pruned = fmt.Sprintf(", %s of days whose raw records were pruned (before %s)", analyze.Thousands(res.Pruned), res.Horizon.Format(time.DateOnly))
		}
		if res.BadTime > 0 {
			pruned += fmt.Sprintf(", %s with an impossible timestamp", analyze.Thousands(res.BadTime))
		}
		fmt.Fprintf(out, "%s: %s packets stored from %s frames (%s skipped, %s to no sensor's address%s) in %.1fs, %s frames/s\n",
			path, analyze.Thousands(res.Packets), analyze.Thousands(res.Frames), analyze.Thousands(res.Skipped),
			analyze.Thousands(res.Unmatched), pruned, res.Elapsed.Seconds(), analyze.Thousands(uint64(rate)))
	}
	var problems []string
	if failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d capture file(s) could not be imported to the end", failed, len(files)))
	}
	if err := enriched.errs(); err != nil {
		fmt.Fprintf(stderr, "nightjar: warning: %v\n", err)
	}
	if refused > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d capture file(s) refused: their packets overlap earlier imports; nothing of them is stored (--force imports them anyway)", refused, len(files)))
	}
	if len(problems) > 0 {
		return &analyzeError{strings.Join(problems, "; ")}
	}
	return nil
}

// interrupted returns err, or, once ctx has ended — SIGINT or SIGTERM,
// through main's signal.NotifyContext — an error saying what was
// interrupted, whatever error the cancellation surfaced as.
func interrupted(ctx context.Context, err error, doing string) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted while %s", doing)
	}
	return err
}
