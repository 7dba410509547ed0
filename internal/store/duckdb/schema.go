package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// migrations[i] brings a database from schema version i to i+1. Append
// only: a released migration never changes.
//
// Times are nanoseconds since the Unix epoch (BIGINT): the cheapest form to
// append, and exact. Addresses are two UBIGINT halves plus the IP version
// (record.Addr.Halves): no string per packet. slot is the destination
// "port" of package portcount (TCP port, 65536 + UDP port, or 131072 +
// protocol), from which reports build labels such as "23/TCP".
//
// The rollup tables have no PRIMARY KEY: Sync deletes and rebuilds whole
// days, so keys are unique by construction, and maintaining the ART indexes
// cost Sync about 40 % of its time (BENCHMARKS.md); range scans use
// DuckDB's zone maps, not those indexes.
var migrations = []string{
	`CREATE TABLE sensors (
		id INTEGER PRIMARY KEY,
		name VARCHAR NOT NULL UNIQUE,
		grp VARCHAR NOT NULL,
		country VARCHAR NOT NULL,
		description VARCHAR NOT NULL,
		addresses VARCHAR NOT NULL,      -- newline-separated addresses and prefixes
		first_seen_ns BIGINT,
		last_seen_ns BIGINT
	);
	CREATE TABLE packets (
		time_ns BIGINT NOT NULL,
		sensor INTEGER NOT NULL,
		ip_version UTINYINT NOT NULL,
		src_hi UBIGINT NOT NULL, src_lo UBIGINT NOT NULL,
		dst_hi UBIGINT NOT NULL, dst_lo UBIGINT NOT NULL,
		proto UTINYINT NOT NULL,
		slot INTEGER NOT NULL,
		sport USMALLINT NOT NULL, dport USMALLINT NOT NULL,
		tcp_flags UTINYINT NOT NULL,
		seq UINTEGER NOT NULL, ack UINTEGER NOT NULL,
		win USMALLINT NOT NULL,
		ip_id UINTEGER NOT NULL,
		ttl UTINYINT NOT NULL,
		ip_len USMALLINT NOT NULL,
		opt_layout UBIGINT NOT NULL, opt_len UTINYINT NOT NULL,
		fragment BOOLEAN NOT NULL,
		tags USMALLINT NOT NULL
	);
	CREATE TABLE rollup_port_hour (
		hour BIGINT NOT NULL,            -- hours since the Unix epoch
		sensor INTEGER NOT NULL,
		slot INTEGER NOT NULL,
		packets UBIGINT NOT NULL,
		bytes UBIGINT NOT NULL,
		sources UBIGINT NOT NULL,        -- exact distinct source addresses
		mirai UBIGINT NOT NULL           -- packets tagged mirai
	);
	CREATE TABLE rollup_port_month (     -- sums of rollup_port_hour, for long periods
		month INTEGER NOT NULL,          -- year * 12 + month - 1 (UTC)
		sensor INTEGER NOT NULL,
		slot INTEGER NOT NULL,
		packets UBIGINT NOT NULL,
		bytes UBIGINT NOT NULL,
		mirai UBIGINT NOT NULL
	);
	CREATE TABLE rollup_port_quarter (   -- sums of rollup_port_month, for quarterly reports
		quarter INTEGER NOT NULL,        -- year * 4 + quarter - 1 (UTC)
		sensor INTEGER NOT NULL,
		slot INTEGER NOT NULL,
		packets UBIGINT NOT NULL,
		bytes UBIGINT NOT NULL,
		mirai UBIGINT NOT NULL
	);
	CREATE TABLE rollup_tag_hour (
		hour BIGINT NOT NULL,
		sensor INTEGER NOT NULL,
		tag UTINYINT NOT NULL,           -- bit number of the tag (record.Tags.Index)
		packets UBIGINT NOT NULL
	);
	CREATE TABLE rollup_source_day (
		day INTEGER NOT NULL,            -- days since the Unix epoch
		sensor INTEGER NOT NULL,
		ip_version UTINYINT NOT NULL,
		src_hi UBIGINT NOT NULL, src_lo UBIGINT NOT NULL,
		packets UBIGINT NOT NULL,
		slots INTEGER[] NOT NULL,        -- the distinct destination slots, in order
		tags USMALLINT NOT NULL,         -- union of the packets' tags
		first_ns BIGINT NOT NULL,
		last_ns BIGINT NOT NULL
	);
	CREATE TABLE imports (
		key VARCHAR PRIMARY KEY,
		path VARCHAR NOT NULL,
		frames UBIGINT NOT NULL,
		packets UBIGINT NOT NULL,
		imported_ns BIGINT NOT NULL
	);
	CREATE TABLE settings (
		key VARCHAR PRIMARY KEY,
		value VARCHAR NOT NULL
	);
	CREATE TABLE pruned (                -- at most one row: the retention horizon
		before_ns BIGINT NOT NULL        -- raw records before it were deleted
	);
	CREATE TABLE pending_rollups (       -- days flushed but not rolled up yet: Flush adds, Sync clears
		from_day BIGINT NOT NULL,        -- days since the Unix epoch, [from_day, to_day)
		to_day BIGINT NOT NULL
	);
	CREATE TABLE sensor_health (         -- each sensor's latest health report (store.Health)
		sensor INTEGER PRIMARY KEY,
		received_ns BIGINT,              -- NULL: the zero time
		reported_ns BIGINT,
		version VARCHAR NOT NULL,
		uptime_ns BIGINT NOT NULL,
		packets_seen UBIGINT NOT NULL,
		packets_ignored UBIGINT NOT NULL,
		packets_excluded UBIGINT NOT NULL,
		packets_skipped UBIGINT NOT NULL,
		kernel_drops UBIGINT NOT NULL,
		spool_batches UBIGINT NOT NULL,
		spool_bytes UBIGINT NOT NULL,
		dropped_batches UBIGINT NOT NULL,
		dropped_records UBIGINT NOT NULL,
		lag_ns BIGINT NOT NULL
	);`,
	// The batch ledger moves out of imports (one row per batch, keyed
	// batch/<sensor>/<epoch in hex>/<seq>) into runs of sequence numbers.
	// The migrated runs' record times are unknown: they are kept (newest_ns
	// is the largest BIGINT). The imports of files are copied to a new
	// imports table: deleting millions of rows under its key's index takes
	// minutes, copying takes a second.
	`CREATE TABLE batch_ranges (         -- the collector's batch ledger (store.Batch)
		sensor VARCHAR NOT NULL,         -- sensor name
		epoch UBIGINT NOT NULL,
		first_seq UBIGINT NOT NULL,      -- runs [first_seq, last_seq] of stored batches,
		last_seq UBIGINT NOT NULL,       -- disjoint and not adjacent within (sensor, epoch)
		newest_ns BIGINT NOT NULL        -- at least the newest record time of the run's batches
	);
	INSERT INTO batch_ranges
	SELECT sensor, epoch, min(seq), max(seq), 9223372036854775807
	FROM (
		SELECT sensor, epoch, seq, seq::HUGEINT - row_number() OVER (PARTITION BY sensor, epoch ORDER BY seq) AS run
		FROM (
			SELECT k.sensor, ('0x' || k.epoch)::UBIGINT AS epoch, k.seq::UBIGINT AS seq
			FROM (SELECT regexp_extract(key, '^batch/(.+)/([0-9a-f]{1,16})/([0-9]{1,20})$', ['sensor', 'epoch', 'seq']) AS k FROM imports)
			WHERE k.sensor <> ''
		)
	)
	GROUP BY sensor, epoch, run;
	CREATE TEMP TABLE file_imports AS
		SELECT * FROM imports WHERE NOT regexp_matches(key, '^batch/(.+)/([0-9a-f]{1,16})/([0-9]{1,20})$');
	DROP TABLE imports;
	CREATE TABLE imports (
		key VARCHAR PRIMARY KEY,
		path VARCHAR NOT NULL,
		frames UBIGINT NOT NULL,
		packets UBIGINT NOT NULL,
		imported_ns BIGINT NOT NULL
	);
	INSERT INTO imports SELECT * FROM file_imports;
	DROP TABLE file_imports;`,
	// The spans of each import, by which ingest finds a file whose
	// packets overlap an earlier import's. The imports recorded before
	// have none: which of the stored packets came from which file is not
	// known.
	`CREATE TABLE import_spans (          -- per import and sensor, the period of its stored packets (store.Span)
		key VARCHAR NOT NULL,            -- imports.key
		sensor INTEGER NOT NULL,
		first_ns BIGINT NOT NULL,        -- the first and last packet times, inclusive
		last_ns BIGINT NOT NULL,
		packets UBIGINT NOT NULL
	);`,
	// Rollups follow new records at a cost proportional to them: pending
	// hours instead of days, and the source rollup of the live days kept
	// by hour too, from which a rebuilt hour's sources' day rows are
	// summed (see rollUp). A database of an older schema starts keeping
	// hours from the day after its newest source rows: its days rebuild
	// wholly, as before.
	`CREATE TABLE pending_hours (         -- hours flushed but not rolled up yet: Flush adds, rollups clear
		from_hour BIGINT NOT NULL,       -- hours since the Unix epoch, [from_hour, to_hour)
		to_hour BIGINT NOT NULL
	);
	INSERT INTO pending_hours SELECT from_day * 24, to_day * 24 FROM pending_rollups;
	DROP TABLE pending_rollups;
	CREATE TABLE rollup_source_hour (    -- rollup_source_day by hour, on the live days only (from live_from)
		hour BIGINT NOT NULL,
		sensor INTEGER NOT NULL,
		ip_version UTINYINT NOT NULL,
		src_hi UBIGINT NOT NULL, src_lo UBIGINT NOT NULL,
		packets UBIGINT NOT NULL,
		slots INTEGER[] NOT NULL,
		tags USMALLINT NOT NULL,
		first_ns BIGINT NOT NULL,
		last_ns BIGINT NOT NULL
	);
	CREATE TABLE live_from (             -- one row: the first day that rollup_source_hour holds
		from_day BIGINT NOT NULL
	);
	INSERT INTO live_from SELECT coalesce(max(day) + 1, -9223372036854775807) FROM rollup_source_day;`,
	// The origin of each source as the enrich stage found it (country,
	// AS, research-scanner labels; 0 when unknown), stored with the packet
	// as numbers (a string column cost ingest 20 %) and kept, as text,
	// with the source rollups; the rollup per day,
	// sensor and origin; and, for each source row, its packets per tag,
	// from which a source earns a tag only on strong evidence
	// (fingerprint.SourceEvidence). The source rows rolled up before have
	// no per-tag counts: they are taken as all of the row's packets for
	// each of its tags, which keeps their tags as they were.
	migrationOrigins,
	migrationDevices,
	migrationAlerts,
}

// migrationOrigins is schema 5 (see migrations).
var migrationOrigins = `ALTER TABLE packets ADD COLUMN src_country USMALLINT DEFAULT 0;   -- record.Country.Code: the letters' bytes
	ALTER TABLE packets ADD COLUMN src_asn UINTEGER DEFAULT 0;
	ALTER TABLE packets ADD COLUMN src_scanner USMALLINT DEFAULT 0;   -- scanner_labels.id
	CREATE TABLE scanner_labels (         -- the research-scanner labels of src_scanner (0: on no list)
		id USMALLINT PRIMARY KEY,
		label VARCHAR NOT NULL UNIQUE     -- the lists' labels, comma-joined
	);
	CREATE TABLE as_names (              -- the organisation of each AS, as the newest database that named it says
		asn UINTEGER PRIMARY KEY,
		org VARCHAR NOT NULL
	);` + sourceOriginColumns("rollup_source_day") + sourceOriginColumns("rollup_source_hour") + `
	CREATE TABLE rollup_origin_day (      -- sums of rollup_source_day per origin
		day INTEGER NOT NULL,
		sensor INTEGER NOT NULL,
		country VARCHAR NOT NULL,
		asn UINTEGER NOT NULL,
		scanner VARCHAR NOT NULL,
		packets UBIGINT NOT NULL,
		sources UBIGINT NOT NULL          -- distinct source addresses
	);
	INSERT INTO rollup_origin_day SELECT day, sensor, country, asn, scanner, sum(packets), count(*) FROM rollup_source_day GROUP BY ALL;`

// UndoSince5 is SQL that takes a database of this build's schema back to
// schema 4's tables (the version number aside): tests of older schemas
// build their databases with it.
func UndoSince5() []string {
	out := []string{`DROP TABLE alerts`, `DROP TABLE silences`, `DROP TABLE notifications`, // schema 7
		`DROP SEQUENCE alert_ids`, `DROP SEQUENCE silence_ids`, `DROP SEQUENCE notification_ids`,
		`DROP TABLE device_evidence`, `DROP TABLE devices`, // schema 6
		`ALTER TABLE packets DROP COLUMN src_country`, `ALTER TABLE packets DROP COLUMN src_asn`,
		`ALTER TABLE packets DROP COLUMN src_scanner`, `DROP TABLE as_names`, `DROP TABLE rollup_origin_day`, `DROP TABLE scanner_labels`}
	for _, table := range []string{"rollup_source_day", "rollup_source_hour"} {
		for _, col := range []string{"country", "asn", "scanner"} {
			out = append(out, `ALTER TABLE `+table+` DROP COLUMN `+col)
		}
		for _, tag := range schema5Tags {
			out = append(out, `ALTER TABLE `+table+` DROP COLUMN `+tag+`_packets`)
		}
	}
	return out
}

// schema5Tags are the tags of schema 5, by bit number: a migration never
// changes, so a tag added later comes with its own.
var schema5Tags = [...]string{"mirai", "zmap", "masscan", "nmap", "unicornscan", "backscatter", "spoofed"}

// sourceOriginColumns adds the origin and per-tag packet columns to a
// source rollup table, the per-tag counts of its rows taken from their
// tags.
func sourceOriginColumns(table string) string {
	sql := `
	ALTER TABLE ` + table + ` ADD COLUMN country VARCHAR DEFAULT '';
	ALTER TABLE ` + table + ` ADD COLUMN asn UINTEGER DEFAULT 0;
	ALTER TABLE ` + table + ` ADD COLUMN scanner VARCHAR DEFAULT '';`
	for bit, tag := range schema5Tags {
		sql += fmt.Sprintf(`
	ALTER TABLE %s ADD COLUMN %s_packets UBIGINT DEFAULT 0;
	UPDATE %[1]s SET %[2]s_packets = packets WHERE tags & %[3]d <> 0;`, table, tag, 1<<bit)
	}
	return sql
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

func migrate(ctx context.Context, db *sql.DB) error { return migrateTo(ctx, db, SchemaVersion) }

// migrateTo brings db to schema version target (tests build old databases
// with it).
func migrateTo(ctx context.Context, db *sql.DB, target int) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS nightjar_schema (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	var version int
	err := db.QueryRowContext(ctx, `SELECT version FROM nightjar_schema`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := db.ExecContext(ctx, `INSERT INTO nightjar_schema VALUES (0)`); err != nil {
			return fmt.Errorf("initialise schema version: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this build knows up to %d; upgrade nightjar", store.ErrNewerSchema, version, SchemaVersion)
	}
	for v := version; v < target; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nightjar_schema SET version = ?`, v+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	return nil
}
