package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/alerts"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// AlertLifecycle is how admins move alerts through their lifecycle (an
// alerts.Lifecycle): each change is stored with the notification of it
// queued for the receivers.
type AlertLifecycle interface {
	Acknowledge(ctx context.Context, id int64, by, note string, now time.Time) (store.Alert, error)
	Resolve(ctx context.Context, id int64, by, note string, now time.Time) (store.Alert, error)
}

// SilenceBook is where admins add and delete silences (the store's
// store.AlertStore).
type SilenceBook interface {
	PutSilence(ctx context.Context, s store.Silence) (int64, error)
	DeleteSilence(ctx context.Context, id int64) error
}

// Bounds of the alert actions' fields.
const (
	maxNoteChars   = 1000
	maxSilence     = 366 * 24 * time.Hour
	silenceEndForm = "2006-01-02T15:04" // an <input type="datetime-local">, read as UTC
)

// alertActions are the admins' POSTs on alerts, under the API's paths
// (documented in its OpenAPI document) but served here, where sessions
// and their CSRF tokens are.
func (h *Handler) alertActions(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/alerts/{id}/acknowledge", h.admin(h.checkCSRF(h.moveAlert("acknowledged", AlertLifecycle.Acknowledge))))
	mux.HandleFunc("POST /api/v1/alerts/{id}/resolve", h.admin(h.checkCSRF(h.moveAlert("resolved", AlertLifecycle.Resolve))))
	mux.HandleFunc("POST /api/v1/silences", h.admin(h.checkCSRF(h.addSilence)))
	mux.HandleFunc("POST /api/v1/silences/{id}/delete", h.admin(h.checkCSRF(h.deleteSilence)))
}

// moveAlert acknowledges or resolves the alert of the path for the
// logged-in admin, with the form's note.
func (h *Handler) moveAlert(verb string, move func(AlertLifecycle, context.Context, int64, string, string, time.Time) (store.Alert, error)) identified {
	return func(w http.ResponseWriter, r *http.Request, id identity) {
		if h.opts.Alerts == nil {
			writeJSONError(w, http.StatusNotFound, "this server changes no alerts: its store keeps none")
			return
		}
		alertID, ok := pathID(w, r, "alert")
		if !ok {
			return
		}
		note := strings.TrimSpace(r.PostForm.Get("note"))
		if n := len([]rune(note)); n > maxNoteChars {
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("note: %d characters, at most %d", n, maxNoteChars))
			return
		}
		a, err := move(h.opts.Alerts, r.Context(), alertID, id.Name, note, h.opts.Now().UTC())
		switch {
		case errors.Is(err, store.ErrUnknownAlert):
			writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no alert %d", alertID))
			return
		case errors.Is(err, alerts.ErrAlreadyResolved):
			writeJSONError(w, http.StatusConflict, fmt.Sprintf("alert %d is resolved already: it is re-opened if the change comes back", alertID))
			return
		case err != nil:
			h.opts.Logger.Error("alert change failed", "alert", alertID, "to", verb, "user", id.Name, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "the alert could not be changed (the server's log has the details)")
			return
		}
		h.opts.Logger.Info("alert "+verb, "alert", alertID, "user", id.Name, "client", clientIP(r))
		writeJSON(w, http.StatusOK, a)
	}
}

// addSilence stores the silence of the form, from now.
func (h *Handler) addSilence(w http.ResponseWriter, r *http.Request, id identity) {
	if h.opts.Silences == nil {
		writeJSONError(w, http.StatusNotFound, "this server keeps no silences: its store keeps no alerts")
		return
	}
	now := h.opts.Now().UTC()
	s, err := silenceForm(r.PostForm, now)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.By = id.Name
	if s.ID, err = h.opts.Silences.PutSilence(r.Context(), s); err != nil {
		h.opts.Logger.Error("silence failed", "scope", s.Scope.String(), "user", id.Name, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "the silence could not be stored (the server's log has the details)")
		return
	}
	h.opts.Logger.Info("alerts silenced", "silence", s.ID, "scope", s.Scope.String(), "detector", s.Detector,
		"until", s.End.Format(time.RFC3339), "user", id.Name, "client", clientIP(r))
	writeJSON(w, http.StatusCreated, s)
}

// silenceForm reads a silence from the form: its scope (Scope.String's
// form, "fleet" for all), detector (optional), duration or end, and
// comment (required), starting at now.
func silenceForm(f interface{ Get(string) string }, now time.Time) (store.Silence, error) {
	text := strings.TrimSpace(f.Get("scope"))
	if text == "" {
		return store.Silence{}, errors.New(`scope: give the scope to silence, as sensor=jp-tokyo-1,port=23/TCP ("fleet" silences every scope)`)
	}
	scope, err := store.ParseScope(text)
	if err != nil {
		return store.Silence{}, err
	}
	s := store.Silence{Scope: scope, Detector: strings.TrimSpace(f.Get("detector")), Start: now, Created: now, Comment: strings.TrimSpace(f.Get("comment"))}
	if s.Detector != "" && !slices.Contains(alerts.Detectors, s.Detector) {
		return store.Silence{}, fmt.Errorf("detector: unknown detector %q (want one of %s, or none for all)", s.Detector, strings.Join(alerts.Detectors, ", "))
	}
	switch n := len([]rune(s.Comment)); {
	case n == 0:
		return store.Silence{}, errors.New("comment: say why the alerts are silenced")
	case n > maxNoteChars:
		return store.Silence{}, fmt.Errorf("comment: %d characters, at most %d", n, maxNoteChars)
	}
	if s.End, err = silenceEnd(strings.TrimSpace(f.Get("duration")), strings.TrimSpace(f.Get("end")), now); err != nil {
		return store.Silence{}, err
	}
	return s, nil
}

// silenceEnd is the end of a silence from now: after a duration (2h,
// 90m, 3d) or at an end (RFC 3339, or a datetime-local in UTC), in the
// future and at most maxSilence away.
func silenceEnd(duration, end string, now time.Time) (time.Time, error) {
	var t time.Time
	switch {
	case duration != "" && end != "":
		return t, errors.New("give either duration or end, not both")
	case duration != "":
		d, err := parseDuration(duration)
		if err != nil {
			return t, err
		}
		t = now.Add(d)
	case end != "":
		var err error
		if t, err = time.Parse(time.RFC3339, end); err != nil {
			if t, err = time.Parse(silenceEndForm, end); err != nil {
				return t, fmt.Errorf("end: %q is neither an RFC 3339 time nor %s (UTC)", end, silenceEndForm)
			}
		}
		t = t.UTC()
	default:
		return t, errors.New("give how long (duration: 2h, 3d) or until when (end)")
	}
	switch {
	case !t.After(now):
		return t, fmt.Errorf("the silence would end at %s, not after now (%s)", t.Format(time.RFC3339), now.Format(time.RFC3339))
	case t.Sub(now) > maxSilence:
		return t, fmt.Errorf("the silence would last %s, more than %d days", t.Sub(now).Round(time.Hour), int(maxSilence.Hours()/24))
	}
	return t, nil
}

// parseDuration reads a Go duration (2h, 90m) or a number of days (3d).
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("duration: %q is not a number of days (3d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration: %q is not a duration (2h, 90m, 3d)", s)
	}
	return d, nil
}

// deleteSilence removes the silence of the path.
func (h *Handler) deleteSilence(w http.ResponseWriter, r *http.Request, id identity) {
	if h.opts.Silences == nil {
		writeJSONError(w, http.StatusNotFound, "this server keeps no silences: its store keeps no alerts")
		return
	}
	silenceID, ok := pathID(w, r, "silence")
	if !ok {
		return
	}
	err := h.opts.Silences.DeleteSilence(r.Context(), silenceID)
	switch {
	case errors.Is(err, store.ErrUnknownSilence):
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no silence %d", silenceID))
		return
	case err != nil:
		h.opts.Logger.Error("silence deletion failed", "silence", silenceID, "user", id.Name, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "the silence could not be deleted (the server's log has the details)")
		return
	}
	h.opts.Logger.Info("silence deleted", "silence", silenceID, "user", id.Name, "client", clientIP(r))
	writeJSON(w, http.StatusOK, map[string]int64{"deleted": silenceID})
}

// pathID reads the positive ID of the path, or answers 400.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	text := r.PathValue("id")
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 1 {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("%s ID %q is not a positive whole number", what, text))
		return 0, false
	}
	return n, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
