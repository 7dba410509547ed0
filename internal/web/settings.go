package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Settings are the store's settings admins change on /admin (a backend's
// store.RetentionSetter).
type Settings interface {
	// Retention is how long raw packet records are kept (0: forever).
	Retention() time.Duration
	// SetRetention changes it durably; the next rollup prunes by it.
	SetRetention(ctx context.Context, keep time.Duration) error
}

// maxRetentionDays bounds the retention typed in the form.
const maxRetentionDays = 36500

// retentionDays is the retention shown in the settings form, in days.
func retentionDays(s Settings) int { return int(s.Retention() / (24 * time.Hour)) }

// setRetention changes the raw-record retention.
func (h *Handler) setRetention(w http.ResponseWriter, r *http.Request, id identity) {
	if h.opts.Settings == nil {
		h.adminError(w, r, id, http.StatusNotFound, "This server has no settings to change.")
		return
	}
	days, err := strconv.Atoi(r.PostForm.Get("retention_days"))
	if err != nil || days < 0 || days > maxRetentionDays {
		h.adminError(w, r, id, http.StatusBadRequest, fmt.Sprintf("Retention: %q is not a number of days from 0 (keep forever) to %d.", r.PostForm.Get("retention_days"), maxRetentionDays))
		return
	}
	before := h.opts.Settings.Retention()
	if err := h.opts.Settings.SetRetention(r.Context(), time.Duration(days)*24*time.Hour); err != nil {
		h.adminError(w, r, id, http.StatusBadRequest, err.Error())
		return
	}
	h.opts.Logger.Info("retention changed", "user", id.Name, "from_seconds", before.Seconds(), "to_seconds", h.opts.Settings.Retention().Seconds(), "client", clientIP(r))
	http.Redirect(w, r, "/admin?retention="+strconv.Itoa(days), http.StatusSeeOther)
}
