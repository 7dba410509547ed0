package deliver

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/nightjar-telescope/nightjar/internal/notify/smtptest"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestSlackPayload: a webhook of the slack format receives Slack's
// incoming-webhook body, the summary's markup escaped, the link absolute.
func TestSlackPayload(t *testing.T) {
	hook := NewRecorder(t)
	out := &memOutbox{}
	a := testAlert(7, store.SeverityCritical)
	a.Summary = "23/TCP at tokyo-1 <!channel> & co"
	a.Research = true
	out.queue(t0, "escalated", a, "slack")
	rc := webhookReceiver("slack", hook.URL)
	rc.Webhook.Format, rc.Research = FormatSlack, true
	d := startDispatcher(t, out, &fakeClock{t: t0}, rc)
	flush(t, d)

	reqs := hook.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the webhook got %d requests, want 1", len(reqs))
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q, want application/json", got)
	}
	var got slackPayload
	dec := json.NewDecoder(bytes.NewReader(reqs[0].Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("the body %s: %v", reqs[0].Body, err)
	}
	mrkdwn := func(s string) slackText { return slackText{Type: "mrkdwn", Text: s} }
	want := slackPayload{
		Text: "[critical] escalated: 23/TCP at tokyo-1 &lt;!channel&gt; &amp; co",
		Blocks: []slackBlock{
			{Type: "header", Text: &slackText{Type: "plain_text", Text: "Nightjar: critical alert escalated"}},
			{Type: "section", Text: ptr(mrkdwn("*<https://nightjar.example/telescope/ports?sensor=tokyo-1&port=23%2FTCP|23/TCP at tokyo-1 &lt;!channel&gt; &amp; co>*"))},
			{Type: "section", Fields: []slackText{
				mrkdwn("*Detector*\nport-surge"), mrkdwn("*Scope*\nsensor=tokyo-1,port=23/TCP"),
				mrkdwn("*Severity*\ncritical"), mrkdwn("*State*\nopen"),
				mrkdwn("*Since*\n2024-07-15 03:00 UTC"), mrkdwn("*Last seen*\n2024-07-15 04:00 UTC"),
			}},
			{Type: "section", Text: ptr(mrkdwn("*Evidence*\n4210 packets at 2024-07-15 04:00 UTC against a baseline of 310 (same hour of the previous 4 weeks, median; spread 40, score 97.5)\n" +
				"*The others in the same hour*\nsensor=osaka-1: 300 against a baseline of 290 (score 0.3)"))},
			{Type: "context", Elements: []slackText{mrkdwn("Nightjar alert #7 · the activity of listed research scanners, not malicious in itself")}},
		},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("the Slack body (-got, +want):\n%s", diff)
	}
}

// TestEmail: a mail receiver sends each notification through an SMTP
// server over STARTTLS with its credentials; the subject and text carry
// the alert. A recipient the server refuses is rejected, and retried.
func TestEmail(t *testing.T) {
	sink := &smtptest.Sink{User: "nightjar", Pass: "s3cret", Refuse: map[string]bool{"nobody@telescope.example": true}}
	addr, _ := smtptest.Start(t, sink, smtptest.StartTLS)
	dir := t.TempDir()
	ca, password := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "password")
	if err := os.WriteFile(ca, sink.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(password, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mailReceiver := func(name string, to ...string) ReceiverConfig {
		return ReceiverConfig{Name: name, Email: &EmailConfig{Server: addr, From: "Nightjar <nightjar@telescope.example>",
			To: to, Username: "nightjar", PasswordFile: password, CAFile: ca}}
	}
	out := &memOutbox{}
	out.queue(t0, "opened", testAlert(1, store.SeverityCritical), "mail", "typo", "partly")
	clk := &fakeClock{t: t0}
	d := startDispatcher(t, out, clk, mailReceiver("mail", "soc@telescope.example"), mailReceiver("typo", "nobody@telescope.example"),
		mailReceiver("partly", "nobody@telescope.example", "noc@telescope.example"))
	flush(t, d)

	mails, _ := sink.Received()
	if len(mails) != 2 || !mails[0].TLS || !mails[1].TLS {
		t.Fatalf("the sink received %d mails, want 2, both over TLS", len(mails))
	}
	// The receivers deliver at once, in no set order.
	slices.SortFunc(mails, func(a, b smtptest.Mail) int { return strings.Compare(a.To[0], b.To[0]) })
	if diff := cmp.Diff([][]string{mails[0].To, mails[1].To}, [][]string{{"noc@telescope.example"}, {"soc@telescope.example"}}); diff != "" {
		t.Errorf("the mails' recipients (-got, +want):\n%s", diff)
	}
	if n := out.get(3); n.Delivered.IsZero() {
		t.Errorf("the mail that one of its recipients got is not delivered (%q): sent again, it would reach that one twice", n.LastError)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	var words mime.WordDecoder
	subject, err := words.DecodeHeader(msg.Header.Get("Subject"))
	if want := "[Nightjar] critical 23/TCP at tokyo-1: 4,210 packets in the hour against 310 usually (#1)"; err != nil || subject != want {
		t.Errorf("Subject %q (%v), want %q", subject, err, want)
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(t0) {
		t.Errorf("Date %v (%v), want the clock's %v", date, err, t0)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(`Nightjar alert #1, opened: 23/TCP at tokyo-1: 4,210 packets in the hour against 310 usually (#1)

Detector:   port-surge
Scope:      sensor=tokyo-1,port=23/TCP
Severity:   critical
State:      open
Since:      2024-07-15 03:00 UTC
Last seen:  2024-07-15 04:00 UTC
Evidence:   4210 packets at 2024-07-15 04:00 UTC against a baseline of 310 (same hour of the previous 4 weeks, median; spread 40, score 97.5)
The others in the same hour:
  sensor=osaka-1: 300 against a baseline of 290 (score 0.3)

Open it in the dashboard: https://nightjar.example/telescope/ports?sensor=tokyo-1&port=23%2FTCP
`, "\n", "\r\n")
	if diff := cmp.Diff(string(body), want); diff != "" {
		t.Errorf("the mail's text (-got, +want):\n%s", diff)
	}
	if n := out.get(1); n.Delivered.IsZero() {
		t.Errorf("the mail's notification is not delivered: %q", n.LastError)
	}
	if n := out.get(2); outcomeOf(n) != outcomeRejected || n.Attempts != 1 {
		t.Errorf("the refused recipient's notification: %s after %d attempts (%q), want rejected after 1", outcomeOf(n), n.Attempts, n.LastError)
	}
	if got := testutil.ToFloat64(d.metrics.attempts.WithLabelValues("typo", outcomeRejected)); got != 1 {
		t.Errorf("nightjar_alerts_notifications_total{receiver=typo,outcome=rejected} = %v, want 1", got)
	}
}

func TestMailSubject(t *testing.T) {
	a := testAlert(1, store.SeverityWarning)
	a.Summary = "two\nlines\tand a tab"
	tests := map[string]string{
		"opened":       "[Nightjar] warning two lines and a tab",
		"resolved":     "[Nightjar] warning resolved: two lines and a tab",
		"acknowledged": "[Nightjar] warning acknowledged: two lines and a tab",
	}
	for event, want := range tests {
		if got := mailSubject(store.Notification{Event: event, Alert: a}); got != want {
			t.Errorf("mailSubject(%s) = %q, want %q", event, got, want)
		}
	}
	a.Summary = strings.Repeat("é", 150)
	if got := mailSubject(store.Notification{Event: "opened", Alert: a}); len(got) > len("[Nightjar] warning ")+maxSubjectLen+len("…") || !strings.HasSuffix(got, "é…") {
		t.Errorf("mailSubject(a long summary) = %q (%d bytes), want it cut after a whole character", got, len(got))
	}
}

// TestOpenAlerts: the gauge counts the alerts not resolved, and forgets a
// combination that is gone.
func TestOpenAlerts(t *testing.T) {
	alert := func(detector string, sev store.Severity, state store.AlertState) store.Alert {
		return store.Alert{Detector: detector, Severity: sev, State: state}
	}
	open := NewOpenAlerts()
	open.SetOpen([]store.Alert{
		alert("port-surge", store.SeverityCritical, store.AlertOpen),
		alert("port-surge", store.SeverityCritical, store.AlertOpen),
		alert("port-surge", store.SeverityWarning, store.AlertAcknowledged),
		alert("sensor-silent", store.SeverityCritical, store.AlertResolved),
	})
	const head = `
# HELP nightjar_alerts_open Alerts not resolved, by detector, severity and state (open, acknowledged).
# TYPE nightjar_alerts_open gauge
`
	if err := testutil.CollectAndCompare(open, strings.NewReader(head+`
nightjar_alerts_open{detector="port-surge",severity="critical",state="open"} 2
nightjar_alerts_open{detector="port-surge",severity="warning",state="acknowledged"} 1
`)); err != nil {
		t.Error(err)
	}
	open.SetOpen([]store.Alert{alert("sensor-silent", store.SeverityCritical, store.AlertOpen)})
	if err := testutil.CollectAndCompare(open, strings.NewReader(head+`
nightjar_alerts_open{detector="sensor-silent",severity="critical",state="open"} 1
`)); err != nil {
		t.Error(err)
	}
}
