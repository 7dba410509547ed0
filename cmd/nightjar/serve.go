package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/web"
)

func newServeCommand() *cobra.Command {
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
			s.ready = func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "nightjar web UI: %s\n", url) }
			return runServe(cmd.Context(), s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.db, "db", "", "database `PATH` (made by nightjar ingest or nightjar collector)")
	f.StringVar(&s.ca, "ca", "", "the sensors' registry `DIR` (nightjar ca init): lets admins enroll and revoke sensors")
	f.StringVar(&s.users, "users", "", "users `FILE` (nightjar user add); without it nobody logs in and everyone who reaches the server views read-only")
	f.StringVar(&s.listen, "listen", web.DefaultListen, "address to serve on (a non-loopback address needs --tls-cert/--tls-key or --insecure-listen)")
	f.StringVar(&s.tlsCert, "tls-cert", "", "TLS certificate `FILE` (PEM): serve HTTPS")
	f.StringVar(&s.tlsKey, "tls-key", "", "TLS private key `FILE` (PEM) of --tls-cert")
	f.BoolVar(&s.insecure, "insecure-listen", false, "UNSAFE: allow a non-loopback --listen without TLS; passwords and session cookies then cross the network in clear text")
	f.BoolVar(&s.public, "public-port-graphs", false, "show the port graphs (per group and fleet, not per sensor) to anonymous visitors")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	return cmd
}

// serveSetup is what runServe needs; the command fills it from its flags.
type serveSetup struct {
	db, ca, users, listen, tlsCert, tlsKey string
	insecure, public                       bool
	logger                                 *slog.Logger
	// ready is called with the server's URL once it listens.
	ready func(url string)
}

// runServe serves the UI and the API until ctx is done.
func runServe(ctx context.Context, s serveSetup) error {
	if s.db == "" {
		return errors.New("--db PATH is required")
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	useTLS := s.tlsCert != ""
	if err := web.CheckListen(s.listen, useTLS, s.insecure); err != nil {
		return err
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	var tlsConfig *tls.Config
	if useTLS {
		pair, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	opts := web.Options{Public: s.public, Secure: useTLS, Logger: s.logger, Version: version}
	if s.users != "" {
		users, err := web.OpenUsers(s.users)
		if err != nil {
			return err
		}
		opts.Users = users
	} else if s.public {
		return errors.New("--public-port-graphs needs --users: without users every page is public already")
	}
	if s.ca != "" {
		reg, err := pki.Open(s.ca)
		if err != nil {
			return err
		}
		opts.Registry = reg
	}
	if _, err := os.Stat(s.db); err != nil {
		return fmt.Errorf("database %s: %w (make it with nightjar ingest or nightjar collector)", s.db, err)
	}
	st, err := duckdb.Open(ctx, s.db, duckdb.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	opts.API = api.New(st, api.Options{Logger: s.logger})

	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           web.New(opts),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(slogWriter{s.logger}, "", 0),
	}
	served := make(chan error, 1)
	go func() {
		if useTLS {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	s.logger.Info("web UI listening", "url", url, "users", s.users != "", "registry", s.ca != "", "public_port_graphs", s.public)
	if s.ready != nil {
		s.ready(url)
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("web server: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
