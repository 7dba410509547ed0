package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/netip"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// migrationDevices is schema 6: the evidence of the device models behind
// source addresses, and each address's attribution (store.DeviceStore).
// Both are keyed by address like the source rollups, so that a question
// joins them. Evidence is de-duplicated by its key (address, port,
// transport, source, time, rule), so importing a file twice stores it
// once; neither table has a PRIMARY KEY: maintaining the index of one
// cost an import two thirds of its time, and the writes that need
// uniqueness keep it themselves (an anti-join; DELETE then INSERT).
var migrationDevices = `CREATE TABLE device_evidence (
		ip_version UTINYINT NOT NULL,
		src_hi UBIGINT NOT NULL, src_lo UBIGINT NOT NULL,
		port USMALLINT NOT NULL,
		transport VARCHAR NOT NULL,
		seen_ns BIGINT NOT NULL,          -- when the scan saw the banner (0: unknown)
		source VARCHAR NOT NULL,          -- the banner's format, or probe
		file VARCHAR NOT NULL,
		rule VARCHAR NOT NULL,
		field VARCHAR NOT NULL,
		value VARCHAR NOT NULL,           -- what the rule matched
		vendor VARCHAR NOT NULL, model VARCHAR NOT NULL, kind VARCHAR NOT NULL, firmware VARCHAR NOT NULL,
		confidence DOUBLE NOT NULL,
		imported_ns BIGINT NOT NULL
	);
	CREATE TABLE devices (                -- each address's attribution, from all of its evidence
		ip_version UTINYINT NOT NULL,
		src_hi UBIGINT NOT NULL, src_lo UBIGINT NOT NULL,
		vendor VARCHAR NOT NULL, model VARCHAR NOT NULL, kind VARCHAR NOT NULL, firmware VARCHAR NOT NULL,
		released_ns BIGINT,               -- the firmware's release, NULL when not known
		confidence DOUBLE NOT NULL,
		rule VARCHAR NOT NULL,
		conflict BOOLEAN NOT NULL,
		alternatives VARCHAR NOT NULL,    -- the other models, newline-separated
		evidence INTEGER NOT NULL,
		attributed_ns BIGINT NOT NULL
	);`

// addrKey is the SQL literal of an address's key columns (keyValues):
// database/sql refuses uint64 arguments with the high bit set, so the
// halves are literals (numbers, never text from a banner).
func addrKey(a netip.Addr) string {
	k := keyValues(a)
	return fmt.Sprintf("%d, %d::UBIGINT, %d::UBIGINT", k[0], k[1], k[2])
}

// addrOf is the address of key columns.
func addrOf(version uint8, hi, lo uint64) netip.Addr {
	return record.AddrFromHalves(hi, lo, version == 4).Netip()
}

// nsOf is t in ns since the epoch, 0 for the zero Time.
func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf is the inverse of nsOf.
func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// withConn calls fn with a connection of its own: the temporary tables
// it stages rows in are the connection's.
func (s *Store) withConn(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(conn)
}

// appendRows appends n rows to a table with DuckDB's appender — a
// prepared INSERT per row ran at 2,000 rows a second — within the
// connection's transaction, if it has one.
func appendRows(conn *sql.Conn, catalog, table string, n int, row func(i int) []driver.Value) error {
	return conn.Raw(func(dc any) error {
		app, err := duck.NewAppender(dc.(driver.Conn), catalog, "main", table)
		if err != nil {
			return err
		}
		for i := range n {
			if err := app.AppendRow(row(i)...); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
}

// stageAddrs fills the connection's temporary table stage_addrs with the
// key columns of addrs (emptied first).
func stageAddrs(ctx context.Context, conn *sql.Conn, addrs []netip.Addr) error {
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS stage_addrs (ip_version UTINYINT, src_hi UBIGINT, src_lo UBIGINT);
		DELETE FROM stage_addrs`); err != nil {
		return err
	}
	return appendRows(conn, "temp", "stage_addrs", len(addrs), func(i int) []driver.Value { return keyValues(addrs[i]) })
}

// inTx runs fn in a transaction of conn.
func inTx(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	_, err := conn.ExecContext(ctx, `COMMIT`)
	return err
}

// keyValues are an address's key columns for the appender.
func keyValues(a netip.Addr) []driver.Value {
	a = a.Unmap()
	hi, lo := record.AddrFromNetip(a).Halves()
	version := uint8(6)
	if a.Is4() {
		version = 4
	}
	return []driver.Value{version, hi, lo}
}

// evidenceID is what identifies a piece of evidence: its address, port,
// transport, source, time and rule.
type evidenceID struct {
	addr      netip.Addr
	port      uint16
	transport string
	source    string
	seen      int64
	rule      string
}

func idOf(e store.DeviceEvidence) evidenceID {
	return evidenceID{e.Addr.Unmap(), e.Port, e.Transport, e.Source, nsOf(e.Seen), e.Rule}
}

// PutDeviceEvidence implements store.DeviceStore. The keys stored of the
// evidence's addresses are read first, and only the new evidence is
// appended: the addresses of a large import are mostly new, and for them
// nothing is read.
func (s *Store) PutDeviceEvidence(ctx context.Context, ev []store.DeviceEvidence) (int, error) {
	addrs := make([]netip.Addr, 0, len(ev))
	seenAddr := make(map[netip.Addr]bool, len(ev))
	for _, e := range ev {
		if !e.Addr.IsValid() {
			return 0, fmt.Errorf("device evidence: invalid address (rule %q)", e.Rule)
		}
		if a := e.Addr.Unmap(); !seenAddr[a] {
			seenAddr[a] = true
			addrs = append(addrs, a)
		}
	}
	fresh := make([]store.DeviceEvidence, 0, len(ev))
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		if err := stageAddrs(ctx, conn, addrs); err != nil {
			return err
		}
		have := make(map[evidenceID]bool, len(ev))
		rows, err := conn.QueryContext(ctx, `SELECT e.ip_version, e.src_hi, e.src_lo, e.port, e.transport, e.source, e.seen_ns, e.rule
			FROM device_evidence e SEMI JOIN stage_addrs a ON a.ip_version = e.ip_version AND a.src_hi = e.src_hi AND a.src_lo = e.src_lo`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id      evidenceID
				version uint8
				hi, lo  uint64
			)
			if err := rows.Scan(&version, &hi, &lo, &id.port, &id.transport, &id.source, &id.seen, &id.rule); err != nil {
				rows.Close()
				return err
			}
			id.addr = addrOf(version, hi, lo)
			have[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range ev {
			if id := idOf(e); !have[id] {
				have[id] = true // the same evidence twice in ev is stored once
				fresh = append(fresh, e)
			}
		}
		return inTx(ctx, conn, func() error {
			return appendRows(conn, "", "device_evidence", len(fresh), func(i int) []driver.Value {
				e := fresh[i]
				return append(keyValues(e.Addr), e.Port, e.Transport, nsOf(e.Seen), e.Source, e.File, e.Rule, e.Field, e.Value,
					e.Vendor, e.Model, e.Kind, e.Firmware, e.Confidence, nsOf(e.Imported))
			})
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store device evidence: %w", err)
	}
	return len(fresh), nil
}

// addrIn is the SQL condition of key columns (qualified by alias q) in
// addrs.
func addrIn(q string, addrs []netip.Addr) string {
	keys := make([]string, len(addrs))
	for i, a := range addrs {
		keys[i] = "(" + addrKey(a.Unmap()) + ")"
	}
	return "(" + q + "ip_version, " + q + "src_hi, " + q + "src_lo) IN (" + strings.Join(keys, ", ") + ")"
}

const evidenceColumns = `e.ip_version, e.src_hi, e.src_lo, e.port, e.transport, e.seen_ns, e.source, e.file, e.rule, e.field, e.value,
	e.vendor, e.model, e.kind, e.firmware, e.confidence, e.imported_ns`

// DeviceEvidence implements store.DeviceStore.
func (s *Store) DeviceEvidence(ctx context.Context, addrs []netip.Addr) ([]store.DeviceEvidence, error) {
	out := []store.DeviceEvidence{}
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		if err := stageAddrs(ctx, conn, addrs); err != nil {
			return err
		}
		rows, err := conn.QueryContext(ctx, `SELECT `+evidenceColumns+` FROM device_evidence e
			SEMI JOIN stage_addrs a ON a.ip_version = e.ip_version AND a.src_hi = e.src_hi AND a.src_lo = e.src_lo
			ORDER BY e.ip_version, e.src_hi, e.src_lo, e.seen_ns, e.port, e.rule`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEvidence(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read device evidence: %w", err)
	}
	return out, nil
}

func scanEvidence(scan func(...any) error) (store.DeviceEvidence, error) {
	var (
		e              store.DeviceEvidence
		version        uint8
		hi, lo         uint64
		seen, imported int64
	)
	err := scan(&version, &hi, &lo, &e.Port, &e.Transport, &seen, &e.Source, &e.File, &e.Rule, &e.Field, &e.Value,
		&e.Vendor, &e.Model, &e.Kind, &e.Firmware, &e.Confidence, &imported)
	e.Addr, e.Seen, e.Imported = addrOf(version, hi, lo), timeOf(seen), timeOf(imported)
	return e, err
}

// PutDevices implements store.DeviceStore: the addresses' rows are
// deleted and the new ones appended, in one transaction.
func (s *Store) PutDevices(ctx context.Context, devs []store.Device) error {
	last := make(map[netip.Addr]int, len(devs)) // the last attribution of each address wins
	addrs := make([]netip.Addr, 0, len(devs))
	for i, d := range devs {
		if !d.Addr.IsValid() {
			return fmt.Errorf("store devices: invalid address (%s %s)", d.Vendor, d.Model)
		}
		a := d.Addr.Unmap()
		if _, ok := last[a]; !ok {
			addrs = append(addrs, a)
		}
		last[a] = i
	}
	put := make([]store.Device, 0, len(addrs))
	for _, a := range addrs {
		if d := devs[last[a]]; d.Vendor != "" {
			put = append(put, d)
		}
	}
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		if err := stageAddrs(ctx, conn, addrs); err != nil {
			return err
		}
		return inTx(ctx, conn, func() error {
			if _, err := conn.ExecContext(ctx, `DELETE FROM devices WHERE (ip_version, src_hi, src_lo) IN (SELECT ip_version, src_hi, src_lo FROM stage_addrs)`); err != nil {
				return err
			}
			return appendRows(conn, "", "devices", len(put), func(i int) []driver.Value {
				d := put[i]
				var released driver.Value
				if !d.Released.IsZero() {
					released = d.Released.UnixNano()
				}
				return append(keyValues(d.Addr), d.Vendor, d.Model, d.Kind, d.Firmware, released, d.Confidence, d.Rule, d.Conflict,
					strings.Join(d.Alternatives, "\n"), int32(d.Evidence), nsOf(d.Attributed))
			})
		})
	})
	if err != nil {
		return fmt.Errorf("store devices: %w", err)
	}
	return nil
}

const deviceColumns = `d.vendor, d.model, d.kind, d.firmware, d.released_ns, d.confidence, d.rule, d.conflict, d.alternatives, d.evidence, d.attributed_ns`

// scanDevice scans deviceColumns into d.
func scanDevice(scan func(...any) error, d *store.Device) error {
	var (
		released   sql.NullInt64
		alts       string
		attributed int64
	)
	err := scan(&d.Vendor, &d.Model, &d.Kind, &d.Firmware, &released, &d.Confidence, &d.Rule, &d.Conflict, &alts, &d.Evidence, &attributed)
	if released.Valid {
		d.Released = time.Unix(0, released.Int64).UTC()
	}
	d.Alternatives = []string{}
	if alts != "" {
		d.Alternatives = strings.Split(alts, "\n")
	}
	d.Attributed = timeOf(attributed)
	return err
}

// SourceDevice implements store.DeviceStore.
func (s *Store) SourceDevice(ctx context.Context, addr netip.Addr) (store.Device, []store.DeviceEvidence, bool, error) {
	if !addr.IsValid() {
		return store.Device{}, nil, false, fmt.Errorf("source device: invalid address")
	}
	addr = addr.Unmap()
	dev := store.Device{Addr: addr}
	found := false
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		found = true
		return scanDevice(scan, &dev)
	}, `SELECT `+deviceColumns+` FROM devices d WHERE `+addrIn("d.", []netip.Addr{addr}))
	if err != nil {
		return store.Device{}, nil, false, fmt.Errorf("device of %s: %w", addr, err)
	}
	if !found {
		return store.Device{}, nil, false, nil
	}
	ev, err := s.DeviceEvidence(ctx, []netip.Addr{addr})
	if err != nil {
		return store.Device{}, nil, false, err
	}
	return dev, ev, true, nil
}

// slotLabel is the port label of a portcount slot ("23/TCP").
func slotLabel(slot int32) string { return portcount.Key(uint32(slot)).Label() }

// deviceLabelColumns are the columns of a source's device, from
// deviceJoin (NULL when none is attributed): scan them into a
// deviceLabel.
const deviceLabelColumns = `d.vendor, d.model, d.kind, d.firmware, d.conflict`

// deviceJoin is the LEFT JOIN of devices d with the source key columns of
// alias t.
func deviceJoin(t string) string {
	return ` LEFT JOIN devices d ON d.ip_version = ` + t + `.ip_version AND d.src_hi = ` + t + `.src_hi AND d.src_lo = ` + t + `.src_lo`
}

// deviceLabel scans deviceLabelColumns.
type deviceLabel struct {
	vendor, model, kind, firmware sql.NullString
	conflict                      sql.NullBool
}

// label is the scanned device, nil when there was none.
func (d deviceLabel) label() *store.DeviceLabel {
	if !d.vendor.Valid {
		return nil
	}
	return &store.DeviceLabel{Vendor: d.vendor.String, Model: d.model.String, Kind: d.kind.String, Firmware: d.firmware.String, Conflict: d.conflict.Bool}
}
