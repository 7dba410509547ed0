package probe

import "net/netip"

// special are the networks of IANA's special-purpose address registries
// (RFC 6890 and its updates) that are not globally reachable, or that no
// device of the Internet lives on: a probe never contacts them, whatever
// the scan data says (a spoofed or mis-parsed source would otherwise turn
// the probe onto the operator's own network).
var special = mustPrefixes(
	// IPv4.
	"0.0.0.0/8",       // "this network"
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (CGNAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // deprecated 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and the limited broadcast address
	// IPv6; anything outside 2000::/3 is refused too (globalAddr).
	"64:ff9b:1::/48", // local-use IPv4/IPv6 translation
	"2001::/23",      // IETF protocol assignments
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4: an IPv4 address in disguise
	"3fff::/20",      // documentation
)

// v6Global is the IPv6 global unicast space.
var v6Global = netip.MustParsePrefix("2000::/3")

// globalAddr reports whether a is an address of the global Internet.
func globalAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() && !v6Global.Contains(a) {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// connectable reports whether a TCP connection to a can be meant at all:
// not the unspecified address, nor multicast or broadcast. Unlike
// globalAddr, no test option lifts it.
func connectable(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func mustPrefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}
