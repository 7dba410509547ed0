package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// migrationDevices is schema 6: the evidence of the device models behind
// source addresses, and each address's attribution (store.DeviceStore).
// Both are keyed by address like the source rollups, so that a question
// joins them; evidence is de-duplicated by its key, so importing a file
// twice stores it once.
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
		imported_ns BIGINT NOT NULL,
		PRIMARY KEY (ip_version, src_hi, src_lo, port, transport, source, seen_ns, rule)
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
		attributed_ns BIGINT NOT NULL,
		PRIMARY KEY (ip_version, src_hi, src_lo)
	);`

// addrKey is the SQL literal of an address's key columns: database/sql
// refuses uint64 arguments with the high bit set, so the halves are
// literals (numbers, never text from a banner).
func addrKey(a netip.Addr) string {
	hi, lo := record.AddrFromNetip(a).Halves()
	version := 6
	if a.Is4() {
		version = 4
	}
	return fmt.Sprintf("%d, %d::UBIGINT, %d::UBIGINT", version, hi, lo)
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

// insertValues runs INSERT statements of up to perStatement rows each:
// head is "INSERT ... VALUES ", row(i) the i-th row's SQL and arguments.
// It returns the rows inserted.
func insertValues(ctx context.Context, tx *sql.Tx, head string, n int, row func(i int) (string, []any)) (int, error) {
	const perStatement = 400
	inserted := 0
	for start := 0; start < n; start += perStatement {
		var (
			values []string
			args   []any
		)
		for i := start; i < min(n, start+perStatement); i++ {
			v, a := row(i)
			values, args = append(values, v), append(args, a...)
		}
		res, err := tx.ExecContext(ctx, head+strings.Join(values, ", "), args...)
		if err != nil {
			return inserted, err
		}
		if k, err := res.RowsAffected(); err == nil {
			inserted += int(k)
		}
	}
	return inserted, nil
}

// PutDeviceEvidence implements store.DeviceStore.
func (s *Store) PutDeviceEvidence(ctx context.Context, ev []store.DeviceEvidence) (int, error) {
	for _, e := range ev {
		if !e.Addr.IsValid() {
			return 0, fmt.Errorf("device evidence: invalid address (rule %q)", e.Rule)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n, err := insertValues(ctx, tx, `INSERT OR IGNORE INTO device_evidence VALUES `, len(ev), func(i int) (string, []any) {
		e := ev[i]
		return "(" + addrKey(e.Addr.Unmap()) + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", []any{
			e.Port, e.Transport, nsOf(e.Seen), e.Source, e.File, e.Rule, e.Field, e.Value,
			e.Vendor, e.Model, e.Kind, e.Firmware, e.Confidence, nsOf(e.Imported)}
	})
	if err != nil {
		return 0, fmt.Errorf("store device evidence: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store device evidence: %w", err)
	}
	return n, nil
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

const evidenceColumns = `ip_version, src_hi, src_lo, port, transport, seen_ns, source, file, rule, field, value,
	vendor, model, kind, firmware, confidence, imported_ns`

// DeviceEvidence implements store.DeviceStore.
func (s *Store) DeviceEvidence(ctx context.Context, addrs []netip.Addr) ([]store.DeviceEvidence, error) {
	out := []store.DeviceEvidence{}
	const perQuery = 500
	for start := 0; start < len(addrs); start += perQuery {
		part := addrs[start:min(len(addrs), start+perQuery)]
		err := s.scanRows(ctx, func(scan func(...any) error) error {
			e, err := scanEvidence(scan)
			out = append(out, e)
			return err
		}, `SELECT `+evidenceColumns+` FROM device_evidence WHERE `+addrIn("", part))
		if err != nil {
			return nil, fmt.Errorf("read device evidence: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b store.DeviceEvidence) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		if c := a.Seen.Compare(b.Seen); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return strings.Compare(a.Rule, b.Rule)
	})
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

// PutDevices implements store.DeviceStore.
func (s *Store) PutDevices(ctx context.Context, devs []store.Device) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var addrs []netip.Addr
	var put []store.Device
	for _, d := range devs {
		if !d.Addr.IsValid() {
			return fmt.Errorf("store devices: invalid address (%s %s)", d.Vendor, d.Model)
		}
		addrs = append(addrs, d.Addr)
		if d.Vendor != "" {
			put = append(put, d)
		}
	}
	const perStatement = 500
	for start := 0; start < len(addrs); start += perStatement {
		if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE `+addrIn("", addrs[start:min(len(addrs), start+perStatement)])); err != nil {
			return fmt.Errorf("store devices: %w", err)
		}
	}
	_, err = insertValues(ctx, tx, `INSERT INTO devices VALUES `, len(put), func(i int) (string, []any) {
		d := put[i]
		var released any
		if !d.Released.IsZero() {
			released = d.Released.UnixNano()
		}
		return "(" + addrKey(d.Addr.Unmap()) + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", []any{
			d.Vendor, d.Model, d.Kind, d.Firmware, released, d.Confidence, d.Rule, d.Conflict,
			strings.Join(d.Alternatives, "\n"), d.Evidence, nsOf(d.Attributed)}
	})
	if err != nil {
		return fmt.Errorf("store devices: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store devices: %w", err)
	}
	return nil
}

const deviceColumns = `d.vendor, d.model, d.kind, d.firmware, d.released_ns, d.confidence, d.rule, d.conflict, d.alternatives, d.evidence, d.attributed_ns`

// scanDevice scans deviceColumns into d.
func scanDevice(scan func(...any) error, d *store.Device, more ...any) error {
	var (
		released   sql.NullInt64
		alts       string
		attributed int64
	)
	err := scan(append([]any{&d.Vendor, &d.Model, &d.Kind, &d.Firmware, &released, &d.Confidence, &d.Rule, &d.Conflict, &alts, &d.Evidence, &attributed}, more...)...)
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
