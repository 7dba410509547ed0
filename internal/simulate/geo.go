package simulate

import (
	"fmt"
	"net/netip"

	"github.com/nightjar-telescope/nightjar/internal/origins"
)

// The simulated Internet's geography: every IPv4 /10 and every /12 of
// IPv6's 2000::/3 belongs to one of geoASes networks, each in a country
// drawn with the weights below (roughly the origins a darknet sees); one
// block in twenty is in no database. It depends on nothing but the
// address, so a capture of any run maps through it, and a database built
// from it (Geography) answers for every source the simulator draws.
const geoASes = 400

// geoCountries are the countries of the simulated networks and their
// weights (per mille).
var geoCountries = []struct {
	code   string
	weight int
}{
	{"CN", 210}, {"US", 170}, {"RU", 70}, {"BR", 60}, {"IN", 60}, {"NL", 50}, {"DE", 45}, {"KR", 40},
	{"VN", 35}, {"TW", 30}, {"GB", 30}, {"FR", 25}, {"JP", 25}, {"ID", 25}, {"HK", 20}, {"SG", 20},
	{"IR", 15}, {"TR", 15}, {"BG", 15}, {"UA", 15},
}

// researchASes are the networks of research scanners in the geography:
// the demo lists them as its research-scanner list (ResearchNetworks).
var researchASes = map[int]string{7: "Sim Research Scanning", 77: "Sim Internet Census", 177: "Sim Attack Surface Survey"}

// geoHash mixes a block number (splitmix64's finaliser).
func geoHash(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// geoAS returns the AS index of a block (its number among the IPv4 /10s,
// or 1<<20 plus its number among IPv6 /12s), or -1 if in no database.
func geoAS(block uint64) int {
	h := geoHash(block + 0x9e3779b97f4a7c15)
	if h%20 == 0 {
		return -1
	}
	return int((h >> 8) % geoASes)
}

// geoOrigin is the origin of AS index as.
func geoOrigin(as int) origins.Origin {
	h, pick := geoHash(uint64(as)), 0
	x := int(h % 1000)
	for i, c := range geoCountries {
		if x < c.weight {
			pick = i
			break
		}
		x -= c.weight
		pick = i
	}
	country := geoCountries[pick].code
	org, ok := researchASes[as]
	if !ok {
		org = fmt.Sprintf("Sim Net %d %s", as, country)
	}
	return origins.Origin{Country: country, ASN: uint32(64512 + as), Org: org}
}

// OriginOf returns the simulated geography's origin of a (the zero Origin
// for an address in no database, or outside 2000::/3 for IPv6).
func OriginOf(a netip.Addr) origins.Origin {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		if as := geoAS(uint64(b[0])<<2 | uint64(b[1])>>6); as >= 0 {
			return geoOrigin(as)
		}
		return origins.Origin{}
	}
	b := a.As16()
	if b[0]>>5 != 1 {
		return origins.Origin{}
	}
	if as := geoAS(1<<20 | uint64(b[0]&0x1f)<<4 | uint64(b[1])>>4); as >= 0 {
		return geoOrigin(as)
	}
	return origins.Origin{}
}

// Geography returns the simulated geography as database entries, for
// origins.Write.
func Geography() []origins.Entry {
	var out []origins.Entry
	for block := range 1 << 10 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(block >> 2), byte(block << 6)}), 10)
		if o := OriginOf(p.Addr()); o != (origins.Origin{}) {
			out = append(out, origins.Entry{Network: p, Origin: o})
		}
	}
	for block := range 1 << 9 {
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20 | byte(block>>4), byte(block << 4)}), 12)
		if o := OriginOf(p.Addr()); o != (origins.Origin{}) {
			out = append(out, origins.Entry{Network: p, Origin: o})
		}
	}
	return out
}

// ResearchNetworks returns the geography's research-scanner networks,
// which the demo lists as its research-scanner list.
func ResearchNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, e := range Geography() {
		if _, ok := researchASes[int(e.Origin.ASN)-64512]; ok {
			out = append(out, e.Network)
		}
	}
	return out
}
