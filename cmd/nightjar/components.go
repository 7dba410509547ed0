package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/lifecycle"
	"github.com/nightjar-telescope/nightjar/internal/metrics"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/backend"
)

// The daemons' components, each with one lifecycle (lifecycle.Component):
// the constructor does no I/O, Start opens or listens, Stop closes. A
// component reads what it depends on from the components started before
// it.

// storeComponent is the database.
type storeComponent struct {
	location string
	opts     backend.Options
	// mustExist: a daemon that only reads (serve) never creates one.
	mustExist bool
	st        store.Store
}

func (c *storeComponent) Start(ctx context.Context) error {
	var err error
	if c.mustExist {
		c.st, err = openExisting(ctx, c.location)
	} else {
		c.st, err = backend.Open(ctx, c.location, c.opts)
	}
	return err
}

func (c *storeComponent) Stop() error { return c.st.Close() }

// registryComponent is the sensors' registry (nightjar ca init); an empty
// dir is none (serve without --ca).
type registryComponent struct {
	dir string
	reg *pki.Registry
}

func (c *registryComponent) Start(context.Context) error {
	if c.dir == "" {
		return nil
	}
	var err error
	c.reg, err = pki.Open(c.dir)
	return err
}

func (c *registryComponent) Stop() error { return nil }

// uiComponent serves the dashboard and the API over the store.
type uiComponent struct {
	opts     uiOptions
	store    *storeComponent
	registry *registryComponent
	// alerts, when set, gives the receivers told of the admins'
	// acknowledgements and resolutions (started before the dashboard).
	alerts *alertsComponent
	log    *slog.Logger
	ready  func(url string)
	srv    *uiServer
}

func (c *uiComponent) Start(context.Context) error {
	if c.alerts != nil && !c.alerts.off() {
		cfg := c.alerts.cfg.Alerts
		c.opts.alerts = &cfg
	}
	var err error
	if c.srv, err = startUI(c.store.st, c.registry.reg, c.opts, c.log); err != nil {
		return err
	}
	if c.ready != nil {
		c.ready(c.srv.url)
	}
	return nil
}

func (c *uiComponent) Stop() error {
	c.srv.close()
	return nil
}

// collectorComponent receives the sensors' batches: the mutual-TLS
// listener and the writer, which commits what the streams queued when it
// stops.
type collectorComponent struct {
	listen   string
	cfg      collector.Config
	store    *storeComponent
	registry *registryComponent
	enrich   *enrichComponent // nil: none
	log      *slog.Logger
	ready    func(net.Addr)

	c       *collector.Collector
	srv     *http.Server
	stopRun context.CancelFunc
	ran     chan error
	failed  chan error
}

func (c *collectorComponent) Start(ctx context.Context) error {
	cfg := c.cfg
	cfg.Store, cfg.Registry, cfg.Logger = c.store.st, c.registry.reg, c.log
	if c.enrich != nil {
		cfg.Enrichers = c.enrich.enrichers
	}
	var err error
	if c.c, err = collector.New(cfg); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen for sensors: %w", err)
	}
	path, handler := c.c.Handler()
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	// A sensor's stream is one request that lasts as long as the sensor
	// runs, so ReadTimeout and WriteTimeout (which HTTP/2 applies to
	// every stream) would cut honest sensors. What is bounded instead:
	// the TLS handshake and the header (ReadHeaderTimeout, before any
	// certificate is trusted), a connection without streams (IdleTimeout),
	// and a peer that vanished (HTTP/2 pings unanswered). A stream that
	// stays open is an enrolled sensor's, answerable to its heartbeat.
	c.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         pki.ServerTLS(c.registry.reg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// The receive buffers are the collector's memory formula's
		// per-connection term (collector.Config.QueueBytes); a sensor
		// needs one stream, a few allow a reconnection's overlap.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second,
			MaxConcurrentStreams: 4, MaxReceiveBufferPerConnection: 1 << 20, MaxReceiveBufferPerStream: 1 << 20},
		// Refused handshakes (no certificate, another CA, revoked) are
		// logged as the security events they are.
		ErrorLog: log.New(slogWriter{c.log}, "", 0),
	}
	c.failed, c.ran = make(chan error, 2), make(chan error, 1)
	go func() {
		if err := c.srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			c.failed <- fmt.Errorf("sensor listener: %w", err)
		}
	}()
	// The writer outlives ctx: Stop ends it after the streams, so that it
	// commits what they queued.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.stopRun = stop
	go func() {
		err := c.c.Run(runCtx)
		c.ran <- err
		if err != nil {
			c.failed <- err
		}
	}()
	if c.ready != nil {
		c.ready(ln.Addr())
	}
	return nil
}

// Failed reports a listener or writer that stopped by itself.
func (c *collectorComponent) Failed() <-chan error { return c.failed }

// Stop closes the streams first, then lets the writer commit what they
// queued and returns its error.
func (c *collectorComponent) Stop() error {
	c.srv.Close()
	c.stopRun()
	err := <-c.ran
	c.log.Info("collector stopped")
	return err
}

// metricsComponent is the Prometheus endpoint of the collector ("off":
// none), with the dashboard's metrics when it runs (ui not nil).
type metricsComponent struct {
	listen    string
	collector *collectorComponent
	ui        *uiComponent
	alerts    *alertsComponent
	log       *slog.Logger
	srv       *http.Server
}

func (c *metricsComponent) Start(context.Context) error {
	if c.listen == "off" {
		return nil
	}
	cs := c.collector.c.Metrics()
	if e := c.collector.enrich; e != nil && e.e != nil {
		cs = append(cs, e.e.stats.Metrics()...)
	}
	if c.ui != nil {
		cs = append(cs, c.ui.srv.metrics...)
	}
	if c.alerts != nil {
		cs = append(cs, c.alerts.metrics()...)
	}
	srv, addr, err := metrics.Serve(c.listen, cs...)
	if err != nil {
		return err
	}
	c.srv = srv
	c.log.Info("metrics endpoint", "url", "http://"+addr.String()+"/metrics")
	return nil
}

func (c *metricsComponent) Stop() error {
	if c.srv == nil {
		return nil
	}
	return c.srv.Close()
}

var (
	_ lifecycle.Component = (*storeComponent)(nil)
	_ lifecycle.Component = (*registryComponent)(nil)
	_ lifecycle.Component = (*uiComponent)(nil)
	_ lifecycle.Failer    = (*collectorComponent)(nil)
	_ lifecycle.Component = (*metricsComponent)(nil)
)
