package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// The collector's settings in the flood test, small so that the memory
// bound they imply is tight enough to mean something.
const (
	floodQueueRecords = 1 << 18
	floodQueueBytes   = 32 << 20
	floodDBMemory     = 256 << 20
)

// floodBound is the collector's worst-case memory for the flood test's
// settings, by the formula of collector.Config.QueueBytes, above base (the
// collector's RSS before any sensor spoke): the Go terms twice (live and
// as much again in garbage) plus DuckDB's memory limit.
func floodBound(base uint64, sensors int) uint64 {
	goTerms := 3*floodQueueBytes + (200+286)*floodQueueRecords + sensors*(1<<20+64<<10)
	return base + 2*uint64(goTerms) + floodDBMemory
}

// TestHostileSensorFlood: three enrolled sensors turn hostile at once,
// on several streams — compression bombs, batches of more records than
// accepted, the largest accepted batches back to back, poisoned
// timestamps, impossible health, records for another sensor's addresses,
// gzip'd envelopes, a second stream beside the first — while two honest
// sensors (the real daemon, replaying a simulated capture) and an honest
// probe stream to the same collector (the real binary). The honest
// sensors' stored counts equal `nightjar analyze` of their capture, the
// probe's batches are acknowledged within a second, every hostile act is
// refused and counted against its sensor, and the collector's peak RSS
// stays under the bound its settings imply.
func TestHostileSensorFlood(t *testing.T) {
	nj, sensorBin := binaries(t)
	dir := t.TempDir()
	tel := &telescope{t: t, nightjar: nj, sensor: sensorBin, dir: dir, registry: filepath.Join(dir, "registry"),
		db: filepath.Join(dir, "flood.duckdb"), sensors: map[string]*sensorProc{}}
	reg, err := pki.Init(tel.registry, pki.InitOptions{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]string{"honest-1": "198.18.1.0/24", "honest-2": "198.18.2.0/24", "probe": "198.18.3.0/24",
		"bomber": "198.18.11.0/24", "forger": "198.18.12.0/24", "squatter": "198.18.13.0/24"}
	creds := map[string]string{}
	for name, prefix := range prefixes {
		if creds[name], err = enrollSensor(reg, dir, name, prefix); err != nil {
			t.Fatal(err)
		}
	}
	pcap, want := tel.simulate(`sensors:
  - {name: honest-1, group: Japan, addresses: [198.18.1.0/24]}
  - {name: honest-2, group: overseas, addresses: [198.18.2.0/24]}
`, 60000)

	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `db: %s
ca: %s
listen: 127.0.0.1:0
metrics: 127.0.0.1:0
db_memory_limit: %dMiB
collector:
  queue_records: %d
  queue_bytes: %d
ui:
  listen: "off"
`, tel.db, tel.registry, floodDBMemory>>20, floodQueueRecords, floodQueueBytes), 0o600); err != nil {
		t.Fatal(err)
	}
	col, addr, metricsURL := startLoopbackCollector(t, nj, "--config", config)
	pid := daemonPID(t, col.cmd.Process.Pid, nj)
	base := procStatusKB(t, pid, "VmRSS") << 10

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	floodCtx, stopFlood := context.WithCancel(ctx)
	var hostile sync.WaitGroup
	hostileRuns := []struct {
		name string
		run  func(context.Context, *testing.T, func(...connect.ClientOption) sensorv1connect.CollectorServiceClient) hostileStats
	}{{"bomber", bomber}, {"forger", forger}, {"squatter", squatter}}
	results := make([]hostileStats, len(hostileRuns))
	for i, h := range hostileRuns {
		dial := clientFor(t, creds[h.name])
		client := func(opts ...connect.ClientOption) sensorv1connect.CollectorServiceClient { return dial(addr, opts...) }
		hostile.Go(func() { results[i] = h.run(floodCtx, t, client) })
	}

	// The honest: two real sensors replaying the capture at a rate that
	// spreads it over the flood, and a probe that times its acks.
	for _, name := range []string{"honest-1", "honest-2"} {
		cfg := filepath.Join(creds[name], "sensor.yaml")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, `name: %s
replay: {file: %s, realtime: true, rate: 6000}
monitor: [%s]
collector: {address: "%s", cert: sensor.crt, key: sensor.key, ca: ca.crt}
spool: {dir: spool}
batch: {records: 1024, latency: 100ms}
metrics: "off"
heartbeat: 500ms
`, name, pcap, prefixes[name], addr), 0o600); err != nil {
			t.Fatal(err)
		}
		tel.sensors[name] = &sensorProc{proc: start(t, "sensor-"+name, exec.Command(sensorBin, "--config", cfg)), name: name}
	}
	probe := runProbe(ctx, t, clientFor(t, creds["probe"])(addr), 10*time.Second)

	var peak atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for ctx.Err() == nil {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				if m := vmRSSRE.FindSubmatch(b); m != nil {
					var kb uint64
					fmt.Sscan(string(m[1]), &kb)
					peak.Store(max(peak.Load(), kb<<10))
				}
			}
			select {
			case <-floodCtx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	for _, s := range tel.sensors {
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("sensor %s: %v", s.name, err)
			}
			s.done <- err
		case <-ctx.Done():
			t.Fatalf("sensor %s did not finish its replay", s.name)
		}
	}
	p := <-probe
	stopFlood()
	hostile.Wait()
	<-sampled
	hwm := procStatusKB(t, pid, "VmHWM") << 10
	m := metrics(t, http.DefaultClient, metricsURL)
	col.stop()

	for _, s := range tel.sensors {
		if !regexp.MustCompile(`msg="sensor stopped".* spooled_batches_left=0 `).MatchString(s.output()) {
			t.Errorf("sensor %s stopped with batches unacknowledged:\n%s", s.name, tail([]byte(s.output()), 5))
		}
	}
	stored := tel.stored()
	for _, name := range []string{"honest-1", "honest-2"} {
		if diff := cmp.Diff(stored[name], want[name]); diff != "" {
			t.Errorf("%s: stored per-port counts against `nightjar analyze` (-got, +want):\n%s", name, diff)
		}
	}
	if diff := cmp.Diff(stored["probe"], p.sent); diff != "" {
		t.Errorf("probe: stored per-port counts against what it sent (-got, +want):\n%s", diff)
	}
	if p.err != nil {
		t.Errorf("probe: %v", p.err)
	}
	if p.worst >= time.Second {
		t.Errorf("probe: slowest acknowledgement %v of %d, want under 1 s", p.worst, p.batches)
	}
	if len(stored["squatter"]) != 0 {
		t.Errorf("squatter: %v stored, want nothing (all its records were for another sensor's addresses)", stored["squatter"])
	}
	forged := results[1]
	if got := sum(stored["forger"]); got != forged.storedRecords {
		t.Errorf("forger: %d records stored, want the %d its STORED batches held that were plausible", got, forged.storedRecords)
	}
	for metric, floor := range map[string]float64{
		`nightjar_collector_batches_rejected_total{reason="oversized",sensor="bomber"}`:                  1,
		`nightjar_collector_batches_rejected_total{reason="too_large",sensor="forger"}`:                  1,
		`nightjar_collector_health_rejected_total{reason="out_of_range",sensor="bomber"}`:                1,
		`nightjar_collector_records_rejected_total{reason="time_in_future",sensor="forger"}`:             1,
		`nightjar_collector_records_rejected_total{reason="time_before_1990",sensor="forger"}`:           1,
		`nightjar_collector_records_rejected_total{reason="destination_not_enrolled",sensor="squatter"}`: 1,
		`nightjar_collector_streams_replaced_total{sensor="bomber"}`:                                     1,
	} {
		if m[metric] < floor {
			t.Errorf("collector metrics: %s = %v, want at least %v", metric, m[metric], floor)
		}
	}
	bound := floodBound(base, len(prefixes))
	t.Logf("probe acks: %v", p.latencies)
	t.Logf("flood: bomber %+v, forger %+v, squatter %+v; probe %d batches, slowest ack %v; "+
		"collector RSS %.0f MiB before, peak %.0f MiB sampled, VmHWM %.0f MiB, bound %.0f MiB",
		results[0], results[1], results[2], p.batches, p.worst,
		float64(base)/(1<<20), float64(peak.Load())/(1<<20), float64(hwm)/(1<<20), float64(bound)/(1<<20))
	if hwm > bound {
		t.Errorf("collector peak RSS %d MiB, above the bound of %d MiB its settings imply", hwm>>20, bound>>20)
	}
}

var vmRSSRE = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)

func sum(ports map[string]uint64) uint64 {
	var n uint64
	for _, v := range ports {
		n += v
	}
	return n
}

// enrollSensor enrolls a sensor in reg and writes its credentials to
// dir/<name>, which it returns.
func enrollSensor(reg *pki.Registry, dir, name, prefix string) (string, error) {
	creds, err := reg.Enroll(fleet.Sensor{Name: name, Group: "test", Addresses: []string{prefix}}, time.Hour)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	return out, creds.WriteDir(out)
}

// clientFor returns a constructor of clients of the collector at addr
// with the sensor's credentials in creds, each on its own connection.
func clientFor(t *testing.T, creds string) func(addr string, opts ...connect.ClientOption) sensorv1connect.CollectorServiceClient {
	t.Helper()
	cfg, err := pki.ClientTLS(filepath.Join(creds, pki.SensorCertFile), filepath.Join(creds, pki.SensorKeyFile),
		filepath.Join(creds, pki.SensorCAFile), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return func(addr string, opts ...connect.ClientOption) sensorv1connect.CollectorServiceClient {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
		return sensorv1connect.NewCollectorServiceClient(hc, "https://"+addr, opts...)
	}
}

// hostileStats is what a hostile sensor sent and how it was answered.
type hostileStats struct {
	Sent, Stored, Rejected int
	// storedRecords is the records the collector should have kept of the
	// batches it acknowledged STORED.
	storedRecords uint64
}

// add counts o's messages and answers in h.
func (h *hostileStats) add(o hostileStats) {
	h.Sent += o.Sent
	h.Stored += o.Stored
	h.Rejected += o.Rejected
	h.storedRecords += o.storedRecords
}

// flood sends batches from next on one stream until ctx is done or the
// stream ends, and tallies the acknowledgements. kept(seq) is how many of
// batch seq's records are plausible and for the sensor's own addresses.
func flood(ctx context.Context, client sensorv1connect.CollectorServiceClient, name string,
	next func(seq uint64) *sensorv1.SendRequest, kept func(seq uint64) uint64) hostileStats {
	var st hostileStats
	// The stream outlives ctx, which stops only the sending, so that the
	// acks of what was sent are all counted.
	sctx, end := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer end()
	stream := client.Send(sctx)
	var mu sync.Mutex
	received := make(chan struct{})
	go func() {
		defer close(received)
		for {
			resp, err := stream.Receive()
			if err != nil {
				return
			}
			a := resp.GetAck()
			mu.Lock()
			switch a.GetStatus() {
			case sensorv1.Status_STATUS_STORED:
				st.Stored++
				st.storedRecords += kept(a.GetSeq())
			case sensorv1.Status_STATUS_REJECTED:
				st.Rejected++
			}
			mu.Unlock()
		}
	}()
	batches := 0
	unanswered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return batches - st.Stored - st.Rejected
	}
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		// Eight batches unanswered at most, as a sensor keeps.
		for unanswered() >= 8 && ctx.Err() == nil {
			select {
			case <-received:
				return st
			case <-time.After(5 * time.Millisecond):
			}
		}
		req := next(seq)
		req.Sensor = name
		if err := stream.Send(req); err != nil {
			break
		}
		mu.Lock()
		st.Sent++
		if req.Batch != nil {
			batches++
		}
		mu.Unlock()
	}
	// The collector ends a stream when its sensor half-closes, so every
	// ack is awaited first (a real sensor closes when its spool is empty).
	for deadline := time.Now().Add(10 * time.Second); unanswered() > 0 && time.Now().Before(deadline); {
		select {
		case <-received:
			deadline = time.Now()
		case <-time.After(10 * time.Millisecond):
		}
	}
	stream.CloseRequest() //nolint:errcheck // ending either way
	select {
	case <-received:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	return st
}

// bomber sends compression bombs (one record claimed, 64 MiB of zeros
// inside; and the largest accepted count, 280 MiB inside) and health
// reports with counters of 2⁶³, on two connections.
func bomber(ctx context.Context, t *testing.T, client func(...connect.ClientOption) sensorv1connect.CollectorServiceClient) hostileStats {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Error(err)
		return hostileStats{}
	}
	small := enc.EncodeAll(make([]byte, 64<<20), nil)
	large := enc.EncodeAll(make([]byte, 280<<20), nil)
	var wg sync.WaitGroup
	var stats [2]hostileStats
	for i := range stats {
		wg.Go(func() {
			// One stream per sensor is served, so the bomber's two
			// connections keep replacing each other: it reconnects.
			for ctx.Err() == nil {
				s := flood(ctx, client(), "bomber", func(seq uint64) *sensorv1.SendRequest {
					if seq%5 == 0 {
						return &sensorv1.SendRequest{Health: &sensorv1.Health{Version: "bomb", PacketsSeen: 1 << 63}}
					}
					b := &sensorv1.Batch{Epoch: uint64(i + 1), Seq: seq, Count: 1, RecordsZstd: small}
					if seq%2 == 0 {
						b.Count, b.RecordsZstd = 1<<16, large
					}
					return &sensorv1.SendRequest{Batch: b}
				}, func(uint64) uint64 { return 0 })
				stats[i].add(s)
				time.Sleep(50 * time.Millisecond) // a bounded reconnect loop
			}
		})
	}
	wg.Wait()
	stats[0].add(stats[1])
	return stats[0]
}

// forger sends, in turn, the largest batches accepted (65,536 records to
// its own addresses, one a second, stored: a heavy but honest load),
// batches claiming a million records, and batches whose records are
// stamped now, at the end of int64 and in 1980.
func forger(ctx context.Context, t *testing.T, client func(...connect.ClientOption) sensorv1connect.CollectorServiceClient) hostileStats {
	rng := rand.New(rand.NewPCG(7, 7))
	dst := record.MustParseAddr("198.18.12.0").Uint32()
	now := time.Now().Add(-time.Minute).UnixNano()
	heavy := mustEncode(t, 1, 0, loadRecords(rng, dst, now, 1<<16, time.Microsecond))
	poisoned := loadRecords(rng, dst, now, 3, time.Millisecond)
	poisoned[1].Time, poisoned[2].Time = math.MaxInt64, time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	bad := mustEncode(t, 1, 0, poisoned)
	return flood(ctx, client(), "forger", func(seq uint64) *sensorv1.SendRequest {
		var b *sensorv1.Batch
		switch seq % 3 {
		case 0:
			b = &sensorv1.Batch{Count: wire.MaxBatchRecords, RecordsZstd: heavy.GetRecordsZstd()}
		case 1:
			// One a second: about half of what one writer stores, a
			// heavy load that the others share the writer with.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			b = &sensorv1.Batch{Count: heavy.GetCount(), RecordsZstd: heavy.GetRecordsZstd()}
		default:
			b = &sensorv1.Batch{Count: bad.GetCount(), RecordsZstd: bad.GetRecordsZstd()}
		}
		b.Epoch, b.Seq = 1, seq
		return &sensorv1.SendRequest{Batch: b}
	}, func(seq uint64) uint64 {
		return map[uint64]uint64{0: 0, 1: 1 << 16, 2: 1}[seq%3]
	})
}

// squatter sends records for honest-1's addresses, reconnecting every
// half second, and tries a gzip'd envelope now and then.
func squatter(ctx context.Context, t *testing.T, client func(...connect.ClientOption) sensorv1connect.CollectorServiceClient) hostileStats {
	rng := rand.New(rand.NewPCG(9, 9))
	foreign := mustEncode(t, 1, 0, loadRecords(rng, record.MustParseAddr("198.18.1.0").Uint32(), time.Now().Add(-time.Minute).UnixNano(), 4096, time.Millisecond))
	var total hostileStats
	for round := 0; ctx.Err() == nil; round++ {
		var opts []connect.ClientOption
		if round%4 == 3 {
			opts = append(opts, connect.WithSendGzip())
		}
		roundCtx, end := context.WithTimeout(ctx, 500*time.Millisecond)
		s := flood(roundCtx, client(opts...), "squatter", func(seq uint64) *sensorv1.SendRequest {
			return &sensorv1.SendRequest{Batch: &sensorv1.Batch{Epoch: uint64(round + 1), Seq: seq, Count: foreign.GetCount(), RecordsZstd: foreign.GetRecordsZstd()}}
		}, func(uint64) uint64 { return 0 })
		end()
		total.add(s)
	}
	return total
}

func mustEncode(t *testing.T, epoch, seq uint64, recs []record.Record) *sensorv1.Batch {
	for i := range recs {
		recs[i].Tags = fingerprint.Tag(&recs[i])
	}
	b, err := wire.EncodeBatch(epoch, seq, time.Now(), recs)
	if err != nil {
		t.Error(err)
	}
	return b
}

// probeResult is what the probe sent and how long its acks took.
type probeResult struct {
	sent    map[string]uint64
	batches int
	worst   time.Duration
	// latencies are the acknowledgements' times, in order.
	latencies []time.Duration
	err       error
}

// runProbe sends a small batch every 100 ms for d, one at a time, and
// times each acknowledgement.
func runProbe(ctx context.Context, t *testing.T, client sensorv1connect.CollectorServiceClient, d time.Duration) <-chan probeResult {
	out := make(chan probeResult, 1)
	go func() {
		res := probeResult{sent: map[string]uint64{}}
		defer func() { out <- res }()
		rng := rand.New(rand.NewPCG(3, 3))
		dst := record.MustParseAddr("198.18.3.0").Uint32()
		stream := client.Send(ctx)
		defer stream.CloseRequest() //nolint:errcheck
		for seq, end := uint64(1), time.Now().Add(d); time.Now().Before(end); seq++ {
			recs := loadRecords(rng, dst, time.Now().Add(-time.Second).UnixNano(), 256, time.Microsecond)
			b := mustEncode(t, 1, seq, recs)
			sent := time.Now()
			if err := stream.Send(&sensorv1.SendRequest{Sensor: "probe", Batch: b}); err != nil {
				res.err = fmt.Errorf("send batch %d: %w", seq, err)
				return
			}
			resp, err := stream.Receive()
			if err != nil || resp.GetAck().GetStatus() != sensorv1.Status_STATUS_STORED {
				res.err = fmt.Errorf("batch %d: %v, %v; want STORED", seq, resp, err)
				return
			}
			res.latencies = append(res.latencies, time.Since(sent))
			res.worst = max(res.worst, time.Since(sent))
			res.batches++
			for i := range recs {
				res.sent[recs[i].PortLabel()]++
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return out
}
