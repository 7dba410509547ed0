package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// MailConfig says how a Mailer reaches the SMTP server and what its mail
// says.
type MailConfig struct {
	// Server is the submission server, "host:port" ("smtp.example.net:587").
	Server string
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465) instead
	// of upgrading the connection with STARTTLS.
	ImplicitTLS bool
	// Insecure lets the mail, and the credentials, cross in clear when the
	// server offers no STARTTLS. Without it such a server is sent nothing
	// (ErrNoSTARTTLS). A server that offers STARTTLS always gets TLS.
	Insecure bool
	// TLS is the base TLS configuration (roots, minimum version); nil means
	// the system's roots. ServerName defaults to Server's host.
	TLS *tls.Config
	// Username and Password authenticate the client (AUTH); no AUTH when
	// Username is empty.
	Username string
	Password string
	// Auth is the mechanism: "plain" (RFC 4616, the default) or "login"
	// (for servers that offer no other).
	Auth string
	// From is the sender: the envelope's MAIL FROM and the From header
	// ("Telescope <telescope@example.org>").
	From string
	// Subject is the mail's subject, with "{owner}" and "{period}" replaced
	// by the owner's name and the period.
	Subject string
	// Timeout bounds one owner's delivery, from dial to QUIT.
	Timeout time.Duration
	// HelloName is the client's name in EHLO.
	HelloName string
	// Now is the clock of the Date header; time.Now when nil.
	Now func() time.Time
}

// DefaultMailConfig returns the defaults a Mailer applies for the fields
// left empty; Server and From have none.
func DefaultMailConfig() MailConfig {
	return MailConfig{
		Auth:      "plain",
		Subject:   "Nightjar darknet events for {owner}, {period}",
		Timeout:   time.Minute,
		HelloName: "localhost",
	}
}

// ErrNoSTARTTLS is the error of a delivery to a server that offers no
// STARTTLS, unless MailConfig.Insecure allows it.
var ErrNoSTARTTLS = errors.New("the server offers no STARTTLS: refusing to send mail and credentials in clear (allow it with the insecure option)")

// Mailer mails the report files to the owners' contacts, one mail and one
// SMTP connection per owner.
type Mailer struct {
	cfg  MailConfig
	host string // Server's host, the TLS server name
	from *mail.Address
}

// NewMailer checks cfg and fills its empty fields from
// DefaultMailConfig. It does not connect.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	def := DefaultMailConfig()
	if cfg.Auth == "" {
		cfg.Auth = def.Auth
	}
	if cfg.Subject == "" {
		cfg.Subject = def.Subject
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.HelloName == "" {
		cfg.HelloName = def.HelloName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("mail: server %q: want host:port, as smtp.example.net:587", cfg.Server)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from %q: %w", cfg.From, err)
	}
	switch {
	case cfg.Auth != "plain" && cfg.Auth != "login":
		return nil, fmt.Errorf("mail: auth %q: want plain or login", cfg.Auth)
	case cfg.Password != "" && cfg.Username == "":
		return nil, errors.New("mail: a password without a username")
	case strings.ContainsFunc(cfg.Subject, unicode.IsControl):
		return nil, errors.New("mail: the subject holds a control character")
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("mail: timeout %v: want more than 0", cfg.Timeout)
	}
	return &Mailer{cfg: cfg, host: host, from: from}, nil
}

// Result says what Send did for each owner.
type Result struct {
	// Sent are the mails every contact of the owner accepted.
	Sent []Delivery
	// Failed are the owners whose mail some or all contacts did not get:
	// Err says why, To lists the contacts that did get it.
	Failed []Delivery
	// Skipped are the owners with no events: no mail, as Shadowserver
	// sends none on a day with nothing to report.
	Skipped []string
}

// Delivery is the mail of one owner.
type Delivery struct {
	Owner string
	Path  string   // the file attached
	To    []string // the addresses the server accepted
	Err   error
}

// Send mails each file with events to its owner's contacts, the file
// attached. A failure for one owner (a refused recipient, a timeout, a
// dropped connection) is recorded in Result.Failed and the others are
// still sent; once ctx ends, the owners not yet sent fail with its error.
func (m *Mailer) Send(ctx context.Context, p period.Period, files []File) Result {
	var res Result
	for _, f := range files {
		o := f.Report.Owner
		if len(f.Report.Events) == 0 {
			res.Skipped = append(res.Skipped, o.Name)
			continue
		}
		d := Delivery{Owner: o.Name, Path: f.Path}
		d.To, d.Err = m.send(ctx, p, f)
		if d.Err != nil {
			d.Err = fmt.Errorf("mail owner %q: %w", o.Name, d.Err)
			res.Failed = append(res.Failed, d)
			continue
		}
		res.Sent = append(res.Sent, d)
	}
	return res
}

func (m *Mailer) send(ctx context.Context, p period.Period, f File) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, err
	}
	o := f.Report.Owner
	msg := message{
		from:    m.from,
		to:      o.Contact,
		subject: strings.NewReplacer("{owner}", o.Name, "{period}", p.String()).Replace(m.cfg.Subject),
		date:    m.cfg.Now(),
		body:    mailBody(f.Report, p, filepath.Base(f.Path)),
		file:    filepath.Base(f.Path),
		format:  o.Format,
		data:    data,
	}
	text, err := msg.bytes()
	if err != nil {
		return nil, err
	}
	return m.deliver(ctx, text, o.Contact)
}

// SendText mails a message of plain text alone to the addresses, over
// one connection dialled, secured and authenticated as Send's are, within
// the configured timeout. The subject is given whole (MailConfig.Subject
// is Send's). It returns the addresses the server accepted; the error
// names those it refused.
func (m *Mailer) SendText(ctx context.Context, to []*mail.Address, subject, body string) ([]string, error) {
	switch {
	case len(to) == 0:
		return nil, errors.New("mail: no recipient")
	case strings.ContainsFunc(subject, unicode.IsControl):
		return nil, errors.New("mail: the subject holds a control character")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text, err := textMessage(m.from, to, subject, m.cfg.Now(), body)
	if err != nil {
		return nil, err
	}
	return m.deliver(ctx, text, to)
}

// deliver sends text to the addresses over one connection, within the
// configured timeout. It returns the addresses the server accepted; the
// error names those it refused.
func (m *Mailer) deliver(ctx context.Context, text []byte, to []*mail.Address) (accepted []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	defer func() {
		// The connection's deadline is the context's: a read that hit it,
		// or a connection closed under the client, reads as a network
		// error, which the caller should see as the context's.
		cause := ctx.Err()
		if cause == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			cause = context.DeadlineExceeded
		}
		if err != nil && cause != nil {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
	}()
	conn, err := m.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return nil, fmt.Errorf("greeting of %s: %w", m.cfg.Server, err)
	}
	if err := c.Hello(m.cfg.HelloName); err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	if err := m.secure(c); err != nil {
		return nil, err
	}
	if err := m.authenticate(c); err != nil {
		return nil, err
	}
	if err := c.Mail(m.from.Address); err != nil {
		return nil, fmt.Errorf("MAIL FROM %s: %w", m.from.Address, err)
	}
	var refused []error
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			refused = append(refused, fmt.Errorf("recipient %s: %w", a.Address, err))
			continue
		}
		accepted = append(accepted, a.Address)
	}
	if len(accepted) == 0 {
		return nil, errors.Join(refused...)
	}
	w, err := c.Data()
	if err != nil {
		return nil, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(text); err != nil {
		return nil, fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("DATA: %w", err)
	}
	// The server has taken the mail; a failed QUIT changes nothing.
	c.Quit()
	return accepted, errors.Join(refused...)
}

func (m *Mailer) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.cfg.Server)
	if err != nil {
		return nil, err
	}
	if !m.cfg.ImplicitTLS {
		return conn, nil
	}
	tc := tls.Client(conn, m.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS with %s: %w", m.cfg.Server, err)
	}
	return tc, nil
}

// secure upgrades the connection with STARTTLS, or refuses to go on in
// clear unless the configuration is insecure.
func (m *Mailer) secure(c *smtp.Client) error {
	if m.cfg.ImplicitTLS {
		return nil
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(m.tlsConfig()); err != nil {
			return fmt.Errorf("STARTTLS with %s: %w", m.cfg.Server, err)
		}
		return nil
	}
	if m.cfg.Insecure {
		return nil
	}
	return ErrNoSTARTTLS
}

func (m *Mailer) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.cfg.TLS != nil {
		cfg = m.cfg.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = m.host
	}
	return cfg
}

func (m *Mailer) authenticate(c *smtp.Client) error {
	if m.cfg.Username == "" {
		return nil
	}
	mech := strings.ToUpper(m.cfg.Auth)
	_, offered := c.Extension("AUTH")
	if !slices.Contains(strings.Fields(strings.ToUpper(offered)), mech) {
		return fmt.Errorf("the server offers AUTH %q, not %s", offered, mech)
	}
	a := credentials{mech: mech, user: m.cfg.Username, pass: m.cfg.Password, insecure: m.cfg.Insecure}
	if err := c.Auth(a); err != nil {
		return fmt.Errorf("AUTH %s as %q: %w", mech, m.cfg.Username, err)
	}
	return nil
}

// credentials are AUTH PLAIN and AUTH LOGIN. net/smtp's PlainAuth decides
// on its own when credentials may go in clear; here MailConfig.Insecure
// decides, and Start checks it again.
type credentials struct {
	mech, user, pass string
	insecure         bool
}

func (a credentials) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.insecure {
		return "", nil, ErrNoSTARTTLS
	}
	if a.mech == "PLAIN" {
		return a.mech, []byte("\x00" + a.user + "\x00" + a.pass), nil
	}
	return a.mech, nil, nil
}

func (a credentials) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech == "LOGIN" {
		switch strings.ToLower(strings.TrimSpace(string(challenge))) {
		case "username:":
			return []byte(a.user), nil
		case "password:":
			return []byte(a.pass), nil
		}
	}
	return nil, fmt.Errorf("unexpected AUTH %s challenge %q", a.mech, challenge)
}
