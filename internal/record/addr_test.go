package record

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAddr(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "::ffff:192.0.2.1"} {
		n := netip.MustParseAddr(s)
		a := AddrFromNetip(n)
		if a.String() != n.String() || a.Netip() != n || a.Is4() != n.Is4() || a.Is6() != n.Is6() {
			t.Errorf("%s: got %s (v4 %v), netip %s", s, a, a.Is4(), a.Netip())
		}
		if text, _ := a.MarshalText(); string(text) != n.String() {
			t.Errorf("%s: MarshalText = %q", s, text)
		}
	}
	a := MustParseAddr("198.18.1.2")
	if a.Uint32() != 0xc6120102 || AddrFromUint32(0xc6120102) != a || AddrFrom4([4]byte{198, 18, 1, 2}) != a || a.As4() != [4]byte{198, 18, 1, 2} {
		t.Errorf("IPv4 conversions disagree for %s", a)
	}
	if MustParseAddr("::ffff:198.18.1.2") == a {
		t.Error("an IPv4-mapped IPv6 address equals the IPv4 address; netip keeps them apart")
	}
}

func TestAddrCompare(t *testing.T) {
	t.Parallel()
	in := []string{"2001:db8::2", "198.18.0.1", "2001:db8::1", "10.0.0.1", "::ffff:1.2.3.4"}
	var got, want []string
	addrs := make([]Addr, len(in))
	nets := make([]netip.Addr, len(in))
	for i, s := range in {
		addrs[i], nets[i] = MustParseAddr(s), netip.MustParseAddr(s)
	}
	slices.SortFunc(addrs, Addr.Compare)
	slices.SortFunc(nets, netip.Addr.Compare)
	for i := range in {
		got, want = append(got, addrs[i].String()), append(want, nets[i].String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("Compare order %v, netip order %v", got, want)
	}
}

// TestRecordHasNoPointers guards the reason Addr exists: records are copied
// and reset on the packet path, and pointers would make every such write pay
// GC write barriers (and make batches of records scanned by the collector).
func TestRecordHasNoPointers(t *testing.T) {
	t.Parallel()
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.String, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			t.Errorf("%s is a %s: Record must hold no pointers", path, typ.Kind())
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		case reflect.Array:
			walk(typ.Elem(), path+"[]")
		}
	}
	walk(reflect.TypeOf(Record{}), "Record")
}

func TestAddrHalves(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"198.18.1.2", "2001:db8::1", "::"} {
		a := MustParseAddr(s)
		hi, lo := a.Halves()
		if back := AddrFromHalves(hi, lo, a.Is4()); back != a {
			t.Errorf("AddrFromHalves(Halves(%s)) = %s", a, back)
		}
	}
}

func TestParseNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.0/24": "192.0.2.0/24", " 192.0.2.7 ": "192.0.2.7/32", "2001:db8::/32": "2001:db8::/32",
		"2001:db8::1": "2001:db8::1/128", "::ffff:192.0.2.7": "192.0.2.7/32",
		"192.0.2.1/24": "error: bits set past /24 (did you mean 192.0.2.0/24?)", "192.0.2.0/33": "error: want a network",
		"::ffff:192.0.2.0/120": "error: write IPv4 networks in dotted form", "fe80::1%eth0": "error: want a network",
		"example.org": "error: want a network", "": "error: want a network",
	} {
		p, err := ParseNetwork(in)
		got := p.String()
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("ParseNetwork(%q) = %s, want %s", in, got, want)
		}
	}
}
