package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/notify/smtptest"
)

var mailClock = time.Date(2024, 7, 16, 6, 0, 0, 0, time.UTC)

func newMailer(t *testing.T, addr string, pool *x509.CertPool, edit func(*MailConfig)) *Mailer {
	t.Helper()
	cfg := MailConfig{
		Server:   addr,
		TLS:      &tls.Config{RootCAs: pool},
		Username: "telescope",
		Password: "s3cret",
		From:     "Nightjar <telescope@nightjar.example>",
		Timeout:  10 * time.Second,
		Now:      func() time.Time { return mailClock },
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := NewMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fixtureFiles writes the fixture's reports into a temporary directory.
func fixtureFiles(t *testing.T) []File {
	t.Helper()
	files, err := WriteDir(t.TempDir(), day, Plan(fixture(t), fixtureEvents()))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// summary is a Result without errors' texts, to compare.
type summary struct {
	Sent, Failed map[string][]string // owner → accepted addresses
	Skipped      []string
}

func summarize(r Result) summary {
	s := summary{Sent: map[string][]string{}, Failed: map[string][]string{}, Skipped: r.Skipped}
	for _, d := range r.Sent {
		s.Sent[d.Owner] = d.To
	}
	for _, d := range r.Failed {
		s.Failed[d.Owner] = d.To
	}
	return s
}

func TestSendOverSTARTTLS(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, pool := smtptest.Start(t, s, smtptest.StartTLS)
	files := fixtureFiles(t)
	res := newMailer(t, addr, pool, nil).Send(t.Context(), day, files)
	for _, d := range res.Failed {
		t.Errorf("Send() failed: %v", d.Err)
	}
	want := summary{
		Sent: map[string][]string{
			"transit-isp":         {"abuse@transit.example"},
			"campus":              {"csirt@campus.example", "noc@campus.example"},
			"hosting/../customer": {"abuse@hosting.example"},
		},
		Failed:  map[string][]string{},
		Skipped: []string{"quiet-net"},
	}
	if diff := cmp.Diff(summarize(res), want); diff != "" {
		t.Errorf("Send() (-got, +want):\n%s", diff)
	}

	mails, attempts := s.Received()
	if diff := cmp.Diff(attempts, []string{"telescope", "telescope", "telescope"}); diff != "" {
		t.Errorf("AUTH attempts (-got, +want):\n%s", diff)
	}
	if len(mails) != 3 {
		t.Fatalf("the sink received %d mails, want 3", len(mails))
	}
	for i, f := range files[:3] {
		got := mails[i]
		o := f.Report.Owner
		if !got.TLS {
			t.Errorf("mail to %q went in clear", o.Name)
		}
		if got.From != "telescope@nightjar.example" {
			t.Errorf("mail to %q: MAIL FROM %q", o.Name, got.From)
		}
		if diff := cmp.Diff(got.To, want.Sent[o.Name]); diff != "" {
			t.Errorf("mail to %q: RCPT TO (-got, +want):\n%s", o.Name, diff)
		}
		checkMail(t, got.Data, f, "Nightjar darknet events for "+o.Name+", 2024-07-15")
	}
}

// checkMail parses a received mail: its headers, its text, and its
// attachment, which must be the file byte for byte.
func checkMail(t *testing.T, data []byte, f File, subject string) {
	t.Helper()
	o := f.Report.Owner
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("mail to %q: %v", o.Name, err)
	}
	var dec mime.WordDecoder
	gotSubject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || gotSubject != subject {
		t.Errorf("mail to %q: Subject %q (%v), want %q", o.Name, gotSubject, err, subject)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		t.Fatalf("mail to %q: To: %v", o.Name, err)
	}
	if diff := cmp.Diff(to, o.Contact); diff != "" {
		t.Errorf("mail to %q: To (-got, +want):\n%s", o.Name, diff)
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(mailClock) {
		t.Errorf("mail to %q: Date %v (%v), want %v", o.Name, date, err, mailClock)
	}
	media, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || media != "multipart/mixed" {
		t.Fatalf("mail to %q: Content-Type %q (%v)", o.Name, msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	text, err := mr.NextPart() // decodes quoted-printable itself
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(text)
	if !bytes.Contains(body, []byte(o.Name)) {
		t.Errorf("mail to %q: the text does not name the owner:\n%s", o.Name, body)
	}
	attachment, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if want := f.Path[strings.LastIndexByte(f.Path, os.PathSeparator)+1:]; attachment.FileName() != want {
		t.Errorf("mail to %q: attachment named %q, want %q", o.Name, attachment.FileName(), want)
	}
	got, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, attachment))
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(got), string(file)); diff != "" {
		t.Errorf("mail to %q: attachment (-got, +want the file):\n%s", o.Name, diff)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("mail to %q: more than two parts (%v)", o.Name, err)
	}
}

// TestSendText: a plain-text mail goes over the same STARTTLS and AUTH as
// Send's, one part, its subject and non-ASCII text intact.
func TestSendText(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret", Refuse: map[string]bool{"gone@nightjar.example": true}}
	addr, pool := smtptest.Start(t, s, smtptest.StartTLS)
	m := newMailer(t, addr, pool, nil)
	to := []*mail.Address{{Address: "soc@nightjar.example"}, {Address: "gone@nightjar.example"}}
	subject, body := "[Nightjar] critical 23/TCP at tokyo-1 — 4,210 packets", "23/TCP surged at tokyo-1.\nOpen: https://nightjar.example/ports?port=23%2FTCP\n"
	accepted, err := m.SendText(t.Context(), to, subject, body)
	if err == nil || !strings.Contains(err.Error(), "gone@nightjar.example") {
		t.Errorf("SendText() error = %v, want the refused recipient named", err)
	}
	if diff := cmp.Diff(accepted, []string{"soc@nightjar.example"}); diff != "" {
		t.Errorf("SendText() accepted (-got, +want):\n%s", diff)
	}
	mails, _ := s.Received()
	if len(mails) != 1 || !mails[0].TLS {
		t.Fatalf("the sink received %d mails (over TLS: %v), want 1 over TLS", len(mails), len(mails) == 1 && mails[0].TLS)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject %q (%v), want %q", got, err, subject)
	}
	if got := msg.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/plain", got)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(text), strings.ReplaceAll(body, "\n", "\r\n")); diff != "" {
		t.Errorf("body (-got, +want):\n%s", diff)
	}

	if _, err := m.SendText(t.Context(), to, "two\nlines", body); err == nil {
		t.Error("SendText(subject with a newline) succeeded, want an error")
	}
}

// TestSendRefusesCleartext: a server without STARTTLS is sent neither
// credentials nor mail, unless the configuration says insecure.
func TestSendRefusesCleartext(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, pool := smtptest.Start(t, s, smtptest.ClearOnly)
	files := fixtureFiles(t)
	res := newMailer(t, addr, pool, nil).Send(t.Context(), day, files)
	if len(res.Sent) != 0 || len(res.Failed) != 3 {
		t.Fatalf("Send() = %+v, want 3 failures", summarize(res))
	}
	for _, d := range res.Failed {
		if !errors.Is(d.Err, ErrNoSTARTTLS) {
			t.Errorf("owner %q: error %v, want ErrNoSTARTTLS", d.Owner, d.Err)
		}
	}
	if mails, attempts := s.Received(); len(mails)+len(attempts) != 0 {
		t.Fatalf("the server got %d mails and %d AUTH attempts in clear", len(mails), len(attempts))
	}

	res = newMailer(t, addr, pool, func(c *MailConfig) { c.Insecure = true }).Send(t.Context(), day, files)
	if len(res.Sent) != 3 || len(res.Failed) != 0 {
		t.Fatalf("Send(insecure) = %+v, want 3 mails", res)
	}
	if mails, _ := s.Received(); len(mails) != 3 || mails[0].TLS {
		t.Errorf("Send(insecure): the server got %d mails (the first over TLS: %v), want 3 in clear", len(mails), len(mails) > 0 && mails[0].TLS)
	}
}

// TestSendRecipientRefused: a recipient the server refuses fails its
// owner's mail (or, for an owner with another contact, that part of it)
// and the others are delivered.
func TestSendRecipientRefused(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret", Refuse: map[string]bool{"abuse@transit.example": true, "noc@campus.example": true}}
	addr, pool := smtptest.Start(t, s, smtptest.StartTLS)
	files := fixtureFiles(t)
	res := newMailer(t, addr, pool, nil).Send(t.Context(), day, files)
	want := summary{
		Sent: map[string][]string{"hosting/../customer": {"abuse@hosting.example"}},
		Failed: map[string][]string{
			"transit-isp": nil,
			"campus":      {"csirt@campus.example"},
		},
		Skipped: []string{"quiet-net"},
	}
	if diff := cmp.Diff(summarize(res), want); diff != "" {
		t.Errorf("Send() (-got, +want):\n%s", diff)
	}
	for _, d := range res.Failed {
		if te, ok := errors.AsType[*textproto.Error](d.Err); !ok || te.Code != 550 {
			t.Errorf("owner %q: error %v, want the server's 550", d.Owner, d.Err)
		}
	}
	mails, _ := s.Received()
	var got [][]string
	for _, m := range mails {
		got = append(got, m.To)
	}
	if diff := cmp.Diff(got, [][]string{{"csirt@campus.example"}, {"abuse@hosting.example"}}); diff != "" {
		t.Errorf("the sink's mails' recipients (-got, +want):\n%s", diff)
	}
}

func TestSendWrongPassword(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, pool := smtptest.Start(t, s, smtptest.StartTLS)
	res := newMailer(t, addr, pool, func(c *MailConfig) { c.Password = "guess" }).Send(t.Context(), day, fixtureFiles(t))
	if len(res.Sent) != 0 || len(res.Failed) != 3 {
		t.Fatalf("Send() = %+v, want 3 failures", summarize(res))
	}
	if !strings.Contains(res.Failed[0].Err.Error(), "AUTH PLAIN") {
		t.Errorf("error %v, want it to name AUTH PLAIN", res.Failed[0].Err)
	}
	if mails, _ := s.Received(); len(mails) != 0 {
		t.Errorf("the sink received %d mails", len(mails))
	}
}

func TestSendImplicitTLS(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, pool := smtptest.Start(t, s, smtptest.ImplicitTLS)
	res := newMailer(t, addr, pool, func(c *MailConfig) { c.ImplicitTLS = true }).Send(t.Context(), day, fixtureFiles(t))
	if len(res.Sent) != 3 || len(res.Failed) != 0 {
		t.Fatalf("Send() = %+v, want 3 mails", res)
	}
	if mails, _ := s.Received(); len(mails) != 3 || !mails[0].TLS {
		t.Errorf("the sink got %d mails, want 3 over TLS", len(mails))
	}
	// A client that does not trust the server's certificate sends nothing.
	res = newMailer(t, addr, x509.NewCertPool(), func(c *MailConfig) { c.ImplicitTLS = true }).Send(t.Context(), day, fixtureFiles(t))
	if len(res.Failed) != 3 {
		t.Fatalf("Send() with no trusted CA = %+v, want 3 failures", summarize(res))
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](res.Failed[0].Err); !ok {
		t.Errorf("error %v, want a certificate verification error", res.Failed[0].Err)
	}
}

func TestSendAuthLogin(t *testing.T) {
	s := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, pool := smtptest.Start(t, s, smtptest.StartTLS)
	res := newMailer(t, addr, pool, func(c *MailConfig) { c.Auth = "login" }).Send(t.Context(), day, fixtureFiles(t))
	if len(res.Sent) != 3 || len(res.Failed) != 0 {
		t.Fatalf("Send() = %+v, want 3 mails", res)
	}
}

// TestSendTimeout: a server that never greets costs each owner the
// timeout, no more, and every owner is tried.
func TestSendTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // accepted, never answered
		}
	}()
	const timeout = 200 * time.Millisecond
	start := time.Now()
	res := newMailer(t, l.Addr().String(), nil, func(c *MailConfig) { c.Timeout = timeout }).Send(t.Context(), day, fixtureFiles(t))
	if elapsed := time.Since(start); elapsed > 10*timeout {
		t.Errorf("Send() took %v for 3 owners with a %v timeout", elapsed, timeout)
	}
	if len(res.Failed) != 3 {
		t.Fatalf("Send() = %+v, want 3 failures", summarize(res))
	}
	for _, d := range res.Failed {
		if !errors.Is(d.Err, context.DeadlineExceeded) {
			t.Errorf("owner %q: error %v, want a deadline", d.Owner, d.Err)
		}
	}
}

func TestNewMailerErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*MailConfig)
		want string
	}{
		"no server":         {func(c *MailConfig) { c.Server = "" }, `mail: server "": want host:port`},
		"no port":           {func(c *MailConfig) { c.Server = "smtp.example.net" }, `mail: server "smtp.example.net": want host:port`},
		"bad from":          {func(c *MailConfig) { c.From = "telescope" }, `mail: from "telescope": `},
		"bad auth":          {func(c *MailConfig) { c.Auth = "cram-md5" }, `mail: auth "cram-md5": want plain or login`},
		"password, no user": {func(c *MailConfig) { c.Username = "" }, "mail: a password without a username"},
		"header injection":  {func(c *MailConfig) { c.Subject = "report\r\nBcc: x@example.net" }, "mail: the subject holds a control character"},
		"negative timeout":  {func(c *MailConfig) { c.Timeout = -time.Second }, "mail: timeout -1s: want more than 0"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := MailConfig{Server: "smtp.example.net:587", From: "telescope@example.net", Username: "u", Password: "p"}
			tc.edit(&cfg)
			_, err := NewMailer(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("NewMailer() error = %v, want one starting %q", err, tc.want)
			}
		})
	}
}
