package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/pki"
)

func newServeCommand(g *globalOptions) *cobra.Command {
	var (
		s       serveSetup
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "serve --db PATH [--ca DIR] [--users FILE] [--listen ADDR]",
		Short: "Serve the web dashboard and the JSON API over a database",
		Long: `Serves the dashboard (overview, port graphs, sensor comparison, sources,
sensor health) and the JSON API (/api/v1/..., described by
/api/v1/openapi.json) over the embedded database at --db. Everything the
pages need is in the binary: nothing is loaded from the network.

Access:
  - Without --users, nobody logs in: everyone who can reach the listener
    sees every page, read-only, and nobody can administer.
  - With --users FILE ("nightjar user add" makes it), viewing needs a login
    too; users with the admin role also enroll and revoke sensors on /admin
    when --ca DIR names the sensors' registry ("nightjar ca init").
  - --public-port-graphs shows the port graphs (per group and for the
    fleet, never per sensor) to anonymous visitors.

Listens on 127.0.0.1:8080 by default. Any other address needs --tls-cert and
--tls-key, or --insecure-listen, which accepts that passwords and session
cookies cross the network in clear text.

The database is opened for questions only; the DuckDB file is locked while
the server runs, so it cannot serve a database a running collector or
ingest holds (a collector serves its own dashboard).`,
		Example: `  nightjar serve --db telescope.duckdb
  nightjar user add --users users.yaml --role admin alice
  nightjar serve --db telescope.duckdb --ca registry --users users.yaml \
      --listen 0.0.0.0:8443 --tls-cert web.crt --tls-key web.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			s.logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			s.ui.now = g.now
			s.ready = func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "nightjar web UI: %s\n", url) }
			return runServe(cmd.Context(), s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.db, "db", "", "database `PATH` (made by nightjar ingest or nightjar collector)")
	f.StringVar(&s.ca, "ca", "", "the sensors' registry `DIR` (nightjar ca init): lets admins enroll and revoke sensors")
	s.ui.addFlags(f, "listen", "address to serve on (a non-loopback address needs --tls-cert/--tls-key or --insecure-listen)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// serveSetup is what runServe needs; the command fills it from its flags.
type serveSetup struct {
	db, ca string
	ui     uiOptions
	logger *slog.Logger
	// ready is called with the server's URL once it listens.
	ready func(url string)
}

// runServe serves the UI and the API until ctx is done.
func runServe(ctx context.Context, s serveSetup) error {
	if s.db == "" {
		return errors.New("--db PATH is required")
	}
	if err := s.ui.check(); err != nil {
		return err
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	var reg *pki.Registry
	if s.ca != "" {
		var err error
		if reg, err = pki.Open(s.ca); err != nil {
			return err
		}
	}
	st, err := openExisting(ctx, s.db)
	if err != nil {
		return err
	}
	defer st.Close()
	ui, err := startUI(st, reg, s.ui, s.logger)
	if err != nil {
		return err
	}
	defer ui.close()
	if s.ready != nil {
		s.ready(ui.url)
	}
	<-ctx.Done()
	return nil
}
