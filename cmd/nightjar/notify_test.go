package main

import (
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nightjar-telescope/nightjar/internal/notify/smtptest"
	"github.com/nightjar-telescope/nightjar/internal/origins"
)

const notifySubscriptions = `owners:
  - owner: Example Transit
    contact: [abuse@transit.example]
    asns: [AS64500]
  - owner: Campus Net
    contact: [noc@campus.example, cert@campus.example]
    prefixes: [192.0.2.32/28]
    format: json
    disclose_destinations: true
  - owner: Quiet ISP
    contact: [abuse@quiet.example]
    asns: [64999]
`

// TestNotify is issue 12 §4's proof: the small capture ingested with a
// database that places its sources in three ASes; each owner's file
// (compared with golden files) holds its own sources only, sensor
// addresses only for the owner that may see them, and the owners with
// events are mailed through a real SMTP server over STARTTLS.
func TestNotify(t *testing.T) {
	t.Parallel()
	dir, pcap, sensors := smallCapture(t)
	geo := filepath.Join(dir, "geo.mmdb")
	entry := func(cidr, country string, asn uint32, org string) origins.Entry {
		return origins.Entry{Network: netip.MustParsePrefix(cidr), Origin: origins.Origin{Country: country, ASN: asn, Org: org}}
	}
	if err := origins.Write(geo, "Nightjar-Test", []origins.Entry{
		entry("192.0.2.0/28", "JP", 64500, "Example Transit"), entry("192.0.2.16/28", "US", 64501, "Other"),
		entry("192.0.2.32/27", "DE", 64502, "Campus"),
	}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.duckdb")
	if code, _, stderr := nightjar(t, "ingest", "-q", "--db", db, "--sensors", sensors, "--geoip", geo, pcap); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	subs := filepath.Join(dir, "owners.yaml")
	if err := os.WriteFile(subs, []byte(notifySubscriptions), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := &smtptest.Sink{User: "telescope", Pass: "s3cret"}
	addr, _ := smtptest.Start(t, sink, smtptest.StartTLS)
	ca, password := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "password")
	if err := os.WriteFile(ca, sink.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(password, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := nightjar(t, "--now", "2024-09-01T06:00:00Z", "notify", "--db", db, "--subscriptions", subs,
		"--from", "2024-07-01", "--to", "2024-08-31", "--out", out,
		"--smtp", addr, "--smtp-ca", ca, "--mail-from", "telescope@nightjar.example", "--smtp-user", "telescope", "--smtp-password-file", password)
	if code != 0 {
		t.Fatalf("notify: exit %d: %s\n%s", code, stderr, stdout)
	}
	golden(t, "notify-stdout", strings.ReplaceAll(stdout, out+string(filepath.Separator), "OUT/"))
	files, err := filepath.Glob(filepath.Join(out, "*"))
	if err != nil || len(files) != 3 {
		t.Fatalf("notify wrote %v (%v), want one file per owner", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "notify-"+filepath.Base(f), string(b))
	}

	// Each owner sees its own sources only; only Campus Net sees sensors.
	transit := readCSV(t, filepath.Join(out, "Example_Transit-*.csv"))
	if len(transit) < 2 {
		t.Fatalf("Example Transit's file: %v", transit)
	}
	head := transit[0]
	for _, row := range transit[1:] {
		src, asn, dst := row[slices.Index(head, "src_ip")], row[slices.Index(head, "src_asn")], row[slices.Index(head, "dst_ip")]
		if !netip.MustParsePrefix("192.0.2.0/28").Contains(netip.MustParseAddr(src)) || asn != "64500" || dst != "" {
			t.Errorf("Example Transit sees %v", row)
		}
	}
	campusFiles, _ := filepath.Glob(filepath.Join(out, "Campus_Net-*.json"))
	var campus []map[string]any
	if b, err := os.ReadFile(campusFiles[0]); err != nil || json.Unmarshal(b, &campus) != nil || len(campus) == 0 {
		t.Fatalf("Campus Net's file: %v %v", campus, err)
	}
	for _, ev := range campus {
		if !netip.MustParsePrefix("192.0.2.32/28").Contains(netip.MustParseAddr(ev["src_ip"].(string))) || ev["dst_ip"] == "" {
			t.Errorf("Campus Net sees %v", ev)
		}
	}

	// The mails: one per owner with events, to its contacts.
	mails, _ := sink.Received()
	var to [][]string
	for _, m := range mails {
		if !m.TLS {
			t.Error("a mail came in clear")
		}
		to = append(to, m.To)
	}
	slices.SortFunc(to, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if want := [][]string{{"abuse@transit.example"}, {"noc@campus.example", "cert@campus.example"}}; !slices.EqualFunc(to, want, slices.Equal[[]string]) {
		t.Errorf("mails to %q, want %q (and none to the quiet owner)", to, want)
	}
}

// readCSV reads the one CSV file that matches pattern.
func readCSV(t *testing.T, pattern string) [][]string {
	t.Helper()
	paths, _ := filepath.Glob(pattern)
	if len(paths) != 1 {
		t.Fatalf("%s: %v", pattern, paths)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
