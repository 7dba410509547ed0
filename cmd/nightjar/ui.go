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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/web"
)

// uiOptions are the dashboard's flags, shared by serve and collector.
type uiOptions struct {
	// Listen is the address of the dashboard and the API ("off" disables
	// them where that is allowed: the collector).
	Listen string `yaml:"listen"`
	// Users is the users file (nightjar user add); without it nobody
	// logs in and everyone who reaches the dashboard views read-only.
	Users string `yaml:"users"`
	// TLSCert and TLSKey serve HTTPS (PEM files).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// InsecureListen allows a non-loopback address without TLS (UNSAFE).
	InsecureListen bool `yaml:"insecure_listen"`
	// PublicPortGraphs shows the port graphs to anonymous visitors.
	PublicPortGraphs bool `yaml:"public_port_graphs"`
	// PublicMinGroupSensors is the smallest group whose port graphs
	// anonymous visitors see (at least 2: a group of one is a sensor).
	PublicMinGroupSensors int `yaml:"public_min_group_sensors"`
	// AllowedHosts are the host names, besides the loopback ones, by which
	// clients may reach a dashboard without users (any other Host header
	// is refused, against DNS rebinding).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// HeavyQueries is how many API requests of more than a quarter ask
	// the database at once; the others queue (30 s, then 503), so that a
	// burst of them cannot take the database from ingestion.
	HeavyQueries int `yaml:"heavy_queries"`
	// now is the clock of the pages and the API's default periods.
	now clock.Clock
	// timeouts bound slow clients (web.DefaultTimeouts where zero; tests
	// shorten them).
	timeouts web.Timeouts
	// alerts is the alerts configuration whose receivers the admins'
	// acknowledgements and resolutions are queued for (the defaults, with
	// no receiver, when nil).
	alerts *alerts.Config
}

// defaultUIOptions are the dashboard's defaults.
func defaultUIOptions() uiOptions {
	return uiOptions{Listen: web.DefaultListen, PublicMinGroupSensors: web.MinPublicGroup, HeavyQueries: api.DefaultLimits().MaxHeavy}
}

// addFlags adds the dashboard's flags; listenFlag names the address flag
// ("listen" for serve, "ui" for the collector, where "off" disables it).
func (o *uiOptions) addFlags(f *pflag.FlagSet, listenFlag, listenHelp string) {
	f.StringVar(&o.Listen, listenFlag, web.DefaultListen, listenHelp)
	f.StringVar(&o.Users, "users", "", "users `FILE` (nightjar user add); without it nobody logs in and everyone who reaches the dashboard views read-only")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate `FILE` (PEM) for the dashboard: serve HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key `FILE` (PEM) of --tls-cert")
	f.BoolVar(&o.InsecureListen, "insecure-listen", false, "UNSAFE: allow the dashboard on a non-loopback address without TLS; passwords and session cookies then cross the network in clear text")
	f.BoolVar(&o.PublicPortGraphs, "public-port-graphs", false, "show the port graphs (per group and fleet, not per sensor) to anonymous visitors")
	f.IntVar(&o.PublicMinGroupSensors, "public-min-group-sensors", web.MinPublicGroup, "with --public-port-graphs, hide from anonymous visitors the groups (and a fleet) of fewer `N` sensors (at least 2)")
	f.IntVar(&o.HeavyQueries, "heavy-queries", o.HeavyQueries, "how many API requests of more than a quarter ask the database at once (`N`); the others wait their turn, so that ingestion keeps its share")
	f.StringSliceVar(&o.AllowedHosts, "allowed-host", nil, "host `NAME` by which clients may reach a dashboard without --users, besides localhost, 127.0.0.1 and [::1] (repeat or comma-separate; other names are refused, against DNS rebinding)")
}

// check refuses inconsistent flags and unsafe listen addresses, before
// anything is opened.
func (o uiOptions) check() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if o.PublicMinGroupSensors < web.MinPublicGroup {
		return fmt.Errorf("--public-min-group-sensors %d: at least %d (a group of one sensor is that sensor)", o.PublicMinGroupSensors, web.MinPublicGroup)
	}
	if o.HeavyQueries < 1 {
		return fmt.Errorf("--heavy-queries %d: at least 1", o.HeavyQueries)
	}
	if o.PublicPortGraphs && o.Users == "" {
		return errors.New("--public-port-graphs needs --users: without users every page is public already")
	}
	return web.CheckListen(o.Listen, o.TLSCert != "", o.InsecureListen)
}

// uiServer is a running dashboard server.
type uiServer struct {
	url     string
	srv     *http.Server
	metrics []prometheus.Collector
}

func (u *uiServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u.srv.Shutdown(ctx) //nolint:errcheck // closing
}

// startUI serves the dashboard and the JSON API over st, with the
// registry's enrollment and revocation for admins when reg is not nil.
func startUI(st api.Store, reg *pki.Registry, o uiOptions, logger *slog.Logger) (*uiServer, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	useTLS := o.TLSCert != ""
	var tlsConfig *tls.Config
	if useTLS {
		pair, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	opts := web.Options{Public: o.PublicPortGraphs, PublicMinSensors: o.PublicMinGroupSensors, AllowedHosts: o.AllowedHosts, Secure: useTLS, Logger: logger, Version: version, Registry: reg, Now: o.now}
	apiOpts := api.Options{Logger: logger, Now: o.now, Limits: api.Limits{MaxHeavy: o.HeavyQueries}}
	if settings, ok := st.(store.RetentionSetter); ok {
		opts.Settings = settings
	}
	if book, ok := st.(store.AlertStore); ok {
		cfg := o.alerts
		if cfg == nil {
			def := alerts.DefaultConfig()
			cfg = &def
		}
		apiOpts.Alerts, opts.Silences = book, book
		opts.Alerts = alerts.NewLifecycle(book, cfg, cfg.Receivers)
	}
	opts.API = api.New(st, apiOpts)
	if o.Users != "" {
		users, err := web.OpenUsers(o.Users)
		if err != nil {
			return nil, err
		}
		opts.Users = users
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	h := web.New(opts)
	srv := &http.Server{
		Handler:   h,
		TLSConfig: tlsConfig,
		ErrorLog:  log.New(slogWriter{logger}, "", 0),
	}
	o.timeouts.Apply(srv)
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, ln.Addr())
	go func() {
		var err error
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("dashboard server stopped", "err", err)
		}
	}()
	logger.Info("dashboard listening", "url", url, "users", o.Users != "", "registry", reg != nil, "public_port_graphs", o.PublicPortGraphs)
	return &uiServer{url: url, srv: srv, metrics: h.Metrics()}, nil
}

// checkUIFiles reads the dashboard's users file and TLS pair, for --check.
func checkUIFiles(o uiOptions) error {
	if o.Users != "" {
		if _, err := web.OpenUsers(o.Users); err != nil {
			return fmt.Errorf("ui.users: %w", err)
		}
	}
	if o.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey); err != nil {
			return fmt.Errorf("ui.tls_cert/ui.tls_key: %w", err)
		}
	}
	return nil
}
