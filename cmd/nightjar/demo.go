package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/attribution"
	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/ingest"
	"github.com/nightjar-telescope/nightjar/internal/lifecycle"
	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/sensor"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/web"
)

// demoConfig is the configuration of `nightjar demo`: its --config file,
// NIGHTJAR_DEMO_* variables and flags.
type demoConfig struct {
	// Data keeps the database, the CA and the sensors' spools between
	// runs ("": a temporary directory, removed at the end).
	Data string `yaml:"data"`
	// Listen is the address of the dashboard and the API.
	Listen string `yaml:"listen"`
	// Backfill is the packets of simulated history (90 days up to now)
	// stored on the first run.
	Backfill uint64 `yaml:"backfill"`
	// LiveRate is the live packets per second, over all sensors.
	LiveRate float64 `yaml:"live_rate"`
	// CollectorListen is the address of the collector's sensor protocol.
	CollectorListen string `yaml:"collector_listen"`
	// LogLevel is debug, info, warn or error.
	LogLevel logLevel `yaml:"log_level"`
	// HeavyQueries is the dashboard's (uiOptions.HeavyQueries).
	HeavyQueries int `yaml:"heavy_queries"`
	// AlertsFile configures the alert detectors and their receivers, as
	// the collector's ("" the defaults, "off" none).
	AlertsFile string `yaml:"alerts_file"`
	// LiveEvents injects the events of a YAML file (simulate --events's
	// format) into the live traffic; their times are on demoLiveDay.
	LiveEvents string `yaml:"live_events"`
}

func defaultDemoConfig() demoConfig {
	return demoConfig{Listen: "127.0.0.1:8080", Backfill: 2_000_000, LiveRate: 200, CollectorListen: "127.0.0.1:0", LogLevel: "info",
		HeavyQueries: defaultUIOptions().HeavyQueries}
}

func (c demoConfig) check() error {
	if !(c.LiveRate > 0) || c.Backfill == 0 {
		return errors.New("--live-rate and --backfill must be positive")
	}
	if c.HeavyQueries < 1 {
		return fmt.Errorf("--heavy-queries %d: at least 1", c.HeavyQueries)
	}
	if _, err := c.LogLevel.parse(); err != nil {
		return err
	}
	if c.AlertsFile != "off" {
		if _, err := loadAlertsConfig(c.AlertsFile); err != nil {
			return err
		}
	}
	if c.LiveEvents != "" {
		f, err := os.Open(c.LiveEvents)
		if err != nil {
			return fmt.Errorf("live_events: %w", err)
		}
		defer f.Close()
		if _, err := simulate.LoadEvents(f); err != nil {
			return fmt.Errorf("live_events %s: %w", c.LiveEvents, err)
		}
	}
	return web.CheckListen(c.Listen, false, false)
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	var (
		cfg demoConfig
		d   daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--listen ADDR] [--config FILE]",
		Short: "Run the whole system on this machine: a simulated fleet, the collector, the dashboard",
		Long: `Starts everything Nightjar is made of, on 127.0.0.1, with nothing to set up:

  - a certificate authority, and a client certificate for each of six
    simulated sensors (three in "Japan", three "overseas", each with its
    own addresses);
  - the embedded database, backfilled with the last 90 days of simulated
    darknet traffic (--backfill packets) on the first run;
  - the collector, receiving over mutual TLS;
  - six sensors streaming live simulated traffic (--live-rate packets per
    second in all) through the real sensor protocol: capture replay,
    decoding, fingerprints, batches, spool, mutual TLS, acknowledgements;
  - the dashboard and JSON API, at the URL it prints;
  - the alert detectors, looking every minute at what is stored, and the
    receivers of --alerts-file told of each alert;
  - a GeoIP/ASN database and a research-scanner list of the simulated
    Internet (written into the data directory), so that sources have
    countries, networks and labels.

Ctrl-C stops everything cleanly: the sensors send what they hold, the
collector commits it. --data DIR keeps the database, the CA and the
sensors' spools between runs (a temporary directory is used and removed
otherwise).

--live-events FILE injects labelled events into the live traffic (the YAML
of "nightjar simulate --events": a port campaign at one sensor, a surge, an
outage...): the live capture is a simulated day, 2000-01-01, replayed in a
loop at --live-rate, so give the events' times on that day; an event of the
whole day is under way all the time. The detectors notice it and the
receivers of --alerts-file are told.

--now INSTANT (or NIGHTJAR_NOW) runs the demo as if it were that instant:
the history ends there, the live traffic is stamped from there on, and the
dashboard's "today", "this month" and default periods follow. Try the first
minute of a month or a quarter, New Year or 29 February.

Settings come from the defaults, then --config FILE (YAML, the keys that
--dump prints), then NIGHTJAR_DEMO_<KEY> variables, then the flags given.`,
		Example: `  nightjar demo
  nightjar demo --data ~/nightjar-demo --listen 127.0.0.1:9000
  nightjar demo --now 2027-01-01T00:01:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			verify := func(cfg demoConfig) error {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: dashboard on %s, %s packets of history, %s live packets/s\n",
					cfg.Listen, analyze.Thousands(cfg.Backfill), analyze.Thousands(uint64(cfg.LiveRate)))
				return err
			}
			return runDaemon(cmd, &d, &cfg, defaultDemoConfig(), verify, func(cfg demoConfig) error {
				return runDemo(cmd.Context(), cfg, g.now, cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	}
	cfg = defaultDemoConfig()
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", "", "directory that keeps the demo's database, CA and spools between runs (default: a temporary one)")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the dashboard and API")
	f.IntVar(&cfg.HeavyQueries, "heavy-queries", cfg.HeavyQueries, "how many API requests of more than a quarter ask the database at once (`N`); the others wait their turn")
	f.Uint64Var(&cfg.Backfill, "backfill", cfg.Backfill, "packets of simulated history (90 days) stored on the first run")
	f.Float64Var(&cfg.LiveRate, "live-rate", cfg.LiveRate, "live packets per second, over all sensors")
	f.StringVar(&cfg.AlertsFile, "alerts-file", "", `alerts FILE: the detectors' thresholds and the receivers told of alerts (nightjar alerts --help); "off" runs no detector`)
	f.StringVar(&cfg.LiveEvents, "live-events", "", "inject the events of the YAML `FILE` (as simulate --events) into the live traffic; their times are on 2000-01-01, the live capture's simulated day")
	f.StringVar(&cfg.CollectorListen, "collector-listen", cfg.CollectorListen, "address of the collector's sensor protocol (mutual TLS)")
	addVerbose(f, &cfg.LogLevel)
	d.add(f, "demo")
	return cmd
}

// demoFleetDays is how much history the demo backfills.
const demoFleetDays = 90

// runDemo runs the demo on the clock now: the database and the CA, the
// backfill, the collector, the six sensors and the dashboard — started in
// that order, stopped in reverse.
func runDemo(ctx context.Context, cfg demoConfig, now clock.Clock, stdout, stderr io.Writer) error {
	dir := cfg.Data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "nightjar-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	logger, err := cfg.LogLevel.loggerTo(stderr)
	if err != nil {
		return err
	}
	fl := simulate.DefaultFleet()
	live := filepath.Join(dir, "live.pcap")
	if cfg.LiveEvents != "" {
		live = filepath.Join(dir, "live-events.pcap")
	}

	st := &storeComponent{location: filepath.Join(dir, "nightjar.duckdb")}
	reg := &registryComponent{}
	// The dashboard shows live traffic within seconds.
	enrich := &enrichComponent{opts: demoEnrichOptions(dir), log: logger.With("component", "enrich")}
	col := &collectorComponent{listen: cfg.CollectorListen, store: st, registry: reg, enrich: enrich, log: logger.With("component", "collector"),
		cfg: collector.Config{RollupInterval: 5 * time.Second, Now: now}}
	var collectorAddr string
	col.ready = func(a net.Addr) { collectorAddr = a.String() }
	sensors := &demoSensors{fleet: fl, dir: dir, collector: &collectorAddr, live: live, rate: cfg.LiveRate, now: now, log: logger}
	uiOpts := defaultUIOptions()
	uiOpts.Listen, uiOpts.now, uiOpts.HeavyQueries = cfg.Listen, now, cfg.HeavyQueries
	ui := &uiComponent{opts: uiOpts, store: st, registry: reg, log: logger.With("component", "web")}

	r := lifecycle.New(logger)
	r.Add("registry", lifecycle.Funcs{OnStart: func(context.Context) (err error) {
		reg.reg, err = demoRegistry(filepath.Join(dir, "registry"), fl, logger)
		return err
	}})
	r.Add("store", st)
	r.Add("origin databases", lifecycle.Funcs{OnStart: func(context.Context) error { return writeDemoOrigins(dir) }})
	r.Add("enrich", enrich)
	r.Add("backfill", lifecycle.Funcs{OnStart: func(ctx context.Context) error {
		return demoBackfill(ctx, st.st, fl, dir, cfg.Backfill, now(), enrich.e, stderr)
	}})
	r.Add("live capture", lifecycle.Funcs{OnStart: func(ctx context.Context) error { return demoLiveCapture(ctx, live, cfg.LiveEvents) }})
	r.Add("collector", col)
	r.Add("sensors", sensors)
	ui.alerts = &alertsComponent{file: cfg.AlertsFile, now: now, store: st, log: logger}
	r.Add("alerts", ui.alerts)
	r.Add("dashboard", ui)
	if err := r.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Nightjar demo: %d sensors streaming %s packets/s to the collector at %s\n", len(fl.Sensors), analyze.Thousands(uint64(cfg.LiveRate)), collectorAddr)
	fmt.Fprintf(stdout, "Data in %s\n", dir)
	fmt.Fprintf(stdout, "Dashboard: %s\n", ui.srv.url)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	err = r.Wait(ctx)
	fmt.Fprintln(stderr, "stopping: sensors send what they hold, the collector commits it")
	return errors.Join(err, r.Stop())
}

// demoEnrichOptions are the demo's GeoIP/ASN database and research-scanner
// list, which writeDemoOrigins writes: a newcomer sees countries, networks
// and research scanners without downloading anything.
func demoEnrichOptions(dir string) enrichOptions {
	return enrichOptions{
		GeoIP:        []string{filepath.Join(dir, "demo-geography.mmdb")},
		ScannerLists: []string{"demo-research=" + filepath.Join(dir, "demo-research-scanners.txt")},
	}
}

// writeDemoOrigins writes the simulated Internet's geography
// (simulate.Geography) as an .mmdb and its research networks as a
// scanner list, into the demo's directory.
func writeDemoOrigins(dir string) error {
	opts := demoEnrichOptions(dir)
	if err := origins.Write(opts.GeoIP[0], "Nightjar-Demo-Geography", simulate.Geography()); err != nil {
		return err
	}
	_, path, _ := strings.Cut(opts.ScannerLists[0], "=")
	return writeResearchList(path)
}

// writeResearchList writes the research networks of the simulated
// Internet (simulate.ResearchNetworks) as a scanner list.
func writeResearchList(path string) error {
	var list strings.Builder
	list.WriteString("# The research scanners of Nightjar's simulated Internet (nightjar demo and nightjar simulate --research-out write this file).\n")
	for _, p := range simulate.ResearchNetworks() {
		list.WriteString(p.String() + "\n")
	}
	return os.WriteFile(path, []byte(list.String()), 0o644)
}

// demoLiveDay is the simulated day of the live capture when events are
// injected into it (--live-events): the events' times are on it.
const demoLiveDay = "2000-01-01"

// demoLiveCapture writes the capture the sensors replay, unless a --data
// directory has it: a day of traffic, replayed in a loop at the live rate
// with the replay's clock — enough variety for hours of streaming. With
// events (a YAML file, as simulate --events) it is written anew, on
// demoLiveDay, with them.
func demoLiveCapture(ctx context.Context, path, events string) error {
	if _, err := os.Stat(path); err == nil && events == "" {
		return nil
	}
	so := defaultSimulateOptions()
	so.cfg.Packets, so.cfg.Seed, so.days = 200_000, 2, 1
	if events != "" {
		so.start, so.events, so.eventsTruth = demoLiveDay, events, path+".events-truth.json"
	}
	_, err := so.run(ctx, path, io.Discard, true)
	return err
}

// demoSensors are the six simulated sensors, streaming to the collector.
type demoSensors struct {
	fleet     *fleet.Fleet
	dir, live string
	collector *string // the collector's address, known once it listens
	rate      float64
	now       clock.Clock
	log       *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup
}

func (d *demoSensors) Start(ctx context.Context) error {
	// The sensors outlive ctx: Stop ends them, after which they have sent
	// what they hold.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stop = stop
	for _, s := range d.fleet.Sensors {
		cfg, err := demoSensorConfig(d.dir, s, *d.collector, d.live, d.rate)
		if err != nil {
			return errors.Join(err, d.Stop())
		}
		sn, err := sensor.New(cfg, sensor.Options{Logger: d.log.With("component", "sensor", "sensor", s.Name), Version: version, Now: d.now})
		if err != nil {
			return errors.Join(fmt.Errorf("sensor %s: %w", s.Name, err), d.Stop())
		}
		d.wg.Go(func() {
			if err := sn.Run(runCtx); err != nil {
				d.log.Error("sensor stopped", "sensor", s.Name, "err", err)
			}
		})
	}
	return nil
}

func (d *demoSensors) Stop() error {
	d.stop()
	d.wg.Wait()
	return nil
}

// demoRegistry opens the demo's CA, creating it on the first run, and
// enrolls every sensor of the fleet that has no usable certificate.
func demoRegistry(dir string, fl *fleet.Fleet, logger *slog.Logger) (*pki.Registry, error) {
	reg, err := pki.Open(dir)
	if err != nil {
		if reg, err = pki.Init(dir, pki.InitOptions{Hosts: []string{"127.0.0.1", "localhost"}}); err != nil {
			return nil, err
		}
		logger.Info("created the demo's certificate authority", "dir", dir)
	}
	enrolled := map[string]bool{}
	for _, s := range reg.Status() {
		enrolled[s.Sensor.Name] = s.Usable(time.Now()) > 0
	}
	for _, s := range fl.Sensors {
		if enrolled[s.Name] {
			continue
		}
		creds, err := reg.Enroll(s, 365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("enroll %s: %w", s.Name, err)
		}
		if err := creds.WriteDir(filepath.Join(filepath.Dir(dir), "sensors", s.Name)); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// demoBackfill stores the 90 days of simulated history up to now, unless
// the database has packets already (a --data directory of an earlier run).
// The backfill is the only import of a demo's database, so it never
// overlaps another one.
func demoBackfill(ctx context.Context, st store.Store, fl *fleet.Fleet, dir string, packets uint64, now time.Time, enriched *enrichment, stderr io.Writer) error {
	// A run stopped after storing its backfill, before rolling it up,
	// left the sensors without a last packet time until Sync: the backfill
	// of this run would then overlap that one, and be refused.
	if err := st.Sync(ctx); err != nil {
		return err
	}
	stored, err := st.Sensors(ctx)
	if err != nil {
		return err
	}
	for _, s := range stored {
		if !s.LastSeen.IsZero() {
			return nil
		}
	}
	ids, err := st.PutSensors(ctx, fl.Sensors)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "backfill.pcap")
	so := defaultSimulateOptions()
	// Up to this instant, not to midnight: on the first minute of a day,
	// month or quarter the dashboard has the history right before it.
	so.cfg.Packets, so.days, so.end = packets, demoFleetDays, now.UTC()
	// A banner scan of the simulated sources, so that the devices page
	// and report section 8 have the devices behind them.
	so.banners = filepath.Join(dir, "banners")
	if _, err := so.run(ctx, path, stderr, false); err != nil {
		return err
	}
	defer os.Remove(path)
	in, err := ingest.New(st, fl, ids, enriched.enrichers(0)...)
	if err != nil {
		return err
	}
	progress := newProgressLine(stderr, 1)
	progress.nextFile(0)
	res, err := in.File(ctx, path, progress.update)
	progress.done()
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	fmt.Fprintf(stderr, "backfilled %s packets of the last %d days\n", analyze.Thousands(res.Packets), demoFleetDays)
	return demoDevices(ctx, st, filepath.Join(so.banners, simulate.BannerFiles[banner.FormatShodan]), now, stderr)
}

// demoDevices imports the simulated banner scan (as a Shodan export) with
// the shipped signatures, as nightjar devices import would.
func demoDevices(ctx context.Context, st store.Store, path string, now time.Time, stderr io.Writer) error {
	sig, err := loadSignatures(nil)
	if err != nil {
		return err
	}
	at := attribution.New(st, sig, func() time.Time { return now })
	return importBanners(ctx, stderr, stderr, at, "", []string{path})
}

// demoSensorConfig writes and loads the configuration of one simulated
// sensor: it replays the live capture in a loop, stamped with the clock,
// at its share of the rate (every sensor reads every packet and keeps its
// own addresses' share).
func demoSensorConfig(dir string, s fleet.Sensor, collector, live string, rate float64) (*sensor.Config, error) {
	sdir := filepath.Join(dir, "sensors", s.Name)
	yaml := fmt.Sprintf(`name: %s
replay:
  file: %s
  realtime: true
  rate: %g
  loop: 1000000
monitor: [%s]
collector:
  address: %s
  server_name: 127.0.0.1
  cert: sensor.crt
  key: sensor.key
  ca: ca.crt
spool:
  dir: spool
  max_size: 256MiB
batch:
  records: 1024
  latency: 1s
metrics: "off"
heartbeat: 5s
`, s.Name, live, rate, strings.Join(s.Addresses, ", "), collector)
	path := filepath.Join(sdir, "sensor.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	return sensor.LoadConfig(path)
}
