package scanners

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go4.org/netipx"
)

// TestWarninglists: every MISP warninglist of the testdata loads, and the
// first and last address of each of its networks carry its label, while
// addresses in no list carry none.
func TestWarninglists(t *testing.T) {
	paths, err := filepath.Glob("../../testdata/scanner-lists/*.json")
	if err != nil || len(paths) < 30 {
		t.Fatalf("%d warninglists in testdata (%v), want the 33 copied there", len(paths), err)
	}
	var lists []List
	for _, p := range paths {
		l, err := LoadMISP(p, "")
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, l)
	}
	set, err := NewSet(lists...)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, l := range lists {
		for _, p := range l.Networks {
			for _, a := range []netip.Addr{p.Addr(), netipx.PrefixLastIP(p)} {
				if got := set.Labels(a); !slices.Contains(got, l.Label) {
					t.Errorf("Labels(%s) = %v, want %s (network %s)", a, got, l.Label, p)
				}
				checked++
			}
		}
	}
	if checked < 7000 {
		t.Errorf("checked %d addresses, want every network's", checked)
	}
	if got := set.Labels(netip.MustParseAddr("162.142.125.9")); !slices.Contains(got, "censys-scanning") {
		t.Errorf("Labels(162.142.125.9) = %v, want censys-scanning among them", got)
	}
	for _, a := range []string{"198.18.0.1", "192.0.2.1", "2001:db8::1", "::ffff:198.18.0.1"} {
		if got := set.Labels(netip.MustParseAddr(a)); got != nil {
			t.Errorf("Labels(%s) = %v, want none", a, got)
		}
	}
}

// TestUserList: the user's own list, with comments, lone addresses, IPv6
// and an IPv4-mapped lookup.
func TestUserList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ours.txt")
	write(t, path, "# our university's scanners\n\n198.51.100.0/25   # lab\n203.0.113.7\n2001:db8:5::/48\n")
	l, err := LoadText(path, "uni-scanners")
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(l)
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{
		"198.51.100.1": true, "198.51.100.127": true, "198.51.100.128": false,
		"203.0.113.7": true, "::ffff:203.0.113.7": true, "203.0.113.8": false,
		"2001:db8:5:ffff::1": true, "2001:db8:6::1": false,
	} {
		if got := set.Labels(netip.MustParseAddr(a)); (got != nil) != want || want && got[0] != "uni-scanners" {
			t.Errorf("Labels(%s) = %v, want labelled %v", a, got, want)
		}
	}
}

// TestMalformedEntries: a bad entry is reported with its file and line,
// in both formats; so are a wrong list type, an empty list and a missing
// label.
func TestMalformedEntries(t *testing.T) {
	dir := t.TempDir()
	misp := filepath.Join(dir, "bad.json")
	write(t, misp, `{
  "name": "Test",
  "type": "cidr",
  "list": [
    "192.0.2.0/24",
    "198.51.100.0/33",
    "203.0.113.0/24"
  ]
}
`)
	text := filepath.Join(dir, "bad.txt")
	write(t, text, "192.0.2.0/24\n# fine\n192.0.2.300\n")
	hostBits := filepath.Join(dir, "host.txt")
	write(t, hostBits, "192.0.2.1/24\n")
	for _, tt := range []struct {
		load func() (List, error)
		want string
	}{
		{func() (List, error) { return LoadMISP(misp, "") }, misp + `:6: "198.51.100.0/33"`},
		{func() (List, error) { return LoadText(text, "x") }, text + `:3: "192.0.2.300"`},
		{func() (List, error) { return LoadText(hostBits, "x") }, `did you mean 192.0.2.0/24?`},
		{func() (List, error) { return LoadText(text, "") }, "no label"},
		{func() (List, error) {
			p := filepath.Join(dir, "hosts.json")
			write(t, p, `{"name": "x", "type": "hostname", "list": ["example.org"]}`)
			return LoadMISP(p, "")
		}, `type "hostname"`},
		{func() (List, error) {
			p := filepath.Join(dir, "empty.json")
			write(t, p, `{"name": "x", "type": "cidr", "list": []}`)
			return LoadMISP(p, "")
		}, "no networks"},
		{func() (List, error) { return LoadMISP(filepath.Join(dir, "missing.json"), "") }, "missing.json"},
	} {
		_, err := tt.load()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error = %v, want one containing %q", err, tt.want)
		}
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
