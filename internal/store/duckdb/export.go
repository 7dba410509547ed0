package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Export implements store.Store with DuckDB's COPY ... TO DIR
// (PARTITION_BY (month)). The human columns (addresses as text, port
// labels, option layouts, tag names) are computed in SQL by the temporary
// macros of exportMacros, which are generated from package record's own
// names so that they cannot drift from what the rest of Nightjar prints.
func (s *Store) Export(ctx context.Context, q store.ExportQuery) (store.ExportResult, error) {
	var res store.ExportResult
	if _, err := store.ParseExportFormat(string(q.Format)); err != nil {
		return res, err
	}
	if !q.Period.End.After(q.Period.Start) {
		return res, errors.New("export: empty period")
	}
	if err := exportDir(q.Dir); err != nil {
		return res, err
	}
	// Appends not yet synced are not exported; committing them first keeps
	// the export consistent with the questions.
	if err := s.Sync(ctx); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	defer conn.Close()
	for _, m := range exportMacros() {
		if _, err := conn.ExecContext(ctx, m); err != nil {
			return res, fmt.Errorf("export: define macros: %w", err)
		}
	}
	options := `FORMAT PARQUET, COMPRESSION zstd`
	if q.Format == store.ExportCSV {
		options = `FORMAT CSV, HEADER true`
	}
	copySQL := `COPY (` + exportSelect + `) TO '` + strings.ReplaceAll(q.Dir, `'`, `''`) + `' (` + options +
		`, PARTITION_BY (month), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'packets_{i}')`
	r, err := conn.ExecContext(ctx, copySQL, q.Period.Start.UnixNano(), q.Period.End.UnixNano())
	if err != nil {
		return res, fmt.Errorf("export to %s: %w", q.Dir, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return res, fmt.Errorf("export to %s: %w", q.Dir, err)
	}
	res.Rows = uint64(n)
	entries, err := os.ReadDir(q.Dir)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	for _, e := range entries {
		if m, ok := strings.CutPrefix(e.Name(), "month="); ok && e.IsDir() {
			res.Months = append(res.Months, m)
		}
	}
	slices.Sort(res.Months)
	if h := s.PrunedBefore(); !h.IsZero() && q.Period.Start.Before(h) {
		res.PrunedBefore = h
	}
	return res, nil
}

// exportDir checks that dir is an empty directory, or creates it (its
// parent must exist).
func exportDir(dir string) error {
	if dir == "" {
		return errors.New("export: no output directory")
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("export: create output directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("export: %w", err)
	case !st.IsDir():
		return fmt.Errorf("export: %s is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return fmt.Errorf("export: output directory %s is not empty (an export never mixes with older files)", dir)
	}
	return nil
}

// exportSelect is the query of an export: ? and ? are the period's bounds
// in ns. See store.ExportQuery for the columns.
const exportSelect = `SELECT
		nj_ts(p.time_ns) AS time,
		p.time_ns,
		s.name AS sensor,
		s.grp AS sensor_group,
		p.ip_version,
		nj_ip(p.ip_version, p.src_hi, p.src_lo) AS src,
		nj_ip(p.ip_version, p.dst_hi, p.dst_lo) AS dst,
		nj_proto(p.proto) AS protocol,
		p.proto,
		p.sport AS src_port,
		p.dport AS dst_port,
		nj_port(p.slot) AS port,
		p.tcp_flags,
		nj_flags(p.tcp_flags) AS tcp_flag_names,
		p.seq, p.ack, p.win AS window,
		p.ip_id, p.ttl, p.ip_len,
		nj_opts(p.opt_layout, p.opt_len) AS tcp_options,
		p.fragment,
		nj_tags(p.tags) AS tags,
		strftime(nj_ts(p.time_ns), '%Y-%m') AS month
	FROM packets AS p JOIN sensors AS s ON s.id = p.sensor
	WHERE p.time_ns >= ? AND p.time_ns < ?
	ORDER BY p.time_ns, s.name`

// exportMacros returns the statements that define the export's temporary
// macros on a connection.
func exportMacros() []string {
	var protos, opts, tags, flags []string
	for p := range 256 {
		if name := record.ProtocolName(uint8(p)); name != "IP-"+strconv.Itoa(p) {
			protos = append(protos, fmt.Sprintf("WHEN %d THEN '%s'", p, name))
		}
	}
	for k := range 256 {
		o := record.TCPOptions{Layout: uint64(k), LayoutLen: 1}
		opts = append(opts, fmt.Sprintf("WHEN %d THEN '%s'", k, o.Signature()))
	}
	for _, t := range record.AllTags() {
		tags = append(tags, fmt.Sprintf("CASE WHEN t & %d <> 0 THEN '%s' END", uint16(t), t))
	}
	for i, letter := range "FSRPAUEC" {
		flags = append(flags, fmt.Sprintf("CASE WHEN f & %d <> 0 THEN '%c' ELSE '' END", 1<<i, letter))
	}
	var layout []string
	for i := range record.MaxLayout {
		layout = append(layout, fmt.Sprintf("CASE WHEN n > %d THEN nj_opt((l >> %d) & 255) END", i, 8*i))
	}
	layout = append(layout, fmt.Sprintf("CASE WHEN n > %d THEN '...' END", record.MaxLayout))

	// IPv6 in RFC 5952 form, as net/netip prints it: ":g0:g1:...:g7:" with
	// the groups in lowercase hex, then the leftmost longest run of two or
	// more zero groups replaced by "::", then the outer colons trimmed.
	var groups, runs []string
	for i := range 8 {
		half, shift := "hi", 48-16*(i%4)
		if i >= 4 {
			half = "lo"
		}
		groups = append(groups, fmt.Sprintf("format('{:x}', (%s >> %d) & 65535)", half, shift))
	}
	for n := 8; n >= 2; n-- {
		pat := ":" + strings.Repeat("0:", n)
		runs = append(runs, fmt.Sprintf("WHEN contains(s, '%s') THEN regexp_replace(s, '%s', '::')", pat, pat))
	}
	return []string{
		`CREATE OR REPLACE TEMP MACRO nj_ts(ns) AS make_timestamp(CASE WHEN ns >= 0 THEN ns // 1000 ELSE -((-ns - 1) // 1000) - 1 END)`,
		`CREATE OR REPLACE TEMP MACRO nj_ip4(lo) AS concat_ws('.', (lo >> 24) & 255, (lo >> 16) & 255, (lo >> 8) & 255, lo & 255)`,
		`CREATE OR REPLACE TEMP MACRO nj_ip6_groups(hi, lo) AS ':' || concat_ws(':', ` + strings.Join(groups, ", ") + `) || ':'`,
		`CREATE OR REPLACE TEMP MACRO nj_ip6_zeros(s) AS CASE ` + strings.Join(runs, " ") + ` ELSE s END`,
		`CREATE OR REPLACE TEMP MACRO nj_ip6_trim(s) AS CASE WHEN ends_with(s, '::') THEN s ELSE s[:-2] END`,
		`CREATE OR REPLACE TEMP MACRO nj_ip6(hi, lo) AS nj_ip6_trim(CASE WHEN starts_with(nj_ip6_zeros(nj_ip6_groups(hi, lo)), '::')
			THEN nj_ip6_zeros(nj_ip6_groups(hi, lo)) ELSE nj_ip6_zeros(nj_ip6_groups(hi, lo))[2:] END)`,
		`CREATE OR REPLACE TEMP MACRO nj_ip(v, hi, lo) AS CASE
			WHEN v = 4 THEN nj_ip4(lo)
			WHEN hi = 0 AND lo >> 32 = 65535 THEN '::ffff:' || nj_ip4(lo & 4294967295)
			ELSE nj_ip6(hi, lo) END`,
		`CREATE OR REPLACE TEMP MACRO nj_proto(p) AS CASE p ` + strings.Join(protos, " ") + ` ELSE 'IP-' || p END`,
		fmt.Sprintf(`CREATE OR REPLACE TEMP MACRO nj_port(slot) AS CASE
			WHEN slot < %d THEN slot || '/TCP'
			WHEN slot < %d THEN (slot - %d) || '/UDP'
			ELSE nj_proto(slot - %d) END`,
			portcount.Slot(record.PortKey{Protocol: record.ProtoUDP, HasPort: true}),
			portcount.Slot(record.PortKey{}), portcount.Slot(record.PortKey{Protocol: record.ProtoUDP, HasPort: true}),
			portcount.Slot(record.PortKey{})),
		`CREATE OR REPLACE TEMP MACRO nj_opt(k) AS CASE k ` + strings.Join(opts, " ") + ` END`,
		`CREATE OR REPLACE TEMP MACRO nj_opts(l, n) AS concat_ws(',', ` + strings.Join(layout, ", ") + `)`,
		`CREATE OR REPLACE TEMP MACRO nj_tags(t) AS concat_ws(',', ` + strings.Join(tags, ", ") + `)`,
		`CREATE OR REPLACE TEMP MACRO nj_flags(f) AS concat(` + strings.Join(flags, ", ") + `)`,
	}
}
