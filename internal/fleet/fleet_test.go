package fleet

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{name: "empty", yaml: "", want: "no sensors defined"},
		{name: "no sensors", yaml: "sensors: []", want: "no sensors defined"},
		{name: "unknown key", yaml: "sensors:\n  - name: a\n    grup: x\n    addresses: [198.18.0.1]", want: "field grup not found"},
		{name: "unknown top key", yaml: "sensor:\n  - name: a", want: "field sensor not found"},
		{name: "empty name", yaml: "sensors:\n  - name: ' '\n    addresses: [198.18.0.1]", want: "sensor #1: name is empty"},
		{name: "duplicate", yaml: "sensors:\n  - {name: a, addresses: [198.18.0.1]}\n  - {name: a, addresses: [198.18.0.2]}", want: `sensor "a": name used twice`},
		{name: "no addresses", yaml: "sensors:\n  - {name: a}", want: `sensor "a": no addresses`},
		{name: "bad address", yaml: "sensors:\n  - {name: a, addresses: [198.18.0.300]}", want: `address "198.18.0.300"`},
		{name: "host bits", yaml: "sensors:\n  - {name: a, addresses: [198.18.0.1/24]}", want: "did you mean 198.18.0.0/24"},
		{name: "overlap", yaml: "sensors:\n  - {name: a, addresses: [198.18.0.0/24]}\n  - {name: b, addresses: [198.18.0.7]}", want: `198.18.0.7/32 overlaps 198.18.0.0/24 of sensor "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(path, []byte("sensors:\n  - {name: a, bogus: 1, addresses: [198.18.0.1]}"), 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load() error = %v, want it to name %s", err, path)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) error = %v, want it to name the file", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(`
sensors:
  - {name: jp-1, group: Japan, country: JP, description: campus, addresses: [198.18.0.1]}
  - {name: de-1, group: overseas, addresses: [198.19.0.0/28, "2001:db8::/64"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal()) = %v\n%s", err, data)
	}
	if diff := cmp.Diff(g.Sensors, f.Sensors, cmp.AllowUnexported(Sensor{}), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(f.Groups(), []string{"Japan", "overseas"}); diff != "" {
		t.Errorf("Groups() (-got, +want):\n%s", diff)
	}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	small := `sensors:
  - {name: a, addresses: [198.18.0.1]}
  - {name: b, addresses: [198.18.1.0/24, "2001:db8:1::/64"]}
  - {name: c, addresses: [198.19.0.0/16, "2001:db8:2::5"]}
  - {name: d, addresses: [255.255.255.255, 0.0.0.0]}
`
	// A large fleet takes the binary-search path.
	var b strings.Builder
	b.WriteString(small)
	for i := range 40 {
		fmt.Fprintf(&b, "  - {name: x%d, addresses: [10.%d.0.0/16]}\n", i, i)
	}
	for _, tc := range []struct{ name, yaml string }{{"linear", small}, {"binary search", b.String()}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			m := NewMatcher(f)
			for addr, want := range map[string]int{
				"198.18.0.1": 0, "198.18.0.2": -1, "198.18.0.0": -1,
				"198.18.1.0": 1, "198.18.1.255": 1, "198.18.2.0": -1,
				"198.19.0.0": 2, "198.19.255.255": 2, "198.20.0.0": -1,
				"255.255.255.255": 3, "0.0.0.0": 3, "0.0.0.1": -1,
				"2001:db8:1::1": 1, "2001:db8:1:0:ffff::": 1, "2001:db8:1:1::": -1,
				"2001:db8:2::5": 2, "2001:db8:2::6": -1,
			} {
				if got := m.Lookup(netip.MustParseAddr(addr)); got != want {
					t.Errorf("Lookup(%s) = %d, want %d", addr, got, want)
				}
			}
			if len(f.Sensors) > 4 {
				if got := m.Lookup(netip.MustParseAddr("10.39.200.1")); got != 43 {
					t.Errorf("Lookup(10.39.200.1) = %d, want 43", got)
				}
			}
		})
	}
}
