package collector

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// healthBook keeps the latest health of every connected sensor: the
// writer stores what changed, the metrics endpoint reads all of it.
type healthBook struct {
	mu      sync.Mutex
	reports map[int32]*store.Health
	changes map[int32]bool
}

func newHealthBook() *healthBook {
	return &healthBook{reports: map[int32]*store.Health{}, changes: map[int32]bool{}}
}

// seen notes a message from a sensor at now, with its health report if
// it carried one. A report that fails checkHealth is refused: the sensor
// keeps its previous report, and its last-seen time moves on.
func (b *healthBook) seen(id int32, name string, now time.Time, h *sensorv1.Health) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.reports[id]
	if r == nil {
		r = &store.Health{SensorID: id, Sensor: name}
		b.reports[id] = r
	}
	r.Received = now.UTC()
	b.changes[id] = true
	if h == nil {
		return nil
	}
	if err := checkHealth(h); err != nil {
		return err
	}
	r.Reported = time.Unix(0, h.GetReportedNs()).UTC()
	r.Version = h.GetVersion()
	r.Uptime = time.Duration(h.GetUptimeNs())
	r.PacketsSeen, r.PacketsIgnored = h.GetPacketsSeen(), h.GetPacketsIgnored()
	r.PacketsExcluded, r.PacketsSkipped = h.GetPacketsExcluded(), h.GetPacketsSkipped()
	r.KernelDrops = h.GetKernelDrops()
	r.SpoolBatches, r.SpoolBytes = h.GetSpoolBatches(), h.GetSpoolBytes()
	r.DroppedBatches, r.DroppedRecords = h.GetDroppedBatches(), h.GetDroppedRecords()
	r.Lag = 0
	if o := h.GetOldestUnackedNs(); o > 0 && h.GetReportedNs() > o {
		// On the sensor's clock, so that clock skew does not count.
		r.Lag = time.Duration(h.GetReportedNs() - o)
	}
	return nil
}

// changed returns the reports changed since the last call.
func (b *healthBook) changed() []store.Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]store.Health, 0, len(b.changes))
	for id := range b.changes {
		out = append(out, *b.reports[id])
	}
	clear(b.changes)
	sort.Slice(out, func(i, j int) bool { return out[i].SensorID < out[j].SensorID })
	return out
}

func (b *healthBook) all() []store.Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]store.Health, 0, len(b.reports))
	for _, r := range b.reports {
		out = append(out, *r)
	}
	return out
}

// stats are the collector's own metrics.
type stats struct {
	batches       prometheus.Counter
	settled       *prometheus.CounterVec
	stored        prometheus.Counter
	rejected      *prometheus.CounterVec
	retagged      *prometheus.CounterVec
	commitSeconds prometheus.Histogram
	ackSeconds    prometheus.Histogram
	// Refusals of what a sensor sent, by sensor and reason.
	batchesRejected *prometheus.CounterVec
	recordsRejected *prometheus.CounterVec
	healthRejected  *prometheus.CounterVec
	replaced        *prometheus.CounterVec
}

func newStats() *stats {
	return &stats{
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nightjar_collector_batches_received_total", Help: "Batches received from sensors, duplicates included."}),
		settled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_batches_settled_total", Help: "Batches acknowledged, by outcome (stored, duplicate, rejected)."}, []string{"status"}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nightjar_collector_records_stored_total", Help: "Records durably stored."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_rejected_total", Help: "Connections and streams refused, by reason."}, []string{"reason"}),
		retagged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_records_retagged_total",
			Help: "Records whose stateless fingerprint tags from the sensor differ from the collector's rules, by sensor."}, []string{"sensor"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nightjar_collector_ack_seconds", Help: "Time from a batch's receipt to its acknowledgement (stored or duplicate): queue, append, commit.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nightjar_collector_commit_seconds", Help: "Time to make a group of batches durable.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		batchesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_batches_rejected_total",
			Help: "Batches refused whole, by sensor and reason (corrupt; oversized: decompresses beyond its record count; too_large: more records than max_batch_records)."}, []string{"sensor", "reason"}),
		recordsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_records_rejected_total",
			Help: "Records refused from stored batches, by sensor and reason (time outside the plausible window, destination not enrolled for the sensor)."}, []string{"sensor", "reason"}),
		healthRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_health_rejected_total",
			Help: "Health reports refused (or failed to store alone), by sensor and reason."}, []string{"sensor", "reason"}),
		replaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_collector_streams_replaced_total",
			Help: "Streams ended because their sensor opened a newer one, by sensor (more than reconnections explain: two processes share a certificate)."}, []string{"sensor"}),
	}
}

// Metrics returns the collector's metrics and every sensor's latest
// health, for a Prometheus registry.
func (c *Collector) Metrics() []prometheus.Collector {
	s := c.stats
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nightjar_collector_queue_records",
		Help: "Records received and waiting for the store (bounded by the queue size: the backpressure point)."},
		func() float64 { return float64(c.QueuedRecords()) })
	queuedBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nightjar_collector_queue_bytes",
		Help: "Request bytes received and not yet decoded (bounded by queue_bytes)."},
		func() float64 { return float64(c.QueuedBytes()) })
	return []prometheus.Collector{s.batches, s.settled, s.stored, s.rejected, s.retagged, s.commitSeconds, s.ackSeconds, s.batchesRejected, s.recordsRejected, s.healthRejected, s.replaced,
		queued, queuedBytes, healthMetrics{c.health}}
}

// healthMetrics exports the health book at each scrape, so a sensor that
// is gone keeps its last values and its last-seen time tells how long.
type healthMetrics struct{ book *healthBook }

var (
	labels       = []string{"sensor"}
	descLastSeen = prometheus.NewDesc("nightjar_sensor_last_seen_timestamp_seconds", "When the collector last heard from the sensor.", labels, nil)
	descLag      = prometheus.NewDesc("nightjar_sensor_lag_seconds", "Age of the sensor's oldest unacknowledged batch.", labels, nil)
	descUptime   = prometheus.NewDesc("nightjar_sensor_uptime_seconds", "Sensor process uptime.", labels, nil)
	descInfo     = prometheus.NewDesc("nightjar_sensor_info", "Sensor version.", []string{"sensor", "version"}, nil)
	descPackets  = prometheus.NewDesc("nightjar_sensor_packets_total", "Packets the sensor handled, by outcome.", []string{"sensor", "outcome"}, nil)
	descDrops    = prometheus.NewDesc("nightjar_sensor_kernel_drops_total", "Packets the kernel dropped before the sensor read them.", labels, nil)
	descSpoolB   = prometheus.NewDesc("nightjar_sensor_spool_batches", "Batches in the sensor's spool, waiting for an ack.", labels, nil)
	descSpoolSz  = prometheus.NewDesc("nightjar_sensor_spool_bytes", "Bytes in the sensor's spool.", labels, nil)
	descDropped  = prometheus.NewDesc("nightjar_sensor_spool_dropped_records_total", "Records the sensor dropped because its spool was full.", labels, nil)
)

func (healthMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastSeen, descLag, descUptime, descInfo, descPackets, descDrops, descSpoolB, descSpoolSz, descDropped} {
		ch <- d
	}
}

func (m healthMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, h := range m.book.all() {
		g := func(d *prometheus.Desc, t prometheus.ValueType, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, t, v, append([]string{h.Sensor}, extra...)...)
		}
		g(descLastSeen, prometheus.GaugeValue, float64(h.Received.UnixNano())/1e9)
		g(descLag, prometheus.GaugeValue, h.Lag.Seconds())
		g(descUptime, prometheus.GaugeValue, h.Uptime.Seconds())
		g(descInfo, prometheus.GaugeValue, 1, h.Version)
		g(descPackets, prometheus.CounterValue, float64(h.PacketsSeen), "seen")
		g(descPackets, prometheus.CounterValue, float64(h.PacketsIgnored), "ignored")
		g(descPackets, prometheus.CounterValue, float64(h.PacketsExcluded), "excluded")
		g(descPackets, prometheus.CounterValue, float64(h.PacketsSkipped), "skipped")
		g(descDrops, prometheus.CounterValue, float64(h.KernelDrops))
		g(descSpoolB, prometheus.GaugeValue, float64(h.SpoolBatches))
		g(descSpoolSz, prometheus.GaugeValue, float64(h.SpoolBytes))
		g(descDropped, prometheus.CounterValue, float64(h.DroppedRecords))
	}
}
