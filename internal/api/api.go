// Package api is Nightjar's JSON API (/api/v1/...): the store's questions
// over HTTP, for the web UI and for scripts. It owns the routes, the
// validation of their parameters, the shapes of their answers — shared
// with `nightjar query --format json|csv` (responses.go) — and the OpenAPI
// document that describes them (openapi.yaml, served as
// /api/v1/openapi.json and checked against the handlers by the tests).
//
// Every endpoint answers GET and HEAD, in JSON; those whose answer is a
// table also in CSV (format=csv, with a header row). Bad input — unknown
// parameters, bad periods, limits exceeded, unknown sensors or groups —
// gets 400 and {"error": "...", "param": "..."}, never 500. Answers are
// bounded: top N, number of ports, length of ranges and of hourly series.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Store is what the API reads: the questions, the sensors and their
// health.
type Store interface {
	store.Questions
	Sensors(ctx context.Context) ([]store.Sensor, error)
	Health(ctx context.Context) ([]store.Health, error)
}

// Options configure the API. The zero value is usable.
type Options struct {
	// Limits bound what a request may ask; zero fields take the defaults
	// of DefaultLimits.
	Limits Limits
	// Now is the clock: the default period is the last DefaultDays UTC
	// days up to now, and the overview's "today" is the current UTC day.
	// Nil: time.Now.
	Now func() time.Time
	// Logger receives the errors of the store (answered with 500). Nil:
	// they are not logged.
	Logger *slog.Logger
	// Alerts are the store's alerts and silences, when it keeps them (a
	// store.AlertStore). Nil: the alerts endpoints answer 404.
	Alerts Alerts
}

// DefaultDays is the length of the default period (no period, from or
// to): the last 30 UTC days, today so far included — meaningful on any
// date, unlike the calendar month so far, which holds minutes on the 1st.
const DefaultDays = 30

// Limits bound the answers, so that no request makes the server build an
// unbounded one.
type Limits struct {
	MaxTop   int // largest top=, ports or sources per answer (1000)
	MaxPorts int // most port= values of a port series (20)
	// MaxPoints bounds a port series: series × buckets (1,000,000).
	MaxPoints int
	// MaxYears is the longest period, in years (10).
	MaxYears int
	// MaxHourly is the longest period of an hourly series (62 days).
	MaxHourly time.Duration
	// Active: a sensor is active when its last health report is more
	// recent (5 minutes), or when it has packets today.
	Active time.Duration
	// OverviewDays is the length of the overview's daily series (90).
	OverviewDays int
	// HeavyDays: a request whose period is longer (92 days, a quarter)
	// is heavy. The dashboard's default views (30 days) are not.
	HeavyDays int
	// MaxHeavy is how many heavy requests ask the store at once (4): the
	// others queue, so that a burst of them (ten years, top=1000) cannot
	// take the database from the collector's ingestion.
	MaxHeavy int
	// QueueWait is how long a heavy request waits for its turn (30 s)
	// before it is refused with 503 and Retry-After.
	QueueWait time.Duration
}

// DefaultLimits are the limits of a zero Options.
func DefaultLimits() Limits {
	return Limits{MaxTop: 1000, MaxPorts: 20, MaxPoints: 1_000_000, MaxYears: 10, MaxHourly: 62 * 24 * time.Hour, Active: 5 * time.Minute, OverviewDays: 90,
		HeavyDays: 92, MaxHeavy: 4, QueueWait: 30 * time.Second}
}

// handler serves the API.
type handler struct {
	st     Store
	alerts Alerts // nil: no alerts
	limits Limits
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	// turns holds a token per heavy request asking the store
	// (Limits.MaxHeavy).
	turns chan struct{}
	// doc is the OpenAPI document as JSON, or docErr why not.
	doc    json.RawMessage
	docErr error
}

// New returns the API's handler. It serves paths under /api/v1/ (mount it
// there with the request's full path); any other path is 404.
func New(st Store, opts Options) http.Handler {
	h := &handler{st: st, alerts: opts.Alerts, limits: withDefaults(opts.Limits), now: opts.Now, log: opts.Logger, mux: http.NewServeMux()}
	h.turns = make(chan struct{}, h.limits.MaxHeavy)
	h.doc, h.docErr = openAPIJSON()
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.path, h.serve(rt))
	}
	h.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &Error{Message: "no such endpoint: " + r.URL.Path + " (see /api/v1/openapi.json)"})
	}))
	return h.mux
}

func withDefaults(l Limits) Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, def *int }{{&l.MaxTop, &d.MaxTop}, {&l.MaxPorts, &d.MaxPorts}, {&l.MaxPoints, &d.MaxPoints}, {&l.MaxYears, &d.MaxYears}, {&l.OverviewDays, &d.OverviewDays}, {&l.HeavyDays, &d.HeavyDays}, {&l.MaxHeavy, &d.MaxHeavy}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if l.MaxHourly <= 0 {
		l.MaxHourly = d.MaxHourly
	}
	if l.Active <= 0 {
		l.Active = d.Active
	}
	if l.QueueWait <= 0 {
		l.QueueWait = d.QueueWait
	}
	return l
}

// route is an endpoint: its path (a ServeMux pattern), its name (of CSV
// files), whether it answers in CSV too, the query parameters it accepts
// (any other is a 400) and the function that answers it.
type route struct {
	path   string
	name   string
	csv    bool
	params []string
	answer func(ctx context.Context, q *query) (any, error)
}

func (h *handler) routes() []route {
	with := func(params ...string) []string { return append(params, "period", "from", "to", "format") }
	return []route{
		{"/api/v1/sensors", "sensors", true, []string{"format"}, h.sensors},
		{"/api/v1/groups", "groups", true, []string{"format"}, h.groups},
		{"/api/v1/overview", "overview", false, with("top"), h.overview},
		{"/api/v1/top-ports", "top-ports", true, with("top", "sensor"), ask(h, AskTopPorts)},
		{"/api/v1/group-top-ports", "group-top-ports", true, with("top", "group"), h.groupTopPorts},
		{"/api/v1/group-averages", "group-averages", true, with("group", "daily"), ask(h, AskGroupAverages)},
		{"/api/v1/port-series", "port-series", true, with("port", "resolution", "by", "sensor", "group"), h.portSeries},
		{"/api/v1/top-sources", "top-sources", true, with("top", "sensor", "country", "asn", "prefix", "scanner", "verdict"), ask(h, AskTopSources)},
		{"/api/v1/origins", "origins", true, with("kind", "top", "by", "sensor", "group"), ask(h, AskOrigins)},
		{"/api/v1/origin-ports", "origin-ports", true, with("top", "sensor", "country", "asn", "prefix", "scanner"), ask(h, AskOriginPorts)},
		{"/api/v1/devices", "devices", true, with("top", "sensor", "group", "tag", "vendor"), ask(h, AskDevices)},
		{"/api/v1/device-series", "device-series", true, with("top", "sensor", "group", "tag", "vendor", "bucket"), ask(h, AskDeviceSeries)},
		{"/api/v1/port-sources", "port-sources", true, with("top", "sensor"), ask(h, AskPortSources)},
		{"/api/v1/tags", "tags", true, with("sensor"), ask(h, AskTags)},
		{"/api/v1/sources/{ip}", "source", true, with(), h.source},
		{"/api/v1/alerts", "alerts", false, []string{"state", "severity", "detector", "sensor", "group", "port", "tag", "since", "until", "limit", "format"}, h.alertList},
		{"/api/v1/alerts/{id}", "alert", false, []string{"format"}, h.alert},
		{"/api/v1/silences", "silences", false, []string{"format"}, h.silences},
		{"/api/v1/openapi.json", "openapi", false, nil, h.openAPI},
	}
}

// serve answers a route: it checks the method and the parameters, asks,
// and writes the answer as JSON or CSV, or the error.
func (h *handler) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, &Error{Message: "method " + r.Method + " not allowed: use GET"})
			return
		}
		q, err := h.newQuery(r, rt)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		ans, err := h.answer(w, r, rt, q)
		if errors.Is(err, errBusy) {
			return
		}
		if err == nil {
			err = q.err
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if t, ok := ans.(Table); ok && q.csv {
			writeCSV(w, rt.name+q.fileTag, t)
			return
		}
		writeJSON(w, ans)
	})
}

// errBusy: a heavy request got no turn; it has been answered.
var errBusy = errors.New("no turn for a heavy request")

// answer asks the route's question; a heavy request waits for its turn
// first (answered with 503 when none comes: errBusy).
func (h *handler) answer(w http.ResponseWriter, r *http.Request, rt route, q *query) (any, error) {
	if q.period().Duration() <= time.Duration(h.limits.HeavyDays)*24*time.Hour {
		return rt.answer(r.Context(), q)
	}
	if !h.waitTurn(w, r) {
		return nil, errBusy
	}
	defer func() { <-h.turns }()
	return rt.answer(r.Context(), q)
}

// waitTurn takes one of the heavy requests' turns, or answers 503 when
// none came within Limits.QueueWait (or the client left).
func (h *handler) waitTurn(w http.ResponseWriter, r *http.Request) bool {
	timer := time.NewTimer(h.limits.QueueWait)
	defer timer.Stop()
	select {
	case h.turns <- struct{}{}:
		return true
	case <-timer.C:
		h.log.Warn("api request refused: too many heavy queries at once", "path", r.URL.Path, "wait_seconds", h.limits.QueueWait.Seconds())
		w.Header().Set("Retry-After", strconv.Itoa(int(h.limits.QueueWait.Seconds())+1))
		writeError(w, http.StatusServiceUnavailable, &Error{Message: fmt.Sprintf("busy: %d queries of more than %d days running and others waiting; try again later, or ask for a shorter period", h.limits.MaxHeavy, h.limits.HeavyDays)})
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, &Error{Message: "request cancelled"})
	}
	return false
}

// fail answers an error: its own status for an *Error that has one (404:
// no such alert), 400 for bad input (an *Error, or a sensor or group the
// store does not know), 500 otherwise.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		e  *Error
		pe *store.ParamError
	)
	switch {
	case errors.As(err, &e) && e.status != 0:
		writeError(w, e.status, e)
		return
	case errors.As(err, &e):
	case errors.As(err, &pe):
		e = &Error{Message: pe.Msg, Param: pe.Param}
	case errors.Is(err, store.ErrUnknownSensor):
		e = &Error{Message: err.Error(), Param: "sensor"}
	case errors.Is(err, store.ErrUnknownGroup):
		e = &Error{Message: err.Error(), Param: "group"}
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, &Error{Message: "request cancelled"})
		return
	default:
		h.log.Error("api request failed", "path", r.URL.Path, "query", r.URL.RawQuery, "err", err)
		writeError(w, http.StatusInternalServerError, &Error{Message: "internal error (the server's log has the details)"})
		return
	}
	writeError(w, http.StatusBadRequest, e)
}
