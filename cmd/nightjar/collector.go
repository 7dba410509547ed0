package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/lifecycle"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// collectorConfig is the configuration of `nightjar collector`: its
// --config file, NIGHTJAR_COLLECTOR_* variables and flags.
type collectorConfig struct {
	// DB is the database: a DuckDB file, created if missing.
	DB string `yaml:"db"`
	// CA is the sensors' registry directory (nightjar ca init).
	CA string `yaml:"ca"`
	// Listen is the address of the sensor protocol (mutual TLS).
	Listen string `yaml:"listen"`
	// Metrics is the address of the Prometheus endpoint ("off": none).
	Metrics string `yaml:"metrics"`
	// Retention is the raw-record retention of a new database (days such
	// as "90d", or a duration); "" keeps the database's own.
	Retention string `yaml:"retention"`
	// DBMemoryLimit bounds DuckDB's own memory ("2GiB"; "": DuckDB's
	// default, 80 % of RAM): a term of the collector's memory formula
	// (collector.Config.QueueBytes).
	DBMemoryLimit string `yaml:"db_memory_limit"`
	// LogLevel is debug, info, warn or error.
	LogLevel logLevel `yaml:"log_level"`
	// Collector tunes the writer: commits, rollups, the queue bound.
	Collector collector.Config `yaml:"collector"`
	// UI is the dashboard and JSON API over the same database ("off":
	// none).
	UI uiOptions `yaml:"ui"`
	// Enrich: the GeoIP/ASN databases and research-scanner lists, reloaded
	// when they change.
	Enrich enrichOptions `yaml:",inline"`
	// AlertsFile configures the alert detectors and their receivers
	// (nightjar alerts --help); "" runs the detectors with the defaults
	// and no receivers, "off" does not run them.
	AlertsFile string `yaml:"alerts_file"`
}

func defaultCollectorConfig() collectorConfig {
	return collectorConfig{Listen: "127.0.0.1:7443", Metrics: "127.0.0.1:9471", LogLevel: "info",
		Collector: collector.DefaultConfig(), UI: defaultUIOptions(), Enrich: enrichOptions{ReloadInterval: defaultReloadInterval}}
}

// check refuses a configuration that cannot run, before anything opens.
func (c collectorConfig) check() error {
	if c.DB == "" || c.CA == "" {
		return errors.New("--db PATH and --ca DIR are required (db: and ca: in a --config file)")
	}
	if _, err := c.LogLevel.parse(); err != nil {
		return err
	}
	if _, err := c.storeOptions(); err != nil {
		return err
	}
	if err := c.Collector.Check(); err != nil {
		return err
	}
	if c.AlertsFile != "off" {
		if _, err := loadAlertsConfig(c.AlertsFile); err != nil {
			return err
		}
	}
	if c.Enrich.ReloadInterval < time.Second/10 {
		return fmt.Errorf("reload_interval %s: at least 100ms", c.Enrich.ReloadInterval)
	}
	if c.UI.Listen != "off" {
		return c.UI.check()
	}
	return nil
}

func (c collectorConfig) storeOptions() (backend.Options, error) {
	opts := backend.Options{MemoryLimit: c.DBMemoryLimit}
	if c.Retention != "" {
		keep, err := parseRetention(c.Retention)
		if err != nil {
			return opts, err
		}
		opts.Retention = &keep
	}
	return opts, nil
}

func newCollectorCommand(g *globalOptions) *cobra.Command {
	var (
		cfg collectorConfig
		d   daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "collector --db PATH --ca DIR [--config FILE]",
		Short: "Receive the sensors' batches over mutual TLS and store them",
		Long: `Serves the sensor protocol on --listen (HTTP/2, mutual TLS) and stores
every batch the sensors send in the embedded DuckDB database at --db.

Sensors authenticate with the client certificates "nightjar ca enroll"
issued from the registry at --ca; a sensor's name comes from its certificate,
never from its messages. Revoking a sensor ("nightjar ca revoke") stops it
within a second, without a restart. Newly enrolled sensors are accepted
without a restart too.

A batch is acknowledged only after it is durably stored; a batch sent again
after a reconnect or a restart is recognised and not counted twice. When
the store is slower than the sensors, the collector stops reading and the
batches wait in the sensors' spools.

It also serves the dashboard and the JSON API over the same database on
--ui (127.0.0.1:8080 by default; --users, --tls-cert/--tls-key,
--insecure-listen and --public-port-graphs as for "nightjar serve").

It runs the alert detectors over what it stores, every minute: unusual
change at a sensor, a group or the fleet (nightjar alerts --help), and
tells the receivers of --alerts-file (webhooks, mail) of each alert.

--geoip FILE (GeoLite2/GeoIP2 Country, City or ASN .mmdb, DB-IP Lite, IPinfo
Lite) stores each source's country and network with its packets, and
--scanner-list PATH labels research scanners (MISP warninglists, your own
lists, a directory of them): both are reloaded within 30 s when their files
change (--reload-interval), without a restart; packets keep what was found
when they arrived.

Listens on 127.0.0.1 by default; to receive sensors from other machines,
give --listen 0.0.0.0:7443 (the collector's certificate must name the
address the sensors dial: "nightjar ca init --host"). Logs go to standard
error. Stop with Ctrl-C or SIGTERM: the received batches are committed and
the rollups rebuilt before it exits.

Settings come from the defaults, then --config FILE (YAML, the keys that
--dump prints), then NIGHTJAR_COLLECTOR_<KEY> variables
(NIGHTJAR_COLLECTOR_DB, NIGHTJAR_COLLECTOR_UI_LISTEN...), then the flags
given. --check checks them and exits.`,
		Example: `  nightjar ca init --dir registry --host collector.example.net
  nightjar collector --db telescope.duckdb --ca registry --listen 0.0.0.0:7443
  nightjar collector --config collector.yaml --check
  nightjar collector --db telescope.duckdb --ca registry --dump > collector.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			verify := func(cfg collectorConfig) error { return checkCollector(cmd, cfg) }
			return runDaemon(cmd, &d, &cfg, defaultCollectorConfig(), verify, func(cfg collectorConfig) error {
				logger, err := cfg.LogLevel.logger(cmd)
				if err != nil {
					return err
				}
				cfg.UI.now, cfg.Collector.Now = g.now, g.now
				r := collectorRunner(cfg, logger,
					func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "dashboard: %s\n", url) },
					func(addr net.Addr) { fmt.Fprintf(cmd.OutOrStdout(), "collector listening on %s\n", addr) })
				return r.Run(cmd.Context(), nil)
			})
		},
	}
	cfg = defaultCollectorConfig()
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", "", "database file (created if missing)")
	f.StringVar(&cfg.CA, "ca", "", "registry directory (nightjar ca init)")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the sensor protocol (mutual TLS)")
	f.StringVar(&cfg.Metrics, "metrics", cfg.Metrics, `address of the Prometheus endpoint ("off" disables it)`)
	f.StringVar(&cfg.Retention, "retention", "", "raw record retention for a new database (days such as 90d, or a duration; default 90d)")
	f.StringVar(&cfg.DBMemoryLimit, "db-memory-limit", "", `bound DuckDB's own memory (e.g. "2GiB"; default DuckDB's, 80 % of RAM)`)
	f.DurationVar(&cfg.Collector.CommitInterval, "commit-interval", cfg.Collector.CommitInterval, "longest wait of a received batch for its commit and acknowledgement")
	f.DurationVar(&cfg.Collector.RollupInterval, "rollup-interval", cfg.Collector.RollupInterval, "how often the rollups the questions read are rebuilt")
	cfg.Enrich.addFlags(f)
	f.DurationVar(&cfg.Enrich.ReloadInterval, "reload-interval", cfg.Enrich.ReloadInterval, "how often the --geoip and --scanner-list files are checked for a change and reloaded")
	f.StringVar(&cfg.AlertsFile, "alerts-file", "", `alerts FILE: the detectors' thresholds and the receivers told of alerts (nightjar alerts --help); "off" runs no detector`)
	cfg.UI.addFlags(f, "ui", `address of the dashboard and JSON API ("off" disables it; a non-loopback address needs --tls-cert/--tls-key or --insecure-listen)`)
	addVerbose(f, &cfg.LogLevel)
	d.add(f, "collector")
	return cmd
}

// collectorRunner wires the collector's components: the database and the
// registry, the alert detectors, the dashboard (unless off), the sensor
// listener and writer, and the metrics endpoint — started in that order,
// stopped in reverse.
func collectorRunner(cfg collectorConfig, logger *slog.Logger, uiReady func(string), ready func(net.Addr)) *lifecycle.Runner {
	opts, _ := cfg.storeOptions() // checked by cfg.check
	st := &storeComponent{location: cfg.DB, opts: opts}
	reg := &registryComponent{dir: cfg.CA}
	enrich := &enrichComponent{opts: cfg.Enrich, log: logger.With("component", "enrich")}
	col := &collectorComponent{listen: cfg.Listen, cfg: cfg.Collector, store: st, registry: reg, enrich: enrich, log: logger, ready: ready}
	r := lifecycle.New(logger)
	r.Add("store", st)
	r.Add("registry", reg)
	r.Add("enrich", enrich)
	al := &alertsComponent{file: cfg.AlertsFile, now: cfg.Collector.Now, store: st, log: logger}
	r.Add("alerts", al)
	var ui *uiComponent
	if cfg.UI.Listen != "off" {
		ui = &uiComponent{opts: cfg.UI, store: st, registry: reg, alerts: al, log: logger.With("component", "web"), ready: uiReady}
		r.Add("dashboard", ui)
	}
	r.Add("collector", col)
	r.Add("metrics", &metricsComponent{listen: cfg.Metrics, collector: col, ui: ui, alerts: al, log: logger})
	return r
}

// checkCollector checks what the collector would open, without opening
// the database or listening: the registry, the dashboard's files and the
// addresses.
func checkCollector(cmd *cobra.Command, cfg collectorConfig) error {
	reg, err := pki.Open(cfg.CA)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	var errs []error
	for _, a := range []struct{ setting, addr string }{{"listen", cfg.Listen}, {"metrics", cfg.Metrics}, {"ui.listen", cfg.UI.Listen}} {
		if a.addr == "off" && a.setting != "listen" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.setting, err))
		}
	}
	if err := checkUIFiles(cfg.UI); err != nil {
		errs = append(errs, err)
	}
	if e, err := cfg.Enrich.open(cmd.Context(), nil); err != nil {
		errs = append(errs, err)
	} else {
		e.close()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	db := "exists"
	if _, err := os.Stat(cfg.DB); err != nil {
		db = "will be created"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: database %s (%s), registry %s (%d sensors), sensors on %s, dashboard on %s\n",
		cfg.DB, db, cfg.CA, len(reg.Status()), cfg.Listen, cfg.UI.Listen)
	return nil
}

// slogWriter turns the HTTP server's log lines into warnings.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}
