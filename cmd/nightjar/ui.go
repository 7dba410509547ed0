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

	"github.com/nightjar-telescope/nightjar/internal/api"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/web"
)

// uiServer is a running dashboard server.
type uiServer struct {
	addr net.Addr
	srv  *http.Server
}

func (u *uiServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u.srv.Shutdown(ctx) //nolint:errcheck // closing
}

// serveUI serves the dashboard and the JSON API over an open store, on a
// loopback address (the demo's: no users, read-only for whoever reaches
// it; web.CheckListen refuses anything else without TLS).
func serveUI(listen string, st *duckdb.Store, reg *pki.Registry, logger *slog.Logger) (*uiServer, error) {
	if err := web.CheckListen(listen, false, false); err != nil {
		return nil, err
	}
	handler := web.New(web.Options{API: api.New(st, api.Options{Logger: logger}), Registry: reg, Logger: logger, Version: version})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.New(slogWriter{logger}, "", 0)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("dashboard server", "err", err)
		}
	}()
	return &uiServer{addr: ln.Addr(), srv: srv}, nil
}
