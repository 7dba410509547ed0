package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Message is the body a webhook of the json format receives, the
// notification of one event of an alert.
type Message struct {
	// Notification is the outbox's ID of the notification: the same on
	// every attempt, for a receiver to drop one it got twice.
	Notification int64  `json:"notification"`
	Receiver     string `json:"receiver"`
	// Event is what happened: opened, reopened, escalated, acknowledged
	// or resolved.
	Event  string    `json:"event"`
	Queued time.Time `json:"queued"`
	// Alert is the alert when the event was queued, its Link made
	// absolute with the configured base_url.
	Alert store.Alert `json:"alert"`
}

// newSender returns the sender of the receiver, reading its files.
func newSender(rc ReceiverConfig, baseURL string, now clock.Clock, log *slog.Logger) (sender, error) {
	if rc.Email != nil {
		return newEmail(rc, baseURL, now, log)
	}
	return newWebhook(rc, baseURL), nil
}

// webhook POSTs each notification to a URL.
type webhook struct {
	cfg      WebhookConfig
	receiver string
	baseURL  string
	// site is the URL's scheme and host, what errors name: the path of a
	// webhook's URL is often its secret (Slack's are).
	site   string
	client *http.Client
}

func newWebhook(rc ReceiverConfig, baseURL string) *webhook {
	u, _ := url.Parse(rc.Webhook.URL) // checked by Config.resolve
	return &webhook{cfg: *rc.Webhook, receiver: rc.Name, baseURL: baseURL, site: u.Scheme + "://" + u.Host, client: &http.Client{
		// A redirect is answered, not followed: a POST that follows one
		// may become a GET, and the configured URL should be the final one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// maxAnswerQuoted bounds the part of a failed answer quoted in the error;
// maxAnswerRead bounds what is read of any answer, to reuse the connection.
const (
	maxAnswerQuoted = 200
	maxAnswerRead   = 64 << 10
)

func (w *webhook) send(ctx context.Context, n store.Notification) error {
	n.Alert.Link = absoluteLink(w.baseURL, n.Alert.Link)
	var payload any = Message{Notification: n.ID, Receiver: w.receiver, Event: n.Event, Queued: n.Queued, Alert: n.Alert}
	if w.cfg.Format == FormatSlack {
		payload = slackMessage(n)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode notification %d: %w", n.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Nightjar-alerts")
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
		err = uerr.Err // without the URL
	}
	if err != nil {
		return fmt.Errorf("POST %s: %w", w.site, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerRead))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	quoted := truncate(strings.TrimSpace(string(answer)), maxAnswerQuoted)
	if code >= 300 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return fmt.Errorf("%w: POST %s: %s %q", ErrRejected, w.site, resp.Status, quoted)
	}
	return fmt.Errorf("POST %s: %s %q", w.site, resp.Status, quoted)
}

// absoluteLink prefixes a dashboard path with the base URL (its own path
// kept, for a dashboard behind a prefix); an absolute link stays.
func absoluteLink(baseURL, link string) string {
	if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") {
		return link
	}
	return strings.TrimSuffix(baseURL, "/") + "/" + strings.TrimPrefix(link, "/")
}
