package fleet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestValidateOverlaps(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		a, b []string // addresses of sensors a and b
		want string   // the error, or "" when the prefixes are disjoint
	}{
		"v4 adjacent":           {a: []string{"198.18.0.0/24"}, b: []string{"198.18.1.0/24"}},
		"v4 nested":             {a: []string{"198.18.0.0/16"}, b: []string{"198.18.5.0/24"}, want: `sensor "b": 198.18.5.0/24 overlaps 198.18.0.0/16 of sensor "a"`},
		"v4 nested, wider last": {a: []string{"198.18.5.0/24"}, b: []string{"198.18.0.0/16"}, want: `sensor "b": 198.18.0.0/16 overlaps 198.18.5.0/24 of sensor "a"`},
		"v4 identical":          {a: []string{"198.18.0.0/24"}, b: []string{"198.18.0.0/24"}, want: `sensor "b": 198.18.0.0/24 overlaps 198.18.0.0/24 of sensor "a"`},
		"v4 same start":         {a: []string{"198.18.0.0/25"}, b: []string{"198.18.0.0/24"}, want: `sensor "b": 198.18.0.0/24 overlaps 198.18.0.0/25 of sensor "a"`},
		"v4 address inside":     {a: []string{"198.18.0.0/24"}, b: []string{"198.18.0.255"}, want: `sensor "b": 198.18.0.255/32 overlaps 198.18.0.0/24 of sensor "a"`},
		"v4 address just after": {a: []string{"198.18.0.0/24"}, b: []string{"198.18.1.0"}},
		"v4 whole space":        {a: []string{"255.255.255.255"}, b: []string{"0.0.0.0/0"}, want: `sensor "b": 0.0.0.0/0 overlaps 255.255.255.255/32 of sensor "a"`},
		"v4 and v6 never":       {a: []string{"0.0.0.0/0"}, b: []string{"::/0"}},
		"v6 adjacent":           {a: []string{"2001:db8::/64"}, b: []string{"2001:db8:0:1::/64"}},
		"v6 nested":             {a: []string{"2001:db8::/32"}, b: []string{"2001:db8:ffff::/48"}, want: `sensor "b": 2001:db8:ffff::/48 overlaps 2001:db8::/32 of sensor "a"`},
		"v6 identical":          {a: []string{"2001:db8::1"}, b: []string{"2001:db8::1/128"}, want: `sensor "b": 2001:db8::1/128 overlaps 2001:db8::1/128 of sensor "a"`},
		"v6 whole space":        {a: []string{"2001:db8::1"}, b: []string{"::/0"}, want: `sensor "b": ::/0 overlaps 2001:db8::1/128 of sensor "a"`},
		// 10.0.0.0/24 sorts between 10.0.0.0/8 and 10.1.0.0/24, which
		// overlap without being neighbours: the /8 overlaps its neighbour.
		"nested, not neighbours": {
			a: []string{"10.0.0.0/8", "10.1.0.0/24"}, b: []string{"9.0.0.0/8", "10.0.0.0/24", "11.0.0.0/8"},
			want: `sensor "b": 10.0.0.0/24 overlaps 10.0.0.0/8 of sensor "a"`,
		},
		"twice in one sensor": {a: []string{"198.18.0.1", "198.18.0.1"}, b: []string{"198.18.0.2"}, want: `sensor "a": 198.18.0.1/32 overlaps 198.18.0.1/32 of sensor "a"`},
		"many disjoint":       {a: []string{"10.0.0.0/9", "10.192.0.0/10", "2001:db8::/33"}, b: []string{"10.128.0.0/10", "2001:db8:8000::/33", "11.0.0.0"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := Fleet{Sensors: []Sensor{{Name: "a", Addresses: tt.a}, {Name: "b", Addresses: tt.b}}}
			got := ""
			if err := f.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestValidateOverlapsPairwise checks the sorted overlap search against
// the pairwise definition on random fleets crowded into a small space.
func TestValidateOverlapsPairwise(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	randomPrefix := func() netip.Prefix {
		if rng.IntN(2) == 0 {
			a := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(256))})
			return netip.PrefixFrom(a, 22+rng.IntN(11)).Masked()
		}
		var b [16]byte
		b[0], b[1], b[14], b[15] = 0x20, 0x01, byte(rng.IntN(4)), byte(rng.IntN(256))
		return netip.PrefixFrom(netip.AddrFrom16(b), 118+rng.IntN(11)).Masked()
	}
	for trial := range 2000 {
		var f Fleet
		var all []netip.Prefix
		for i := range 1 + rng.IntN(6) {
			s := Sensor{Name: fmt.Sprint("s", i)}
			for range 1 + rng.IntN(3) {
				p := randomPrefix()
				all = append(all, p)
				s.Addresses = append(s.Addresses, p.String())
			}
			f.Sensors = append(f.Sensors, s)
		}
		want := false
		for i := range all {
			for j := range i {
				want = want || all[i].Overlaps(all[j])
			}
		}
		if err := f.Validate(); (err != nil) != want {
			t.Fatalf("trial %d: Validate(%v) = %v, want an overlap: %t", trial, all, err, want)
		}
	}
}

// BenchmarkValidate shows the overlap check's n log n growth: each size is
// ten times the previous one (see BENCHMARKS.md).
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{2_000, 20_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := Fleet{Sensors: make([]Sensor, n)}
			for i := range f.Sensors {
				// Consecutive /28s from 10.0.0.0, listed in an order
				// unrelated to the addresses' (a prime is coprime to n).
				k := uint64(i) * 2654435761 % uint64(n)
				a := netip.AddrFrom4([4]byte{10, byte(k >> 12), byte(k >> 4), byte(k << 4)})
				f.Sensors[i] = Sensor{Name: fmt.Sprint("s", i), Addresses: []string{netip.PrefixFrom(a, 28).String()}}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := f.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLoadContext: loading gives up when its context ends — before it
// starts, and in the parse of a huge file — and a file over MaxFileSize is
// refused before it is parsed.
func TestLoadContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	WriteLargeFile(t, small, 3)
	if fl, err := LoadContext(t.Context(), small); err != nil || len(fl.Sensors) != 3 {
		t.Fatalf("LoadContext(3 sensors) = %v, %v", fl, err)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := LoadContext(cancelled, small); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), small) {
		t.Errorf("LoadContext(cancelled) = %v, want context.Canceled naming %s", err, small)
	}

	huge := filepath.Join(dir, "huge.yaml") // about 22 MiB: seconds to parse
	WriteLargeFile(t, huge, 200_000)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := LoadContext(ctx, huge)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("LoadContext(200,000 sensors) cancelled after 100 ms = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("LoadContext(200,000 sensors) returned %v after it started, want soon after the cancellation at 100 ms", d)
	}

	tooLarge := filepath.Join(dir, "too-large.yaml")
	if err := os.WriteFile(tooLarge, []byte("sensors:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(tooLarge, MaxFileSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if _, err := LoadContext(t.Context(), tooLarge); err == nil || !strings.Contains(err.Error(), "more than 64 MiB") {
		t.Errorf("LoadContext(64 MiB + 1) = %v, want an error saying it is more than 64 MiB", err)
	}
}
