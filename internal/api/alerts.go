package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Alerts is what the alerts endpoints read: the store's alerts and
// silences (a backend's store.AlertStore).
type Alerts interface {
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.Alert, error)
	Silences(ctx context.Context, at time.Time) ([]store.Silence, error)
}

// DefaultAlertLimit is how many alerts /api/v1/alerts answers without a
// limit.
const DefaultAlertLimit = 100

// AlertsResponse is the answer of /api/v1/alerts: the alerts selected,
// newest start first, each marked silenced when a silence mutes it now.
type AlertsResponse struct {
	Alerts []AlertAnswer `json:"alerts"`
}

// AlertAnswer is an alert as the API shows it.
type AlertAnswer struct {
	store.Alert
	// Silenced: a silence mutes its notifications now (it is still
	// stored and shown).
	Silenced bool `json:"silenced"`
}

// SilencesResponse is the answer of /api/v1/silences: the silences that
// have not ended, by ID.
type SilencesResponse struct {
	Silences []store.Silence `json:"silences"`
}

// errNoAlerts answers the alerts endpoints of a server whose store keeps
// no alerts.
var errNoAlerts = &Error{Message: "this server's store keeps no alerts", status: http.StatusNotFound}

// alertList answers /api/v1/alerts.
func (h *handler) alertList(ctx context.Context, q *query) (any, error) {
	aq, severities := h.alertQuery(ctx, q)
	if q.err != nil {
		return nil, q.err
	}
	if h.alerts == nil {
		return nil, errNoAlerts
	}
	limit := aq.Limit
	if len(severities) > 0 || minSensors(ctx) > 0 {
		aq.Limit = 0 // filtered here: the limit applies after
	}
	list, err := h.alerts.Alerts(ctx, aq)
	if err != nil {
		return nil, err
	}
	if len(severities) > 0 {
		list = slices.DeleteFunc(list, func(a store.Alert) bool { return !slices.Contains(severities, a.Severity) })
	}
	if list, err = h.forVisitor(ctx, list); err != nil {
		return nil, err
	}
	if len(list) > limit {
		list = list[:limit]
	}
	answers, err := h.marked(ctx, list)
	return AlertsResponse{Alerts: answers}, err
}

// alertQuery reads the filters of /api/v1/alerts; unknown states,
// detectors, severities, sensors, groups, tags and malformed ports or
// times are bad parameters.
func (h *handler) alertQuery(ctx context.Context, q *query) (store.AlertQuery, []store.Severity) {
	aq := store.AlertQuery{Detector: q.one("detector"), Limit: q.int("limit", DefaultAlertLimit, 1, q.limits.MaxTop)}
	for _, s := range q.list("state") {
		st, err := store.ParseAlertState(s)
		if err != nil {
			q.fail("state", "%v", err)
		}
		aq.States = append(aq.States, st)
	}
	var severities []store.Severity
	for _, s := range q.list("severity") {
		if store.Severity(s).Rank() == 0 {
			q.fail("severity", "unknown severity %q (want info, warning or critical)", s)
		}
		severities = append(severities, store.Severity(s))
	}
	if aq.Detector != "" && !slices.Contains(alerts.Detectors, aq.Detector) {
		q.fail("detector", "unknown detector %q (want one of %s)", aq.Detector, strings.Join(alerts.Detectors, ", "))
	}
	aq.Scope.Sensor, aq.Scope.Group, aq.Scope.Tag = q.one("sensor"), q.one("group"), q.one("tag")
	if port := q.one("port"); port != "" {
		slot, err := portcount.ParseLabel(port)
		if err != nil {
			q.fail("port", "%v", err)
		}
		aq.Scope.Port = portcount.Key(slot).Label()
	}
	if aq.Scope.Tag != "" && !slices.Contains(TagNames(), aq.Scope.Tag) {
		q.fail("tag", "unknown tag %q (want one of %s)", aq.Scope.Tag, strings.Join(TagNames(), ", "))
	}
	aq.Since, aq.Until = q.instant("since"), q.instant("until")
	if !aq.Since.IsZero() && !aq.Until.IsZero() && !aq.Since.Before(aq.Until) {
		q.fail("until", "until (%s) must be after since (%s)", aq.Until.Format(time.RFC3339), aq.Since.Format(time.RFC3339))
	}
	if q.err == nil && (aq.Scope.Sensor != "" || aq.Scope.Group != "") {
		sensors, err := h.st.Sensors(ctx)
		if err != nil {
			q.failWith(err)
			return aq, severities
		}
		if aq.Scope.Sensor != "" {
			_, err = store.SelectSensors(sensors, []string{aq.Scope.Sensor})
		}
		if err == nil && aq.Scope.Group != "" {
			_, err = store.SelectGroups(sensors, []string{aq.Scope.Group})
		}
		if errors.Is(err, store.ErrUnknownSensor) {
			q.fail("sensor", "%v", err)
		} else if errors.Is(err, store.ErrUnknownGroup) {
			q.fail("group", "%v", err)
		}
	}
	return aq, severities
}

// instant reads a time parameter: an RFC 3339 time or a date (its UTC
// midnight); zero when absent.
func (q *query) instant(name string) time.Time {
	s := q.one(name)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	q.fail(name, "%s: %q is neither an RFC 3339 time (2024-07-15T13:00:00Z) nor a date (2024-07-15)", name, s)
	return time.Time{}
}

// alert answers /api/v1/alerts/{id}: one alert, 404 when unknown.
func (h *handler) alert(ctx context.Context, q *query) (any, error) {
	text := q.path("id")
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id < 1 {
		return nil, badParam("id", "alert ID %q is not a positive whole number", text)
	}
	if h.alerts == nil {
		return nil, errNoAlerts
	}
	found, err := h.alerts.Alerts(ctx, store.AlertQuery{IDs: []int64{id}})
	if err != nil {
		return nil, err
	}
	if found, err = h.forVisitor(ctx, found); err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, &Error{Message: "no alert " + text, Param: "id", status: http.StatusNotFound}
	}
	answers, err := h.marked(ctx, found)
	if err != nil {
		return nil, err
	}
	return answers[0], nil
}

// silences answers /api/v1/silences.
func (h *handler) silences(ctx context.Context, _ *query) (any, error) {
	if h.alerts == nil {
		return nil, errNoAlerts
	}
	list, err := h.alerts.Silences(ctx, h.now())
	if list == nil {
		list = []store.Silence{}
	}
	return done(SilencesResponse{Silences: list}, err)
}

// marked marks the alerts that a silence mutes now.
func (h *handler) marked(ctx context.Context, list []store.Alert) ([]AlertAnswer, error) {
	now := h.now()
	silences, err := h.alerts.Silences(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]AlertAnswer, len(list))
	for i, a := range list {
		out[i] = AlertAnswer{Alert: a, Silenced: slices.ContainsFunc(silences, func(s store.Silence) bool { return s.Mutes(a, now) })}
	}
	return out, nil
}

// forVisitor leaves out, for an anonymous visitor of the public port
// graphs, what they may not see: the alerts of a sensor, or of a group
// (or a fleet) of fewer sensors than allowed — those would show a
// sensor's own traffic — and of the others, the peers that are sensors
// and who acknowledged or resolved them.
func (h *handler) forVisitor(ctx context.Context, list []store.Alert) ([]store.Alert, error) {
	least := minSensors(ctx)
	if least == 0 {
		return list, nil
	}
	sensors, err := h.st.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	members := map[string]int{}
	for _, s := range sensors {
		members[s.Group]++
	}
	var out []store.Alert
	for _, a := range list {
		switch {
		case a.Scope.Sensor != "":
			continue
		case a.Scope.Group != "" && members[a.Scope.Group] < least:
			continue
		case a.Scope.Group == "" && len(sensors) < least:
			continue
		}
		a.Evidence.Others = slices.DeleteFunc(slices.Clone(a.Evidence.Others), func(p store.PeerChange) bool {
			return p.Sensor != "" || members[p.Group] < least
		})
		a.By, a.Note = "", ""
		out = append(out, a)
	}
	return out, nil
}
