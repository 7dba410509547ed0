package recog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/devices"
)

var update = flag.Bool("update", false, "rewrite ../signatures/recog.yaml from testdata")

// recogFiles are the recog files the shipped rules come from.
var recogFiles = []string{
	"favicons.xml", "ftp_banners.xml", "html_title.xml", "http_servers.xml", "http_wwwauth.xml",
	"ssh_banners.xml", "telnet_banners.xml", "x509_issuers.xml", "x509_subjects.xml",
}

func convertTestdata(t *testing.T) *Result {
	t.Helper()
	var files []NamedFile
	for _, name := range recogFiles {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, NamedFile{Name: name, Data: data})
	}
	res, err := Convert(files)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestShippedRecogRules: the shipped recog.yaml is a fresh conversion of
// testdata (-update, or go generate ./internal/devices, rewrites it).
func TestShippedRecogRules(t *testing.T) {
	res := convertTestdata(t)
	got, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "signatures", "recog.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not a fresh conversion of testdata; run go generate ./internal/devices (diff -shipped +fresh):\n%s", path, cmp.Diff(string(want), string(got)))
	}
	t.Logf("recog: %d fingerprints, %d rules kept, skipped %v", res.Fingerprints, len(res.Rules), res.Skipped)
}

// TestEveryPatternCompilesOrIsReported: each hardware fingerprint is a
// rule that compiles, or a listed failure.
func TestEveryPatternCompilesOrIsReported(t *testing.T) {
	res := convertTestdata(t)
	if _, err := devices.Compile(res.Rules...); err != nil {
		t.Fatalf("Compile(converted rules): %v", err)
	}
	kept := res.Fingerprints - res.Skipped[SkipSoftware] - res.Skipped[SkipNoVendor]
	if got, want := len(res.Rules)+len(res.Failures), kept; got != want {
		t.Errorf("rules + failures = %d, want the %d hardware fingerprints", got, want)
	}
	if len(res.Failures) != res.Skipped[SkipRegexp] {
		t.Errorf("%d failures listed, %d counted", len(res.Failures), res.Skipped[SkipRegexp])
	}
	for _, f := range res.Failures {
		t.Logf("RE2 refuses %s fingerprint %d %q: %v", f.File, f.Index, f.Pattern, f.Err)
	}
	if len(res.Rules) < 500 {
		t.Errorf("only %d rules converted", len(res.Rules))
	}
}

// TestExamples: every rule matches its recog examples and gives their
// hw.product and hw.vendor.
func TestExamples(t *testing.T) {
	res := convertTestdata(t)
	checked := 0
	for _, r := range res.Rules {
		sigs, err := devices.Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		field, _ := banner.ParseField(r.Field)
		for _, ex := range res.Examples[r.ID] {
			rec := record(field, ExamplePrefix(field)+ex.Value)
			var got *devices.Match
			for _, m := range sigs.Match(&rec, nil) {
				if m.Rule == r.ID {
					got = &m
				}
			}
			if got == nil {
				t.Errorf("%s (%s): pattern %q does not match its example %q", r.ID, r.Source, r.Pattern, ex.Value)
				continue
			}
			checked++
			if ex.Model != "" && got.Model != strings.Join(strings.Fields(ex.Model), " ") {
				t.Errorf("%s on %q: model %q, want the example's %q", r.ID, ex.Value, got.Model, ex.Model)
			}
			if ex.Vendor != "" && got.Vendor != devices.NormalizeVendor(ex.Vendor) {
				t.Errorf("%s on %q: vendor %q, want the example's hw.vendor %q", r.ID, ex.Value, got.Vendor, ex.Vendor)
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d examples checked", checked)
	}
}

// record is a banner record whose field f is v.
func record(f banner.Field, v string) banner.Record {
	var r banner.Record
	switch f {
	case banner.HTTPTitle:
		r.HTTP.Title = v
	case banner.HTTPServer:
		r.HTTP.Server = v
	case banner.HTTPWWWAuthenticate:
		r.HTTP.WWWAuthenticate = v
	case banner.FaviconMD5:
		r.HTTP.FaviconMD5 = v
	case banner.TLSSubject:
		r.TLS.Subject = v
	case banner.TLSIssuer:
		r.TLS.Issuer = v
	case banner.SSH:
		r.SSH = v
	case banner.Telnet:
		r.Telnet = v
	case banner.FTP:
		r.FTP = v
	}
	return r
}

func TestConvertFingerprint(t *testing.T) {
	t.Parallel()
	const head = `<?xml version="1.0"?><fingerprints matches="http_header.wwwauth">`
	tests := map[string]struct {
		xml  string
		want []devices.Rule
		skip map[string]int
	}{
		"model from a group, flags, vendor spelled by recog": {
			xml: head + `<fingerprint pattern="^Basic realm=&quot;TP-LINK (?:Wireless )?([A-Z0-9-]+)&quot;" flags="REG_ICASE">
				<description>TP-LINK
				router</description>
				<param pos="0" name="hw.vendor" value="TP-LINK"/><param pos="0" name="hw.device" value="Broadband Router"/>
				<param pos="1" name="hw.product"/></fingerprint></fingerprints>`,
			want: []devices.Rule{{ID: "recog-t-1", Vendor: "TP-Link", Kind: "router", Field: "http.www_authenticate",
				Pattern: `(?mi)^Basic realm="TP-LINK (?:Wireless )?(?P<model>[A-Z0-9-]+)"`, Confidence: ModelConfidence, Source: "recog t.xml: TP-LINK router"}},
			skip: map[string]int{},
		},
		"vendor only, firmware from the vendor's OS version": {
			xml: head + `<fingerprint pattern="^Basic realm=&quot;([\w]+) MikroTik v([\d.]+)&quot;$" flags="REG_MULTILINE">
				<description>MikroTik</description>
				<param pos="0" name="os.vendor" value="MikroTik"/><param pos="0" name="os.device" value="Router"/>
				<param pos="1" name="host.name"/><param pos="2" name="os.version"/></fingerprint></fingerprints>`,
			want: []devices.Rule{{ID: "recog-t-1", Vendor: "MikroTik", Kind: "router", Field: "http.www_authenticate",
				Pattern: `(?ms)^Basic realm="([\w]+) MikroTik v(?P<firmware>[\d.]+)"$`, Confidence: VendorConfidence, Source: "recog t.xml: MikroTik"}},
			skip: map[string]int{},
		},
		"software only is skipped and counted": {
			xml: head + `<fingerprint pattern="^Basic realm=&quot;Apache&quot;$"><param pos="0" name="service.vendor" value="Apache"/></fingerprint>
				<fingerprint pattern="^x$"><param pos="0" name="hw.device" value="Router"/></fingerprint></fingerprints>`,
			skip: map[string]int{SkipSoftware: 1, SkipNoVendor: 1},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := Convert([]NamedFile{{Name: "t.xml", Data: []byte(tt.xml)}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(res.Rules, tt.want); diff != "" {
				t.Errorf("Convert() rules (-got, +want):\n%s", diff)
			}
			if diff := cmp.Diff(res.Skipped, tt.skip); diff != "" {
				t.Errorf("Convert() skipped (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ xml, want string }{
		"not XML":       {`<fingerprints`, "recog t.xml: XML syntax error"},
		"unknown field": {`<fingerprints matches="smtp.banner"></fingerprints>`, `recog t.xml: matches "smtp.banner" is no banner field`},
		"bad example": {`<fingerprints matches="html_title"><fingerprint pattern="^a$"><example _encoding="base64">!!</example>` +
			`<param pos="0" name="hw.vendor" value="A"/></fingerprint></fingerprints>`, "recog t.xml: fingerprint 1: example: illegal base64"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Convert([]NamedFile{{Name: "t.xml", Data: []byte(tt.xml)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Convert() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNameGroup(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern string
		n       int
		want    string
	}{
		"second group":              {`^(a)(b)$`, 2, `^(a)(?P<x>b)$`},
		"escaped and class parens":  {`^\((a)[(](b)$`, 2, `^\((a)[(](?P<x>b)$`},
		"non-capturing not counted": {`^(?:a)(b)`, 1, `^(?:a)(?P<x>b)`},
		"class with ] first":        {`[]()](c)`, 1, `[]()](?P<x>c)`},
		"posix class":               {`[[:alpha:]()](c)`, 1, `[[:alpha:]()](?P<x>c)`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := nameGroup(tt.pattern, tt.n, "x")
			if err != nil || got != tt.want {
				t.Errorf("nameGroup(%q, %d) = %q, %v, want %q", tt.pattern, tt.n, got, err, tt.want)
			}
		})
	}
	if _, err := nameGroup(`(a)`, 2, "x"); err == nil {
		t.Error("nameGroup of a missing group: no error")
	}
}
