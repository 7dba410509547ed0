package store

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// OriginKind is what an origin question ranks: countries or networks.
type OriginKind uint8

// The origin kinds: the country, the AS, or the research-scanner lists
// that hold a source (their comma-joined labels; "none" for the sources
// on no list).
const (
	ByCountry OriginKind = iota + 1
	ByAS
	ByScanner
)

// OriginKinds names the kinds ParseOriginKind accepts.
var OriginKinds = []string{"country", "asn", "scanner"}

func (k OriginKind) String() string {
	if k >= ByCountry && k <= ByScanner {
		return OriginKinds[k-1]
	}
	return fmt.Sprintf("origin(%d)", uint8(k))
}

// ParseOriginKind reads "country", "asn" or "scanner".
func ParseOriginKind(s string) (OriginKind, error) {
	if i := slices.Index(OriginKinds, strings.ToLower(strings.TrimSpace(s))); i >= 0 {
		return OriginKind(i + 1), nil
	}
	return 0, fmt.Errorf("unknown origin kind %q (want one of %s)", s, strings.Join(OriginKinds, ", "))
}

// OriginsQuery asks for the top countries or networks (ASes) of a period,
// by the packets their sources sent, for the fleet, each group or each
// sensor, with each one's place in the previous period of the same kind.
type OriginsQuery struct {
	Period period.Period
	Kind   OriginKind
	N      int
	// By splits the answer: BySensor, ByGroup, or ByFleet (the default).
	By By
	// Sensors (By sensor) or Groups (By group) limit the answer; empty
	// means all.
	Sensors, Groups []string
}

// Check refuses a filter that the split would ignore.
func (q OriginsQuery) Check() error {
	switch {
	case len(q.Sensors) > 0 && q.By != BySensor:
		return paramErr("sensor", "origins: sensors choose the tables of the split by sensor, not by %s", q.By)
	case len(q.Groups) > 0 && q.By != ByGroup:
		return paramErr("group", "origins: groups choose the tables of the split by group, not by %s", q.By)
	}
	return nil
}

// Origins answers OriginsQuery: one table per sensor or group, in their
// order, or one for the fleet.
type Origins struct {
	Kind   string        `json:"kind"`
	By     string        `json:"by"`
	Tables []OriginTable `json:"tables"`
}

// OriginTable ranks the origins of the packets one sensor, one group or
// the fleet received. Packets and Sources are the table's totals (a
// source is counted once however many origins the databases gave it).
type OriginTable struct {
	Sensor  string         `json:"sensor,omitempty"`
	Group   string         `json:"group,omitempty"`
	Packets uint64         `json:"packets"`
	Sources uint64         `json:"sources"`
	Origins []RankedOrigin `json:"top"`
}

// RankedOrigin is one country, AS or set of scanner lists in a period.
// Key is what the tables show: the country code ("JP"), the AS number
// ("AS64500"), the labels ("censys,shodan"), or "unknown" for the sources
// no database placed ("none" for those on no list). Sources counts the distinct
// addresses. PreviousRank is the rank among every origin of the previous
// period, 0 when it sent nothing then; Change is the relative change of
// packets from it ((packets - previous) / previous), null when it sent
// nothing then. Origins rank by packets descending, then key ascending.
type RankedOrigin struct {
	Rank            int      `json:"rank"`
	Key             string   `json:"key"`
	Country         string   `json:"country,omitempty"`
	ASN             uint32   `json:"asn,omitempty"`
	Org             string   `json:"org,omitempty"`
	Scanner         string   `json:"scanner,omitempty"`
	Packets         uint64   `json:"packets"`
	Sources         uint64   `json:"sources"`
	PreviousRank    int      `json:"previous_rank"`
	PreviousPackets uint64   `json:"previous_packets"`
	Change          *float64 `json:"change"`
}

// OriginKey is the country, the AS number or the scanner labels of an
// origin ("" or 0: unknown, or on no list).
type OriginKey struct {
	Country string
	ASN     uint32
	Scanner string
}

// Label is the key of RankedOrigin.
func (k OriginKey) Label(kind OriginKind) string {
	switch {
	case kind == ByAS && k.ASN != 0:
		return "AS" + strconv.FormatUint(uint64(k.ASN), 10)
	case kind == ByCountry && k.Country != "":
		return k.Country
	case kind == ByScanner && k.Scanner != "":
		return k.Scanner
	case kind == ByScanner:
		return "none"
	}
	return "unknown"
}

// OriginCount is what one origin's sources sent.
type OriginCount struct {
	Packets, Sources uint64
}

// RankOrigins ranks the origins of cur, the top n, with their places in
// prev (the previous period's counts). orgs names the ASes.
func RankOrigins(kind OriginKind, cur, prev map[OriginKey]OriginCount, n int, orgs map[uint32]string) []RankedOrigin {
	order := func(m map[OriginKey]OriginCount) []OriginKey {
		keys := make([]OriginKey, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b OriginKey) int {
			return cmp.Or(cmp.Compare(m[b].Packets, m[a].Packets), cmp.Compare(a.Label(kind), b.Label(kind)))
		})
		return keys
	}
	prevRank := map[OriginKey]int{}
	for i, k := range order(prev) {
		prevRank[k] = i + 1
	}
	ranked := order(cur)
	out := make([]RankedOrigin, 0, min(n, len(ranked)))
	for i, k := range ranked[:min(n, len(ranked))] {
		c, p := cur[k], prev[k]
		o := RankedOrigin{Rank: i + 1, Key: k.Label(kind), Country: k.Country, ASN: k.ASN, Org: orgs[k.ASN], Scanner: k.Scanner,
			Packets: c.Packets, Sources: c.Sources, PreviousRank: prevRank[k], PreviousPackets: p.Packets}
		if p.Packets > 0 {
			change := (float64(c.Packets) - float64(p.Packets)) / float64(p.Packets)
			o.Change = &change
		}
		out = append(out, o)
	}
	return out
}

// OriginFilter narrows the sources a question looks at to those of one
// origin; the zero OriginFilter takes every source. Fields combine (all
// must hold).
type OriginFilter struct {
	Country string       // ISO code, upper case
	ASN     uint32       // 0: any
	Prefix  netip.Prefix // the invalid Prefix: any
	// Scanner: the sources on a research-scanner list whose label is this
	// (one of a comma-joined set); "*": on any list.
	Scanner string
}

// String describes f ("country JP, AS64500"); "every source" for the
// zero filter.
func (f OriginFilter) String() string {
	var parts []string
	if f.Country != "" {
		parts = append(parts, "country "+f.Country)
	}
	if f.ASN != 0 {
		parts = append(parts, "AS"+strconv.FormatUint(uint64(f.ASN), 10))
	}
	if f.Prefix.IsValid() {
		parts = append(parts, "prefix "+f.Prefix.String())
	}
	switch f.Scanner {
	case "":
	case "*":
		parts = append(parts, "any scanner list")
	default:
		parts = append(parts, "scanner list "+f.Scanner)
	}
	if len(parts) == 0 {
		return "every source"
	}
	return strings.Join(parts, ", ")
}

// IsZero reports whether f takes every source.
func (f OriginFilter) IsZero() bool { return f == OriginFilter{} }

// ParseOriginFilter reads the filter of the API and the command line:
// country "JP", asn "AS64500" or "64500", prefix "192.0.2.0/24" (or an
// address), scanner a label or "*"; any may be empty.
func ParseOriginFilter(country, asn, prefix, scanner string) (OriginFilter, error) {
	var f OriginFilter
	if country != "" {
		c := strings.ToUpper(strings.TrimSpace(country))
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return f, paramErr("country", "country %q: want a two-letter ISO 3166 code such as JP", country)
		}
		f.Country = c
	}
	if asn != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(asn)), "AS"), 10, 32)
		if err != nil || n == 0 {
			return f, paramErr("asn", "asn %q: want an AS number such as AS64500", asn)
		}
		f.ASN = uint32(n)
	}
	if prefix != "" {
		p, err := record.ParseNetwork(prefix)
		if err != nil {
			return f, paramErr("prefix", "prefix %q: %v", prefix, err)
		}
		f.Prefix = p
	}
	f.Scanner = strings.TrimSpace(scanner)
	return f, nil
}

// ParamError is a question's parameter that is wrong, named as the API
// and the command line name it ("country"); the API answers it 400.
type ParamError struct {
	Param, Msg string
}

func (e *ParamError) Error() string { return e.Msg }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// OriginPortsQuery asks for the ports that the sources of one origin
// sent to in a period, ranked by how many of those sources did.
type OriginPortsQuery struct {
	Period  period.Period
	Origin  OriginFilter
	N       int
	Sensors []string // empty: all
}

// Check refuses a question without an origin.
func (q OriginPortsQuery) Check() error {
	if q.Origin.IsZero() {
		return paramErr("country", "origin ports: name the origin: a country, an AS, a prefix or a scanner list")
	}
	return nil
}

// OriginPort is a port and the distinct sources of the origin that sent
// to it. Ports rank by sources descending, then label ascending.
type OriginPort struct {
	Rank    int    `json:"rank"`
	Port    string `json:"port"`
	Sources uint64 `json:"sources"`
}
