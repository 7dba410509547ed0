package deliver

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/nightjar-telescope/nightjar/internal/notify"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// Config is the delivery of the alerts' notifications (YAML; unknown keys
// are errors):
//
//	base_url: https://nightjar.example.org
//	interval: 10s
//	receivers:
//	  - name: soc-slack
//	    min_severity: warning
//	    webhook: {url: "https://hooks.slack.com/services/T0/B0/XXXX", format: slack}
//	  - name: soc-mail
//	    min_severity: critical
//	    email:
//	      server: smtp.example.org:587
//	      from: Nightjar <nightjar@example.org>
//	      to: [soc@example.org]
//	      username: nightjar
//	      password_file: /etc/nightjar/smtp-password
type Config struct {
	// BaseURL is the dashboard's address ("https://nightjar.example.org",
	// with its path prefix if any): the alerts' links are made absolute
	// with it. Required when there are receivers.
	BaseURL string `yaml:"base_url"`
	// Interval is how often each receiver's outbox is read (default 10s);
	// Dispatcher.Wake reads it at once.
	Interval time.Duration `yaml:"interval"`
	// Receivers are told of the alerts' events; their names are the
	// outbox's (ReceiverNames, for store.AlertStore.PutAlerts).
	Receivers []ReceiverConfig `yaml:"receivers"`
}

// ReceiverConfig is one receiver: a webhook or a mailbox, and which
// alerts it wants. The notifications of the alerts it does not want are
// recorded delivered and skipped, never sent.
type ReceiverConfig struct {
	// Name identifies the receiver in the outbox, the logs and the
	// metrics: letters, digits, '.', '_' and '-'.
	Name string `yaml:"name"`
	// MinSeverity is the lowest severity sent: info, warning (default)
	// or critical.
	MinSeverity store.Severity `yaml:"min_severity"`
	// Research sends the alerts of research-scanner activity too (default
	// false: they are shown on the dashboard, not raised).
	Research bool `yaml:"research"`
	// Timeout bounds one delivery, from dial to answer (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Webhook and Email: exactly one is set.
	Webhook *WebhookConfig `yaml:"webhook"`
	Email   *EmailConfig   `yaml:"email"`
}

// WebhookConfig is a receiver reached by an HTTP POST of JSON.
type WebhookConfig struct {
	// URL is where to POST (http or https).
	URL string `yaml:"url"`
	// Format is "json" (default: a Message) or "slack" (a Slack incoming
	// webhook's text and blocks, which Mattermost and Rocket.Chat take
	// too).
	Format string `yaml:"format"`
	// Headers are added to every request ("Authorization: Bearer ...").
	Headers map[string]string `yaml:"headers"`
}

// The webhook formats.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// EmailConfig is a receiver reached by mail, through an SMTP submission
// server (notify.Mailer: STARTTLS unless insecure, AUTH PLAIN or LOGIN).
type EmailConfig struct {
	// Server is the submission server, "host:port".
	Server string `yaml:"server"`
	// From is the sender ("Nightjar <nightjar@example.org>").
	From string `yaml:"from"`
	// To are the recipients, at least one.
	To []string `yaml:"to"`
	// Username authenticates (AUTH; none when empty) with the password
	// that PasswordFile holds (its first line).
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// Auth is "plain" (default) or "login".
	Auth string `yaml:"auth"`
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	ImplicitTLS bool `yaml:"implicit_tls"`
	// Insecure lets mail and credentials cross in clear to a server that
	// offers no STARTTLS.
	Insecure bool `yaml:"insecure"`
	// CAFile is a PEM file of the authorities that sign the server's
	// certificate (default: the system's).
	CAFile string `yaml:"ca_file"`
}

// DefaultConfig returns the defaults: no receivers, the outbox read every
// 10 s.
func DefaultConfig() Config {
	return Config{Interval: 10 * time.Second}
}

// Defaults of a receiver's empty fields.
const (
	defaultTimeout     = 10 * time.Second
	defaultMinSeverity = store.SeverityWarning
)

// ParseConfig decodes a configuration over DefaultConfig and checks it.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := yamlstrict.Decode(data, &c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return c, c.Check()
}

// ReceiverNames are the receivers' names, in the order configured: the
// receivers store.AlertStore.PutAlerts queues notifications for.
func (c Config) ReceiverNames() []string {
	names := make([]string, len(c.Receivers))
	for i, r := range c.Receivers {
		names[i] = r.Name
	}
	return names
}

// Check reports every problem of the configuration, each naming its key.
// It reads no file: a password or CA file that cannot be read fails
// Dispatcher.Start.
func (c Config) Check() error {
	_, err := c.resolve()
	return err
}

var receiverName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// resolve returns the configuration with the defaults in its empty
// fields, or every problem it has.
func (c Config) resolve() (Config, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Interval == 0 {
		c.Interval = DefaultConfig().Interval
	}
	if c.Interval < time.Second {
		bad("interval: %v, want at least 1s", c.Interval)
	}
	if len(c.Receivers) > 0 {
		if err := checkURL(c.BaseURL); err != nil {
			bad("base_url: %v (the dashboard's address, for the alerts' links)", err)
		}
	}
	seen := map[string]bool{}
	receivers := make([]ReceiverConfig, len(c.Receivers))
	for i, r := range c.Receivers {
		key := fmt.Sprintf("receivers[%d]", i)
		if r.Name != "" {
			key = fmt.Sprintf("receivers[%d] (%s)", i, r.Name)
		}
		r, rerrs := r.resolve()
		for _, err := range rerrs {
			bad("%s: %v", key, err)
		}
		if seen[r.Name] {
			bad("%s: name: %q is already the name of another receiver", key, r.Name)
		}
		seen[r.Name] = true
		receivers[i] = r
	}
	c.Receivers = receivers
	return c, errors.Join(errs...)
}

func (r ReceiverConfig) resolve() (ReceiverConfig, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !receiverName.MatchString(r.Name) {
		bad("name: %q, want letters, digits, '.', '_' or '-' (the outbox's, the logs' and the metrics' name of the receiver)", r.Name)
	}
	if r.MinSeverity == "" {
		r.MinSeverity = defaultMinSeverity
	}
	if r.MinSeverity.Rank() == 0 {
		bad("min_severity: %q, want info, warning or critical", r.MinSeverity)
	}
	if r.Timeout == 0 {
		r.Timeout = defaultTimeout
	}
	if r.Timeout < 0 {
		bad("timeout: %v, want more than 0", r.Timeout)
	}
	switch {
	case r.Webhook == nil && r.Email == nil:
		bad("give webhook: or email:")
	case r.Webhook != nil && r.Email != nil:
		bad("webhook and email: give one, not both (two receivers for both)")
	case r.Webhook != nil:
		w := *r.Webhook
		errs = append(errs, w.resolve()...)
		r.Webhook = &w
	case r.Email != nil:
		if _, err := r.Email.mailConfig(r.Timeout); err != nil {
			bad("email.%v", err)
		}
	}
	return r, errs
}

func (w *WebhookConfig) resolve() []error {
	var errs []error
	if err := checkURL(w.URL); err != nil {
		errs = append(errs, fmt.Errorf("webhook.url: %v", err))
	}
	if w.Format == "" {
		w.Format = FormatJSON
	}
	if w.Format != FormatJSON && w.Format != FormatSlack {
		errs = append(errs, fmt.Errorf("webhook.format: %q, want json or slack", w.Format))
	}
	for k, v := range w.Headers {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			errs = append(errs, fmt.Errorf("webhook.headers: %q is not a valid HTTP header name and value", k))
		}
	}
	return errs
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}

// mailConfig is the receiver's notify.MailConfig without what files hold
// (the password, the CA), and checked as notify.NewMailer checks it. The
// error starts with the key at fault, after "email.".
func (e *EmailConfig) mailConfig(timeout time.Duration) (notify.MailConfig, error) {
	mc := notify.MailConfig{
		Server: e.Server, ImplicitTLS: e.ImplicitTLS, Insecure: e.Insecure,
		Username: e.Username, Auth: e.Auth, From: e.From, Timeout: timeout,
	}
	switch {
	case e.Server == "":
		return mc, errors.New("server: required (host:port)")
	case e.From == "":
		return mc, errors.New("from: required (the sender's address)")
	case len(e.To) == 0:
		return mc, errors.New("to: required (the recipients' addresses)")
	case e.PasswordFile != "" && e.Username == "":
		return mc, errors.New("password_file: a password without a username")
	}
	if _, err := recipients(e.To); err != nil {
		return mc, err
	}
	if _, err := notify.NewMailer(mc); err != nil {
		// NewMailer's errors name the key after "mail: ".
		return mc, errors.New(strings.TrimPrefix(err.Error(), "mail: "))
	}
	return mc, nil
}

// recipients parses the To addresses; the error starts with "to:".
func recipients(to []string) ([]*mail.Address, error) {
	addrs := make([]*mail.Address, len(to))
	for i, s := range to {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("to: %q: %w", s, err)
		}
		addrs[i] = a
	}
	return addrs, nil
}
