package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AlertStore keeps the alerts of package alerts, their silences and the
// outbox of their notifications. Writes are at once (not at the next
// Flush), each in a transaction of its own.
type AlertStore interface {
	// PutAlerts stores alerts: one with ID 0 is new and gets the next
	// ID, one with an ID replaces the stored alert of that ID (an
	// unknown ID fails with ErrUnknownAlert and stores nothing). In the
	// same transaction it queues one notification per receiver for every
	// write with a non-empty Notify, so that an alert is never stored
	// without its notifications, nor notified without being stored. It
	// returns the alerts' IDs in the order given.
	PutAlerts(ctx context.Context, writes []AlertWrite, receivers []string) ([]int64, error)
	// Alerts returns the stored alerts that q selects, newest start
	// first, then by ID descending.
	Alerts(ctx context.Context, q AlertQuery) ([]Alert, error)

	// PutSilence stores a silence (ID 0: a new one, with an ID never
	// given before, also after a deletion; otherwise it replaces that
	// silence, and an unknown ID fails with ErrUnknownSilence) and
	// returns its ID.
	PutSilence(ctx context.Context, s Silence) (int64, error)
	// Silences returns the silences that have not ended by at (all when
	// at is zero), ordered by ID.
	Silences(ctx context.Context, at time.Time) ([]Silence, error)
	// DeleteSilence removes a silence; an unknown ID fails with
	// ErrUnknownSilence.
	DeleteSilence(ctx context.Context, id int64) error

	// PendingNotifications returns up to limit undelivered notifications
	// due by now (NextAttempt not after it), oldest first (by Queued,
	// then ID); receiver "" means every receiver's. A write's
	// notifications are queued at its alert's Updated time, due at once,
	// with IDs in the order of the receivers.
	PendingNotifications(ctx context.Context, receiver string, now time.Time, limit int) ([]Notification, error)
	// PutNotification records the outcome of a delivery attempt: its
	// Attempts, NextAttempt, LastError and Delivered (non-zero once
	// delivered, after which it is never pending again).
	PutNotification(ctx context.Context, n Notification) error
}

// Errors of AlertStore, for errors.Is.
var (
	ErrUnknownAlert   = errors.New("unknown alert")
	ErrUnknownSilence = errors.New("unknown silence")
)

// AlertState is where an alert is in its lifecycle: open, then
// acknowledged by a person (still going on, someone is on it), then
// resolved (by a person, or by the engine once it has been quiet long
// enough). A resolved alert that comes back is re-opened.
type AlertState string

// The states of an alert.
const (
	AlertOpen         AlertState = "open"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// AlertStates lists the states in lifecycle order.
var AlertStates = []AlertState{AlertOpen, AlertAcknowledged, AlertResolved}

// ParseAlertState parses one of AlertStates.
func ParseAlertState(s string) (AlertState, error) {
	for _, st := range AlertStates {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown alert state %q (want open, acknowledged or resolved)", s)
}

// Severity orders alerts: info (worth a look: research scanners, a new
// device model), warning (unusual), critical (far outside the baseline,
// or a sensor down).
type Severity string

// The severities, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info 1, warning 2, critical 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Scope is where an alert is: its sensor or group (neither: the fleet),
// and what of their traffic — a port, a tag, a country, an AS, a device
// model. Empty fields do not narrow it.
type Scope struct {
	Sensor  string `json:"sensor,omitempty" yaml:"sensor,omitempty"`
	Group   string `json:"group,omitempty" yaml:"group,omitempty"`
	Port    string `json:"port,omitempty" yaml:"port,omitempty"` // a port label, "23/TCP"
	Tag     string `json:"tag,omitempty" yaml:"tag,omitempty"`
	Country string `json:"country,omitempty" yaml:"country,omitempty"`
	ASN     uint32 `json:"asn,omitempty" yaml:"asn,omitempty"`
	Device  string `json:"device,omitempty" yaml:"device,omitempty"` // "vendor model"
}

// String is the scope as key=value pairs in a fixed order, "fleet" when
// it has none: the alert's identity with its detector, and how the CLI
// prints it.
func (s Scope) String() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("sensor", s.Sensor)
	add("group", s.Group)
	add("port", s.Port)
	add("tag", s.Tag)
	add("country", s.Country)
	if s.ASN != 0 {
		add("asn", strconv.FormatUint(uint64(s.ASN), 10))
	}
	add("device", s.Device)
	if len(parts) == 0 {
		return "fleet"
	}
	return strings.Join(parts, ",")
}

// ParseScope parses String's form (also "fleet" and ""). Unknown keys
// are an error naming them.
func ParseScope(text string) (Scope, error) {
	var s Scope
	if text == "" || text == "fleet" {
		return s, nil
	}
	for _, kv := range strings.Split(text, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return Scope{}, fmt.Errorf("scope %q: %q is not key=value", text, kv)
		}
		switch k {
		case "sensor":
			s.Sensor = v
		case "group":
			s.Group = v
		case "port":
			s.Port = v
		case "tag":
			s.Tag = v
		case "country":
			s.Country = v
		case "asn":
			n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32)
			if err != nil {
				return Scope{}, fmt.Errorf("scope %q: asn %q is not an AS number", text, v)
			}
			s.ASN = uint32(n)
		case "device":
			s.Device = v
		default:
			return Scope{}, fmt.Errorf("scope %q: unknown key %q (want sensor, group, port, tag, country, asn or device)", text, k)
		}
	}
	return s, nil
}

// Covers reports whether every field set in s has the same value in o: a
// silence of s covers the alerts of o.
func (s Scope) Covers(o Scope) bool {
	eq := func(a, b string) bool { return a == "" || a == b }
	return eq(s.Sensor, o.Sensor) && eq(s.Group, o.Group) && eq(s.Port, o.Port) && eq(s.Tag, o.Tag) &&
		eq(s.Country, o.Country) && (s.ASN == 0 || s.ASN == o.ASN) && eq(s.Device, o.Device)
}

// Alert is one unusual change, from its start to its last hour seen.
// Detector and Scope are its identity: while it lasts (not resolved),
// the engine updates it rather than opening another.
type Alert struct {
	ID       int64      `json:"id"`
	Detector string     `json:"detector"`
	Scope    Scope      `json:"scope"`
	State    AlertState `json:"state"`
	Severity Severity   `json:"severity"`
	// Research: the change is the activity of listed research scanners;
	// it is shown, never raised as malicious on its own.
	Research bool `json:"research"`
	// Start is the first hour the change was seen, LastSeen the start of
	// the last (both UTC hours); Resolved when it was resolved, zero
	// while not.
	Start    time.Time `json:"start"`
	LastSeen time.Time `json:"last_seen"`
	Resolved time.Time `json:"resolved,omitzero"`
	// Updated is when the alert was last written, Reopened how many times
	// it came back after being resolved.
	Updated  time.Time `json:"updated"`
	Reopened int       `json:"reopened"`
	// Summary is one sentence for a person ("23/TCP at tokyo-1: 4,210
	// packets in the hour against 310 usually").
	Summary  string   `json:"summary"`
	Evidence Evidence `json:"evidence"`
	// Link is the dashboard path that shows it ("/ports?sensor=...").
	Link string `json:"link"`
	// By and Note: who last acknowledged or resolved it, and why.
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// Key is the alert's identity, detector and scope ("port-surge
// sensor=tokyo-1,port=23/TCP").
func (a Alert) Key() string { return a.Detector + " " + a.Scope.String() }

// Evidence is what made a detector fire: the observed value against its
// baseline, in the hour of the peak, and the comparison with the others
// where the detector compares.
type Evidence struct {
	// Measure is what was counted: "packets" or "sources" per hour, or a
	// health figure ("kernel_drops").
	Measure  string    `json:"measure"`
	Hour     time.Time `json:"hour"` // of the peak so far
	Observed float64   `json:"observed"`
	Baseline float64   `json:"baseline"`
	// Spread is the baseline's robust spread (scaled MAD), Score how many
	// spreads the observation is above the baseline.
	Spread float64 `json:"spread"`
	Score  float64 `json:"score"`
	// Method names how the baseline was made ("same hour of the previous
	// 4 weeks, median").
	Method string `json:"method"`
	// Others: for a change at one sensor or group, what the others saw
	// in the same hour (the peers that did not see it).
	Others []PeerChange `json:"others,omitempty"`
	// Series: the hours around the change, observed and baseline, for
	// the chart of the extra issue.
	Series []EvidencePoint `json:"series,omitempty"`
}

// PeerChange is what a peer (another sensor or group) saw in the hour of
// a change: its observed value against its own baseline.
type PeerChange struct {
	Sensor   string  `json:"sensor,omitempty"`
	Group    string  `json:"group,omitempty"`
	Observed float64 `json:"observed"`
	Baseline float64 `json:"baseline"`
	Score    float64 `json:"score"`
}

// EvidencePoint is one hour of an alert's series: what was observed of
// it against its baseline (the whole hour, once it is over), and when the
// detectors first saw the change in it — minutes into the hour when they
// look at the hour so far.
type EvidencePoint struct {
	Hour     time.Time `json:"hour"`
	Observed float64   `json:"observed"`
	Baseline float64   `json:"baseline"`
	Noticed  time.Time `json:"noticed,omitzero"`
}

// AlertWrite is an alert to store, and the event its receivers are told
// of: "opened", "reopened", "escalated", "acknowledged", "resolved"; ""
// tells nobody (a quiet update of LastSeen).
type AlertWrite struct {
	Alert  Alert
	Notify string
}

// AlertQuery selects alerts; zero fields do not narrow.
type AlertQuery struct {
	IDs      []int64
	States   []AlertState
	Detector string
	// Scope: the alerts whose scope it covers (Scope.Covers).
	Scope Scope
	// Since and Until: the alerts seen (Start to LastSeen) in [Since, Until).
	Since, Until time.Time
	// Limit caps the answer (0: no cap).
	Limit int
}

// Silence mutes the notifications of the alerts whose scope it covers,
// of one detector or all (""), from Start to End. A silenced alert is
// still stored and shown, marked silenced.
type Silence struct {
	ID       int64     `json:"id"`
	Detector string    `json:"detector,omitempty"`
	Scope    Scope     `json:"scope"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	By       string    `json:"by"`
	Comment  string    `json:"comment"`
	Created  time.Time `json:"created"`
}

// Mutes reports whether the silence mutes a at instant t.
func (s Silence) Mutes(a Alert, t time.Time) bool {
	return (s.Detector == "" || s.Detector == a.Detector) && s.Scope.Covers(a.Scope) &&
		!t.Before(s.Start) && t.Before(s.End)
}

// Notification is one receiver's copy of an alert event in the outbox:
// the alert as it was when queued, tried until delivered.
type Notification struct {
	ID       int64     `json:"id"`
	Receiver string    `json:"receiver"`
	Event    string    `json:"event"`
	Alert    Alert     `json:"alert"`
	Queued   time.Time `json:"queued"`
	Attempts int       `json:"attempts"`
	// NextAttempt is when to try next (the queue time at first).
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	Delivered   time.Time `json:"delivered,omitzero"`
}

// ActivityQuestions are the hourly counts the detectors of package alerts
// read, part of Questions: every hour × sensor × port, and every hour ×
// sensor × tag, that had packets. They cover whole UTC hours: from and to
// are truncated to the hour, and [from, to) is read.
type ActivityQuestions interface {
	// PortHours calls fn for every hour × sensor × port with packets in
	// [from, to), ordered by hour, then sensor ID, then slot. An error
	// from fn stops it and is returned.
	PortHours(ctx context.Context, from, to time.Time, fn func(PortHour) error) error
	// TagHours calls fn for every hour × sensor × tag with packets in
	// [from, to), ordered by hour, then sensor ID, then tag name.
	TagHours(ctx context.Context, from, to time.Time, fn func(TagHour) error) error
	// PartHour is PortHours and TagHours for part of one hour, [from,
	// to), counted from the raw records (whose retention it needs): what
	// the live detectors see of an hour so far, for a backtest to look as
	// they do. Every PortHour and TagHour has the hour's start; the order
	// is by sensor ID, then slot (tag name). from and to must lie in one
	// hour (to may be its end).
	PartHour(ctx context.Context, from, to time.Time, ports func(PortHour) error, tags func(TagHour) error) error
}

// PortHour is one sensor's packets to one port (a portcount slot) in one
// hour: packets, exact distinct sources, and packets tagged mirai.
type PortHour struct {
	Hour                    time.Time
	Sensor                  int32
	Slot                    int32
	Packets, Sources, Mirai uint64
}

// TagHour is one sensor's packets with one tag in one hour.
type TagHour struct {
	Hour    time.Time
	Sensor  int32
	Tag     string
	Packets uint64
}
