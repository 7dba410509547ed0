package sensor

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/metrics"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/sensor/spool"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// Options are what a Sensor takes besides its configuration.
type Options struct {
	Logger  *slog.Logger
	Version string
	// DrainTimeout is how long Run keeps sending the spool after ctx is
	// done (default 5s); what is not acknowledged by then stays spooled
	// for the next start.
	DrainTimeout time.Duration
	// Now is the clock that stamps replayed frames (time.Now when nil):
	// the demo's sensors run at the instant of `nightjar --now`. Health
	// reports, timers and certificates keep the wall clock.
	Now func() time.Time
}

// Sensor is a running sensor daemon.
type Sensor struct {
	cfg          *Config
	opts         Options
	log          *slog.Logger
	started      time.Time
	counts       counters
	spool        *spool.Spool
	sender       *sender
	seq          atomic.Uint64
	sources      []Source
	closeSources func() error

	kernelMu sync.Mutex
	kernel   KernelStats // last read, summed over the sources

	// What reportDrops last said, and when.
	droppedReported uint64
	dropsReportedAt time.Time
}

// New checks the configuration's certificate, opens the spool and the
// capture, and returns a sensor ready to Run.
func New(cfg *Config, opts Options) (*Sensor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if err := checkCertificateName(cfg.Collector.Cert, cfg.Name); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(cfg.Collector.Address)
	if err != nil {
		return nil, fmt.Errorf("collector.address %q: %w", cfg.Collector.Address, err)
	}
	serverName := cfg.Collector.ServerName
	if serverName == "" {
		serverName = host
	}
	tlsConfig, err := pki.ClientTLS(cfg.Collector.Cert, cfg.Collector.Key, cfg.Collector.CA, serverName)
	if err != nil {
		return nil, err
	}
	sync := spool.SyncAlways
	if cfg.Spool.Sync == "never" {
		sync = spool.SyncNever
	}
	sp, err := spool.Open(cfg.Spool.Dir, spool.Options{MaxBytes: cfg.Spool.maxBytes, Sync: sync, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	s := &Sensor{cfg: cfg, opts: opts, log: opts.Logger, started: time.Now(), spool: sp}
	if st := sp.Stats(); st.Batches > 0 {
		s.log.Info("batches left by a previous run will be sent first", "batches", st.Batches, "bytes", st.Bytes)
	}
	s.sources, s.closeSources, err = openSources(cfg, opts.Now)
	if err != nil {
		sp.Close()
		return nil, err
	}
	s.sender = &sender{
		name:      cfg.Name,
		client:    sensorv1connect.NewCollectorServiceClient(newHTTPClient(tlsConfig), "https://"+cfg.Collector.Address),
		spool:     sp,
		window:    cfg.Collector.Window,
		heartbeat: cfg.Heartbeat,
		health:    s.health,
		log:       s.log.With("collector", cfg.Collector.Address),
	}
	return s, nil
}

// checkCertificateName makes sure the certificate is the sensor's own: the
// collector would otherwise refuse every batch, abroad, unattended.
func checkCertificateName(certFile, name string) error {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("read sensor certificate: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("sensor certificate %s: no PEM block", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("sensor certificate %s: %w", certFile, err)
	}
	if cert.Subject.CommonName != name {
		return fmt.Errorf("sensor certificate %s is for sensor %q, but the configuration's name is %q", certFile, cert.Subject.CommonName, name)
	}
	if time.Now().After(cert.NotAfter) {
		return fmt.Errorf("sensor certificate %s expired on %s; enroll the sensor again", certFile, cert.NotAfter.Format(time.DateOnly))
	}
	return nil
}

// Run captures and sends until ctx is done or a replayed file ends, then
// closes the open batches into the spool, sends what it can within the
// drain timeout, and returns.
func (s *Sensor) Run(ctx context.Context) error {
	defer s.spool.Close()
	var metrics *http.Server
	if s.cfg.Metrics != "off" {
		var err error
		if metrics, err = s.serveMetrics(); err != nil {
			return err
		}
		defer metrics.Close()
	}
	epoch := rand.Uint64()
	s.log.Info("sensor started", "name", s.cfg.Name, "epoch", fmt.Sprintf("%016x", epoch), "sockets", len(s.sources))

	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSending()
	sent := make(chan struct{})
	go func() { defer close(sent); s.sender.run(sendCtx) }()

	// One matcher for every pipeline: lookups only read it.
	monitor, err := monitorMatcher(s.cfg.monitor)
	if err != nil {
		return err
	}
	batchers := make([]*batcher, len(s.sources))
	pipelines := make([]*socketPipeline, len(s.sources))
	for i := range s.sources {
		batchers[i] = &batcher{size: s.cfg.Batch.Records, latency: s.cfg.Batch.Latency, epoch: epoch, seq: &s.seq,
			spool: s.spool, counts: &s.counts, log: s.log}
		if pipelines[i], err = newSocketPipeline(&s.counts, monitor, s.cfg.exclude, batchers[i]); err != nil {
			return err
		}
	}
	captureErr := make(chan error, len(s.sources))
	var wg sync.WaitGroup
	for i, src := range s.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			captureErr <- s.capture(ctx, src, pipelines[i])
		}()
	}
	// Close batches that have waited their latency, and read the kernel's
	// counters, while capturing.
	ticker := time.NewTicker(min(s.cfg.Batch.Latency/4+time.Millisecond, time.Second))
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var firstErr error
loop:
	for {
		select {
		case now := <-ticker.C:
			for _, b := range batchers {
				b.flushIfDue(now, false)
			}
			s.readKernelStats()
			s.reportDrops(now, false)
		case err := <-captureErr:
			if err != nil && !errors.Is(err, io.EOF) && firstErr == nil && ctx.Err() == nil {
				firstErr = err
			}
		case <-done:
			break loop
		}
	}
	ticker.Stop()
	for _, b := range batchers {
		b.flushIfDue(time.Now(), true)
	}
	s.readKernelStats()
	s.closeSources()
	s.drain(sent)
	s.reportDrops(time.Now(), true)
	stopSending()
	<-sent
	st := s.spool.Stats()
	s.log.Info("sensor stopped", "packets", s.counts.seen.Load(), "records", s.counts.records.Load(),
		"spooled_batches_left", st.Batches, "kernel_drops", s.kernelStats().Drops)
	return firstErr
}

// capture reads one source until it ends or ctx is done.
func (s *Sensor) capture(ctx context.Context, src Source, p *socketPipeline) error {
	for {
		f, err := src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := p.frame(f.Time, f.Link, f.Data); err != nil {
			return err
		}
	}
}

// drain waits until the spool is empty, the sender stopped, or the drain
// timeout passed.
func (s *Sensor) drain(sent <-chan struct{}) {
	deadline := time.After(s.opts.DrainTimeout)
	for s.spool.Stats().Batches > 0 {
		select {
		case <-deadline:
			s.log.Warn("stopping with batches not yet acknowledged; they are sent at the next start", "batches", s.spool.Stats().Batches)
			return
		case <-sent:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// reportDrops logs, at most every 10 seconds unless forced, the records the full spool
// dropped since it last did: a sensor cut off from its collector for too
// long says so in its log as in its health report.
func (s *Sensor) reportDrops(now time.Time, force bool) {
	st := s.spool.Stats()
	if st.DroppedRecords == s.droppedReported || !force && now.Sub(s.dropsReportedAt) < 10*time.Second {
		return
	}
	s.log.Warn("spool full: dropped the oldest batches", "records", st.DroppedRecords-s.droppedReported,
		"total_dropped_records", st.DroppedRecords, "spool_bytes", st.Bytes)
	s.droppedReported, s.dropsReportedAt = st.DroppedRecords, now
}

func (s *Sensor) readKernelStats() {
	var sum KernelStats
	for _, src := range s.sources {
		k, err := src.Stats()
		if err != nil {
			continue
		}
		sum.Packets += k.Packets
		sum.Drops += k.Drops
	}
	s.kernelMu.Lock()
	s.kernel = sum
	s.kernelMu.Unlock()
}

func (s *Sensor) kernelStats() KernelStats {
	s.kernelMu.Lock()
	defer s.kernelMu.Unlock()
	return s.kernel
}

// health is the report sent with every batch and heartbeat.
func (s *Sensor) health() *sensorv1.Health {
	st := s.spool.Stats()
	k := s.kernelStats()
	now := time.Now()
	return &sensorv1.Health{
		Version:         s.opts.Version,
		UptimeNs:        int64(now.Sub(s.started)),
		ReportedNs:      now.UnixNano(),
		PacketsSeen:     s.counts.seen.Load(),
		PacketsIgnored:  s.counts.ignored.Load(),
		PacketsExcluded: s.counts.excluded.Load(),
		PacketsSkipped:  s.counts.skipped.Load(),
		KernelPackets:   k.Packets,
		KernelDrops:     k.Drops,
		SpoolBatches:    uint64(st.Batches),
		SpoolBytes:      uint64(st.Bytes),
		DroppedBatches:  st.DroppedBatches + s.counts.lostBatches.Load(),
		DroppedRecords:  st.DroppedRecords + s.counts.lostRecords.Load(),
		OldestUnackedNs: st.OldestNs,
	}
}

// serveMetrics starts the Prometheus endpoint.
func (s *Sensor) serveMetrics() (*http.Server, error) {
	var cs []prometheus.Collector
	counter := func(name, help string, v func() uint64, labels prometheus.Labels) {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v()) }))
	}
	gauge := func(name, help string, v func() float64) {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, v))
	}
	packets := "Packets the sensor handled, by outcome: seen (all), ignored (not to a monitored address), excluded, skipped (not decodable)."
	counter("nightjar_sensor_packets_total", packets, s.counts.seen.Load, prometheus.Labels{"outcome": "seen"})
	counter("nightjar_sensor_packets_total", packets, s.counts.ignored.Load, prometheus.Labels{"outcome": "ignored"})
	counter("nightjar_sensor_packets_total", packets, s.counts.excluded.Load, prometheus.Labels{"outcome": "excluded"})
	counter("nightjar_sensor_packets_total", packets, s.counts.skipped.Load, prometheus.Labels{"outcome": "skipped"})
	counter("nightjar_sensor_records_spooled_total", "Records closed into spooled batches.", s.counts.records.Load, nil)
	counter("nightjar_sensor_kernel_drops_total", "Packets the kernel dropped before the sensor read them.",
		func() uint64 { return s.kernelStats().Drops }, nil)
	counter("nightjar_sensor_batches_acked_total", "Batches the collector acknowledged as stored.", s.sender.acked.Load, nil)
	counter("nightjar_sensor_batches_duplicate_total", "Batches the collector had stored before (sent again after a reconnect).", s.sender.duplicates.Load, nil)
	counter("nightjar_sensor_batches_rejected_total", "Batches the collector rejected (dropped).", s.sender.rejected.Load, nil)
	counter("nightjar_sensor_reconnects_total", "Streams to the collector that broke and were reopened.", s.sender.reconnects.Load, nil)
	counter("nightjar_sensor_dropped_records_total", "Records dropped because the spool was full or refused them.",
		func() uint64 { return s.spool.Stats().DroppedRecords + s.counts.lostRecords.Load() }, nil)
	gauge("nightjar_sensor_spool_batches", "Batches waiting for the collector's acknowledgement.",
		func() float64 { return float64(s.spool.Stats().Batches) })
	gauge("nightjar_sensor_spool_bytes", "Bytes in the spool.", func() float64 { return float64(s.spool.Stats().Bytes) })
	gauge("nightjar_sensor_connected", "1 while a stream to the collector is open.", func() float64 {
		if s.sender.connected.Load() {
			return 1
		}
		return 0
	})
	srv, addr, err := metrics.Serve(s.cfg.Metrics, cs...)
	if err != nil {
		return nil, err
	}
	s.log.Info("metrics endpoint", "url", "http://"+addr.String()+"/metrics")
	return srv, nil
}

// Close releases what New opened, for a sensor that will not Run.
func (s *Sensor) Close() error {
	s.closeSources()
	return s.spool.Close()
}
