package deliver

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The outcomes of a notification's attempt, the outcome label of
// nightjar_alerts_notifications_total.
const (
	outcomeDelivered = "delivered" // the receiver took it
	outcomeSkipped   = "skipped"   // the receiver does not want its alert: recorded, not sent
	outcomeFailed    = "failed"    // not reached, a timeout, a 5xx, 408 or 429: retried
	outcomeRejected  = "rejected"  // a 4xx, a redirect, an SMTP 5xx (ErrRejected): retried, logged as misconfigured
)

var outcomes = []string{outcomeDelivered, outcomeSkipped, outcomeFailed, outcomeRejected}

// metrics are the Dispatcher's own.
type metrics struct {
	attempts *prometheus.CounterVec
	pending  *prometheus.GaugeVec
}

func newMetrics(receivers []string) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightjar_alerts_notifications_total",
			Help: "Notification attempts by receiver and outcome (delivered; skipped: an alert the receiver does not want; failed and rejected: retried, rejected being a 4xx or SMTP 5xx, likely a configuration error)."},
			[]string{"receiver", "outcome"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nightjar_alerts_notifications_pending",
			Help: "Notifications in the outbox not yet delivered, by receiver, as of its last read (counted up to 500)."},
			[]string{"receiver"}),
	}
	// Every series exists from the start, so that a rate over it is 0
	// rather than missing before the first failure.
	for _, r := range receivers {
		for _, o := range outcomes {
			m.attempts.WithLabelValues(r, o)
		}
		m.pending.WithLabelValues(r)
	}
	return m
}

func (m *metrics) count(receiver, outcome string) {
	m.attempts.WithLabelValues(receiver, outcome).Inc()
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.attempts, m.pending}
}

// OpenAlerts is the gauge of the alerts not resolved, by detector,
// severity and state (open or acknowledged): nightjar_alerts_open. A
// scrape sees one SetOpen's counts whole.
type OpenAlerts struct {
	mu     sync.Mutex
	counts map[openKey]int
}

type openKey struct {
	detector string
	severity store.Severity
	state    store.AlertState
}

var descOpen = prometheus.NewDesc("nightjar_alerts_open",
	"Alerts not resolved, by detector, severity and state (open, acknowledged).",
	[]string{"detector", "severity", "state"}, nil)

// NewOpenAlerts returns the gauge, empty until SetOpen.
func NewOpenAlerts() *OpenAlerts { return &OpenAlerts{} }

// SetOpen sets the gauge from the alerts as they are now (the resolved
// ones among them are not counted); a combination no longer present is
// no longer exported.
func (o *OpenAlerts) SetOpen(alerts []store.Alert) {
	counts := map[openKey]int{}
	for _, a := range alerts {
		if a.State != store.AlertResolved {
			counts[openKey{a.Detector, a.Severity, a.State}]++
		}
	}
	o.mu.Lock()
	o.counts = counts
	o.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (o *OpenAlerts) Describe(ch chan<- *prometheus.Desc) { ch <- descOpen }

// Collect implements prometheus.Collector.
func (o *OpenAlerts) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, n := range o.counts {
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(n), k.detector, string(k.severity), string(k.state))
	}
}
