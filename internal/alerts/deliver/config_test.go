package deliver

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestParseConfig: the example of Config's doc, with the defaults filled
// in by New (ParseConfig leaves the file's empty fields empty).
func TestParseConfig(t *testing.T) {
	const file = `
base_url: https://nightjar.example.org
receivers:
  - name: soc-slack
    webhook: {url: "https://hooks.slack.com/services/T0/B0/XXXX", format: slack, headers: {X-Team: soc}}
  - name: soc-mail
    min_severity: critical
    research: true
    timeout: 30s
    email:
      server: smtp.example.org:587
      from: Nightjar <nightjar@example.org>
      to: [soc@example.org]
      username: nightjar
      password_file: /etc/nightjar/smtp-password
`
	cfg, err := ParseConfig([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := cfg.resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		BaseURL: "https://nightjar.example.org", Interval: 10 * time.Second,
		Receivers: []ReceiverConfig{
			{Name: "soc-slack", MinSeverity: store.SeverityWarning, Timeout: 10 * time.Second,
				Webhook: &WebhookConfig{URL: "https://hooks.slack.com/services/T0/B0/XXXX", Format: FormatSlack, Headers: map[string]string{"X-Team": "soc"}}},
			{Name: "soc-mail", MinSeverity: store.SeverityCritical, Research: true, Timeout: 30 * time.Second,
				Email: &EmailConfig{Server: "smtp.example.org:587", From: "Nightjar <nightjar@example.org>", To: []string{"soc@example.org"},
					Username: "nightjar", PasswordFile: "/etc/nightjar/smtp-password"}},
		},
	}
	if diff := cmp.Diff(resolved, want); diff != "" {
		t.Errorf("ParseConfig() resolved (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(cfg.ReceiverNames(), []string{"soc-slack", "soc-mail"}); diff != "" {
		t.Errorf("ReceiverNames() (-got, +want):\n%s", diff)
	}
	if empty, err := ParseConfig(nil); err != nil || empty.Interval != 10*time.Second || len(empty.Receivers) != 0 {
		t.Errorf("ParseConfig(nothing) = %+v, %v; want the defaults", empty, err)
	}
}

// TestConfigErrors: each mistake is an error that names its key.
func TestConfigErrors(t *testing.T) {
	const hook = "\n    webhook: {url: http://127.0.0.1:9000/hook}"
	tests := map[string]struct{ file, want string }{
		"unknown key":          {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n    min_sevrity: info", "field min_sevrity not found"},
		"unknown webhook key":  {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {url: http://h.example/, fromat: slack}", "field fromat not found"},
		"no base_url":          {"receivers:\n  - name: a" + hook, "base_url: required"},
		"relative base_url":    {"base_url: /nightjar\nreceivers:\n  - name: a" + hook, `base_url: "/nightjar": want an http:// or https:// URL`},
		"short interval":       {"interval: 100ms", "interval: 100ms, want at least 1s"},
		"no name":              {"base_url: https://x.example\nreceivers:\n  - webhook: {url: http://h.example/}", `receivers[0]: name: ""`},
		"bad name":             {"base_url: https://x.example\nreceivers:\n  - name: soc team" + hook, `receivers[0] (soc team): name: "soc team", want letters`},
		"twice the same name":  {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n  - name: a" + hook, `receivers[1] (a): name: "a" is already the name of another receiver`},
		"neither":              {"base_url: https://x.example\nreceivers:\n  - name: a", "receivers[0] (a): give webhook: or email:"},
		"both":                 {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n    email: {server: 'h:25', from: a@b.example, to: [c@d.example]}", "webhook and email: give one, not both"},
		"severity":             {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n    min_severity: high", `receivers[0] (a): min_severity: "high", want info, warning or critical`},
		"negative timeout":     {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n    timeout: -1s", "receivers[0] (a): timeout: -1s, want more than 0"},
		"bad timeout":          {"base_url: https://x.example\nreceivers:\n  - name: a" + hook + "\n    timeout: soon", "line 5: cannot unmarshal !!str `soon` into time.Duration"},
		"webhook without url":  {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {format: slack}", "receivers[0] (a): webhook.url: required"},
		"webhook ftp url":      {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {url: 'ftp://h.example/'}", `webhook.url: "ftp://h.example/": want an http:// or https:// URL`},
		"webhook url no host":  {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {url: 'http:///hook'}", `webhook.url: "http:///hook": no host`},
		"webhook format":       {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {url: 'http://h.example/', format: teams}", `webhook.format: "teams", want json or slack`},
		"webhook header":       {"base_url: https://x.example\nreceivers:\n  - name: a\n    webhook: {url: 'http://h.example/', headers: {'Bad Name': x}}", `webhook.headers: "Bad Name" is not a valid`},
		"email without server": {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {from: a@b.example, to: [c@d.example]}", "receivers[0] (a): email.server: required"},
		"email server no port": {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: smtp.example, from: a@b.example, to: [c@d.example]}", `email.server "smtp.example": want host:port`},
		"email without to":     {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: 'h:25', from: a@b.example}", "email.to: required"},
		"email bad to":         {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: 'h:25', from: a@b.example, to: [soc]}", `email.to: "soc":`},
		"email bad from":       {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: 'h:25', from: nightjar, to: [c@d.example]}", `email.from "nightjar":`},
		"email auth":           {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: 'h:25', from: a@b.example, to: [c@d.example], auth: cram-md5}", `email.auth "cram-md5": want plain or login`},
		"email password alone": {"base_url: https://x.example\nreceivers:\n  - name: a\n    email: {server: 'h:25', from: a@b.example, to: [c@d.example], password_file: /p}", "email.password_file: a password without a username"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseConfig([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig(%q) = %v, want an error with %q", tt.file, err, tt.want)
			}
		})
	}
}

// TestStartReadsFiles: a password or CA file that cannot be read fails
// Start, naming the key.
func TestStartReadsFiles(t *testing.T) {
	cfg := Config{BaseURL: baseURL, Receivers: []ReceiverConfig{{Name: "mail", Email: &EmailConfig{
		Server: "127.0.0.1:25", From: "a@b.example", To: []string{"c@d.example"}, Username: "u", PasswordFile: t.TempDir() + "/missing"}}}}
	d, err := New(nil, cfg, Deps{Outbox: &memOutbox{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "receiver mail: email.password_file: ") {
		t.Errorf("Start() = %v, want the password_file's error", err)
	}
}
