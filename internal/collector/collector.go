// Package collector receives the sensors' batches and writes them to the
// store, exactly once.
//
// The collector tags every record again from the header fields the sensor
// sent, through the packet pipeline (internal/pipeline), so that a
// corrected fingerprint rule applies to every sensor's traffic when the
// collector is upgraded, without upgrading every remote sensor. The tags
// a sensor sends are kept for comparison only: records whose stateless
// tags the collector changed are counted per sensor
// (nightjar_collector_records_retagged_total), which shows the sensors
// that run other rules. The unicornscan state is per stream.
//
// Each sensor holds one Send stream (HTTP/2, mutual TLS). Its identity is
// the client certificate's, checked again on every message and every
// 500 ms: a message that names another sensor, or a revoked certificate,
// ends the stream. A sensor may be compromised, so what it sends is
// screened (screen.go): a batch that decompresses beyond its record count
// is refused before it is held in memory, records of an implausible time
// or to addresses the sensor is not enrolled for are dropped, a health
// report that cannot be true is refused — each counted against the sensor
// with a reason. Batches are decoded in the stream's goroutine, then
// queued to the single writer goroutine, which owns the store: it appends
// the batches of all sensors and commits them together (Flush) every
// CommitInterval or CommitRecords, with the batches' ledger keys in the same
// transaction, and acknowledges each batch only after that commit. A batch
// the ledger holds is acknowledged as a duplicate and not stored again, so
// a resend after a reconnect or a restart counts once; the ledger's memory
// is bounded whatever the history (ledger.go). The queue
// is bounded in records: when the store is slower than the sensors, stream
// goroutines stop reading, HTTP/2 flow control stops the sensors, and the
// batches wait in the sensors' spools instead of the collector's memory.
package collector

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/sync/semaphore"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// Store is what the collector needs of a store.Writer.
type Store interface {
	PutSensors(ctx context.Context, sensors []fleet.Sensor) ([]int32, error)
	Append(ctx context.Context, recs []record.Record, sensors []int32) error
	FlushBatches(ctx context.Context, batches []store.Batch) error
	Sync(ctx context.Context) error
	PutHealth(ctx context.Context, reports []store.Health) error
	LedgerStore
}

// Registry authenticates sensors and knows their details (pki.Registry).
type Registry interface {
	// SensorName returns the sensor named by a verified client
	// certificate, or an error if the certificate is revoked.
	SensorName(cert *x509.Certificate) (string, error)
	// Sensors returns the enrolled sensors.
	Sensors() []fleet.Sensor
}

// Config configures a Collector. Zero durations and sizes take the
// defaults given.
type Config struct {
	Store    Store        `yaml:"-"`
	Registry Registry     `yaml:"-"`
	Logger   *slog.Logger `yaml:"-"`

	// CommitInterval bounds how long a received batch waits for its
	// commit and acknowledgement (default 200 ms); CommitRecords commits
	// earlier once that many records wait (default 262,144).
	CommitInterval time.Duration `yaml:"commit_interval"`
	CommitRecords  int           `yaml:"commit_records"`
	// RollupInterval is how often the rollups the questions read are
	// rebuilt (Sync; default 30 s), and at shutdown.
	RollupInterval time.Duration `yaml:"rollup_interval"`
	// QueueRecords bounds the records decoded and waiting for the writer,
	// over all sensors (default 1,048,576; a decoded record takes 200
	// bytes): the backpressure limit. A stream takes its batch's room
	// before decoding it, so the decompressed bytes (at most 286 per
	// record, while it decodes) are inside the bound too.
	QueueRecords int `yaml:"queue_records"`
	// QueueBytes bounds the request bytes that all streams have received
	// and not yet decoded (default 128 MiB): a stream reserves a message's
	// size from its envelope prefix before reading it (wirebudget.go).
	// A reserved byte costs at most three in memory: connect's read
	// buffer grows by doubling, and the message is copied once.
	//
	// The collector's worst-case memory is therefore about
	//   3·QueueBytes + QueueRecords·(200 + 286) B
	//   + enrolled sensors · (1 MiB of HTTP/2 receive buffer + 64 KiB)
	//   + the store's own memory (DuckDB's memory_limit: the collector's
	//     db_memory_limit, by default 80 % of RAM)
	// with Go's garbage collector holding up to as much again of the Go
	// terms in garbage (GOGC=100). A sensor holds at most one stream: a
	// newer one ends it.
	QueueBytes int64 `yaml:"queue_bytes"`
	// MaxBatchRecords is the largest batch accepted (default 65,536; at
	// most wire.MaxBatchRecords). A larger one is refused before it is
	// decoded and counted as oversized: one batch is appended in one go,
	// so its size bounds how long it makes the other sensors' batches
	// wait for the writer. A sensor's default batch is 4,096 records.
	MaxBatchRecords int `yaml:"max_batch_records"`
	// Window is the most unacknowledged batches one stream may have
	// queued (default 32); a sensor that sends more waits.
	Window int `yaml:"window"`
	// MaxFutureSkew is how far ahead of the collector's clock a record's
	// time may be (default 24 h): a record stamped later, or before
	// 1990, is refused and counted against its sensor.
	MaxFutureSkew time.Duration `yaml:"max_future_skew"`
	// Now is the clock that stamps the sensors' health reports (time.Now
	// when nil): the demo runs at the instant of `nightjar --now`.
	Now func() time.Time `yaml:"-"`
	// Enrichers, when set, returns the enrich stage of one stream's
	// pipeline (internal/enrich: the records' origins): it runs after the
	// collector's tagging, as the records are received. nightjar
	// collector's takes 0.6 MiB per stream, measured full (a cache of
	// 4,096 sources and as many decoded database records), a term of the
	// memory formula above.
	Enrichers func() []pipeline.Enricher `yaml:"-"`
}

// DefaultConfig returns the defaults of the tunable fields (a zero field
// takes its default too).
func DefaultConfig() Config {
	var c Config
	c.defaults()
	c.Logger, c.Now = nil, nil
	return c
}

// Check refuses negative settings (zero means the default).
func (c Config) Check() error {
	switch {
	case c.CommitInterval < 0 || c.RollupInterval < 0 || c.MaxFutureSkew < 0:
		return fmt.Errorf("commit_interval %v, rollup_interval %v and max_future_skew %v must not be negative", c.CommitInterval, c.RollupInterval, c.MaxFutureSkew)
	case c.CommitRecords < 0 || c.QueueRecords < 0 || c.QueueBytes < 0 || c.Window < 0:
		return fmt.Errorf("commit_records %d, queue_records %d, queue_bytes %d and window %d must not be negative", c.CommitRecords, c.QueueRecords, c.QueueBytes, c.Window)
	case c.MaxBatchRecords < 0 || c.MaxBatchRecords > wire.MaxBatchRecords:
		return fmt.Errorf("max_batch_records %d: want 1 to %d (0: the default)", c.MaxBatchRecords, wire.MaxBatchRecords)
	}
	return nil
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = 200 * time.Millisecond
	}
	if c.CommitRecords <= 0 {
		c.CommitRecords = 1 << 18
	}
	if c.RollupInterval <= 0 {
		c.RollupInterval = 30 * time.Second
	}
	if c.QueueRecords <= 0 {
		c.QueueRecords = 1 << 20
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 128 << 20
	}
	if c.MaxBatchRecords <= 0 {
		c.MaxBatchRecords = 1 << 16
	}
	if c.Window <= 0 {
		c.Window = 32
	}
	if c.MaxFutureSkew <= 0 {
		c.MaxFutureSkew = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Collector serves the sensor protocol. Create it with New, serve
// Handler over TLS (pki's server configuration), and run Run.
type Collector struct {
	cfg    Config
	log    *slog.Logger
	jobs   chan job
	queue  *semaphore.Weighted
	queued atomic.Int64 // records holding a place in queue
	wire   *wireBudget
	health *healthBook
	// streams holds the open stream of each sensor: a newer one ends it.
	streamsMu sync.Mutex
	streams   map[string]*stream
	penalties *penalties
	stats     *stats
}

var _ sensorv1connect.CollectorServiceHandler = (*Collector)(nil)

// New returns a collector; Run must run for it to store anything.
func New(cfg Config) (*Collector, error) {
	if cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("collector: a store and a registry are required")
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	cfg.defaults()
	return &Collector{
		cfg:       cfg,
		log:       cfg.Logger,
		jobs:      make(chan job, 64),
		queue:     semaphore.NewWeighted(int64(cfg.QueueRecords)),
		wire:      newWireBudget(cfg.QueueBytes),
		health:    newHealthBook(),
		streams:   map[string]*stream{},
		penalties: newPenalties(),
		stats:     newStats(),
	}, nil
}

// weight is a batch's place in the queue: its records, at most the
// stream's share (which is at most the queue).
func (s *stream) weight(count uint32) int64 { return min(int64(max(count, 1)), s.shareMax) }

// acquire waits for room for a batch of weight n in the stream's share of
// the queue, then in the queue: this is where a slow store pushes back on
// the sensors. The share (a quarter of the queue) keeps one busy or
// hostile sensor from taking all of it, so that the others' batches do
// not wait behind its backlog.
func (s *stream) acquire(ctx context.Context, n int64) error {
	if err := s.share.Acquire(ctx, n); err != nil {
		return err
	}
	if err := s.c.queue.Acquire(ctx, n); err != nil {
		s.share.Release(n)
		return err
	}
	s.c.queued.Add(n)
	return nil
}

func (s *stream) release(n int64) {
	s.share.Release(n)
	s.c.queued.Add(-n)
	s.c.queue.Release(n)
}

// QueuedRecords returns the records decoded and waiting for the writer
// (at most Config.QueueRecords).
func (c *Collector) QueuedRecords() int64 { return c.queued.Load() }

// QueuedBytes returns the request bytes received and not yet decoded (at
// most Config.QueueBytes).
func (c *Collector) QueuedBytes() int64 { return c.wire.held.Load() }

// peerKey carries the verified client certificate from the HTTP layer to
// the stream handler.
type peerKey struct{}

// meterKey carries the stream's request body, read through the wire
// budget, to the stream handler.
type meterKey struct{}

// Handler returns the path and handler of the sensor protocol. It must be
// served over TLS with verified client certificates; a request without one
// is refused and logged.
func (c *Collector) Handler() (string, http.Handler) {
	// No envelope compression: the records are zstd-compressed already,
	// and a gzip'd message would cost up to maxMessageBytes while the
	// budget saw only its compressed size.
	path, h := sensorv1connect.NewCollectorServiceHandler(c, connect.WithReadMaxBytes(maxMessageBytes),
		connect.WithCompression("gzip", nil, nil))
	return path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			c.reject("no verified client certificate", "", r.RemoteAddr)
			http.Error(w, "a client certificate is required", http.StatusUnauthorized)
			return
		}
		m := c.wire.meter(r.Context(), r.Body)
		r.Body = m
		ctx := context.WithValue(r.Context(), peerKey{}, r.TLS.PeerCertificates[0])
		h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, meterKey{}, m)))
	})
}

// maxMessageBytes bounds one request: a batch of wire.MaxBatchRecords
// compressed records stays well below it.
const maxMessageBytes = 64 << 20

func (c *Collector) reject(reason, sensor, addr string) {
	c.stats.rejected.WithLabelValues(reason).Inc()
	c.log.Warn("sensor rejected", "reason", reason, "sensor", sensor, "addr", addr)
}

// job is a unit of the writer's work: a batch to store, or a sensor to
// register.
type job struct {
	batch    *batchJob
	register *registerJob
}

type batchJob struct {
	stream  *stream
	id      int32
	key     store.Batch
	records []record.Record
	// weight is the batch's place in the queue, taken before decoding.
	weight int64
	// received is when the stream began to handle the batch.
	received time.Time
}

type registerJob struct {
	name  string
	reply chan registerResult
}

type registerResult struct {
	id  int32
	err error
}

// Send implements the sensor protocol's stream.
func (c *Collector) Send(ctx context.Context, bidi *connect.BidiStream[sensorv1.SendRequest, sensorv1.SendResponse]) error {
	cert, _ := ctx.Value(peerKey{}).(*x509.Certificate)
	if cert == nil {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("no client certificate"))
	}
	addr := bidi.Peer().Addr
	name, err := c.cfg.Registry.SensorName(cert)
	if err != nil {
		c.reject("certificate refused", cert.Subject.CommonName, addr)
		return connect.NewError(connect.CodePermissionDenied, err)
	}
	id, err := c.register(ctx, name)
	if err != nil {
		c.reject("not enrolled", name, addr)
		return connect.NewError(connect.CodePermissionDenied, err)
	}
	s := newStream(c, name, id, cert, addr, bidi)
	s.screen = screen{prefixes: c.prefixesOf(name), maxFuture: c.cfg.MaxFutureSkew}
	if m, ok := ctx.Value(meterKey{}).(*meter); ok {
		s.meter = m
		defer m.close()
	}
	c.log.Info("sensor connected", "sensor", name, "addr", addr)
	defer c.open(s)()
	err = s.run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		// The one place a stream's failure is logged (a store failure
		// included: the writer hands it to the streams it fails).
		c.log.Warn("sensor disconnected", "sensor", name, "addr", addr, "reason", err)
	} else {
		c.log.Info("sensor disconnected", "sensor", name, "addr", addr)
	}
	return err
}

// errReplaced ends a sensor's stream when the sensor opens another.
var errReplaced = errors.New("the sensor opened a newer stream")

// open makes s its sensor's one stream, ending an older one: a sensor
// sends on one stream, and one that reconnects leaves the old behind, so
// the newest wins. This bounds what a compromised sensor can hold open
// to one stream. It returns the deregistration.
func (c *Collector) open(s *stream) (closed func()) {
	c.streamsMu.Lock()
	old := c.streams[s.sensor]
	c.streams[s.sensor] = s
	c.streamsMu.Unlock()
	if old != nil {
		c.stats.replaced.WithLabelValues(s.sensor).Inc()
		c.log.Warn("sensor stream replaced by a newer one", "sensor", s.sensor, "addr", old.addr, "new_addr", s.addr)
		old.fail(errReplaced)
	}
	return func() {
		c.streamsMu.Lock()
		defer c.streamsMu.Unlock()
		if c.streams[s.sensor] == s {
			delete(c.streams, s.sensor)
		}
	}
}

// prefixesOf returns the addresses the registry has enrolled for the
// sensor name.
func (c *Collector) prefixesOf(name string) []netip.Prefix {
	for _, s := range c.cfg.Registry.Sensors() {
		if s.Name == name {
			return s.Prefixes()
		}
	}
	return nil
}

// register returns the store ID of an enrolled sensor, adding it to the
// store on its first connection.
func (c *Collector) register(ctx context.Context, name string) (int32, error) {
	reply := make(chan registerResult, 1)
	select {
	case c.jobs <- job{register: &registerJob{name: name, reply: reply}}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-reply:
		return r.id, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stream is one sensor's open Send stream.
type stream struct {
	c      *Collector
	sensor string
	id     int32
	cert   *x509.Certificate
	addr   string
	bidi   *connect.BidiStream[sensorv1.SendRequest, sensorv1.SendResponse]
	// acks has room for every batch the stream may have in the writer, so
	// the writer never waits for a slow sensor.
	acks chan *sensorv1.Ack
	// window limits the stream's batches in the writer; share, the
	// records they hold (at most shareMax).
	window   chan struct{}
	share    *semaphore.Weighted
	shareMax int64
	// retag applies the collector's fingerprint rules to the records.
	retag *retagger
	// screen refuses the records the sensor cannot have captured.
	screen screen
	// meter is the stream's request body, whose messages hold room in
	// the wire budget until they are decoded (nil in tests that call the
	// handler without the HTTP layer).
	meter *meter
	// failed ends the stream when the writer lost its batches.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error
}

func newStream(c *Collector, name string, id int32, cert *x509.Certificate, addr string, bidi *connect.BidiStream[sensorv1.SendRequest, sensorv1.SendResponse]) *stream {
	return &stream{
		c: c, sensor: name, id: id, cert: cert, addr: addr, bidi: bidi,
		acks:     make(chan *sensorv1.Ack, c.cfg.Window),
		window:   make(chan struct{}, c.cfg.Window),
		share:    semaphore.NewWeighted(streamShare(c.cfg)),
		shareMax: streamShare(c.cfg),
		retag:    newRetagger(c.cfg.Enrichers),
		failed:   make(chan struct{}),
	}
}

// streamShare is the most records one stream may hold in the queue: a
// quarter of it, and at least one batch of the largest size accepted.
func streamShare(cfg Config) int64 {
	return int64(min(max(cfg.QueueRecords/4, cfg.MaxBatchRecords), cfg.QueueRecords))
}

// ack is called by the writer (or the stream itself) when a batch is
// settled; it frees the batch's place in the window.
func (s *stream) ack(a *sensorv1.Ack) {
	s.acks <- a
}

// fail ends the stream with err: the sensor reconnects and sends its
// unacknowledged batches again.
func (s *stream) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

func (s *stream) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	// Acks go out from their own goroutine: Send and Receive of a
	// BidiStream may run concurrently, one goroutine each. It must be done
	// before the handler returns and connect ends the stream.
	sendErr := make(chan error, 1)
	sending := make(chan struct{})
	defer func() { cancel(); <-sending }()
	go func() {
		defer close(sending)
		for {
			select {
			case a := <-s.acks:
				<-s.window
				if err := s.bidi.Send(&sensorv1.SendResponse{Ack: a}); err != nil {
					sendErr <- err
					return
				}
			case <-ctx.Done():
				sendErr <- nil
				return
			}
		}
	}()
	type received struct {
		req *sensorv1.SendRequest
		err error
	}
	reqs := make(chan received)
	go func() {
		for {
			req, err := s.bidi.Receive()
			select {
			case reqs <- received{req, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// An idle stream sends nothing for a heartbeat: its certificate is
	// checked on a clock too, so that a revocation ends it within a
	// second, as promised, not at its next message.
	recheck := time.NewTicker(revocationCheck)
	defer recheck.Stop()
	for {
		var r received
		select {
		case r = <-reqs:
		case <-recheck.C:
			if err := s.checkCertificate(); err != nil {
				return err
			}
			continue
		case <-s.failed:
			return connect.NewError(connect.CodeUnavailable, s.failErr)
		case err := <-sendErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			if errors.Is(r.err, context.Canceled) || connect.CodeOf(r.err) == connect.CodeCanceled {
				return nil
			}
			return r.err
		}
		err := s.handle(ctx, r.req)
		if s.meter != nil {
			s.meter.done() // the message is decoded or refused
		}
		if err != nil {
			return err
		}
	}
}

// revocationCheck is how often an open stream's certificate is checked
// against the registry between messages (the registry reloads itself
// every pki.ReloadInterval).
const revocationCheck = 500 * time.Millisecond

// refuse acknowledges b as rejected, counted against the sensor with
// reason, and pauses the sensor (penalty.go).
func (s *stream) refuse(b *sensorv1.Batch, reason string, err error) {
	s.c.penalties.refused(s.sensor, time.Now())
	s.c.stats.settled.WithLabelValues("rejected").Inc()
	s.c.stats.batchesRejected.WithLabelValues(s.sensor, reason).Inc()
	s.c.log.Warn("batch rejected", "sensor", s.sensor, "epoch", b.GetEpoch(), "seq", b.GetSeq(), "reason", reason, "err", err)
	s.ack(&sensorv1.Ack{Epoch: b.GetEpoch(), Seq: b.GetSeq(), Status: sensorv1.Status_STATUS_REJECTED, Message: err.Error()})
}

// checkCertificate ends the stream if its certificate is no longer good.
func (s *stream) checkCertificate() error {
	if _, err := s.c.cfg.Registry.SensorName(s.cert); err != nil {
		s.c.reject("certificate revoked", s.sensor, s.addr)
		return connect.NewError(connect.CodePermissionDenied, err)
	}
	return nil
}

// handle checks and queues one request.
func (s *stream) handle(ctx context.Context, req *sensorv1.SendRequest) error {
	// The certificate is checked on every message too, so a revocation
	// stops a busy sensor at its next message.
	if err := s.checkCertificate(); err != nil {
		return err
	}
	if req.GetSensor() != s.sensor {
		s.c.reject("message names another sensor", s.sensor, s.addr)
		return connect.NewError(connect.CodePermissionDenied,
			fmt.Errorf("certificate is for sensor %q, message says %q", s.sensor, req.GetSensor()))
	}
	now := s.c.cfg.Now()
	if err := s.c.health.seen(s.id, s.sensor, now, req.GetHealth()); err != nil {
		s.c.stats.healthRejected.WithLabelValues(s.sensor, "out_of_range").Inc()
		s.c.log.Warn("health report refused", "sensor", s.sensor, "err", err)
	}
	b := req.GetBatch()
	if b == nil {
		return nil
	}
	received := time.Now()
	s.c.stats.batches.Inc()
	if err := s.c.penalties.wait(ctx, s.sensor); err != nil {
		return err
	}
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := b.GetCount(); n > uint32(s.c.cfg.MaxBatchRecords) {
		s.refuse(b, "too_large", fmt.Errorf("batch of %d records: this collector accepts at most %d (max_batch_records)", n, s.c.cfg.MaxBatchRecords))
		return nil
	}
	// The queue's room is taken for the records the batch claims before
	// they are decoded, so that decoded records are always inside the
	// queue bound, however many streams decode at once (wire bounds the
	// decompressed bytes by the same count).
	weight := s.weight(b.GetCount())
	if err := s.acquire(ctx, weight); err != nil {
		return err
	}
	recs, err := wire.DecodeRecords(b, nil)
	if err != nil {
		s.release(weight)
		reason := "corrupt"
		if errors.Is(err, wire.ErrOversized) {
			reason = "oversized"
		}
		s.refuse(b, reason, err)
		return nil
	}
	recs, refused := s.screen.filter(recs, now)
	for reason, n := range refused {
		s.c.stats.recordsRejected.WithLabelValues(s.sensor, reason).Add(float64(n))
	}
	if len(refused) > 0 {
		s.c.log.Warn("records refused", "sensor", s.sensor, "epoch", b.GetEpoch(), "seq", b.GetSeq(), "refused", refused)
	}
	if changed := s.retag.retag(recs); changed > 0 {
		s.c.stats.retagged.WithLabelValues(s.sensor).Add(float64(changed))
	}
	j := &batchJob{stream: s, id: s.id, key: store.Batch{Sensor: s.sensor, Epoch: b.GetEpoch(), Seq: b.GetSeq()}, records: recs, weight: weight, received: received}
	select {
	case s.c.jobs <- job{batch: j}:
		return nil
	case <-ctx.Done():
		s.release(weight)
		return ctx.Err()
	}
}
