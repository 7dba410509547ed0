package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

func newAlertsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts COMMAND",
		Short: "Unusual change: list, acknowledge, resolve and silence alerts, and backtest the detectors",
		Long: `Alerts are what Nightjar's detectors noticed: a port far above its usual
level at a sensor, a group or the whole fleet; a new port campaign; a change
at one sensor or one group that the others do not show; a port entering the
top; the mirai tag spreading to a new port; a backscatter burst (a DoS
victim); a surge of sources from one country or network, and a device model
new to the telescope (both once a day); a sensor gone silent, dropping
packets or with a growing spool. The collector and the demo run the
detectors live, serve when given an alerts file (their alerts_file
setting); these commands work on the database.

  list       the alerts, newest first, with filters
  ack        acknowledge an alert: someone is on it
  resolve    resolve an alert by hand
  silence    mute the notifications of a scope for a while
  silences   the silences in force
  unsilence  remove a silence
  backtest   run the detectors over a past period: what would have fired, when
  evaluate   score a backtest against the events a simulation injected

An alert lasts while its change does: it is updated each hour, resolved
after some hours without it, re-opened if it comes back within a day.`,
	}
	cmd.AddCommand(newAlertsListCommand(), newAlertsStateCommand(g, "ack"), newAlertsStateCommand(g, "resolve"),
		newAlertsSilenceCommand(g), newAlertsSilencesCommand(g), newAlertsUnsilenceCommand(), newAlertsBacktestCommand(g), newAlertsEvaluateCommand())
	return cmd
}

// loadAlertsConfig reads an alerts file (alerts.LoadFile), the defaults
// when path is "".
func loadAlertsConfig(path string) (alerts.File, error) {
	if path == "" {
		f := alerts.DefaultFile()
		return f, f.Alerts.Validate()
	}
	return alerts.LoadFile(path)
}

func newAlertsListCommand() *cobra.Command {
	var (
		db, detector, scope string
		states              []string
		since, until        string
		limit               int
		asJSON              bool
	)
	cmd := &cobra.Command{
		Use:   "list --db PATH [--state S]... [--detector D] [--scope K=V,...] [--since T] [--until T]",
		Short: "List the alerts, newest first",
		Long: `Lists the stored alerts, newest start first: ID, state, severity, detector,
scope, start and last seen (UTC hours), and the summary. --scope narrows to
the alerts whose scope holds the given keys (sensor, group, port, tag,
country, asn, device), --since and --until to those seen in that time.`,
		Example: `  nightjar alerts list --db telescope.duckdb --state open
  nightjar alerts list --db telescope.duckdb --scope sensor=tokyo-1 --since 2024-07-01
  nightjar alerts list --db telescope.duckdb --detector local-change --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := store.AlertQuery{Detector: detector, Limit: limit}
			var err error
			if q.Scope, err = store.ParseScope(scope); err != nil {
				return fmt.Errorf("--scope: %w", err)
			}
			if detector != "" && !contains(alerts.Detectors, detector) {
				return fmt.Errorf("--detector %q: unknown (want one of %s)", detector, strings.Join(alerts.Detectors, ", "))
			}
			for _, s := range states {
				st, err := store.ParseAlertState(s)
				if err != nil {
					return fmt.Errorf("--state: %w", err)
				}
				q.States = append(q.States, st)
			}
			if q.Since, err = parseInstant("--since", since); err != nil {
				return err
			}
			if q.Until, err = parseInstant("--until", until); err != nil {
				return err
			}
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			found, err := st.Alerts(cmd.Context(), q)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), nonNil(found))
			}
			if len(found) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "no alerts match")
				return err
			}
			return writeAlerts(cmd.OutOrStdout(), found)
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringArrayVar(&states, "state", nil, "only alerts in this `STATE` (open, acknowledged, resolved; repeatable)")
	f.StringVar(&detector, "detector", "", "only this detector's alerts ("+strings.Join(alerts.Detectors, ", ")+")")
	f.StringVar(&scope, "scope", "", "only alerts whose scope holds these `KEY=VALUE,...` (sensor, group, port, tag, country, asn, device)")
	f.StringVar(&since, "since", "", "only alerts seen at or after `T` (a date or an RFC 3339 time)")
	f.StringVar(&until, "until", "", "only alerts that started before `T`")
	f.IntVar(&limit, "limit", 0, "at most `N` alerts (0: all)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseInstant reads a date (midnight UTC) or an RFC 3339 time; "" is the
// zero Time.
func parseInstant(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a date (2024-07-01) or an RFC 3339 time (2024-07-01T13:00:00Z)", flag, s)
	}
	return t.UTC(), nil
}

const hourLayout = "2006-01-02 15:04"

// writeAlerts prints alerts as a table.
func writeAlerts(w io.Writer, list []store.Alert) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSEVERITY\tDETECTOR\tSCOPE\tSTART\tLAST SEEN\tSUMMARY")
	for _, a := range list {
		sev := string(a.Severity)
		if a.Research {
			sev += " (research)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.State, sev, a.Detector, a.Scope,
			a.Start.UTC().Format(hourLayout), a.LastSeen.UTC().Format(hourLayout), a.Summary)
	}
	return tw.Flush()
}

// who is the person a command acts for: --by, or the login name.
func who(by string) (string, error) {
	if by != "" {
		return by, nil
	}
	for _, v := range []string{"USER", "LOGNAME"} {
		if u := os.Getenv(v); u != "" {
			return u, nil
		}
	}
	return "", errors.New("--by NAME is required (no USER in the environment)")
}

func newAlertsStateCommand(g *globalOptions, verb string) *cobra.Command {
	var db, by, note, file string
	short := map[string]string{"ack": "Acknowledge an alert: someone is on it", "resolve": "Resolve an alert by hand"}[verb]
	cmd := &cobra.Command{
		Use:   verb + " ID --db PATH [--by NAME] [--note TEXT]",
		Short: short,
		Long: short + `. The alert's receivers (those of --config) are told, as they
are of the detectors' changes, unless a silence mutes the alert. A resolved
alert whose change comes back is re-opened.`,
		Example: "  nightjar alerts " + verb + " 42 --db telescope.duckdb --note \"a research scan, mailed the owner\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("alert", args[0], "nightjar alerts list")
			if err != nil {
				return err
			}
			if by, err = who(by); err != nil {
				return err
			}
			cfg, err := loadAlertsConfig(file)
			if err != nil {
				return err
			}
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			life := alerts.NewLifecycle(st, &cfg.Alerts, cfg.ReceiverNames())
			change := life.Acknowledge
			if verb == "resolve" {
				change = life.Resolve
			}
			a, err := change(cmd.Context(), id, by, note, g.now().UTC())
			if errors.Is(err, store.ErrUnknownAlert) {
				return fmt.Errorf("%w (nightjar alerts list --db %s shows the alerts)", err, db)
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "alert %d (%s) is %s, by %s\n", a.ID, a.Key(), a.State, a.By)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringVar(&by, "by", "", "who you are (default: the login name)")
	f.StringVar(&note, "note", "", "why, for the others")
	f.StringVar(&file, "config", "", "alerts `FILE` (the receivers to tell); default: none")
	return cmd
}

func newAlertsSilenceCommand(g *globalOptions) *cobra.Command {
	var (
		db, scope, detector, by, comment, until string
		forDur                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "silence --db PATH --scope K=V,... [--detector D] (--for DURATION | --until T) --comment TEXT",
		Short: "Mute the notifications of the alerts of a scope for a while",
		Long: `Mutes the notifications of the alerts whose scope holds --scope (and of
--detector, or of every detector) from now until --until or for --for. The
alerts are still detected, stored and shown; only their receivers are not
told. --scope fleet mutes everything.`,
		Example: `  nightjar alerts silence --db telescope.duckdb --scope sensor=tokyo-1 --for 4h --comment "maintenance"
  nightjar alerts silence --db telescope.duckdb --scope port=23/TCP --detector port-surge --until 2024-08-01 --comment "known botnet"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scope == "" {
				return errors.New("--scope is required (fleet to mute everything)")
			}
			sc, err := store.ParseScope(scope)
			if err != nil {
				return fmt.Errorf("--scope: %w", err)
			}
			if detector != "" && !contains(alerts.Detectors, detector) {
				return fmt.Errorf("--detector %q: unknown (want one of %s)", detector, strings.Join(alerts.Detectors, ", "))
			}
			if comment == "" {
				return errors.New("--comment is required: say why, for the others")
			}
			now := g.now().UTC()
			end, err := parseInstant("--until", until)
			switch {
			case err != nil:
				return err
			case (forDur != 0) == !end.IsZero():
				return errors.New("give --for DURATION or --until T (one of them)")
			case forDur < 0:
				return fmt.Errorf("--for %s is negative", forDur)
			case forDur > 0:
				end = now.Add(forDur)
			case !end.After(now):
				return fmt.Errorf("--until %s is not in the future", end.Format(time.RFC3339))
			}
			if by, err = who(by); err != nil {
				return err
			}
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := st.PutSilence(cmd.Context(), store.Silence{Detector: detector, Scope: sc, Start: now, End: end, By: by, Comment: comment, Created: now})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "silence %d mutes %s of %s until %s\n", id, orAll(detector), sc, end.Format(time.RFC3339))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringVar(&scope, "scope", "", "the scope muted: `KEY=VALUE,...` (sensor, group, port, tag, country, asn, device) or fleet")
	f.StringVar(&detector, "detector", "", "only this detector's alerts (default: every detector)")
	f.DurationVar(&forDur, "for", 0, "how long, from now (4h, 30m)")
	f.StringVar(&until, "until", "", "until `T` (a date or an RFC 3339 time)")
	f.StringVar(&by, "by", "", "who you are (default: the login name)")
	f.StringVar(&comment, "comment", "", "why (required)")
	return cmd
}

func orAll(detector string) string {
	if detector == "" {
		return "every detector's alerts"
	}
	return detector + " alerts"
}

func newAlertsSilencesCommand(g *globalOptions) *cobra.Command {
	var db string
	var all bool
	cmd := &cobra.Command{
		Use:   "silences --db PATH [--all]",
		Short: "List the silences in force (or all of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			at := g.now().UTC()
			if all {
				at = time.Time{}
			}
			list, err := st.Silences(cmd.Context(), at)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "no silences")
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSCOPE\tDETECTOR\tSTART\tEND\tBY\tCOMMENT")
			for _, s := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Scope, orAll(s.Detector), s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339), s.By, s.Comment)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database `PATH`")
	cmd.Flags().BoolVar(&all, "all", false, "also the silences that ended")
	return cmd
}

func newAlertsUnsilenceCommand() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "unsilence ID --db PATH",
		Short: "Remove a silence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("silence", args[0], "nightjar alerts silences")
			if err != nil {
				return err
			}
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DeleteSilence(cmd.Context(), id); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "silence %d removed\n", id)
			return err
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database `PATH`")
	return cmd
}

func newAlertsBacktestCommand(g *globalOptions) *cobra.Command {
	var (
		db, file string
		per      periodOptions
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "backtest --db PATH --period P [--config FILE] [--json]",
		Short: "Run the detectors over a past period: what would have fired, when",
		Long: `Runs the detectors over the whole hours of a past period as they run live,
with the thresholds of --config (the defaults without), and prints every
alert that would have been raised: when it started, when it was last seen,
its detector, scope, severity and summary. Nothing is written to the
database: a backtest is how to tune thresholds before using them. The
detectors need the weeks before the period for their baseline; the
health of sensors is not kept over time, so of the sensor detectors only
silences (from the packets) are found.`,
		Example: `  nightjar alerts backtest --db telescope.duckdb --period 2024Q3
  nightjar alerts backtest --db telescope.duckdb --from 2024-07-01 --to 2024-07-07 --config alerts.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := per.resolve()
			if err != nil {
				return err
			}
			cfg, err := loadAlertsConfig(file)
			if err != nil {
				return err
			}
			st, err := openDB(cmd, db)
			if err != nil {
				return err
			}
			defer st.Close()
			end, err := dataEnd(cmd.Context(), st, p.End)
			if err != nil {
				return err
			}
			if end.Before(p.End) {
				fmt.Fprintf(cmd.ErrOrStderr(), "the stored packets end at %s: backtesting up to there (the hours after it are not silent, they are not stored yet)\n", end.Format(time.RFC3339))
			}
			if !p.Start.Before(end) {
				return fmt.Errorf("no packets stored in %s (they end at %s)", p, end.Format(time.RFC3339))
			}
			bar := newProgressLine(cmd.ErrOrStderr(), 1).counting("hours")
			found, err := alerts.Backtest(cmd.Context(), cfg.Alerts, st, alerts.Research(st), p.Start, end, func(done, total int) {
				bar.update("backtest "+p.String(), int64(done), int64(total), uint64(done))
			})
			bar.done()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), nonNil(found))
			}
			if len(found) == 0 {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "no alerts would have fired in %s\n", p)
				return err
			}
			return writeAlerts(cmd.OutOrStdout(), found)
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	per.addFlags(f)
	f.StringVar(&file, "config", "", "alerts `FILE` with the thresholds to try (default: the defaults)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// expectedOf turns the simulator's truth of its injected events into the
// events the detectors should find.
func expectedOf(t simulate.EventsTruth) ([]alerts.Expected, [][2]time.Time) {
	var out []alerts.Expected
	for _, e := range t.Events {
		x := alerts.Expected{Kind: string(e.Kind), Start: e.Start, End: e.End, Port: e.Port, Group: e.Group}
		switch e.Kind {
		case simulate.EventPortCampaign:
			x.Sensor, x.Group = e.Sensors[0], ""
		case simulate.EventSensorOutage:
			x.Sensor, x.Group, x.Detector = e.Sensors[0], "", alerts.DetectSensorSilent
		case simulate.EventBackscatterBurst:
			x.Port, x.Tag = "", "backscatter"
		case simulate.EventResearchScan:
			x.Research = true
		}
		out = append(out, x)
	}
	var quiet [][2]time.Time
	for _, w := range t.QuietWeeks {
		quiet = append(quiet, [2]time.Time{w.Start, w.End})
	}
	return out, quiet
}

func newAlertsEvaluateCommand() *cobra.Command {
	var truthFile string
	var sensors int
	var from, until string
	cmd := &cobra.Command{
		Use:   "evaluate --truth EVENTS-TRUTH.json ALERTS.json",
		Short: "Score a backtest's alerts against the events a simulation injected",
		Long: `Reads the alerts of "nightjar alerts backtest --json" and the ground truth
that "nightjar simulate --events/--alert-scenario" wrote (events-truth.json),
and prints per kind of event how many were found, found at their place (the
one sensor of a one-sensor event; not one sensor for a fleet-wide one),
labelled research, and the median time from an event's start to the end of
the hour of its first alert; then recall, precision, and the false alerts
per sensor-week on the weeks without events. --from and --until limit the
events to those of the period backtested.`,
		Example: `  nightjar simulate --out q.pcap.zst --alert-scenario --start 2024-07-01 --packets 10000000 --fleet-out fleet.yaml
  nightjar ingest --db q.duckdb --sensors fleet.yaml q.pcap.zst
  nightjar alerts backtest --db q.duckdb --from 2024-07-29 --to 2024-09-29 --json > alerts.json
  nightjar alerts evaluate --truth events-truth.json --from 2024-07-29 alerts.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var truth simulate.EventsTruth
			if err := readJSONFile(truthFile, &truth); err != nil {
				return fmt.Errorf("--truth: %w", err)
			}
			var found []store.Alert
			if err := readJSONFile(args[0], &found); err != nil {
				return err
			}
			lo, err := parseInstant("--from", from)
			if err != nil {
				return err
			}
			hi, err := parseInstant("--until", until)
			if err != nil {
				return err
			}
			events, quiet := expectedOf(truth)
			events = slices.DeleteFunc(events, func(e alerts.Expected) bool {
				return e.Start.Before(lo) || !hi.IsZero() && !e.End.Before(hi)
			})
			quiet = slices.DeleteFunc(quiet, func(q [2]time.Time) bool { return q[0].Before(lo) || !hi.IsZero() && q[1].After(hi) })
			if sensors == 0 {
				for _, e := range truth.Events {
					sensors = max(sensors, len(e.Sensors))
				}
			}
			return alerts.Evaluate(found, events, quiet, sensors).Write(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&truthFile, "truth", "", "the events' ground truth (`FILE`, events-truth.json)")
	cmd.Flags().IntVar(&sensors, "sensors", 0, "sensors in the fleet, for false alerts per sensor-week (default: the most an event reached)")
	cmd.Flags().StringVar(&from, "from", "", "only the events and quiet weeks from `T` (the backtest's start)")
	cmd.Flags().StringVar(&until, "until", "", "only those before `T`")
	cmd.MarkFlagRequired("truth")
	return cmd
}

// readJSONFile decodes a JSON file, naming it in errors.
func readJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// dataEnd is the end of the last whole hour of stored packets, if it is
// before end; end otherwise.
func dataEnd(ctx context.Context, st store.Store, end time.Time) (time.Time, error) {
	sensors, err := st.Sensors(ctx)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, s := range sensors {
		if s.LastSeen.After(last) {
			last = s.LastSeen
		}
	}
	if last.IsZero() {
		return time.Time{}, errors.New("the database has no packets")
	}
	if h := last.UTC().Truncate(time.Hour).Add(time.Hour); h.Before(end) {
		return h, nil
	}
	return end, nil
}

// openDB opens the --db of a command that only reads and writes alerts:
// it must exist.
func openDB(cmd *cobra.Command, db string) (store.Store, error) {
	if db == "" {
		return nil, errors.New("--db PATH is required")
	}
	return openExisting(cmd.Context(), db)
}

// parseID reads the ID of an alert or a silence; lister is the command
// that shows them.
func parseID(what, arg, lister string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s ID %q: want a positive number (%s shows them)", what, arg, lister)
	}
	return id, nil
}
