package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/metrics"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

func newCollectorCommand(g *globalOptions) *cobra.Command {
	var (
		db, ca, listen, metrics, retention string
		commitInterval, rollupInterval     time.Duration
		verbose                            bool
		ui                                 uiOptions
	)
	cmd := &cobra.Command{
		Use:   "collector --db PATH --ca DIR",
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

Listens on 127.0.0.1 by default; to receive sensors from other machines,
give --listen 0.0.0.0:7443 (the collector's certificate must name the
address the sensors dial: "nightjar ca init --host"). Logs go to standard
error. Stop with Ctrl-C or SIGTERM: the received batches are committed and
the rollups rebuilt before it exits.`,
		Example: `  nightjar ca init --dir registry --host collector.example.net
  nightjar collector --db telescope.duckdb --ca registry --listen 0.0.0.0:7443`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" || ca == "" {
				return errors.New("--db PATH and --ca DIR are required")
			}
			opts, err := storeOptions(cmd, retention)
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ui.now = g.now
			return runCollector(cmd.Context(), collectorSetup{
				db: db, ca: ca, listen: listen, metrics: metrics, storeOptions: opts, logger: logger, ui: ui,
				uiReady: func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "dashboard: %s\n", url) },
				config:  collector.Config{CommitInterval: commitInterval, RollupInterval: rollupInterval, Now: g.now},
				ready:   func(addr net.Addr) { fmt.Fprintf(cmd.OutOrStdout(), "collector listening on %s\n", addr) },
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database file (created if missing)")
	f.StringVar(&ca, "ca", "", "registry directory (nightjar ca init)")
	f.StringVar(&listen, "listen", "127.0.0.1:7443", "address of the sensor protocol (mutual TLS)")
	f.StringVar(&metrics, "metrics", "127.0.0.1:9471", `address of the Prometheus endpoint ("off" disables it)`)
	f.StringVar(&retention, "retention", "90d", "raw record retention for a new database (days such as 90d, or a duration)")
	f.DurationVar(&commitInterval, "commit-interval", 200*time.Millisecond, "longest wait of a received batch for its commit and acknowledgement")
	f.DurationVar(&rollupInterval, "rollup-interval", 30*time.Second, "how often the rollups the questions read are rebuilt")
	ui.addFlags(f, "ui", `address of the dashboard and JSON API ("off" disables it; a non-loopback address needs --tls-cert/--tls-key or --insecure-listen)`)
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

type collectorSetup struct {
	db, ca, listen, metrics string
	ui                      uiOptions
	uiReady                 func(url string)
	storeOptions            backend.Options
	config                  collector.Config
	logger                  *slog.Logger
	ready                   func(net.Addr)
}

// runCollector runs a collector until ctx is done.
func runCollector(ctx context.Context, s collectorSetup) error {
	if s.ui.listen != "off" {
		if err := s.ui.check(); err != nil {
			return err
		}
	}
	reg, err := pki.Open(s.ca)
	if err != nil {
		return err
	}
	st, err := backend.Open(ctx, s.db, s.storeOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	if s.ui.listen != "off" {
		ui, err := startUI(st, reg, s.ui, s.logger.With("component", "web"))
		if err != nil {
			return err
		}
		defer ui.close()
		if s.uiReady != nil {
			s.uiReady(ui.url)
		}
	}
	return serveCollector(ctx, st, reg, s)
}

// serveCollector runs a collector on an open store and registry until ctx
// is done: the sensor listener, its metrics, and the writer, which commits
// what the streams queued before it returns.
func serveCollector(ctx context.Context, st collector.Store, reg *pki.Registry, s collectorSetup) error {
	cfg := s.config
	cfg.Store, cfg.Registry, cfg.Logger = st, reg, s.logger
	c, err := collector.New(cfg)
	if err != nil {
		return err
	}
	if s.metrics != "off" {
		msrv, addr, err := metrics.Serve(s.metrics, c.Metrics()...)
		if err != nil {
			return err
		}
		defer msrv.Close()
		s.logger.Info("metrics endpoint", "url", "http://"+addr.String()+"/metrics")
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return fmt.Errorf("listen for sensors: %w", err)
	}
	path, handler := c.Handler()
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         pki.ServerTLS(reg),
		ReadHeaderTimeout: 10 * time.Second,
		// Refused handshakes (no certificate, another CA, revoked) are
		// logged as the security events they are.
		ErrorLog: log.New(slogWriter{s.logger}, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	if s.ready != nil {
		s.ready(ln.Addr())
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx) }()
	var runErr error
	runDone := false
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("sensor listener: %w", err)
	case runErr = <-ran:
		runDone = true
	}
	// Stop the streams first, then let the writer commit what they queued.
	srv.Close()
	stopRun()
	if !runDone {
		runErr = <-ran
	}
	if err == nil {
		err = runErr
	}
	s.logger.Info("collector stopped")
	return err
}

// slogWriter turns the HTTP server's log lines into warnings.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}
