package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// migrationAlerts is schema 7: the alerts of package alerts, their
// silences and the outbox of their notifications (store.AlertStore). A
// scope is columns (” and 0 where it does not narrow), so that the
// filters of Alerts are SQL; an alert's evidence, and the alert a
// notification carries, are JSON, only ever read whole. IDs come from
// sequences, so that a deleted silence's ID is never given again. These
// tables are small (an alert per unusual change, not per packet): their
// PRIMARY KEYs cost nothing that matters, and keep the IDs unique.
var migrationAlerts = `CREATE SEQUENCE alert_ids START 1;
	CREATE SEQUENCE silence_ids START 1;
	CREATE SEQUENCE notification_ids START 1;
	CREATE TABLE alerts (                 -- store.Alert
		id BIGINT PRIMARY KEY,
		detector VARCHAR NOT NULL,` + scopeColumns + `
		state VARCHAR NOT NULL,           -- open, acknowledged, resolved
		severity VARCHAR NOT NULL,        -- info, warning, critical
		research BOOLEAN NOT NULL,
		start_ns BIGINT NOT NULL,         -- the first hour seen
		last_seen_ns BIGINT NOT NULL,     -- the start of the last hour seen
		resolved_ns BIGINT,               -- NULL while not resolved
		updated_ns BIGINT NOT NULL,
		reopened INTEGER NOT NULL,
		summary VARCHAR NOT NULL,
		evidence VARCHAR NOT NULL,        -- store.Evidence as JSON
		link VARCHAR NOT NULL,
		acted_by VARCHAR NOT NULL,        -- who last acknowledged or resolved it
		note VARCHAR NOT NULL
	);
	CREATE TABLE silences (               -- store.Silence
		id BIGINT PRIMARY KEY,
		detector VARCHAR NOT NULL,        -- '': every detector` + scopeColumns + `
		start_ns BIGINT NOT NULL,         -- it mutes in [start_ns, end_ns)
		end_ns BIGINT NOT NULL,
		created_by VARCHAR NOT NULL,
		comment VARCHAR NOT NULL,
		created_ns BIGINT                 -- NULL: not known
	);
	CREATE TABLE notifications (          -- the outbox (store.Notification): one row per receiver and alert event
		id BIGINT PRIMARY KEY,
		receiver VARCHAR NOT NULL,
		event VARCHAR NOT NULL,           -- opened, reopened, escalated, acknowledged, resolved
		alert_id BIGINT NOT NULL,
		alert VARCHAR NOT NULL,           -- the store.Alert as queued, as JSON
		queued_ns BIGINT NOT NULL,
		attempts INTEGER NOT NULL,
		next_attempt_ns BIGINT NOT NULL,
		last_error VARCHAR NOT NULL,
		delivered_ns BIGINT               -- NULL while pending
	);`

// scopeColumns are the columns of a store.Scope in migrationAlerts, in the
// order of scopeValues.
const scopeColumns = `
		sensor VARCHAR NOT NULL, grp VARCHAR NOT NULL, port VARCHAR NOT NULL, tag VARCHAR NOT NULL,
		country VARCHAR NOT NULL, asn UINTEGER NOT NULL, device VARCHAR NOT NULL,`

const (
	scopeSelect        = `sensor, grp, port, tag, country, asn, device`
	alertSelect        = `id, detector, ` + scopeSelect + `, state, severity, research, start_ns, last_seen_ns, resolved_ns, updated_ns, reopened, summary, evidence, link, acted_by, note`
	silenceSelect      = `id, detector, ` + scopeSelect + `, start_ns, end_ns, created_by, comment, created_ns`
	notificationSelect = `id, receiver, event, alert, queued_ns, attempts, next_attempt_ns, last_error, delivered_ns`
)

func scopeValues(s store.Scope) []driver.Value {
	return []driver.Value{s.Sensor, s.Group, s.Port, s.Tag, s.Country, s.ASN, s.Device}
}

func scopeDest(s *store.Scope) []any {
	return []any{&s.Sensor, &s.Group, &s.Port, &s.Tag, &s.Country, &s.ASN, &s.Device}
}

// scopeTexts are the text fields of a scope, for checkTexts.
func scopeTexts(s store.Scope) []string {
	return []string{"sensor", s.Sensor, "group", s.Group, "port", s.Port, "tag", s.Tag, "country", s.Country, "device", s.Device}
}

// PutAlerts implements store.AlertStore. Everything is checked before the
// transaction starts, so that a bad write costs no ID; the replaced rows
// are deleted and written again with the new ones by the appender.
func (s *Store) PutAlerts(ctx context.Context, writes []store.AlertWrite, receivers []string) ([]int64, error) {
	if err := checkReceivers(receivers); err != nil {
		return nil, fmt.Errorf("put alerts: %w", err)
	}
	evidence := make([]string, len(writes))
	for i, w := range writes {
		err := checkAlert(w.Alert)
		if err == nil {
			err = checkTexts("event", w.Notify)
		}
		if err == nil {
			evidence[i], err = toJSON(utcEvidence(w.Alert.Evidence))
		}
		if err != nil {
			return nil, fmt.Errorf("put alert %d (%s): %w", w.Alert.ID, w.Alert.Key(), err)
		}
	}
	ids := make([]int64, len(writes))
	if len(writes) == 0 {
		return ids, nil
	}
	s.alertWrites.Lock()
	defer s.alertWrites.Unlock()
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		return inTx(ctx, conn, func() error {
			replaced, err := knownAlerts(ctx, conn, writes)
			if err != nil {
				return err
			}
			fresh, err := nextIDs(ctx, conn, "alert_ids", countNew(writes))
			if err != nil {
				return err
			}
			for i, w := range writes {
				if ids[i] = w.Alert.ID; ids[i] == 0 {
					ids[i], fresh = fresh[0], fresh[1:]
				}
			}
			if len(replaced) > 0 {
				if _, err := conn.ExecContext(ctx, `DELETE FROM alerts WHERE true`+inList("id", replaced)); err != nil {
					return err
				}
			}
			rows := alertRows(writes, ids, evidence)
			if err := appendRows(conn, "", "alerts", len(rows), func(i int) []driver.Value { return rows[i] }); err != nil {
				return err
			}
			return queueNotifications(ctx, conn, writes, ids, receivers)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("put %d alerts: %w", len(writes), err)
	}
	return ids, nil
}

// knownAlerts returns the distinct non-zero IDs of writes, and fails with
// store.ErrUnknownAlert if one is not stored.
func knownAlerts(ctx context.Context, conn *sql.Conn, writes []store.AlertWrite) ([]int64, error) {
	var want []int64
	for _, w := range writes {
		if w.Alert.ID != 0 && !slices.Contains(want, w.Alert.ID) {
			want = append(want, w.Alert.ID)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	known, err := storedIDs(ctx, conn, "alerts", want)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(want, func(id int64) bool { return !known[id] }); i >= 0 {
		return nil, fmt.Errorf("%w: ID %d", store.ErrUnknownAlert, want[i])
	}
	return want, nil
}

// countNew counts the writes of new alerts (ID 0).
func countNew(writes []store.AlertWrite) int {
	n := 0
	for _, w := range writes {
		if w.Alert.ID == 0 {
			n++
		}
	}
	return n
}

// storedIDs returns which of ids a table holds.
func storedIDs(ctx context.Context, conn *sql.Conn, table string, ids []int64) (map[int64]bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT id FROM `+table+` WHERE true`+inList("id", ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		known[id] = true
	}
	return known, rows.Err()
}

// nextIDs draws n IDs from a sequence, in increasing order.
func nextIDs(ctx context.Context, conn *sql.Conn, sequence string, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT nextval('`+sequence+`') AS id FROM range(?) ORDER BY id`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("sequence %s gave %d IDs, want %d", sequence, len(ids), n)
	}
	return ids, nil
}

// alertRows are the rows of writes whose IDs are ids: one per ID, the
// last write of it, as if each write were stored in turn.
func alertRows(writes []store.AlertWrite, ids []int64, evidence []string) [][]driver.Value {
	last := make(map[int64]int, len(ids))
	for i, id := range ids {
		last[id] = i
	}
	out := make([][]driver.Value, 0, len(last))
	for i, w := range writes {
		if last[ids[i]] != i {
			continue
		}
		a := w.Alert
		row := append([]driver.Value{ids[i], a.Detector}, scopeValues(a.Scope)...)
		out = append(out, append(row, string(a.State), string(a.Severity), a.Research, a.Start.UnixNano(), a.LastSeen.UnixNano(),
			nullableNs(a.Resolved), a.Updated.UnixNano(), int32(a.Reopened), a.Summary, evidence[i], a.Link, a.By, a.Note))
	}
	return out
}

// queueNotifications writes the outbox rows of writes: one per receiver
// for every write with an event, queued (and due) when the alert was
// written, with the alert as it is now.
func queueNotifications(ctx context.Context, conn *sql.Conn, writes []store.AlertWrite, ids []int64, receivers []string) error {
	var rows [][]driver.Value
	for i, w := range writes {
		if w.Notify == "" || len(receivers) == 0 {
			continue
		}
		a := utcAlert(w.Alert)
		a.ID = ids[i]
		snapshot, err := toJSON(a)
		if err != nil {
			return fmt.Errorf("alert %d: %w", a.ID, err)
		}
		for _, r := range receivers {
			queued := a.Updated.UnixNano()
			rows = append(rows, []driver.Value{r, w.Notify, a.ID, snapshot, queued, int32(0), queued, "", nil})
		}
	}
	ids, err := nextIDs(ctx, conn, "notification_ids", len(rows))
	if err != nil {
		return err
	}
	return appendRows(conn, "", "notifications", len(rows), func(i int) []driver.Value {
		return append([]driver.Value{ids[i]}, rows[i]...)
	})
}

// Alerts implements store.AlertStore.
func (s *Store) Alerts(ctx context.Context, q store.AlertQuery) ([]store.Alert, error) {
	where, args, err := alertFilter(q)
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	query := `SELECT ` + alertSelect + ` FROM alerts WHERE true` + where + ` ORDER BY start_ns DESC, id DESC`
	if q.Limit > 0 {
		query += fmt.Sprintf(` LIMIT %d`, q.Limit)
	}
	out := []store.Alert{}
	err = s.scanRows(ctx, func(scan func(...any) error) error {
		a, err := scanAlert(scan)
		out = append(out, a)
		return err
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	return out, nil
}

// alertFilter is the SQL conditions of q ("AND ..."), with their
// arguments.
func alertFilter(q store.AlertQuery) (string, []any, error) {
	if q.Limit < 0 {
		return "", nil, fmt.Errorf("limit %d: want 0 (no limit) or more", q.Limit)
	}
	where := inList("id", q.IDs)
	var args []any
	if len(q.States) > 0 {
		for _, st := range q.States {
			if _, err := store.ParseAlertState(string(st)); err != nil {
				return "", nil, err
			}
			args = append(args, string(st))
		}
		where += ` AND state IN (?` + strings.Repeat(`, ?`, len(q.States)-1) + `)`
	}
	if q.Detector != "" {
		where += ` AND detector = ?`
		args = append(args, q.Detector)
	}
	cond, scopeArgs := coveredBy(q.Scope)
	where, args = where+cond, append(args, scopeArgs...)
	if !q.Since.IsZero() {
		where += ` AND last_seen_ns >= ?`
		args = append(args, boundNs(q.Since))
	}
	if !q.Until.IsZero() {
		where += ` AND start_ns < ?`
		args = append(args, boundNs(q.Until))
	}
	return where, args, nil
}

// coveredBy is the condition that s covers a row's scope (store.Scope.Covers).
func coveredBy(s store.Scope) (string, []any) {
	var (
		where string
		args  []any
	)
	for i, col := range strings.Split(scopeSelect, ", ") {
		if v := scopeValues(s)[i]; v != "" && v != uint32(0) {
			where += ` AND ` + col + ` = ?`
			args = append(args, v)
		}
	}
	return where, args
}

func scanAlert(scan func(...any) error) (store.Alert, error) {
	var (
		a                    store.Alert
		state, severity, ev  string
		start, last, updated int64
		resolved             sql.NullInt64
		reopened             int32
	)
	dest := append(append([]any{&a.ID, &a.Detector}, scopeDest(&a.Scope)...), &state, &severity, &a.Research,
		&start, &last, &resolved, &updated, &reopened, &a.Summary, &ev, &a.Link, &a.By, &a.Note)
	if err := scan(dest...); err != nil {
		return a, err
	}
	a.State, a.Severity, a.Reopened = store.AlertState(state), store.Severity(severity), int(reopened)
	a.Start, a.LastSeen, a.Updated, a.Resolved = nsTime(start), nsTime(last), nsTime(updated), timeOrZero(resolved)
	if err := json.Unmarshal([]byte(ev), &a.Evidence); err != nil {
		return a, fmt.Errorf("alert %d: evidence: %w", a.ID, err)
	}
	return a, nil
}

// PutSilence implements store.AlertStore; replacing an unknown silence
// fails with store.ErrUnknownSilence.
func (s *Store) PutSilence(ctx context.Context, sil store.Silence) (int64, error) {
	if err := checkSilence(sil); err != nil {
		return 0, fmt.Errorf("put silence %d: %w", sil.ID, err)
	}
	s.alertWrites.Lock()
	defer s.alertWrites.Unlock()
	id := sil.ID
	err := s.withConn(ctx, func(conn *sql.Conn) error {
		return inTx(ctx, conn, func() error {
			if id != 0 {
				known, err := storedIDs(ctx, conn, "silences", []int64{id})
				if err != nil {
					return err
				}
				if !known[id] {
					return fmt.Errorf("%w: ID %d", store.ErrUnknownSilence, id)
				}
				if _, err := conn.ExecContext(ctx, `DELETE FROM silences WHERE id = ?`, id); err != nil {
					return err
				}
			} else {
				fresh, err := nextIDs(ctx, conn, "silence_ids", 1)
				if err != nil {
					return err
				}
				id = fresh[0]
			}
			row := append(append([]driver.Value{id, sil.Detector}, scopeValues(sil.Scope)...),
				sil.Start.UnixNano(), sil.End.UnixNano(), sil.By, sil.Comment, nullableNs(sil.Created))
			return appendRows(conn, "", "silences", 1, func(int) []driver.Value { return row })
		})
	})
	if err != nil {
		return 0, fmt.Errorf("put silence %d: %w", sil.ID, err)
	}
	return id, nil
}

// Silences implements store.AlertStore.
func (s *Store) Silences(ctx context.Context, at time.Time) ([]store.Silence, error) {
	query, args := `SELECT `+silenceSelect+` FROM silences ORDER BY id`, []any(nil)
	if !at.IsZero() {
		query, args = `SELECT `+silenceSelect+` FROM silences WHERE end_ns > ? ORDER BY id`, []any{boundNs(at)}
	}
	out := []store.Silence{}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			sil        store.Silence
			start, end int64
			created    sql.NullInt64
		)
		dest := append(append([]any{&sil.ID, &sil.Detector}, scopeDest(&sil.Scope)...), &start, &end, &sil.By, &sil.Comment, &created)
		if err := scan(dest...); err != nil {
			return err
		}
		sil.Start, sil.End, sil.Created = nsTime(start), nsTime(end), timeOrZero(created)
		out = append(out, sil)
		return nil
	}, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read silences: %w", err)
	}
	return out, nil
}

// DeleteSilence implements store.AlertStore.
func (s *Store) DeleteSilence(ctx context.Context, id int64) error {
	s.alertWrites.Lock()
	defer s.alertWrites.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM silences WHERE id = ?`, id)
	var deleted int64
	if err == nil {
		deleted, err = res.RowsAffected()
	}
	if err != nil {
		return fmt.Errorf("delete silence %d: %w", id, err)
	}
	if deleted == 0 {
		return fmt.Errorf("delete silence: %w: ID %d", store.ErrUnknownSilence, id)
	}
	return nil
}

// PendingNotifications implements store.AlertStore: oldest queued first,
// then by ID.
func (s *Store) PendingNotifications(ctx context.Context, receiver string, now time.Time, limit int) ([]store.Notification, error) {
	if limit < 1 {
		return nil, fmt.Errorf("pending notifications: limit %d: want at least 1", limit)
	}
	query, args := `SELECT `+notificationSelect+` FROM notifications WHERE delivered_ns IS NULL AND next_attempt_ns <= ?`, []any{boundNs(now)}
	if receiver != "" {
		query, args = query+` AND receiver = ?`, append(args, receiver)
	}
	out := []store.Notification{}
	err := s.scanRows(ctx, func(scan func(...any) error) error {
		var (
			n            store.Notification
			alert        string
			queued, next int64
			attempts     int32
			delivered    sql.NullInt64
		)
		if err := scan(&n.ID, &n.Receiver, &n.Event, &alert, &queued, &attempts, &next, &n.LastError, &delivered); err != nil {
			return err
		}
		n.Queued, n.NextAttempt, n.Delivered, n.Attempts = nsTime(queued), nsTime(next), timeOrZero(delivered), int(attempts)
		if err := json.Unmarshal([]byte(alert), &n.Alert); err != nil {
			return fmt.Errorf("notification %d: alert: %w", n.ID, err)
		}
		out = append(out, n)
		return nil
	}, query+` ORDER BY queued_ns, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("pending notifications: %w", err)
	}
	return out, nil
}

// PutNotification implements store.AlertStore. Once delivered, a
// notification stays delivered: a later outcome cannot make it pending.
func (s *Store) PutNotification(ctx context.Context, n store.Notification) error {
	err := checkTexts("last error", n.LastError)
	if err == nil && (n.Attempts < 0 || n.Attempts > math.MaxInt32) {
		err = fmt.Errorf("%d attempts", n.Attempts)
	}
	if err == nil && n.NextAttempt.IsZero() {
		err = errors.New("no next attempt")
	}
	if err == nil {
		err = checkTimes("next attempt", n.NextAttempt, "delivered", n.Delivered)
	}
	if err != nil {
		return fmt.Errorf("put notification %d: %w", n.ID, err)
	}
	s.alertWrites.Lock()
	defer s.alertWrites.Unlock()
	res, err := s.db.ExecContext(ctx, `UPDATE notifications
			SET attempts = ?, next_attempt_ns = ?, last_error = ?, delivered_ns = coalesce(delivered_ns, ?)
			WHERE id = ?`,
		int32(n.Attempts), n.NextAttempt.UnixNano(), n.LastError, nullableNs(n.Delivered), n.ID)
	var updated int64
	if err == nil {
		updated, err = res.RowsAffected()
	}
	if err != nil {
		return fmt.Errorf("put notification %d: %w", n.ID, err)
	}
	if updated == 0 {
		return fmt.Errorf("put notification %d: no such notification", n.ID)
	}
	return nil
}

// checkAlert checks what PutAlerts would otherwise store wrong or not at
// all: a known state and severity, times in order and within what
// nanoseconds since the epoch hold, and valid UTF-8 (encoding/json would
// replace invalid bytes in the evidence without a word).
func checkAlert(a store.Alert) error {
	if a.Detector == "" {
		return errors.New("no detector")
	}
	if _, err := store.ParseAlertState(string(a.State)); err != nil {
		return err
	}
	if a.Severity.Rank() == 0 {
		return fmt.Errorf("unknown severity %q (want info, warning or critical)", a.Severity)
	}
	if a.Start.IsZero() || a.Updated.IsZero() {
		return errors.New("no start or no update time")
	}
	if a.LastSeen.Before(a.Start) {
		return fmt.Errorf("last seen %s before its start %s", a.LastSeen.UTC().Format(time.RFC3339), a.Start.UTC().Format(time.RFC3339))
	}
	if a.Reopened < 0 || a.Reopened > math.MaxInt32 {
		return fmt.Errorf("reopened %d times", a.Reopened)
	}
	times := []any{"start", a.Start, "last seen", a.LastSeen, "resolved", a.Resolved, "updated", a.Updated, "evidence hour", a.Evidence.Hour}
	for _, p := range a.Evidence.Series {
		times = append(times, "series hour", p.Hour)
	}
	if err := checkTimes(times...); err != nil {
		return err
	}
	texts := append(scopeTexts(a.Scope), "detector", a.Detector, "summary", a.Summary, "link", a.Link, "by", a.By, "note", a.Note,
		"measure", a.Evidence.Measure, "method", a.Evidence.Method)
	for _, p := range a.Evidence.Others {
		texts = append(texts, "peer sensor", p.Sensor, "peer group", p.Group)
	}
	return checkTexts(texts...)
}

func checkSilence(s store.Silence) error {
	if s.Start.IsZero() || !s.End.After(s.Start) {
		return fmt.Errorf("from %s to %s: want a start and an end after it", s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339))
	}
	if err := checkTimes("start", s.Start, "end", s.End, "created", s.Created); err != nil {
		return err
	}
	return checkTexts(append(scopeTexts(s.Scope), "detector", s.Detector, "by", s.By, "comment", s.Comment)...)
}

// checkReceivers: each named once, and never "" (which
// PendingNotifications reads as every receiver).
func checkReceivers(receivers []string) error {
	for i, r := range receivers {
		if r == "" {
			return errors.New(`receiver ""`)
		}
		if slices.Contains(receivers[:i], r) {
			return fmt.Errorf("receiver %q named twice", r)
		}
		if err := checkText("receiver", r); err != nil {
			return err
		}
	}
	return nil
}

// checkTexts checks pairs of a field's name and its text (checkText).
func checkTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// checkTime refuses a time whose nanoseconds since the epoch an int64
// cannot hold (before 1678 or after 2262): UnixNano would wrap silently.
func checkTime(what string, t time.Time) error {
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return fmt.Errorf("%s %s is out of the range the store keeps (1678 to 2262)", what, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// boundNs is a query's bound in ns since the epoch, clamped to what
// int64 holds: every stored time is within (checkTime), so a bound
// beyond selects as the far end does (the notifier reads every pending
// notification with a now of 9999).
func boundNs(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// checkTimes checks pairs of a time's name and the time (checkTime),
// passing zero times.
func checkTimes(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if t := pairs[i+1].(time.Time); !t.IsZero() {
			if err := checkTime(pairs[i].(string), t); err != nil {
				return err
			}
		}
	}
	return nil
}

// nullableNs is a time's ns since the epoch, nil (NULL) for the zero Time.
func nullableNs(t time.Time) driver.Value {
	if ns, ok := unixNano(t); ok {
		return ns
	}
	return nil
}

// toJSON is v as JSON text; a NaN or an infinity fails, named.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// utcAlert is a with its times in UTC, as they read back from the store.
func utcAlert(a store.Alert) store.Alert {
	a.Start, a.LastSeen, a.Resolved, a.Updated = a.Start.UTC(), a.LastSeen.UTC(), a.Resolved.UTC(), a.Updated.UTC()
	a.Evidence = utcEvidence(a.Evidence)
	return a
}

// utcEvidence is e with its hours in UTC (a copy: the caller's series is
// not changed).
func utcEvidence(e store.Evidence) store.Evidence {
	e.Hour = e.Hour.UTC()
	if e.Series != nil {
		e.Series = slices.Clone(e.Series)
		for i := range e.Series {
			e.Series[i].Hour = e.Series[i].Hour.UTC()
		}
	}
	return e
}
