package notify

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixtureYAML has an owner matched by ASN, one by IPv4 and IPv6 prefixes
// that sees the sensors' addresses, one whose prefix and ASN overlap the
// others', and one with nothing in the period.
const fixtureYAML = `owners:
  - owner: transit-isp
    contact: abuse@transit.example
    asns: [AS64500]
  - owner: campus
    contact: ["Campus CSIRT <csirt@campus.example>", noc@campus.example]
    prefixes: [198.51.100.0/24, "2001:db8:b::/48"]
    format: json
    disclose_destinations: true
  - owner: hosting/../customer
    contact: abuse@hosting.example
    asns: [64501]
    prefixes: [198.51.100.128/25]
  - owner: quiet-net
    contact: noc@quiet.example
    asns: [65000]
    prefixes: [192.0.2.128/25]
`

func fixture(t *testing.T) *Subscriptions {
	t.Helper()
	subs, err := Parse("fixture.yaml", []byte(fixtureYAML))
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

var day = period.Period{Kind: period.Day, Start: time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 7, 16, 0, 0, 0, 0, time.UTC)}

func hour(h int) time.Time { return day.Start.Add(time.Duration(h) * time.Hour) }

var (
	sensor1 = netip.MustParseAddr("203.0.113.1")
	sensor2 = netip.MustParseAddr("203.0.113.2")
	sensor6 = netip.MustParseAddr("2001:db8:ffff::1")
)

// fixtureEvents are a day's events of sources inside and outside the
// owners' networks, to three sensor addresses.
func fixtureEvents() []Event {
	a := netip.MustParseAddr
	return []Event{
		// transit-isp by ASN, to two sensors: one line once the sensors are dropped.
		{Timestamp: hour(13), Protocol: "tcp", SrcIP: a("192.0.2.10"), SrcASN: 64500, SrcGeo: "JP", DstIP: sensor1, DstPort: 23, Tag: "mirai", Count: 5},
		{Timestamp: hour(13), Protocol: "tcp", SrcIP: a("192.0.2.10"), SrcASN: 64500, SrcGeo: "JP", DstIP: sensor2, DstPort: 23, Tag: "mirai", Count: 3},
		{Timestamp: hour(9), Protocol: "tcp", SrcIP: a("192.0.2.11"), SrcASN: 64500, SrcGeo: "JP", DstIP: sensor1, DstPort: 37215, Tag: "", Count: 1},
		// campus (prefix) and hosting (prefix and ASN) both.
		{Timestamp: hour(12), Protocol: "udp", SrcIP: a("198.51.100.200"), SrcASN: 64501, SrcGeo: "US", DstIP: sensor2, DstPort: 53, Count: 2},
		// campus only; its AS unknown.
		{Timestamp: hour(12), Protocol: "tcp", SrcIP: a("198.51.100.5"), DstIP: sensor1, DstPort: 445, Count: 7},
		{Timestamp: hour(14), Protocol: "tcp", SrcIP: a("2001:db8:b::7"), SrcASN: 64502, SrcGeo: "DE", DstIP: sensor6, DstPort: 22, Tag: "zmap", Count: 4},
		// hosting by ASN alone, outside every prefix.
		{Timestamp: hour(3), Protocol: "icmp", SrcIP: a("100.64.0.9"), SrcASN: 64501, SrcGeo: "NL", DstIP: sensor1, Tag: "backscatter", Count: 11},
		// Nobody's: another AS, outside every prefix, and an IPv6 source
		// next to campus's /48.
		{Timestamp: hour(3), Protocol: "tcp", SrcIP: a("192.0.2.1"), SrcASN: 64999, DstIP: sensor1, DstPort: 80, Count: 9},
		{Timestamp: hour(3), Protocol: "tcp", SrcIP: a("2001:db8:c::1"), SrcASN: 64998, DstIP: sensor6, DstPort: 80, Count: 9},
	}
}

// TestWriteDirGolden writes the fixture's reports and compares every file
// with testdata/ (go test -update rewrites them).
func TestWriteDirGolden(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteDir(dir, day, Plan(fixture(t), fixtureEvents()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
		got, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Base(f.Path)+".golden", got)
	}
	want := []string{
		"transit-isp-2024-07-15.csv",
		"campus-2024-07-15.json",
		"hosting_.._customer-" + digest("hosting/../customer") + "-2024-07-15.csv",
		"quiet-net-2024-07-15.csv",
	}
	if diff := cmp.Diff(names, want); diff != "" {
		t.Errorf("WriteDir() files (-got, +want):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%s holds %d entries, want the %d reports alone", dir, len(entries), len(want))
	}
}

func golden(t *testing.T, name string, got []byte) { testenv.Golden(t, *update, name, got) }

// row is a report line as read back, for assertions independent of the
// format.
type row map[string]string

func readCSV(t *testing.T, data []byte) []row {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recs[0], Columns()); diff != "" {
		t.Fatalf("CSV header (-got, +want):\n%s", diff)
	}
	var rows []row
	for _, rec := range recs[1:] {
		r := row{}
		for i, name := range recs[0] {
			r[name] = rec[i]
		}
		rows = append(rows, r)
	}
	return rows
}

func readJSON(t *testing.T, data []byte) []row {
	t.Helper()
	var objs []map[string]any
	if err := json.Unmarshal(data, &objs); err != nil {
		t.Fatal(err)
	}
	var rows []row
	for _, o := range objs {
		r := row{}
		for _, name := range Columns() {
			v, ok := o[name]
			switch v := v.(type) {
			case string:
				r[name] = v
			case float64:
				r[name] = strconv.FormatFloat(v, 'f', -1, 64)
			case nil:
				if !ok {
					t.Fatalf("JSON object %v has no key %q", o, name)
				}
				r[name] = ""
			}
		}
		if len(o) != len(Columns()) {
			t.Fatalf("JSON object %v: %d keys, want %d", o, len(o), len(Columns()))
		}
		rows = append(rows, r)
	}
	return rows
}

// TestOwnersSeeOnlyTheirSources reads every file back and checks each line
// against the owner's networks, every event of the owner's against the
// lines, and that no sensor address shows in the files of owners who may
// not see them.
func TestOwnersSeeOnlyTheirSources(t *testing.T) {
	subs := fixture(t)
	events := fixtureEvents()
	files, err := WriteDir(t.TempDir(), day, Plan(subs, events))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		o := f.Report.Owner
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		if o.Format == JSON {
			rows = readJSON(t, data)
		} else {
			rows = readCSV(t, data)
		}
		// What the owner should see: its events, each line the packets of a
		// source, port and hour (and sensor, for a disclosing owner).
		want := map[string]uint64{}
		for _, e := range events {
			if !owns(o, e) {
				continue
			}
			dst := ""
			if o.DiscloseDestinations {
				dst = e.DstIP.String()
			}
			want[key(e.Timestamp.Format(TimeLayout), e.SrcIP.String(), e.Protocol, strconv.Itoa(int(e.DstPort)), dst)] += e.Count
		}
		got := map[string]uint64{}
		for _, r := range rows {
			n, err := strconv.ParseUint(r["count"], 10, 64)
			if err != nil {
				t.Fatalf("%s: count %q", f.Path, r["count"])
			}
			got[key(r["timestamp"], r["src_ip"], r["protocol"], r["dst_port"], r["dst_ip"])] += n
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("owner %q: lines (-got, +want):\n%s", o.Name, diff)
		}
		if o.DiscloseDestinations {
			continue
		}
		for _, s := range []netip.Addr{sensor1, sensor2, sensor6} {
			if bytes.Contains(data, []byte(s.String())) {
				t.Errorf("owner %q: %s shows the sensor address %s:\n%s", o.Name, f.Path, s, data)
			}
		}
	}
}

func key(parts ...string) string { return strings.Join(parts, " ") }

// owns is the matching rule spelt out: the event's AS is one of the
// owner's, or its source lies in one of the owner's prefixes.
func owns(o *Owner, e Event) bool {
	if slices.Contains(o.ASNs, e.SrcASN) {
		return true
	}
	return slices.ContainsFunc(o.Prefixes, func(p netip.Prefix) bool { return p.Contains(e.SrcIP) })
}

// TestPlanIndexMatchesRule compares the index with owns for random
// sources among nested and overlapping prefixes of both families.
func TestPlanIndexMatchesRule(t *testing.T) {
	subs, err := Parse("subs.yaml", []byte(`owners:
  - {owner: a, contact: a@x.example, prefixes: [10.0.0.0/8, "2001:db8::/32"]}
  - {owner: b, contact: b@x.example, prefixes: [10.1.0.0/16, 10.1.2.3, "2001:db8:1::/48"]}
  - {owner: c, contact: c@x.example, prefixes: [10.1.0.0/16, 0.0.0.0/1]}
  - {owner: d, contact: d@x.example, prefixes: [255.255.255.0/24, "ffff::/16", 0.0.0.0/0], asns: [7]}
  - {owner: e, contact: e@x.example, prefixes: ["::/0"], asns: [7, 8]}
`))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := []netip.Addr{
		netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.1.0.0"), netip.MustParseAddr("10.255.255.255"),
		netip.MustParseAddr("11.0.0.0"), netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"),
		netip.MustParseAddr("2001:db8:1::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	}
	for range 2000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		base = append(base, netip.AddrFrom4([4]byte(b[:4])), netip.AddrFrom16(b), netip.AddrFrom4([4]byte{10, 1, b[0], b[1]}))
	}
	for _, src := range base {
		for _, asn := range []uint32{0, 7, 8} {
			e := Event{SrcIP: src, SrcASN: asn}
			var want []int
			for i, o := range subs.Owners() {
				if owns(o, e) {
					want = append(want, i)
				}
			}
			if got := subs.index.lookup(nil, src, asn); !slices.Equal(got, want) {
				t.Fatalf("lookup(%s, AS%d) = %v, want %v", src, asn, got, want)
			}
		}
	}
}

// TestPlanOrder: the same events in any order give the same reports.
func TestPlanOrder(t *testing.T) {
	subs := fixture(t)
	events := fixtureEvents()
	want := Plan(subs, events)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		shuffled := slices.Clone(events)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(Plan(subs, shuffled), want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.AllowUnexported(Owner{})); diff != "" {
			t.Fatalf("Plan() of shuffled events (-got, +want):\n%s", diff)
		}
	}
	if !slices.Equal(events, fixtureEvents()) {
		t.Error("Plan() changed its input")
	}
}

// TestWritersWithholdDestinations: even an event that still carries its
// sensor (a caller that skipped Plan) is written without it.
func TestWritersWithholdDestinations(t *testing.T) {
	o := fixture(t).Owners()[0]
	r := Report{Owner: o, Events: fixtureEvents()[:1]}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"csv":  func(b *bytes.Buffer) error { return WriteCSV(b, r) },
		"json": func(b *bytes.Buffer) error { return WriteJSON(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b.Bytes(), []byte(sensor1.String())) {
			t.Errorf("%s: the sensor address is written:\n%s", name, b.String())
		}
	}
}

func TestWriteEmpty(t *testing.T) {
	o := fixture(t).Owners()[0]
	for name, tc := range map[string]struct {
		write func(*bytes.Buffer) error
		want  string
	}{
		"csv":  {func(b *bytes.Buffer) error { return WriteCSV(b, Report{Owner: o}) }, strings.Join(Columns(), ",") + "\n"},
		"json": {func(b *bytes.Buffer) error { return WriteJSON(b, Report{Owner: o}) }, "[]\n"},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%s of no events = %q, want %q", name, b.String(), tc.want)
		}
	}
}

// TestHostileOwnerNames: owners named to escape the directory get files
// inside it, each its own.
func TestHostileOwnerNames(t *testing.T) {
	names := []string{"../x", "a/b", "a_b", "..", "/etc/cron.d/x", `..\..\y`, ".hidden", "-rf"}
	var yaml strings.Builder
	yaml.WriteString("owners:\n")
	for _, n := range names {
		yaml.WriteString("  - owner: " + strconv.Quote(n) + "\n    contact: a@x.example\n    asns: [1]\n")
	}
	subs, err := Parse("subs.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	events := []Event{{Timestamp: hour(1), Protocol: "tcp", SrcIP: netip.MustParseAddr("192.0.2.1"), SrcASN: 1, DstPort: 23, Count: 1}}
	files, err := WriteDir(dir, day, Plan(subs, events))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(names) {
		t.Fatalf("WriteDir() wrote %d files, want %d", len(files), len(names))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(names) {
		t.Errorf("%s holds %d entries, want one per owner (%d)", dir, len(entries), len(names))
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("WriteDir() made %q", e.Name())
		}
	}
	if outside, _ := os.ReadDir(root); len(outside) != 1 {
		t.Errorf("WriteDir() wrote beside its directory: %v", outside)
	}
}

func TestFileNamePeriods(t *testing.T) {
	o := fixture(t).Owners()[1]
	custom, err := period.Range(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 7, 8, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	month, _ := period.Parse("2024-07")
	for p, want := range map[period.Period]string{
		day:    "campus-2024-07-15.json",
		month:  "campus-2024-07.json",
		custom: "campus-2024-07-01T000000Z--2024-07-08T120000Z.json",
	} {
		if got := FileName(o, p); got != want {
			t.Errorf("FileName(%v) = %q, want %q", p, got, want)
		}
	}
}
