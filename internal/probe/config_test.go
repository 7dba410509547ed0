package probe

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	if cfg.Enabled {
		t.Error("DefaultConfig() is enabled: probing must be opted in to")
	}
	if cfg.MaxBodyBytes < banner.MaxBody {
		t.Errorf("DefaultConfig() reads %d bytes of a body, less than a record keeps", cfg.MaxBodyBytes)
	}
}

// TestNewRefusesDisabled: a prober of a configuration that has not opted
// in cannot be built, and the error says how to opt in.
func TestNewRefusesDisabled(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Contact = testContact
	_, err := New(discard, cfg, Deps{})
	if !errors.Is(err, ErrDisabled) || !strings.Contains(err.Error(), "enabled: true") {
		t.Errorf("New(disabled) = %v, want ErrDisabled saying how to opt in", err)
	}
	var zero Prober
	if _, err := zero.Run(t.Context(), nil, nil); !errors.Is(err, ErrDisabled) {
		t.Errorf("Prober{}.Run() = %v, want ErrDisabled", err)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string // in the error
	}{
		"enabled without contact": {func(c *Config) { c.Contact = "" }, "contact is empty"},
		"contact not a URL":       {func(c *Config) { c.Contact = "me at example" }, "printable ASCII without spaces"},
		"contact header break":    {func(c *Config) { c.Contact = "https://a.example/\r\nCookie: x" }, "printable ASCII"},
		"contact relative":        {func(c *Config) { c.Contact = "/about" }, "want an https://, http:// or mailto: URL"},
		"contact ftp":             {func(c *Config) { c.Contact = "ftp://a.example/" }, "want an https://"},
		"no ports":                {func(c *Config) { c.HTTPPorts, c.HTTPSPorts = nil, nil }, "name at least one port"},
		"port 0":                  {func(c *Config) { c.HTTPPorts = []uint16{0} }, "port 0"},
		"port twice":              {func(c *Config) { c.HTTPSPorts = []uint16{443, 80} }, "https_ports: port 80 is already in http_ports"},
		"no targets":              {func(c *Config) { c.MaxTargets = 0 }, "max_targets is 0"},
		"rate 0":                  {func(c *Config) { c.Rate = 0 }, "rate is 0"},
		"rate NaN":                {func(c *Config) { c.Rate = math.NaN() }, "rate is NaN"},
		"rate too high":           {func(c *Config) { c.Rate = 1000 }, "at most 100"},
		"workers":                 {func(c *Config) { c.Workers = 100 }, "workers is 100"},
		"timeout":                 {func(c *Config) { c.Timeout = 0 }, "timeout is 0s"},
		"timeout too long":        {func(c *Config) { c.Timeout = time.Hour }, "at most 1m0s"},
		"body cap below a record": {func(c *Config) { c.MaxBodyBytes = 100 }, "max_body_bytes is 100"},
		"exclude":                 {func(c *Config) { c.Exclude = []string{"192.0.2.1/24"} }, `exclude "192.0.2.1/24": bits set past /24`},
	} {
		cfg := testConfig([]uint16{80, 8080}, []uint16{443})
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error with %q", name, err, tc.want)
		}
		if _, err := New(discard, cfg, Deps{}); err == nil {
			t.Errorf("%s: New() built a prober", name)
		}
	}
	for _, contact := range []string{"https://nightjar.example/probe", "http://a.example", "mailto:abuse@a.example"} {
		cfg := testConfig([]uint16{80}, nil)
		cfg.Contact = contact
		if err := cfg.Validate(); err != nil {
			t.Errorf("contact %q: Validate() = %v", contact, err)
		}
	}
}

// TestConfigYAML: the documented keys decode; an unknown one is an error.
func TestConfigYAML(t *testing.T) {
	cfg := DefaultConfig()
	err := yamlstrict.Decode([]byte(`
enabled: true
http_ports: [80]
https_ports: [443, 8443]
max_targets: 20
rate: 2.5
workers: 2
timeout: 3s
max_body_bytes: 8192
contact: mailto:abuse@telescope.example
exclude: [192.0.2.0/24, "2001:db8::/32"]
request_log: /var/log/nightjar/probe.jsonl
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Enabled: true, HTTPPorts: []uint16{80}, HTTPSPorts: []uint16{443, 8443}, MaxTargets: 20, Rate: 2.5, Workers: 2,
		Timeout: 3 * time.Second, MaxBodyBytes: 8192, Contact: "mailto:abuse@telescope.example",
		Exclude: []string{"192.0.2.0/24", "2001:db8::/32"}, RequestLog: "/var/log/nightjar/probe.jsonl"}
	if diff := gocmp.Diff(cfg, want); diff != "" {
		t.Errorf("decoded configuration (-got, +want):\n%s", diff)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	if err := yamlstrict.Decode([]byte("allow_non_global: true\n"), &cfg); err == nil {
		t.Error("a configuration file set allow_non_global")
	}
	p, err := New(discard, cfg, Deps{Version: "0.9.0"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.UserAgent(), "Nightjar-probe/0.9.0 (+mailto:abuse@telescope.example)"; got != want {
		t.Errorf("UserAgent() = %q, want %q", got, want)
	}
}
