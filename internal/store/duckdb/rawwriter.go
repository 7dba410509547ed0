package duckdb

import (
	"context"

	"github.com/nightjar-telescope/nightjar/internal/record"
)

// rawWriter inserts raw packet records into the packets table on the
// writer's connection, inside its open transaction. It may hold records
// back (to insert whole row groups at once) until flush, which inserts
// them before Flush commits. Two implementations exist, chosen at build
// time: the duckdb_arrow tag selects Arrow batches (rawwriter_arrow.go),
// about twice as fast; without it, a vectorised table function
// (rawwriter_chunk.go) needs no Arrow library.
type rawWriter interface {
	// write inserts recs (with their sensors' IDs), or holds them.
	write(ctx context.Context, recs []record.Record, sensors []int32) error
	// flush inserts the records held back.
	flush(ctx context.Context) error
	// reset forgets the records held back: the transaction was rolled back.
	reset()
}

// packetColumnNames are the columns of the packets table in order.
var packetColumnNames = [...]string{
	"time_ns", "sensor", "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo",
	"proto", "slot", "sport", "dport", "tcp_flags", "seq", "ack", "win",
	"ip_id", "ttl", "ip_len", "opt_layout", "opt_len", "fragment", "tags",
	"src_country", "src_asn", "src_scanner",
}

// The origin columns of a record (0 when unknown): the country's code and
// the scanner labels' ID in scanner_labels (from labels, which Append
// filled).
func countryColumn(r *record.Record) uint16 { return r.Origin.Country.Code() }

func scannerColumn(r *record.Record, labels *scannerLabels) uint16 {
	if r.Origin.Scanner == 0 {
		return 0
	}
	return labels.byName[r.Origin.Scanner]
}

// ipVersion is the ip_version column of r.
func ipVersion(r *record.Record) uint8 {
	if r.Src.Is4() {
		return 4
	}
	return 6
}

// optLen is the opt_len column: the number of option kinds in opt_layout,
// plus one when more options followed than the layout holds (so 9 means
// the 8 kinds of opt_layout and more: the "..." of TCPOptions.Signature).
func optLen(o *record.TCPOptions) uint8 {
	if o.LayoutMore {
		return o.LayoutLen + 1
	}
	return o.LayoutLen
}
