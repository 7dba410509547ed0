package store

import "github.com/nightjar-telescope/nightjar/internal/period"

// The source counts of a period: how many distinct addresses sent packets,
// in all and per fingerprint tag, and which ports the Mirai-tagged ones
// went to. Quarterly reports need them (summary, Mirai-type activity).
//
// A source carries a tag in a period when at least one of its packets in
// the period does (the tags of Source and SourceHistory). Counts are exact
// for any period: backends count them from rollups kept forever (DuckDB:
// the daily source rollups, whose rows list each source's ports and the
// union of its tags) or from the raw records.

// SourceCountsQuery asks for the distinct sources of a period.
type SourceCountsQuery struct {
	Period period.Period
	// Origin counts only the sources of a country, an AS, a prefix or a
	// scanner list (the report's share of research scanners).
	Origin OriginFilter
}

// SourceCounts answers SourceCountsQuery: the distinct source addresses
// of the period, and those that carry each tag (every tag of
// record.AllTags, zeros included).
type SourceCounts struct {
	Sources uint64            `json:"sources"`
	Tags    map[string]uint64 `json:"tags"`
}

// MiraiPortsQuery asks for the top N ports of a period by packets tagged
// mirai.
type MiraiPortsQuery struct {
	Period period.Period
	N      int
}

// MiraiPort is a port's Mirai-type activity in a period: its packets, its
// packets tagged mirai, their share, and Sources — the distinct sources
// that carry the mirai tag in the period (see above) and sent at least one
// packet to the port. Ports with Mirai-tagged packets rank by those
// packets descending, then label ascending; ports without are left out.
type MiraiPort struct {
	Rank       int     `json:"rank"`
	Port       string  `json:"port"`
	Packets    uint64  `json:"packets"`
	Mirai      uint64  `json:"mirai_packets"`
	MiraiShare float64 `json:"mirai_share"` // Mirai / Packets
	Sources    uint64  `json:"mirai_sources"`
}
