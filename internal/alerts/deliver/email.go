package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"unicode"

	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/notify"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// email mails each notification, plain text, through notify.Mailer.
type email struct {
	mailer  *notify.Mailer
	to      []*mail.Address
	baseURL string
	log     *slog.Logger
}

// newEmail reads the receiver's password and CA files and makes its
// Mailer.
func newEmail(rc ReceiverConfig, baseURL string, now clock.Clock, log *slog.Logger) (*email, error) {
	e := rc.Email
	mc, err := e.mailConfig(rc.Timeout)
	if err != nil {
		return nil, fmt.Errorf("email.%w", err)
	}
	mc.Now = now
	if e.PasswordFile != "" {
		data, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("email.password_file: %w", err)
		}
		mc.Password, _, _ = strings.Cut(string(data), "\n")
		mc.Password = strings.TrimSuffix(mc.Password, "\r")
	}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email.ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email.ca_file %s: no PEM certificate in it", e.CAFile)
		}
		mc.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	m, err := notify.NewMailer(mc)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	to, _ := recipients(e.To) // checked by mailConfig
	return &email{mailer: m, to: to, baseURL: baseURL, log: log}, nil
}

func (e *email) send(ctx context.Context, n store.Notification) error {
	n.Alert.Link = absoluteLink(e.baseURL, n.Alert.Link)
	accepted, err := e.mailer.SendText(ctx, e.to, mailSubject(n), mailBody(n))
	if err == nil {
		return nil
	}
	if len(accepted) > 0 {
		// Sent again, the mail would reach those who have it twice, and
		// those refused (a permanent 5xx) no sooner: it is delivered.
		e.log.Error("recipients refused the notification: check the receiver's to:", "notification", n.ID, "accepted", strings.Join(accepted, ","), "err", err)
		return nil
	}
	if rejected(err) {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

// rejected reports whether an SMTP error would come again: the server's
// permanent refusal (5xx: a recipient, the credentials), or a server that
// the configuration forbids to speak to in clear.
func rejected(err error) bool {
	var se *textproto.Error
	return errors.As(err, &se) && se.Code >= 500 || errors.Is(err, notify.ErrNoSTARTTLS)
}

// maxSubjectLen bounds the subject's summary, in bytes.
const maxSubjectLen = 200

// mailSubject is "[Nightjar] critical <summary>", the event after the
// severity when it is not the opening ("[Nightjar] critical resolved:
// <summary>").
func mailSubject(n store.Notification) string {
	summary := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, n.Alert.Summary)
	prefix := "[Nightjar] " + string(n.Alert.Severity) + " "
	if n.Event != "opened" {
		prefix += n.Event + ": "
	}
	return prefix + truncate(summary, maxSubjectLen)
}

// mailBody is the plain text of the mail; the alert's link is absolute.
func mailBody(n store.Notification) string {
	a := n.Alert
	var w strings.Builder
	fmt.Fprintf(&w, "Nightjar alert #%d, %s: %s\n\n", a.ID, n.Event, a.Summary)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&w, "%-11s %s\n", k+":", v)
		}
	}
	row("Detector", a.Detector)
	row("Scope", a.Scope.String())
	row("Severity", string(a.Severity))
	row("State", string(a.State))
	row("Since", hourText(a.Start))
	row("Last seen", hourText(a.LastSeen))
	if a.Research {
		row("Research", researchNote)
	}
	row("Evidence", evidenceText(a.Evidence))
	if peers := peerTexts(a.Evidence); len(peers) > 0 {
		fmt.Fprintf(&w, "The others in the same hour:\n  %s\n", strings.Join(peers, "\n  "))
	}
	row("By", a.By)
	row("Note", a.Note)
	fmt.Fprintf(&w, "\nOpen it in the dashboard: %s\n", a.Link)
	return w.String()
}
