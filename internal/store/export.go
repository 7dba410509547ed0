package store

import (
	"context"
	"fmt"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// Exporter writes stored records out for other tools.
type Exporter interface {
	// Export writes the raw packet records of a period into files under
	// q.Dir, partitioned by month (see ExportQuery), and returns what it
	// wrote. Dir must not exist or be empty: an export never mixes with
	// older files.
	Export(ctx context.Context, q ExportQuery) (ExportResult, error)
}

// ExportFormat is the file format of an export.
type ExportFormat string

// The export formats.
const (
	// ExportParquet writes Parquet files (zstd), readable by the DuckDB
	// CLI, pandas/pyarrow and Spark.
	ExportParquet ExportFormat = "parquet"
	// ExportCSV writes CSV files with a header row.
	ExportCSV ExportFormat = "csv"
)

// ExportFormats lists the formats, for flags and errors.
var ExportFormats = []ExportFormat{ExportParquet, ExportCSV}

// ParseExportFormat returns the format of a name.
func ParseExportFormat(s string) (ExportFormat, error) {
	for _, f := range ExportFormats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown export format %q (want parquet or csv)", s)
}

// ExportQuery asks for the records of a period.
//
// The files are Hive-partitioned by month: Dir/month=2024-07/…, one or more
// files per month. Each row is a packet, with these columns (a file's
// month is in its directory name, not in its rows):
//
//	time         TIMESTAMP  the packet's time, UTC, microseconds
//	time_ns      BIGINT     the same, nanoseconds since the Unix epoch
//	sensor       text       sensor name
//	sensor_group text       the sensor's group
//	ip_version   4 or 6
//	src, dst     text       addresses: IPv4 dotted, IPv6 in RFC 5952 form
//	protocol     text       "TCP", "UDP", "ICMP", "ICMPv6", "GRE", "IP-<n>"...
//	proto        integer    IP protocol number
//	src_port, dst_port      TCP/UDP ports; ICMP type and code
//	port         text       the report label: "23/TCP", "53/UDP", "ICMP"
//	tcp_flags    text       "SA", "R", ...: FSRPAUEC letters of the set flags
//	seq, ack, window        TCP fields (0 for other protocols)
//	ip_id, ttl, ip_len      IP header fields
//	tcp_options  text       option layout, e.g. "mss,nop,ws,sok,ts"
//	fragment     boolean
//	tags         text       fingerprint tags, comma-separated: "mirai,zmap"
type ExportQuery struct {
	Period period.Period
	Format ExportFormat
	Dir    string
}

// ExportResult says what an export wrote.
type ExportResult struct {
	// Rows is the number of packets written; Months the partitions.
	Rows   uint64
	Months []string
	// PrunedBefore is the retention horizon when the period starts before
	// it: the raw records before it were pruned, so the export holds only
	// the packets since then. Zero otherwise.
	PrunedBefore time.Time
}
