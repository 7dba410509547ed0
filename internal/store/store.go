// Package store defines what the rest of Nightjar needs from storage:
// sensors, batches of packet records, the bookkeeping of imported files, and
// the questions a monitoring team asks. Backends (the embedded DuckDB one in
// store/duckdb; ClickHouse later) implement Store and pass the shared
// conformance suite in store/storetest; SQL dialects stay inside them.
//
// Data model (every backend): raw packet records, each with its source's
// origin (record.Origin), with a bounded retention, and rollups kept
// indefinitely — per hour × sensor × port (packets, bytes, exact distinct
// sources, Mirai-tagged packets), summed per month and per quarter for
// long periods; per hour × sensor × tag; per day × sensor × source (with
// its origin and its packets per tag, from which its tags are earned:
// fingerprint.SourceEvidence); per day × sensor × origin. The rollups stay
// exact whatever order the data arrives in; a day whose raw records were
// pruned is final.
//
// What a reader sees of the writes — every backend keeps this contract, and
// storetest checks it; it says nothing of how rollups are kept:
//
//   - After Append, before the Flush that holds them: no reader sees the
//     records. They are not durable: Close or a crash discards them, and no
//     reader sees them afterwards either.
//   - After Flush: the records are durable, together with the imports given
//     to that Flush — after a crash both are stored or neither is. A reader
//     may see none, some or all of the records flushed since the last Sync.
//   - After Sync (which flushes first), or after Close and a new Open:
//     every reader — the questions, the sensors' first and last seen,
//     Export — sees every record flushed so far, by this Store or by one
//     that crashed on the same database before it, and none discarded.
//   - At any time, what a reader sees is whole records, each counted once:
//     a count it answers (packets, bytes, distinct sources, tags) is never
//     below its value after the last Sync, nor above its value after the
//     next.
//
// Exactly-once: an import or batch key is recorded by the Flush that makes
// its records durable, atomically with them, so Imported(key) holds
// exactly when the key's records are stored. A writer that retries what a
// crash lost — whatever is not recorded — stores it once; what is recorded
// it must not append again.
//
// DuckDB keeps it in two phases: Flush commits the raw records and notes
// the days they touched; Sync rebuilds those days' rollups, also days
// noted before a crash. Before Sync, questions over whole hours see none of
// the flushed records, and those over periods that start or end within an
// hour all of them. A backend whose rollups are materialized views shows
// records as soon as Flush inserts them, and its Sync has little to do.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// Errors every backend returns, for errors.Is.
var (
	// ErrInUse: another process (or another Store in this one) has the
	// database open.
	ErrInUse = errors.New("database is in use")
	// ErrNewerSchema: the database was written by a newer Nightjar.
	ErrNewerSchema = errors.New("database was written by a newer version of Nightjar")
	// ErrNotExist: the database was to be opened, not created, and is
	// not there.
	ErrNotExist = errors.New("database does not exist")
	// ErrUnknownSensor: a question named a sensor the store does not know.
	ErrUnknownSensor = errors.New("unknown sensor")
	// ErrUnknownGroup: a question named a group no sensor belongs to.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrPruned: Append was given a record older than the retention
	// horizon; the raw records of its day were pruned and its rollups are
	// final, so it cannot be merged exactly.
	ErrPruned = errors.New("record is older than the retention horizon")
)

// Store is a storage backend: writes (this file), questions
// (questions.go), exports (export.go), device attribution (devices.go)
// and alerts (alerts.go).
type Store interface {
	Writer
	Questions
	Exporter
	DeviceStore
	AlertStore
	// Close discards the records appended since the last Flush (only
	// Flush makes records durable: the collector has not acknowledged
	// them, and ingest has not recorded their file), makes what was
	// flushed visible to whoever opens the database next (as Sync) and
	// closes the store.
	Close() error
}

// Optional capabilities of a backend. A caller asserts them
// (st.(store.RetentionSetter)) and does without when the backend lacks
// one; a backend that has one asserts so at compile time.

// RetentionSetter is a backend whose raw-record retention an admin may
// read and change while it runs (the settings page of the UI).
type RetentionSetter interface {
	// Retention is how long raw packet records are kept (0: forever).
	Retention() time.Duration
	// SetRetention changes it durably; the next Sync prunes by it.
	SetRetention(ctx context.Context, keep time.Duration) error
}

// Horizoner is a backend with a retention horizon: Append refuses records
// older than it with ErrPruned, and ingest says from when.
type Horizoner interface {
	// PrunedBefore returns the horizon, a UTC midnight: the raw records
	// before it were pruned. It is the zero Time until the first prune.
	PrunedBefore() time.Time
}

// BackgroundRoller is a backend whose rollup rebuild can run beside its
// writer, so that a collector goes on committing and acknowledging while
// the rollups catch up.
type BackgroundRoller interface {
	// RollUp makes the records flushed so far visible to the questions,
	// as Sync does, without flushing or pruning. It may run in another
	// goroutine, concurrently with the one writer's Append and Flush (not
	// with its Sync or Close, which wait for it).
	RollUp(ctx context.Context) error
}

// Writer stores sensors, records and the bookkeeping of imports.
type Writer interface {
	// PutSensors adds sensors, or updates the group, country, description
	// and addresses of those with the same name, and returns their IDs in
	// the order given.
	PutSensors(ctx context.Context, sensors []fleet.Sensor) ([]int32, error)
	// Sensors returns every sensor, ordered by ID.
	Sensors(ctx context.Context) ([]Sensor, error)

	// Append stores records; sensors[i] is the ID of the sensor that saw
	// recs[i]. The records' tags must be set. They are neither durable nor
	// seen by any reader until Flush (see the package documentation).
	Append(ctx context.Context, recs []record.Record, sensors []int32) error
	// Flush makes every record appended so far durable, together with the
	// given imports, in one transaction: after a crash either both are
	// stored or neither is, and the records are then made visible by the
	// next Sync — even in another process. The collector acknowledges a
	// batch after the Flush that holds it. Until that Sync, a reader may
	// see none, some or all of the flushed records (whole records, each
	// counted once). Flush with nothing appended and no imports does
	// nothing.
	Flush(ctx context.Context, imports ...Import) error
	// Sync flushes, then makes every record stored so far visible to every
	// reader, each counted once (DuckDB rebuilds the rollups of the days
	// the writes touched).
	Sync(ctx context.Context) error

	// Discard drops every record appended since the last Flush: no
	// reader ever sees them, and no Flush stores them. Ingest discards a
	// file it refuses after reading it. Discard with nothing appended
	// does nothing.
	Discard(ctx context.Context) error

	// Imported reports whether a capture with this content key was
	// already imported, and how, with its spans ordered by sensor ID.
	// Imports are recorded by Flush, with the records they hold.
	Imported(ctx context.Context, key string) (Import, bool, error)
	// OverlappingImports returns the recorded imports that have a span
	// overlapping one of spans (the same sensor and a common instant),
	// each with those of its spans only, ordered by sensor ID; the
	// imports are ordered by import time, then key.
	OverlappingImports(ctx context.Context, spans []Span) ([]Import, error)

	// FlushBatches is Flush for the collector: it makes every record
	// appended so far durable together with the ledger entries of the
	// sensor batches that held them, in one transaction, so that after a
	// crash a batch is either stored and in the ledger or neither.
	FlushBatches(ctx context.Context, batches []Batch) error
	// BatchRanges returns the n highest runs of sequence numbers in the
	// ledger of a sensor's epoch, highest first (fewer when there are no
	// more).
	BatchRanges(ctx context.Context, sensor string, epoch uint64, n int) ([]SeqRange, error)
	// BatchStored reports whether the ledger holds b.
	BatchStored(ctx context.Context, b Batch) (bool, error)

	// PutHealth stores the latest health report of sensors, replacing the
	// previous one of each, at once (not at the next Flush). A report of a
	// sensor the store does not know fails with ErrUnknownSensor, and
	// stores nothing.
	PutHealth(ctx context.Context, reports []Health) error
	// Health returns the latest health report of every sensor that sent
	// one, ordered by sensor ID.
	Health(ctx context.Context) ([]Health, error)
}

// Health is a sensor's latest health report, as the collector stores it
// for the UI (the collector also exports it as Prometheus metrics).
type Health struct {
	SensorID int32  `json:"-"`
	Sensor   string `json:"sensor"` // filled in by Health
	// Received is when the collector received the report; Reported is the
	// sensor's own clock when it sent it.
	Received time.Time     `json:"received"`
	Reported time.Time     `json:"reported"`
	Version  string        `json:"version"`
	Uptime   time.Duration `json:"uptime_ns"`

	PacketsSeen     uint64 `json:"packets_seen"`     // frames the capture delivered
	PacketsIgnored  uint64 `json:"packets_ignored"`  // to addresses the sensor does not monitor
	PacketsExcluded uint64 `json:"packets_excluded"` // matched an exclusion
	PacketsSkipped  uint64 `json:"packets_skipped"`  // could not be decoded
	KernelDrops     uint64 `json:"kernel_drops"`     // dropped by the kernel before capture

	SpoolBatches   uint64 `json:"spool_batches"` // batches waiting for the collector's ack
	SpoolBytes     uint64 `json:"spool_bytes"`
	DroppedBatches uint64 `json:"dropped_batches"` // dropped because the spool was full
	DroppedRecords uint64 `json:"dropped_records"`
	// Lag is how long the oldest unacknowledged batch has waited.
	Lag time.Duration `json:"lag_ns"`
}

// Sensor is a sensor as stored, with the times of its first and last
// packets (zero when it has none yet).
type Sensor struct {
	fleet.Sensor
	ID                  int32
	FirstSeen, LastSeen time.Time
}

// Batch names a batch of records a sensor sent: its sequence number Seq
// within the Epoch of the sensor process that made it.
//
// The batch ledger holds, per sensor and epoch, the runs of sequence
// numbers stored, so its size follows the gaps in a sensor's sequence
// (lost or refused batches), not the number of batches. It may forget the
// runs whose records are all older than the retention horizon: Append
// refuses such a batch if it comes again (ErrPruned), so it is never
// counted twice.
type Batch struct {
	Sensor     string
	Epoch, Seq uint64
}

// SeqRange is a run of sequence numbers, First to Last inclusive.
type SeqRange struct{ First, Last uint64 }

// Import describes an imported capture file.
type Import struct {
	// Key identifies the content: ingest's is the SHA-256 of the
	// capture's decompressed bytes.
	Key      string    `json:"key"`
	Path     string    `json:"path"`
	Frames   uint64    `json:"frames"`
	Packets  uint64    `json:"packets"`
	Imported time.Time `json:"imported"`
	// Spans are the periods of the packets stored from the file, one per
	// sensor, by which a later file whose packets overlap them is found
	// (OverlappingImports). Imports recorded before spans existed (schema
	// 2 of the DuckDB store) have none.
	Spans []Span `json:"spans,omitempty"`
}

// Span is the period of one sensor's packets in an import: from the time
// of its first packet to that of its last, inclusive.
type Span struct {
	Sensor  int32     `json:"sensor"` // store ID
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Packets uint64    `json:"packets"`
}

// Overlaps reports whether s and o are of the same sensor and have an
// instant in common.
func (s Span) Overlaps(o Span) bool {
	return s.Sensor == o.Sensor && !s.First.After(o.Last) && !o.First.After(s.Last)
}
