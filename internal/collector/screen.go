package collector

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
)

// Sensors run in other people's networks, so the collector assumes one of
// them may be compromised: what a sensor sends is screened before it is
// stored, and each refusal is counted against that sensor with a reason.

// Reasons a record is refused (the reason label of
// nightjar_collector_records_rejected_total), with record.ImplausibleTime's.
const reasonNotOwnAddr = "destination_not_enrolled"

// screen holds what one stream checks its sensor's records against.
type screen struct {
	// prefixes are the sensor's enrolled addresses: a darknet sensor
	// records only packets sent to them.
	prefixes  []netip.Prefix
	maxFuture time.Duration
}

// filter removes from recs, in place, the records stamped outside
// [record.Earliest, now+maxFuture] or sent to addresses the sensor does
// not own, and returns the records kept with the count refused by reason.
func (s *screen) filter(recs []record.Record, now time.Time) ([]record.Record, map[string]int) {
	var refused map[string]int
	kept := recs[:0]
	for i := range recs {
		reason := record.ImplausibleTime(recs[i].Time, now, s.maxFuture)
		if reason == "" && !s.owns(recs[i].Dst) {
			reason = reasonNotOwnAddr
		}
		if reason == "" {
			kept = append(kept, recs[i])
			continue
		}
		if refused == nil {
			refused = map[string]int{}
		}
		refused[reason]++
	}
	return kept, refused
}

func (s *screen) owns(a record.Addr) bool {
	ip := a.Netip()
	for _, p := range s.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkHealth refuses a health report whose counters cannot be true (no
// sensor counts 2^63 packets; the Prometheus export and the dashboard's
// arithmetic would overflow), so that one sensor's bad report is dropped
// alone and counted, whatever the store could hold.
func checkHealth(h *sensorv1.Health) error {
	counters := [...]struct {
		name string
		v    uint64
	}{
		{"packets_seen", h.GetPacketsSeen()}, {"packets_ignored", h.GetPacketsIgnored()},
		{"packets_excluded", h.GetPacketsExcluded()}, {"packets_skipped", h.GetPacketsSkipped()},
		{"kernel_packets", h.GetKernelPackets()}, {"kernel_drops", h.GetKernelDrops()},
		{"spool_batches", h.GetSpoolBatches()}, {"spool_bytes", h.GetSpoolBytes()},
		{"dropped_batches", h.GetDroppedBatches()}, {"dropped_records", h.GetDroppedRecords()},
	}
	for _, c := range counters {
		if c.v > math.MaxInt64 {
			return fmt.Errorf("health %s = %d: above 2^63-1", c.name, c.v)
		}
	}
	switch {
	case h.GetUptimeNs() < 0:
		return fmt.Errorf("health uptime_ns = %d: negative", h.GetUptimeNs())
	case h.GetReportedNs() < 0 || h.GetOldestUnackedNs() < 0:
		return fmt.Errorf("health reported_ns %d and oldest_unacked_ns %d must not be negative", h.GetReportedNs(), h.GetOldestUnackedNs())
	}
	return nil
}
