package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/alerts/deliver"
	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/lifecycle"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// alertsComponent runs the detectors live over the store and delivers
// their notifications: the alerts_file setting of the collector and the
// demo ("" the defaults, no receivers; "off" none).
type alertsComponent struct {
	file  string
	now   clock.Clock
	store *storeComponent
	log   *slog.Logger

	cfg    alerts.File
	engine *alerts.Engine
	out    *deliver.Dispatcher
	open   *deliver.OpenAlerts
}

func (c *alertsComponent) off() bool { return c.file == "off" }

func (c *alertsComponent) Start(ctx context.Context) error {
	if c.off() {
		return nil
	}
	cfg, err := loadAlertsConfig(c.file)
	if err != nil {
		return err
	}
	c.cfg = cfg
	if !cfg.Alerts.Enabled {
		c.log.Info("alerts: detectors disabled (enabled: false)")
		return nil
	}
	st := c.store.st
	if c.out, err = deliver.New(c.log.With("component", "notifications"), cfg.Delivery, deliver.Deps{Outbox: st, Clock: c.now}); err != nil {
		return fmt.Errorf("alerts file: delivery: %w", err)
	}
	if err := c.out.Start(ctx); err != nil {
		return err
	}
	c.open = deliver.NewOpenAlerts()
	c.engine = alerts.NewEngine(c.log.With("component", "alerts"), cfg.Alerts, alerts.Deps{
		Source: st, Book: st, Now: c.now, Research: alerts.Research(st),
		Changed: func([]store.AlertWrite) { c.changed(ctx, st) },
	})
	return c.engine.Start(ctx)
}

// changed delivers at once and refreshes the open-alerts gauge.
func (c *alertsComponent) changed(ctx context.Context, st store.AlertStore) {
	c.out.Wake()
	open, err := st.Alerts(ctx, store.AlertQuery{States: []store.AlertState{store.AlertOpen, store.AlertAcknowledged}})
	if err != nil {
		c.log.Warn("alerts: open alerts for the metrics", "err", err)
		return
	}
	c.open.SetOpen(open)
}

func (c *alertsComponent) Stop() error {
	if c.engine != nil {
		c.engine.Stop()
	}
	if c.out != nil {
		return c.out.Stop()
	}
	return nil
}

// metrics are the notifications' and the open alerts' collectors (none
// when off).
func (c *alertsComponent) metrics() []prometheus.Collector {
	if c.out == nil {
		return nil
	}
	return append(c.out.Metrics(), c.open)
}

var _ lifecycle.Component = (*alertsComponent)(nil)
