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
	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/sensor"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// demoOptions are the flags of `nightjar demo`.
type demoOptions struct {
	data, listen    string
	backfill        uint64
	liveRate        float64
	verbose         bool
	collectorListen string
	// now is the clock of the whole demo: the backfill ends at its
	// instant, the sensors stamp live traffic with it, the dashboard
	// reads it.
	now clock.Clock
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	o := demoOptions{listen: "127.0.0.1:8080", backfill: 2_000_000, liveRate: 200, collectorListen: "127.0.0.1:0"}
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--listen ADDR]",
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
  - the dashboard and JSON API, at the URL it prints.

Ctrl-C stops everything cleanly: the sensors send what they hold, the
collector commits it. --data DIR keeps the database, the CA and the
sensors' spools between runs (a temporary directory is used and removed
otherwise).

--now INSTANT (or NIGHTJAR_NOW) runs the demo as if it were that instant:
the history ends there, the live traffic is stamped from there on, and the
dashboard's "today", "this month" and default periods follow. Try the first
minute of a month or a quarter, New Year or 29 February.`,
		Example: `  nightjar demo
  nightjar demo --data ~/nightjar-demo --listen 127.0.0.1:9000
  nightjar demo --now 2027-01-01T00:01:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.now = g.now
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "directory that keeps the demo's database, CA and spools between runs (default: a temporary one)")
	f.StringVar(&o.listen, "listen", o.listen, "address of the dashboard and API")
	f.Uint64Var(&o.backfill, "backfill", o.backfill, "packets of simulated history (90 days) stored on the first run")
	f.Float64Var(&o.liveRate, "live-rate", o.liveRate, "live packets per second, over all sensors")
	f.StringVar(&o.collectorListen, "collector-listen", o.collectorListen, "address of the collector's sensor protocol (mutual TLS)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// demoFleetDays is how much history the demo backfills.
const demoFleetDays = 90

func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	if o.liveRate <= 0 || o.backfill == 0 {
		return errors.New("--live-rate and --backfill must be positive")
	}
	dir := o.data
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
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fl := simulate.DefaultFleet()

	reg, err := demoRegistry(filepath.Join(dir, "registry"), fl, logger)
	if err != nil {
		return err
	}
	st, err := backend.Open(ctx, filepath.Join(dir, "nightjar.duckdb"), backend.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := demoBackfill(ctx, st, fl, dir, o.backfill, o.now(), stderr); err != nil {
		return err
	}
	live := filepath.Join(dir, "live.pcap")
	if _, err := os.Stat(live); err != nil {
		// A day of traffic, replayed in a loop at the live rate with the
		// replay's clock: enough variety for hours of streaming.
		so := defaultSimulateOptions()
		so.cfg.Packets, so.cfg.Seed, so.days = 200_000, 2, 1
		if _, err := so.run(ctx, live, io.Discard, true); err != nil {
			return err
		}
	}

	// The collector, then the sensors that stream to it.
	collectorCtx, stopCollector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCollector()
	collectorAddr := make(chan net.Addr, 1)
	collected := make(chan error, 1)
	go func() {
		collected <- serveCollector(collectorCtx, st, reg, collectorSetup{
			listen: o.collectorListen, metrics: "off", logger: logger.With("component", "collector"),
			// The dashboard shows live traffic within seconds.
			config: collector.Config{RollupInterval: 5 * time.Second, Now: o.now},
			ready:  func(a net.Addr) { collectorAddr <- a },
		})
	}()
	var addr net.Addr
	select {
	case addr = <-collectorAddr:
	case err := <-collected:
		return err
	}
	sensorsCtx, stopSensors := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSensors()
	var sensors sync.WaitGroup
	for _, s := range fl.Sensors {
		cfg, err := demoSensorConfig(dir, s, addr.String(), live, o.liveRate)
		if err != nil {
			stopSensors()
			stopCollector()
			return err
		}
		sn, err := sensor.New(cfg, sensor.Options{Logger: logger.With("component", "sensor", "sensor", s.Name), Version: version, Now: o.now})
		if err != nil {
			stopSensors()
			stopCollector()
			return fmt.Errorf("sensor %s: %w", s.Name, err)
		}
		sensors.Go(func() {
			if err := sn.Run(sensorsCtx); err != nil {
				logger.Error("sensor stopped", "sensor", s.Name, "err", err)
			}
		})
	}

	ui, err := startUI(st, reg, uiOptions{listen: o.listen, now: o.now}, logger.With("component", "web"))
	if err != nil {
		stopSensors()
		sensors.Wait()
		stopCollector()
		<-collected
		return err
	}
	fmt.Fprintf(stdout, "Nightjar demo: %d sensors streaming %s packets/s to the collector at %s\n", len(fl.Sensors), analyze.Thousands(uint64(o.liveRate)), addr)
	fmt.Fprintf(stdout, "Data in %s\n", dir)
	fmt.Fprintf(stdout, "Dashboard: %s\n", ui.url)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")

	select {
	case <-ctx.Done():
	case err = <-collected:
		err = fmt.Errorf("collector: %w", err)
	}
	fmt.Fprintln(stderr, "stopping: sensors send what they hold, the collector commits it")
	ui.close()
	stopSensors()
	sensors.Wait()
	stopCollector()
	if cerr := <-collected; err == nil && cerr != nil {
		err = cerr
	}
	return err
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
func demoBackfill(ctx context.Context, st store.Store, fl *fleet.Fleet, dir string, packets uint64, now time.Time, stderr io.Writer) error {
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
	if _, err := so.run(ctx, path, stderr, false); err != nil {
		return err
	}
	defer os.Remove(path)
	in := &ingester{store: st, matcher: fleet.NewMatcher(fl), ids: ids, tagger: fingerprint.NewTagger(maxTaggerSources)}
	progress := newProgressLine(stderr, 1)
	progress.nextFile(0)
	res, err := in.file(ctx, path, progress)
	progress.done()
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	fmt.Fprintf(stderr, "backfilled %s packets of the last %d days\n", analyze.Thousands(res.packets), demoFleetDays)
	return nil
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
