package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/lifecycle"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// serveConfig is the configuration of `nightjar serve`: its --config
// file, NIGHTJAR_SERVE_* variables and flags.
type serveConfig struct {
	// DB is the database (made by nightjar ingest or nightjar collector);
	// serve never creates one.
	DB string `yaml:"db"`
	// CA is the sensors' registry: with it, admins enroll and revoke
	// sensors.
	CA string `yaml:"ca"`
	// LogLevel is debug, info, warn or error.
	LogLevel logLevel `yaml:"log_level"`
	// UI is the dashboard and the API: its address, users, TLS.
	UI uiOptions `yaml:"ui"`
	// AlertsFile, when set, runs the alert detectors over the database and
	// tells the receivers of its alerts and of the admins'
	// acknowledgements, as the collector's; "off" (the default) runs
	// none: serve reads a database, often one of the past, whose open
	// alerts the detectors would resolve as no longer seen.
	AlertsFile string `yaml:"alerts_file"`
}

func defaultServeConfig() serveConfig {
	return serveConfig{LogLevel: "info", UI: defaultUIOptions(), AlertsFile: "off"}
}

func (c serveConfig) check() error {
	if c.DB == "" {
		return errors.New("--db PATH is required")
	}
	if c.AlertsFile != "off" {
		if _, err := loadAlertsConfig(c.AlertsFile); err != nil {
			return err
		}
	}
	if _, err := c.LogLevel.parse(); err != nil {
		return err
	}
	return c.UI.check()
}

func newServeCommand(g *globalOptions) *cobra.Command {
	var (
		cfg serveConfig
		d   daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "serve --db PATH [--ca DIR] [--users FILE] [--listen ADDR] [--config FILE]",
		Short: "Serve the web dashboard and the JSON API over a database",
		Long: `Serves the dashboard (overview, port graphs, sensor comparison, sources,
sensor health) and the JSON API (/api/v1/..., described by
/api/v1/openapi.json) over the embedded database at --db. Everything the
pages need is in the binary: nothing is loaded from the network.

Access:
  - Without --users, nobody logs in: everyone who can reach the listener
    sees every page, read-only, and nobody can administer. Only requests
    for localhost, 127.0.0.1, [::1] or an --allowed-host name are answered
    (421 otherwise), so that another site's page cannot read the dashboard
    through DNS rebinding.
  - With --users FILE ("nightjar user add" makes it), viewing needs a login
    too; users with the admin role also enroll and revoke sensors on /admin
    when --ca DIR names the sensors' registry ("nightjar ca init").
  - --public-port-graphs shows the port graphs (per group and for the
    fleet, never per sensor) to anonymous visitors, without the groups of
    fewer than --public-min-group-sensors sensors (2).

Listens on 127.0.0.1:8080 by default. Any other address needs --tls-cert and
--tls-key, or --insecure-listen, which accepts that passwords and session
cookies cross the network in clear text.

The database is opened for questions only; the DuckDB file is locked while
the server runs, so it cannot serve a database a running collector or
ingest holds (a collector serves its own dashboard).

Settings come from the defaults, then --config FILE (YAML, the keys that
--dump prints), then NIGHTJAR_SERVE_<KEY> variables (NIGHTJAR_SERVE_DB,
NIGHTJAR_SERVE_UI_LISTEN...), then the flags given. --check checks them
and exits.`,
		Example: `  nightjar serve --db telescope.duckdb
  nightjar user add --users users.yaml --role admin alice
  nightjar serve --db telescope.duckdb --ca registry --users users.yaml \
      --listen 0.0.0.0:8443 --tls-cert web.crt --tls-key web.key
  nightjar serve --config serve.yaml --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			verify := func(cfg serveConfig) error { return checkServe(cmd, cfg) }
			return runDaemon(cmd, &d, &cfg, defaultServeConfig(), verify, func(cfg serveConfig) error {
				logger, err := cfg.LogLevel.logger(cmd)
				if err != nil {
					return err
				}
				cfg.UI.now = g.now
				ready := func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "nightjar web UI: %s\n", url) }
				return serveRunner(cfg, logger, ready).Run(cmd.Context(), nil)
			})
		},
	}
	cfg = defaultServeConfig()
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", "", "database `PATH` (made by nightjar ingest or nightjar collector)")
	f.StringVar(&cfg.CA, "ca", "", "the sensors' registry `DIR` (nightjar ca init): lets admins enroll and revoke sensors")
	cfg.UI.addFlags(f, "listen", "address to serve on (a non-loopback address needs --tls-cert/--tls-key or --insecure-listen)")
	f.StringVar(&cfg.AlertsFile, "alerts-file", cfg.AlertsFile, `alerts FILE: run the detectors, with its thresholds, and tell its receivers of alerts and of the admins' actions (nightjar alerts --help); "off": none`)
	addVerbose(f, &cfg.LogLevel)
	d.add(f, "serve")
	return cmd
}

// serveRunner wires serve's components: the database (never created), the
// registry, the alert detectors and their notifications, the dashboard.
func serveRunner(cfg serveConfig, logger *slog.Logger, ready func(string)) *lifecycle.Runner {
	st := &storeComponent{location: cfg.DB, mustExist: true}
	reg := &registryComponent{dir: cfg.CA}
	al := &alertsComponent{file: cfg.AlertsFile, now: cfg.UI.now, store: st, log: logger}
	r := lifecycle.New(logger)
	r.Add("store", st)
	r.Add("registry", reg)
	r.Add("alerts", al)
	r.Add("dashboard", &uiComponent{opts: cfg.UI, store: st, registry: reg, alerts: al, log: logger, ready: ready})
	return r
}

// checkServe checks what serve would open, without opening it.
func checkServe(cmd *cobra.Command, cfg serveConfig) error {
	if _, err := os.Stat(cfg.DB); err != nil {
		return fmt.Errorf("database %s: %w", cfg.DB, err)
	}
	if cfg.CA != "" {
		if _, err := pki.Open(cfg.CA); err != nil {
			return fmt.Errorf("ca: %w", err)
		}
	}
	if _, _, err := net.SplitHostPort(cfg.UI.Listen); err != nil {
		return fmt.Errorf("ui.listen: %w", err)
	}
	if err := checkUIFiles(cfg.UI); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "configuration OK: database %s, dashboard on %s\n", cfg.DB, cfg.UI.Listen)
	return nil
}
