package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// A source rollup row (rollup_source_day, rollup_source_hour) holds,
// after its key: packets, the distinct slots, the union of the packets'
// tags, the first and last packet times, the source's origin (that of its
// last packet: an update of the databases within the day changes it
// from then on), and its packets per tag (tagPacketsColumn).

// rawSourceColumns is SQL for a source row's columns after its key,
// aggregated from raw packet records; labels is labelsSQL's list of the
// scanner labels.
func rawSourceColumns(labels string) string {
	cols := []string{"count(*)", "list(DISTINCT slot ORDER BY slot)", "bit_or(tags)", "min(time_ns)", "max(time_ns)",
		countryText("arg_max(src_country, time_ns)"), "arg_max(src_asn, time_ns)",
		"coalesce(list_extract(" + labels + ", arg_max(src_scanner, time_ns)::INTEGER + 1), '')"}
	return strings.Join(append(cols, rawTagHits()...), ", ")
}

// rawTagHits are SQL for the number of raw records with each tag, by bit.
func rawTagHits() []string {
	out := make([]string, record.NumTags)
	for bit := range out {
		out[bit] = fmt.Sprintf("count(*) FILTER (WHERE tags & %d <> 0)", 1<<bit)
	}
	return out
}

// summedTagHits are SQL for the sums of the source rows' (of alias t, or
// unqualified when "") per-tag packets, by bit.
func summedTagHits(t string) []string {
	if t != "" {
		t += "."
	}
	out := make([]string, record.NumTags)
	for bit := range out {
		out[bit] = "sum(" + t + tagPacketsColumn(bit) + ")"
	}
	return out
}

// summedSourceColumns is SQL for a source row's columns after its key,
// summed from the source rows of alias t (hours into a day).
func summedSourceColumns(t string) string {
	cols := []string{"sum(" + t + ".packets)", "list_sort(list_distinct(flatten(list(" + t + ".slots))))", "bit_or(" + t + ".tags)",
		"min(" + t + ".first_ns)", "max(" + t + ".last_ns)",
		"arg_max(" + t + ".country, " + t + ".last_ns)", "arg_max(" + t + ".asn, " + t + ".last_ns)", "arg_max(" + t + ".scanner, " + t + ".last_ns)"}
	return strings.Join(append(cols, summedTagHits(t)...), ", ")
}

// tagPacketsColumn is the source rollups' column of the packets with the
// tag of bit number bit ("zmap_packets").
func tagPacketsColumn(bit int) string { return record.Tags(1<<bit).String() + "_packets" }

// sourceTagsSQL is SQL for the tags a source earns (a USMALLINT) from its
// packets and its packets per tag (SQL expressions, by bit), by the
// rules of fingerprint.SourceEvidence.
func sourceTagsSQL(packets string, hits []string) string {
	terms := make([]string, len(hits))
	for bit, h := range hits {
		e := fingerprint.SourceEvidence(bit)
		terms[bit] = fmt.Sprintf("(CASE WHEN (%[1]s) >= %[2]d AND (%[1]s) * %[3]d >= (%[4]s) * %[5]d THEN %[6]d ELSE 0 END)",
			h, max(e.MinHits, 1), e.ShareDen, packets, e.ShareNum, 1<<bit)
	}
	return "(" + strings.Join(terms, " | ") + ")::USMALLINT"
}

// originSteps rebuild the origin rollup of the days [firstDay, lastDay]
// from their source rows, which the source steps have just rebuilt.
func originSteps(firstDay, lastDay int64) []syncStep {
	return []syncStep{
		{"clear origin rollups", `DELETE FROM rollup_origin_day WHERE day >= ? AND day <= ?`, []any{firstDay, lastDay}},
		{"build origin rollups", `INSERT INTO rollup_origin_day
			SELECT day, sensor, country, asn, scanner, sum(packets), count(*)
			FROM rollup_source_day WHERE day >= ? AND day <= ?
			GROUP BY ALL`, []any{firstDay, lastDay}},
	}
}

// asNames gathers the AS organisations of appended records for as_names.
// A small direct-mapped table of the pairs already noted keeps the cost per
// record to one comparison.
type asNames struct {
	seen    [1024]asName
	pending map[uint32]record.Name
}

type asName struct {
	asn uint32
	org record.Name
}

// note notes the organisations of recs' ASes.
func (n *asNames) note(recs []record.Record) {
	for i := range recs {
		o := &recs[i].Origin
		if o.ASN == 0 || o.Org == 0 { // an unnamed AS keeps the name it had
			continue
		}
		slot := &n.seen[o.ASN%uint32(len(n.seen))]
		if slot.asn == o.ASN && slot.org == o.Org {
			continue
		}
		*slot = asName{o.ASN, o.Org}
		if n.pending == nil {
			n.pending = map[uint32]record.Name{}
		}
		n.pending[o.ASN] = o.Org
	}
}

// reset forgets what was noted: the appends were rolled back.
func (n *asNames) reset() { *n = asNames{} }

// write stores the pending names in the flush's transaction; they are
// forgotten once written (a rolled back flush resets them).
func (n *asNames) write(ctx context.Context, conn *sql.Conn) error {
	const perStatement = 500
	var (
		values []string
		args   []any
	)
	put := func() error {
		if len(values) == 0 {
			return nil
		}
		_, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO as_names VALUES `+strings.Join(values, ", "), args...)
		values, args = values[:0], args[:0]
		return err
	}
	for asn, org := range n.pending {
		values, args = append(values, "(?, ?)"), append(args, asn, org.String())
		if len(values) == perStatement {
			if err := put(); err != nil {
				return err
			}
		}
	}
	if err := put(); err != nil {
		return err
	}
	clear(n.pending)
	return nil
}

// scannerLabels maps the records' scanner labels (record.Names, which
// are the process's) to their IDs in scanner_labels, the packets'
// src_scanner. A label new to the database gets the next ID at Append,
// and its row is written by the Flush that commits the records using it
// (dropped again if they are rolled back). It belongs to the writer.
type scannerLabels struct {
	byName  map[record.Name]uint16
	byLabel map[string]uint16 // stored and pending
	last    uint16            // the highest ID given
	pending []pendingLabel
}

type pendingLabel struct {
	id    uint16
	label string
	name  record.Name
}

// load reads the stored labels.
func (l *scannerLabels) load(ctx context.Context, db *sql.DB) error {
	l.byName, l.byLabel, l.last, l.pending = map[record.Name]uint16{}, map[string]uint16{}, 0, nil
	rows, err := db.QueryContext(ctx, `SELECT id, label FROM scanner_labels`)
	if err != nil {
		return fmt.Errorf("read the scanner labels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    uint16
			label string
		)
		if err := rows.Scan(&id, &label); err != nil {
			return fmt.Errorf("read the scanner labels: %w", err)
		}
		l.byLabel[label], l.last = id, max(l.last, id)
	}
	return rows.Err()
}

// note gives an ID to every label of recs that has none.
func (l *scannerLabels) note(recs []record.Record) error {
	for i := range recs {
		name := recs[i].Origin.Scanner
		if name == 0 {
			continue
		}
		if _, ok := l.byName[name]; ok {
			continue
		}
		label := name.String()
		id, ok := l.byLabel[label]
		if !ok {
			if l.last == math.MaxUint16 {
				return fmt.Errorf("append: more than %d distinct research-scanner label sets", math.MaxUint16)
			}
			l.last++
			id = l.last
			l.byLabel[label] = id
			l.pending = append(l.pending, pendingLabel{id, label, name})
		}
		l.byName[name] = id
	}
	return nil
}

// write stores the labels given since the last Flush, in its
// transaction.
func (l *scannerLabels) write(ctx context.Context, conn *sql.Conn) error {
	for _, p := range l.pending {
		if _, err := conn.ExecContext(ctx, `INSERT INTO scanner_labels VALUES (?, ?)`, p.id, p.label); err != nil {
			return err
		}
	}
	l.pending = l.pending[:0]
	return nil
}

// reset forgets the labels given since the last Flush: their records were
// rolled back.
func (l *scannerLabels) reset() {
	for _, p := range l.pending {
		delete(l.byLabel, p.label)
		delete(l.byName, p.name)
		l.last = min(l.last, p.id-1)
	}
	l.pending = l.pending[:0]
}

// countryText is SQL for the two letters of a country code (the packets'
// src_country), ” for 0.
func countryText(code string) string {
	return `(CASE WHEN (` + code + `) = 0 THEN '' ELSE chr(((` + code + `) >> 8)::INTEGER) || chr(((` + code + `) & 255)::INTEGER) END)`
}

// labelsSQL reads scanner_labels in the rollup's transaction and returns
// it as an SQL list literal indexed by ID + 1 (an empty label for 0 and unused
// IDs): a rollup looks up a source row's labels in it, which costs
// nothing next to a subquery per row.
func labelsSQL(ctx context.Context, tx *sql.Tx) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, label FROM scanner_labels ORDER BY id`)
	if err != nil {
		return "", fmt.Errorf("read the scanner labels: %w", err)
	}
	defer rows.Close()
	list := []string{"''"}
	for rows.Next() {
		var (
			id    int
			label string
		)
		if err := rows.Scan(&id, &label); err != nil {
			return "", fmt.Errorf("read the scanner labels: %w", err)
		}
		for len(list) < id {
			list = append(list, "''")
		}
		list = append(list, "'"+strings.ReplaceAll(label, "'", "''")+"'")
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("read the scanner labels: %w", err)
	}
	return "[" + strings.Join(list, ", ") + "]::VARCHAR[]", nil
}

// scannerText is SQL for the labels of a scanner_labels ID (the packets'
// src_scanner), ” for 0.
func scannerText(id string) string {
	return `coalesce((SELECT label FROM scanner_labels WHERE scanner_labels.id = (` + id + `)), '')`
}
