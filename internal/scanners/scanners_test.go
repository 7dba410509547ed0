package scanners

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go4.org/netipx"
)

// testdataLists loads every MISP warninglist of the testdata.
func testdataLists(t *testing.T) []List {
	t.Helper()
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
	return lists
}

// TestWarninglists: every MISP warninglist of the testdata loads, and the
// first and last address of each of its networks carry its label, while
// addresses in no list carry none.
func TestWarninglists(t *testing.T) {
	lists := testdataLists(t)
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

// TestWatcherReloads: a list edited under a Watcher (in place, then by a
// rename) is used from the next Check on, while lookups run beside it
// (run with -race); a mistyped line is refused with its line number and
// the lists in service stay.
func TestWatcherReloads(t *testing.T) {
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.txt")
	write(t, ours, "198.51.100.0/24\n")
	w, err := Watch(Source{Path: ours, Label: "uni"}, Source{Path: "../../testdata/scanner-lists/censys-scanning.json"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("203.0.113.9")
	labelled := func(x netip.Addr) bool { return slices.Contains(w.Labels(x), "uni") }
	if !labelled(a) || labelled(b) {
		t.Fatalf("before any reload: %v %v", w.Labels(a), w.Labels(b))
	}
	if got := w.Labels(netip.MustParseAddr("162.142.125.9")); !slices.Equal(got, []string{"censys-scanning"}) {
		t.Errorf("a Censys address: %v", got)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				w.Labels(a)
			}
		}
	}()
	write(t, ours, "203.0.113.0/24\n") // in place
	if reloaded, err := w.Check(); !reloaded || err != nil {
		t.Fatalf("Check() after an edit = %v, %v", reloaded, err)
	}
	if labelled(a) || !labelled(b) {
		t.Errorf("after the edit: %v %v, want only 203.0.113.9 labelled", w.Labels(a), w.Labels(b))
	}
	tmp := filepath.Join(dir, "new.txt")
	write(t, tmp, "# fixed\n203.0.113.0/24\n198.51.100.0/24x\n")
	if err := os.Rename(tmp, ours); err != nil {
		t.Fatal(err)
	}
	reloaded, err := w.Check()
	if reloaded || err == nil || !strings.Contains(err.Error(), ours+":3:") || !strings.Contains(err.Error(), "still using") {
		t.Errorf("Check() of a mistyped list = %v, %v; want the file and line 3, and the old lists kept", reloaded, err)
	}
	if !labelled(b) {
		t.Error("after a refused reload, the lists in service were lost")
	}
	close(stop)
	<-done
}

// TestRunReportsReloads: Run notices an edited list by itself and reports
// the reload.
func TestRunReportsReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ours.txt")
	write(t, path, "198.51.100.0/24\n")
	w, err := Watch(Source{Path: path, Label: "uni"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reports := make(chan error, 10)
	go w.Run(ctx, time.Millisecond, func(reloaded bool, err error) { reports <- err })
	write(t, path, "203.0.113.0/24\n")
	select {
	case err := <-reports:
		if err != nil {
			t.Fatalf("report: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reload reported")
	}
	if got := w.Labels(netip.MustParseAddr("203.0.113.1")); len(got) != 1 {
		t.Errorf("after the reported reload: %v", got)
	}
}

// TestLabelAgreesWithLabels: the packet path's Label gives the joined
// Labels of every network's first and last address, of the addresses
// just outside them, and of random addresses, over the testdata's lists.
func TestLabelAgreesWithLabels(t *testing.T) {
	lists := testdataLists(t)
	// Overlapping lists of one label and of two: the joined label.
	lists = append(lists,
		List{Label: "mine", Networks: []netip.Prefix{netip.MustParsePrefix("162.142.125.0/28"), netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("::/8")}},
		List{Label: "mine", Networks: []netip.Prefix{netip.MustParsePrefix("162.142.125.8/29"), netip.MustParsePrefix("255.255.255.255/32")}})
	set, err := NewSet(lists...)
	if err != nil {
		t.Fatal(err)
	}
	check := func(a netip.Addr) {
		t.Helper()
		if got, want := set.Label(a).String(), strings.Join(set.Labels(a), ","); got != want {
			t.Fatalf("Label(%s) = %q, want %q", a, got, want)
		}
	}
	for _, l := range lists {
		for _, p := range l.Networks {
			first, last := p.Masked().Addr(), netipx.PrefixLastIP(p)
			for _, a := range []netip.Addr{first, last, first.Prev(), last.Next()} {
				if a.IsValid() {
					check(a)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		check(netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}))
	}
	if got := set.Label(netip.MustParseAddr("162.142.125.9")).String(); !strings.Contains(got, "censys-scanning") || !strings.Contains(got, "mine") {
		t.Errorf("Label(162.142.125.9) = %q, want censys-scanning and mine", got)
	}
	if n := testing.AllocsPerRun(100, func() { set.Label(netip.MustParseAddr("162.142.125.9")) }); n != 0 {
		t.Errorf("Label allocates %.0f times, want 0", n)
	}
}
