package record

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Addr is an IPv4 or IPv6 address held entirely by value. netip.Addr
// carries a pointer (its zone); a Record built from netip.Addr values had
// every copy and every reset pay GC write barriers whenever a collection was
// running, which cachegrind put at 17 % of the packet path's instructions.
// Records made of Addr hold no pointers at all: the collector never scans
// them and copying them is a plain memory copy.
//
// The zero Addr is the IPv6 unspecified address "::". Addresses have no
// zone (packets on the wire carry none).
//
// The layout, two 64-bit halves and a flag, is what Go's register ABI can
// pass in registers (a [16]byte array cannot be): a first version built on
// [16]byte made decoding and aggregation 20–50 % slower.
type Addr struct {
	hi, lo uint64 // IPv6 address, big-endian halves; IPv4 in the low 32 bits of lo
	v4     bool
}

// AddrFrom4 returns the IPv4 address of the four bytes.
func AddrFrom4(b [4]byte) Addr { return AddrFromUint32(binary.BigEndian.Uint32(b[:])) }

// AddrFromUint32 returns the IPv4 address whose big-endian number is u.
func AddrFromUint32(u uint32) Addr { return Addr{lo: uint64(u), v4: true} }

// AddrFrom16 returns the IPv6 address of the sixteen bytes. An
// IPv4-mapped address stays an IPv6 address, as in netip.
func AddrFrom16(b [16]byte) Addr {
	return Addr{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// AddrFromNetip converts a netip.Addr, dropping any zone.
func AddrFromNetip(n netip.Addr) Addr {
	if n.Is4() {
		return AddrFrom4(n.As4())
	}
	return AddrFrom16(n.As16())
}

// MustParseAddr parses an address or panics; for tests and constants.
func MustParseAddr(s string) Addr { return AddrFromNetip(netip.MustParseAddr(s)) }

// Is4 reports whether a is an IPv4 address.
func (a Addr) Is4() bool { return a.v4 }

// Is6 reports whether a is an IPv6 address.
func (a Addr) Is6() bool { return !a.v4 }

// Uint32 returns an IPv4 address as a big-endian number: the form the
// fingerprint rules compute with (Mirai's seq == destination, masscan's ID).
// For IPv6 it returns the last 32 bits.
func (a Addr) Uint32() uint32 { return uint32(a.lo) }

// As4 returns the bytes of an IPv4 address (the last four bytes for IPv6).
func (a Addr) As4() [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a.Uint32())
	return b
}

// As16 returns the sixteen bytes of an IPv6 address, or the IPv4-mapped
// form of an IPv4 address.
func (a Addr) As16() [16]byte {
	var b [16]byte
	if a.v4 {
		b[10], b[11] = 0xff, 0xff
		binary.BigEndian.PutUint32(b[12:], a.Uint32())
		return b
	}
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

// Netip returns a as a netip.Addr.
func (a Addr) Netip() netip.Addr {
	if a.v4 {
		return netip.AddrFrom4(a.As4())
	}
	return netip.AddrFrom16(a.As16())
}

// String formats a like netip.Addr: "192.0.2.1", "2001:db8::1".
func (a Addr) String() string { return a.Netip().String() }

// MarshalText implements encoding.TextMarshaler.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Equal reports whether a and b are the same address (go-cmp uses it).
func (a Addr) Equal(b Addr) bool { return a == b }

// Compare orders IPv4 before IPv6, then by value, like netip.Addr.Compare.
func (a Addr) Compare(b Addr) int {
	if a.v4 != b.v4 {
		if a.v4 {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// Halves returns the two 64-bit halves of the address (for IPv4, hi is 0
// and lo holds the address), for storage in integer columns.
func (a Addr) Halves() (hi, lo uint64) { return a.hi, a.lo }

// AddrFromHalves rebuilds an address stored with Halves.
func AddrFromHalves(hi, lo uint64, v4 bool) Addr {
	if v4 {
		return AddrFromUint32(uint32(lo))
	}
	return Addr{hi: hi, lo: lo}
}

// ParseNetwork reads a network ("192.0.2.0/24", "2001:db8::/32") or an
// address, which stands for its /32 or /128: the syntax of the lists and
// filters an operator writes (scanner lists, owner subscriptions, origin
// filters). An IPv4 network written in IPv6 form and a network with bits
// set past its length are refused: typos more often than not. The errors
// say what is wrong, not which text: callers name it.
func ParseNetwork(s string) (netip.Prefix, error) {
	text := strings.TrimSpace(s)
	var p netip.Prefix
	var err error
	zoned := false
	if strings.Contains(text, "/") {
		p, err = netip.ParsePrefix(text)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(text)
		zoned = a.Zone() != "" // a prefix would drop it silently
		p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	}
	switch {
	case err != nil || !p.IsValid() || zoned:
		return netip.Prefix{}, errors.New("want a network such as 192.0.2.0/24 or 2001:db8::/32, or an address")
	case p.Addr().Is4In6():
		return netip.Prefix{}, errors.New("write IPv4 networks in dotted form")
	case p.Masked() != p:
		return netip.Prefix{}, fmt.Errorf("bits set past /%d (did you mean %s?)", p.Bits(), p.Masked())
	}
	return p, nil
}
