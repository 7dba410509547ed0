package devices

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

func load(t *testing.T, userFiles ...string) *Signatures {
	t.Helper()
	s, err := Load(userFiles...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func attribute(s *Signatures, recs ...banner.Record) (Attribution, []Match) {
	var ms []Match
	for i := range recs {
		ms = s.Match(&recs[i], ms)
	}
	return Attribute(ms), ms
}

// device is what an attribution says, without the evidence.
type device struct{ Vendor, Model, Kind, Firmware string }

// TestSimulatedDevices: every device of the simulated Internet is
// attributed to its model, with the firmware its banners carry and none
// when they carry none; the decoy to nothing.
func TestSimulatedDevices(t *testing.T) {
	t.Parallel()
	s := load(t)
	for _, p := range simulate.DeviceProfiles() {
		name := p.Vendor + " " + p.Model
		if p.Model == "" {
			name = "decoy"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			at, ms := attribute(s, p.Services...)
			got := device{at.Vendor, at.Model, at.Kind, at.Firmware}
			want := device{p.Vendor, p.Model, p.Kind, p.Firmware}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("Attribute() (-got, +want):\n%s\nmatches: %+v", diff, ms)
			}
			if at.Conflict {
				t.Errorf("Attribute() is a conflict: %+v", at.Alternatives)
			}
			if p.Model != "" && at.Confidence < ConflictThreshold {
				t.Errorf("Attribute() confidence %.2f, want at least %.2f", at.Confidence, ConflictThreshold)
			}
		})
	}
}

func web(port uint16, title, body string) banner.Record {
	return banner.Record{Port: port, HTTP: banner.HTTP{Status: 200, Title: title, Body: body}}
}

func TestAttribute(t *testing.T) {
	t.Parallel()
	s := load(t)
	cert := func(cn string) banner.Record {
		return banner.Record{Port: 443, TLS: banner.TLS{Subject: "CN=" + cn + ",O=TP-Link,C=CN", Issuer: "CN=" + cn + ",O=TP-Link,C=CN"}}
	}
	tests := map[string]struct {
		recs     []banner.Record
		want     device
		conflict []string // the alternatives' models
		atLeast  float64
	}{
		"model only in the certificate": {
			recs:    []banner.Record{web(80, "Opening...", ""), cert("Archer AX3000")},
			want:    device{"TP-Link", "Archer AX3000", "router", ""},
			atLeast: 0.95,
		},
		"two ports agreeing": {
			recs:    []banner.Record{web(80, "Archer AX50", `var firmwareVersion = "1.0.11 Build 20200915 rel.67051";`), cert("Archer AX50")},
			want:    device{"TP-Link", "Archer AX50", "router", "1.0.11 Build 20200915 rel.67051"},
			atLeast: 0.99,
		},
		"two models on one address": {
			recs:     []banner.Record{web(80, "Archer AX50", ""), web(8080, "RouterOS router configuration page", "")},
			want:     device{"MikroTik", "RouterOS", "router", ""},
			conflict: []string{"Archer AX50"},
		},
		"Japanese page": {
			recs: []banner.Record{web(80, "ロジテック 無線LANルータ 設定画面",
				`<p>LAN-W300N/DGR ファームウェア バージョン 1.07</p>`)},
			want:    device{"Logitec", "LAN-W300N/DGR", "router", "1.07"},
			atLeast: 0.9,
		},
		"a vendor-only match joins the model": {
			recs: []banner.Record{{Port: 80, HTTP: banner.HTTP{Status: 401, Server: "Mini web server 1.0 ZTE corp 2005.", Title: "F670L"}}},
			want: device{"ZTE", "ZXHN F670L", "ont", ""},
			// 1 − (1 − 0.8)(1 − 0.55)
			atLeast: 0.91,
		},
		"a page that only mentions a vendor": {
			recs: []banner.Record{web(443, "Why we love TP-Link and MikroTik", "<p>RouterOS router configuration page, Archer AX50, HuaweiHomeGateway</p>")},
		},
		"no banners": {},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			at, ms := attribute(s, tt.recs...)
			if diff := cmp.Diff(device{at.Vendor, at.Model, at.Kind, at.Firmware}, tt.want); diff != "" {
				t.Errorf("Attribute() (-got, +want):\n%s\nmatches: %+v", diff, ms)
			}
			var alts []string
			for _, m := range at.Alternatives {
				alts = append(alts, m.Model)
			}
			if diff := cmp.Diff(alts, tt.conflict); diff != "" || at.Conflict != (tt.conflict != nil) {
				t.Errorf("Attribute() conflict %v, alternatives (-got, +want):\n%s", at.Conflict, diff)
			}
			if at.Confidence < tt.atLeast {
				t.Errorf("Attribute() confidence %.3f, want at least %.3f", at.Confidence, tt.atLeast)
			}
		})
	}
}

func TestAttributeRules(t *testing.T) {
	t.Parallel()
	m := func(rule, vendor, model string, c float64) Match {
		return Match{Rule: rule, Vendor: vendor, Model: model, Kind: "router", Confidence: c}
	}
	tests := map[string]struct {
		matches []Match
		want    Attribution
	}{
		"model beats a surer vendor-only match": {
			matches: []Match{m("v", "Netgear", "", 0.9), m("m", "TP-Link", "Archer A6", 0.55)},
			// Listed, but the winner's own evidence is too weak for a conflict.
			want: Attribution{Vendor: "TP-Link", Model: "Archer A6", Kind: "router", Confidence: 0.55, Rule: "m", Alternatives: []Match{m("v", "Netgear", "", 0.9)}},
		},
		"one rule on two ports counts once": {
			matches: []Match{m("m", "TP-Link", "Archer A6", 0.8), m("m", "TP-Link", "Archer A6", 0.8)},
			want:    Attribution{Vendor: "TP-Link", Model: "Archer A6", Kind: "router", Confidence: 0.8, Rule: "m"},
		},
		"a model's ending is the same model": {
			matches: []Match{m("a", "TP-LINK", "C2600", 0.7), m("b", "TP-Link", "Archer C2600", 0.9)},
			want:    Attribution{Vendor: "TP-Link", Model: "Archer C2600", Kind: "router", Confidence: 0.97, Rule: "b"},
		},
		"a weak second model is no conflict": {
			matches: []Match{m("a", "TP-Link", "Archer A6", 0.9), m("b", "Huawei", "HG532e", 0.55)},
			want:    Attribution{Vendor: "TP-Link", Model: "Archer A6", Kind: "router", Confidence: 0.9, Rule: "a"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Attribute(tt.matches)
			if diff := cmp.Diff(got, tt.want, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Attribute() (-got, +want):\n%s", diff)
			}
		})
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	rule := func(extra string) string {
		return "rules:\n  - id: r\n    vendor: V\n    kind: router\n    field: http.title\n    confidence: 0.5\n    source: test\n" + extra
	}
	tests := map[string]struct{ yaml, want string }{
		"unknown key":       {rule("    pattern: '^a$'\n    modle: X\n"), "field modle not found"},
		"bad regexp":        {rule("    pattern: '^(a$'\n"), `mine.yaml:8: rule "r": pattern: error parsing regexp: missing closing )`},
		"unknown field":     {"rules:\n  - id: r\n    vendor: V\n    kind: k\n    field: http.titel\n    pattern: a\n    confidence: 0.5\n    source: s\n", `mine.yaml:5: rule "r": field: unknown "http.titel"`},
		"confidence":        {strings.Replace(rule("    pattern: a\n"), "0.5", "2", 1), `mine.yaml:6: rule "r": confidence: 2 is not in (0, 1]`},
		"firmware groups":   {rule("    pattern: 'v(?P<firmware>\\d)'\n    firmware: 'x(\\d)'\n"), "both a firmware regexp and a (?P<firmware>) group"},
		"model template":    {rule("    pattern: 'a'\n    model: 'X ${m}'\n"), `mine.yaml:9: rule "r": model: "X ${m}" names group "m"`},
		"duplicate id":      {rule("    pattern: a\n") + "  - id: r\n    vendor: V\n    kind: k\n    field: ssh\n    pattern: b\n    confidence: 0.5\n    source: s\n", "mine.yaml:9: rule \"r\": id: a second rule with this id in the file"},
		"firmware field":    {rule("    pattern: a\n    firmware_field: http.body\n"), "firmware_field: set without firmware"},
		"firmware 2 groups": {rule("    pattern: a\n    firmware: '(a)(b)'\n"), "mine.yaml:9: rule \"r\": firmware: 2 groups, want 1"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeFile(t, tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("Load(missing file): no error")
	}
}

// TestUserFileOverrides: a user rule with a shipped rule's id replaces it;
// others are added.
func TestUserFileOverrides(t *testing.T) {
	t.Parallel()
	shipped := load(t)
	s := load(t, writeFile(t, `rules:
  - id: hikvision-webs-server
    vendor: HIKVISION
    model: DS-2CD2042WD
    kind: camera
    field: http.server
    pattern: '^Hikvision-Webs$'
    confidence: 0.95
    source: "test: our own camera"
  - id: mine
    vendor: Example
    kind: nas
    field: http.title
    pattern: '^Example NAS$'
    confidence: 0.9
    source: test
`))
	if got, want := s.Len(), shipped.Len()+1; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	at, _ := attribute(s, banner.Record{HTTP: banner.HTTP{Server: "Hikvision-Webs"}})
	if diff := cmp.Diff(device{at.Vendor, at.Model, at.Kind, at.Firmware}, device{"Hikvision", "DS-2CD2042WD", "camera", ""}); diff != "" {
		t.Errorf("Attribute() with the override (-got, +want):\n%s", diff)
	}
	at, _ = attribute(s, web(80, "Example NAS", ""))
	if at.Vendor != "Example" || at.Rule != "mine" {
		t.Errorf("Attribute() with the added rule = %+v", at)
	}
}

func TestMatchValue(t *testing.T) {
	t.Parallel()
	s := load(t)
	body := strings.Repeat("x", 5000) + `<script src="/jsBase/lib/dhplugin.js"></script>`
	ms := s.Match(&banner.Record{HTTP: banner.HTTP{Body: body}}, nil)
	want := []Match{{Rule: "dahua-dhplugin-body", Vendor: "Dahua", Model: "DVR", Kind: "camera", Confidence: 0.8,
		Field: banner.HTTPBody, Value: `<script src="/jsBase/lib/dhplugin.js"`}}
	if diff := cmp.Diff(ms, want); diff != "" {
		t.Errorf("Match() (-got, +want):\n%s", diff)
	}
	// The second time from the cache: the same.
	if diff := cmp.Diff(s.Match(&banner.Record{HTTP: banner.HTTP{Body: body}}, nil), want); diff != "" {
		t.Errorf("Match() again (-got, +want):\n%s", diff)
	}
}

func TestReleaseDate(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	tests := map[string]struct {
		vendor, model, firmware string
		want                    time.Time
		ok                      bool
	}{
		"the vendor's table":       {"Mikrotik", "RouterOS", "6.42.1", day("2018-04-23"), true},
		"a build date":             {"TP-LINK", "Archer AX5400", "1.1.2 Build 20220113 rel.54789", day("2022-01-13"), true},
		"unknown version":          {"MikroTik", "RouterOS", "6.48.6", time.Time{}, false},
		"no version":               {"MikroTik", "RouterOS", "", time.Time{}, false},
		"not a date in a build":    {"TP-Link", "Archer A6", "1.0 Build 20221399", time.Time{}, false},
		"another vendor's version": {"Netgear", "R7000", "6.42.1", time.Time{}, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := ReleaseDate(tt.vendor, tt.model, tt.firmware)
			if !got.Equal(tt.want) || ok != tt.ok {
				t.Errorf("ReleaseDate(%q, %q, %q) = %v, %v, want %v, %v", tt.vendor, tt.model, tt.firmware, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNormalizeVendor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"TP-LINK": "TP-Link", "tp-link": "TP-Link", "ロジテック": "Logitec", "Mikrotik": "MikroTik", " Acme ": "Acme"} {
		if got := NormalizeVendor(in); got != want {
			t.Errorf("NormalizeVendor(%q) = %q, want %q", in, got, want)
		}
	}
}
