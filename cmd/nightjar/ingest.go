package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// ingestBatch is the number of records handed to the store at once.
const ingestBatch = 1 << 18

// maxTaggerSources bounds the unicornscan rule's per-source state.
const maxTaggerSources = 1 << 22

func newIngestCommand() *cobra.Command {
	var (
		db, sensors, retention string
		quiet                  bool
	)
	cmd := &cobra.Command{
		Use:   "ingest --db PATH [--sensors FILE] FILE...",
		Short: "Import captures into the embedded database",
		Long: `Decodes and fingerprints captures (pcap or pcapng, gzip or zstd compressed)
and stores their packets in the embedded DuckDB database at --db (created if
missing), attributed to the sensors whose addresses they were sent to.

--sensors FILE (the YAML that "analyze --sensors" reads) adds or updates the
sensors in the database; later imports can omit it and use the stored ones.
Packets to no sensor's address are counted and not stored.

Each file is identified by the SHA-256 of its bytes: importing the same
capture twice is refused with a note, so nothing is counted twice. A
corrupt or truncated file keeps the packets read before the damage and
makes the exit status 1.

Raw packet records are kept for the database's retention before the newest
stored packet: 90 days for a new database; --retention changes it, and the
database remembers it for later imports. The clock is the data's, not the
wall clock's, so importing
old captures works. After each file, the raw records of the days before
that horizon are deleted; the hourly and daily rollups the questions read
are kept forever. Packets of a day whose raw records were already deleted
cannot be merged exactly into its final rollups: they are counted and not
stored. Older days that had no packets are imported as usual.`,
		Example: `  nightjar ingest --db telescope.duckdb --sensors fleet.yaml day1.pcap.zst day2.pcap.zst
  nightjar ingest --db telescope.duckdb day3.pcap.zst`,
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
			return runIngest(cmd, db, sensors, args, quiet, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&retention, "retention", "", "set the database's raw-record retention to `DURATION` (e.g. 90d, 36h; 0 keeps them forever; default: the database's, 90d when new); rollups are kept forever")
	f.StringVar(&db, "db", "", "database `PATH` (a DuckDB file)")
	f.StringVar(&sensors, "sensors", "", "YAML `FILE` of sensors to add or update before importing")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line on standard error")
	return cmd
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

func runIngest(cmd *cobra.Command, dbPath, sensorsFile string, files []string, quiet bool, opts backend.Options) error {
	ctx := cmd.Context()
	out, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, f := range files {
		if f == "-" {
			return errors.New(`ingest reads files, not standard input ("-"): it hashes each capture to refuse duplicates; save the capture to a file first`)
		}
	}
	st, err := backend.Open(ctx, dbPath, opts)
	if err != nil {
		return err
	}
	defer st.Close()

	// An ingest interrupted after storing a file (with its import) may not
	// have rolled it up: Sync does, before anything can skip the file.
	if err := st.Sync(ctx); err != nil {
		return err
	}
	fl, ids, err := ingestFleet(ctx, st, sensorsFile)
	if err != nil {
		return err
	}
	in := &ingester{store: st, matcher: fleet.NewMatcher(fl), ids: ids, tagger: fingerprint.NewTagger(maxTaggerSources)}
	var progress *progressLine
	if !quiet {
		progress = newProgressLine(stderr, len(files))
	}
	failed := 0
	for _, path := range files {
		progress.nextFile(0)
		res, err := in.file(ctx, path, progress)
		progress.done()
		switch {
		case errors.Is(err, errAlreadyImported):
			fmt.Fprintf(out, "%s: already imported on %s (%s packets); skipped\n", path, res.prev.Imported.Format(time.DateTime), analyze.Thousands(res.prev.Packets))
			continue
		case err != nil && res.frames == 0:
			fmt.Fprintf(stderr, "nightjar: %v\n", err)
			failed++
			continue
		case err != nil:
			fmt.Fprintf(stderr, "nightjar: %v (the %s packets before it are stored)\n", err, analyze.Thousands(res.packets))
			failed++
		}
		rate := float64(res.frames) / res.elapsed.Seconds()
		pruned := ""
		if res.pruned > 0 {
			pruned = fmt.Sprintf(", %s of days whose raw records were pruned (before %s)", analyze.Thousands(res.pruned), res.horizon.Format(time.DateOnly))
		}
		fmt.Fprintf(out, "%s: %s packets stored from %s frames (%s skipped, %s to no sensor's address%s) in %.1fs, %s frames/s\n",
			path, analyze.Thousands(res.packets), analyze.Thousands(res.frames), analyze.Thousands(res.skipped),
			analyze.Thousands(res.unmatched), pruned, res.elapsed.Seconds(), analyze.Thousands(uint64(rate)))
	}
	if failed > 0 {
		return &analyzeError{fmt.Sprintf("%d of %d capture file(s) could not be imported to the end", failed, len(files))}
	}
	return nil
}

// ingestFleet stores the sensors of sensorsFile, if given, and returns the
// fleet to match destinations against with the store IDs of its sensors.
func ingestFleet(ctx context.Context, st store.Store, sensorsFile string) (*fleet.Fleet, []int32, error) {
	if sensorsFile != "" {
		fl, err := fleet.Load(sensorsFile)
		if err != nil {
			return nil, nil, err
		}
		ids, err := st.PutSensors(ctx, fl.Sensors)
		if err != nil {
			return nil, nil, err
		}
		return fl, ids, nil
	}
	stored, err := st.Sensors(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(stored) == 0 {
		return nil, nil, errors.New("the database has no sensors yet: give --sensors FILE")
	}
	fl := &fleet.Fleet{}
	ids := make([]int32, len(stored))
	for i, s := range stored {
		fl.Sensors = append(fl.Sensors, s.Sensor)
		ids[i] = s.ID
	}
	if err := fl.Validate(); err != nil {
		return nil, nil, fmt.Errorf("stored sensors: %w", err)
	}
	return fl, ids, nil
}

var errAlreadyImported = errors.New("already imported")

type ingester struct {
	store   store.Store
	matcher *fleet.Matcher
	ids     []int32
	tagger  *fingerprint.Tagger
	recs    []record.Record
	sensors []int32
}

type ingestResult struct {
	frames, packets, skipped, unmatched uint64
	pruned                              uint64 // of days whose raw records were pruned
	horizon                             time.Time
	elapsed                             time.Duration
	prev                                store.Import
}

func (in *ingester) file(ctx context.Context, path string, progress *progressLine) (ingestResult, error) {
	var res ingestResult
	start := time.Now()
	key, err := fileKey(path)
	if err != nil {
		return res, err
	}
	if prev, ok, err := in.store.Imported(ctx, key); err != nil {
		return res, err
	} else if ok {
		res.prev = prev
		return res, errAlreadyImported
	}
	r, err := capfile.Open(path)
	if err != nil {
		return res, err
	}
	defer r.Close()
	var (
		p       capfile.Packet
		readErr error
	)
	for {
		if readErr = r.Next(&p); readErr != nil {
			break
		}
		res.frames++
		in.recs = append(in.recs, record.Record{})
		rec := &in.recs[len(in.recs)-1]
		if decode.Decode(decode.LinkType(p.LinkType), p.Data, rec) != decode.OK {
			in.recs = in.recs[:len(in.recs)-1]
			res.skipped++
			continue
		}
		rec.Time = p.Time
		si := -1
		if rec.Dst.Is4() {
			si = in.matcher.Lookup4(rec.Dst.Uint32())
		} else {
			si = in.matcher.Lookup(rec.Dst.Netip())
		}
		if si < 0 {
			in.recs = in.recs[:len(in.recs)-1]
			res.unmatched++
			continue
		}
		in.tagger.Tag(rec)
		in.sensors = append(in.sensors, in.ids[si])
		res.packets++
		if len(in.recs) == ingestBatch {
			if err := in.flush(ctx, &res); err != nil {
				return res, err
			}
			if progress != nil {
				done, total := r.Progress()
				progress.update(path, done, total, res.frames)
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
	}
	if err := in.flush(ctx, &res); err != nil {
		return res, err
	}
	if errors.Is(readErr, io.EOF) {
		readErr = nil
	}
	// The import is committed in one Flush with the file's records: after
	// a crash either both are stored or neither is, so importing the file
	// again never counts it twice. A damaged file is recorded too:
	// importing it again would count the packets before the damage twice.
	imp := store.Import{Key: key, Path: path, Frames: res.frames, Packets: res.packets, Imported: time.Now().UTC()}
	if err := in.store.Flush(ctx, imp); err != nil {
		return res, err
	}
	if err := in.store.Sync(ctx); err != nil {
		return res, err
	}
	res.elapsed = time.Since(start)
	return res, readErr
}

// flush appends the batch. When the store refuses it because records fall
// on days whose raw records were pruned, it drops (and counts) the records
// before the retention horizon and appends the rest.
func (in *ingester) flush(ctx context.Context, res *ingestResult) error {
	err := in.store.Append(ctx, in.recs, in.sensors)
	if h, ok := in.store.(store.Horizoner); ok && errors.Is(err, store.ErrPruned) {
		horizon := h.PrunedBefore().UnixNano()
		n := 0
		for i := range in.recs {
			if in.recs[i].Time >= horizon {
				in.recs[n], in.sensors[n] = in.recs[i], in.sensors[i]
				n++
			}
		}
		res.pruned += uint64(len(in.recs) - n)
		res.packets -= uint64(len(in.recs) - n)
		res.horizon = h.PrunedBefore()
		err = in.store.Append(ctx, in.recs[:n], in.sensors[:n])
	}
	if err != nil {
		return err
	}
	in.recs, in.sensors = in.recs[:0], in.sensors[:0]
	return nil
}

// fileKey identifies a capture by the SHA-256 of its bytes.
func fileKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
