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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// loadSize is the size of TestManySensors, from NIGHTJAR_LOAD_SENSORS,
// NIGHTJAR_LOAD_BATCHES and NIGHTJAR_LOAD_RECORDS (scripts/bench-sensor.sh
// scales it up); the defaults keep the test well under a minute on two
// cores.
type loadSize struct {
	sensors, batches, records, window int
}

func loadSizeFromEnv(t *testing.T) loadSize {
	t.Helper()
	sz := loadSize{sensors: 200, batches: 6, records: 2048, window: 8}
	for _, v := range []struct {
		env string
		n   *int
		max int
	}{
		{"NIGHTJAR_LOAD_SENSORS", &sz.sensors, 512}, // /24s in 198.18.0.0/15
		{"NIGHTJAR_LOAD_BATCHES", &sz.batches, 1 << 20},
		{"NIGHTJAR_LOAD_RECORDS", &sz.records, 1 << 16}, // the collector's max_batch_records
		{"NIGHTJAR_LOAD_WINDOW", &sz.window, 1 << 10},
	} {
		s := os.Getenv(v.env)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > v.max {
			t.Fatalf("%s=%q: want 1 to %d", v.env, s, v.max)
		}
		*v.n = n
	}
	return sz
}

// TestManySensors: 200 sensors, each with its own certificate and its own
// HTTP/2 connection, stream batches to one collector (the real binary, on
// loopback) at once, as many unacknowledged as a real sensor keeps (8).
// Every batch is acknowledged STORED exactly once, and the stored
// per-sensor, per-port counts equal what was sent. It logs the records/s
// from the first send to the last acknowledgement and the collector's peak
// RSS.
func TestManySensors(t *testing.T) {
	sz := loadSizeFromEnv(t)
	nj, _ := binaries(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "load.duckdb")
	registry := filepath.Join(dir, "registry")
	fleetSensors := enrollLoadSensors(t, registry, dir, sz.sensors)

	// Batches are made before the clock starts, so that the figure is the
	// collector's (and TLS's), not the test's encoder.
	began := time.Now()
	sensors := make([]*loadSensor, len(fleetSensors))
	var wg sync.WaitGroup
	for i, fs := range fleetSensors {
		wg.Go(func() { sensors[i] = newLoadSensor(t, i, fs.Name, filepath.Join(dir, fs.Name), sz) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d sensors enrolled, %d batches of %d records encoded in %.1f s",
		sz.sensors, sz.sensors*sz.batches, sz.records, time.Since(began).Seconds())

	args := []string{"--db", db, "--ca", registry, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--ui", "off", "-v"}
	if prof := os.Getenv("NIGHTJAR_LOAD_CPUPROFILE"); prof != "" { // scripts/bench-sensor.sh saves it
		args = append(args, "--cpuprofile", prof)
	}
	if limit := os.Getenv("NIGHTJAR_LOAD_DB_MEMORY_LIMIT"); limit != "" {
		args = append(args, "--db-memory-limit", limit)
	}
	col, addr, metricsURL := startLoopbackCollector(t, nj, args...)
	cmd := col.cmd
	pid := daemonPID(t, cmd.Process.Pid, nj)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	// The Go runtime's share of the collector's memory, sampled during the
	// load; the rest of its RSS is DuckDB's (cgo).
	var goSys, goHeap float64
	sampling, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			m := metrics(t, http.DefaultClient, metricsURL)
			goSys, goHeap = max(goSys, m["go_memstats_sys_bytes"]), max(goHeap, m["go_memstats_heap_inuse_bytes"])
			select {
			case <-sampling:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	var first, last atomic.Int64 // UnixNano of the first send and the last ack
	for _, s := range sensors {
		wg.Go(func() { s.run(ctx, addr, &first, &last) })
	}
	wg.Wait()
	close(sampling)
	<-sampled
	hwm := procStatusKB(t, pid, "VmHWM")
	if t.Failed() {
		t.FailNow()
	}
	elapsed := time.Duration(last.Load() - first.Load())
	total := sz.sensors * sz.batches * sz.records
	m := metrics(t, http.DefaultClient, metricsURL)
	col.stop()
	rusage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(syscall.TimevalToNsec(rusage.Utime) + syscall.TimevalToNsec(rusage.Stime))

	batches := float64(sz.sensors * sz.batches)
	if got := m[`nightjar_collector_batches_settled_total{status="stored"}`]; got != batches {
		t.Errorf("collector metrics: %v batches settled as stored, want %v", got, batches)
	}
	if got := m["nightjar_collector_records_stored_total"]; got != float64(total) {
		t.Errorf("collector metrics: %v records stored, want %d", got, total)
	}
	want := map[string]map[string]uint64{}
	for _, s := range sensors {
		want[s.name] = s.sent
	}
	got := (&telescope{t: t, nightjar: nj, db: db}).stored()
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("stored per-sensor, per-port counts (-got, +want):\n%s", diff)
	}
	var syncs []string
	for _, sm := range syncRE.FindAllStringSubmatch(col.output(), -1) {
		syncs = append(syncs, sm[1])
	}
	commits := m["nightjar_collector_commit_seconds_count"]
	var latencies []time.Duration
	for _, s := range sensors {
		latencies = append(latencies, s.latencies...)
	}
	slices.Sort(latencies)
	quantile := func(q float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]
	}
	// A pause of the collector's commits shows as a time with no ack to
	// any sensor; backpressure only spaces them out.
	var acks []int64
	for _, s := range sensors {
		acks = append(acks, s.ackedAt...)
	}
	slices.Sort(acks)
	var pause time.Duration
	for i := 1; i < len(acks); i++ {
		pause = max(pause, time.Duration(acks[i]-acks[i-1]))
	}
	t.Logf("send to ack: p50 %v, p99 %v, max %v over %d batches; longest time without an ack to any sensor %v; "+
		"receipt to ack at the collector: p50 ≤ %s s, p99 ≤ %s s",
		quantile(0.5), quantile(0.99), quantile(1), len(latencies), pause,
		histogramQuantile(m, "nightjar_collector_ack_seconds", 0.5), histogramQuantile(m, "nightjar_collector_ack_seconds", 0.99))
	t.Logf("%d sensors × %d batches × %d records = %d records in %.2f s: %.0f records/s (first send to last ack), "+
		"every batch STORED once; collector peak RSS %.1f MiB (VmHWM before SIGTERM; %.1f MiB until exit; "+
		"Go runtime at most %.1f MiB from the OS, %.1f MiB of heap in use), "+
		"CPU %.1f s until exit (%.0f %% of one core over the load); %.0f commits, %.1f ms each on average; "+
		"rollups rebuilt in %v (the last at SIGTERM)",
		sz.sensors, sz.batches, sz.records, total, elapsed.Seconds(), float64(total)/elapsed.Seconds(),
		float64(hwm)/1024, float64(rusage.Maxrss)/1024, goSys/(1<<20), goHeap/(1<<20), cpu.Seconds(), 100*cpu.Seconds()/elapsed.Seconds(),
		commits, 1000*m["nightjar_collector_commit_seconds_sum"]/max(commits, 1), syncs)
}

// startLoopbackCollector starts `nightjar collector args...` on loopback
// and returns it with its sensor and metrics addresses, from its log.
func startLoopbackCollector(t *testing.T, nj string, args ...string) (col *proc, addr, metricsURL string) {
	t.Helper()
	return startLoopbackCollectorEnv(t, nj, nil, args...)
}

// startLoopbackCollectorEnv is startLoopbackCollector with env added to
// the collector's environment.
func startLoopbackCollectorEnv(t *testing.T, nj string, env []string, args ...string) (col *proc, addr, metricsURL string) {
	t.Helper()
	cmd := exec.Command(nj, append([]string{"collector"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	col = start(t, "collector", cmd)
	waitFor(t, 60*time.Second, "the collector to listen", func() bool {
		out := col.output()
		addr, metricsURL = submatch(listeningRE, out), submatch(metricsRE, out)
		return addr != "" && metricsURL != ""
	})
	return col, addr, metricsURL
}

var (
	listeningRE = regexp.MustCompile(`collector listening on (\S+)`)
	metricsRE   = regexp.MustCompile(`url=(http://\S+/metrics)`)
	syncRE      = regexp.MustCompile(`msg="rollups rebuilt" took_seconds=(\S+)`)
)

func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// enrollLoadSensors makes a registry for a collector on 127.0.0.1 and
// enrolls n sensors, "load-000" onwards, each watching its own /24 of
// 198.18.0.0/15; each one's credentials are in dir/<name>.
func enrollLoadSensors(t *testing.T, registry, dir string, n int) []fleet.Sensor {
	t.Helper()
	reg, err := pki.Init(registry, pki.InitOptions{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]fleet.Sensor, n)
	for i := range out {
		s := fleet.Sensor{Name: fmt.Sprintf("load-%03d", i), Group: []string{"Japan", "overseas"}[i%2],
			Addresses: []string{record.AddrFromUint32(loadPrefix(i)).String() + "/24"}}
		creds, err := reg.Enroll(s, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := creds.WriteDir(filepath.Join(dir, s.Name)); err != nil {
			t.Fatal(err)
		}
		out[i] = s
	}
	return out
}

// loadPrefix is the /24 of the i-th sensor: 198.18.0.0/24 onwards.
func loadPrefix(i int) uint32 { return 198<<24 | 18<<16 + uint32(i)<<8 }

// loadSensor is one simulated sensor: its TLS client and its batches,
// encoded in advance.
type loadSensor struct {
	t       *testing.T
	name    string
	client  func(addr string) sensorv1connect.CollectorServiceClient
	batches []*sensorv1.Batch
	window  int
	sent    map[string]uint64 // records by port label
	// latencies are the times from sending each batch to its ack;
	// ackedAt the UnixNano times of the acks.
	latencies []time.Duration
	ackedAt   []int64
}

func newLoadSensor(t *testing.T, i int, name, creds string, sz loadSize) *loadSensor {
	// Its own transport, so its own TCP connection and TLS session, as a
	// sensor on its own machine has.
	dial := clientFor(t, creds)
	s := &loadSensor{t: t, name: name, window: sz.window, sent: map[string]uint64{},
		client: func(addr string) sensorv1connect.CollectorServiceClient { return dial(addr) }}
	rng := rand.New(rand.NewPCG(uint64(i), 4))
	const step = 3 * time.Millisecond
	t0 := time.Now().Add(-time.Minute - time.Duration(sz.batches*sz.records)*step).UnixNano()
	for seq := range sz.batches {
		recs := loadRecords(rng, loadPrefix(i), t0+int64(seq*sz.records)*int64(step), sz.records, step)
		for j := range recs {
			s.sent[recs[j].PortLabel()]++
		}
		b, err := wire.EncodeBatch(1, uint64(seq+1), time.Now(), recs)
		if err != nil {
			t.Error(err)
			return nil
		}
		s.batches = append(s.batches, b)
	}
	return s
}

// run opens the sensor's stream, sends every batch with at most window
// unacknowledged, and checks that each is acknowledged STORED once.
func (s *loadSensor) run(ctx context.Context, addr string, first, last *atomic.Int64) {
	t := s.t
	stream := s.client(addr).Send(ctx)
	defer stream.CloseRequest() //nolint:errcheck // the stream is over either way
	// Like a real sensor: a heartbeat opens the stream.
	if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Health: &sensorv1.Health{Version: "load-test"}}); err != nil {
		t.Errorf("%s: open the stream: %v", s.name, err)
		return
	}
	window := make(chan struct{}, s.window)
	acked := make([]bool, len(s.batches))
	sentAt := make([]atomic.Int64, len(s.batches))
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for n := 0; n < len(s.batches); n++ {
			resp, err := stream.Receive()
			if err != nil {
				t.Errorf("%s: receive ack %d of %d: %v", s.name, n+1, len(s.batches), err)
				return
			}
			a := resp.GetAck()
			seq := int(a.GetSeq()) - 1
			switch {
			case a.GetStatus() != sensorv1.Status_STATUS_STORED:
				t.Errorf("%s: batch %d acknowledged %v (%s), want STORED", s.name, a.GetSeq(), a.GetStatus(), a.GetMessage())
			case seq < 0 || seq >= len(acked) || acked[seq]:
				t.Errorf("%s: unexpected or repeated ack of batch %d", s.name, a.GetSeq())
			default:
				acked[seq] = true
				now := time.Now().UnixNano()
				s.latencies = append(s.latencies, time.Duration(now-sentAt[seq].Load()))
				s.ackedAt = append(s.ackedAt, now)
			}
			storeMax(last, time.Now().UnixNano())
			<-window
		}
	}()
	for _, b := range s.batches {
		select {
		case window <- struct{}{}:
		case <-recvDone:
			return
		}
		first.CompareAndSwap(0, time.Now().UnixNano())
		sentAt[b.GetSeq()-1].Store(time.Now().UnixNano())
		if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Batch: b}); err != nil {
			t.Errorf("%s: send batch %d: %v", s.name, b.GetSeq(), err)
			return
		}
	}
	<-recvDone
}

func storeMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if n <= old || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// daemonPID returns the PID of the process that runs exe: pid itself, or,
// when pid is a wrapper that forked it (some versions of `ip netns exec`
// do), its descendant's. Memory and CPU figures must be read from it.
func daemonPID(t *testing.T, pid int, exe string) int {
	t.Helper()
	want, err := filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if p := findExe(pid, want); p != 0 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process running %s under PID %d", exe, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func findExe(pid int, exe string) int {
	if got, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && got == exe {
		return pid
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(c); err == nil {
				if p := findExe(n, exe); p != 0 {
					return p
				}
			}
		}
	}
	return 0
}

// procStatusKB returns a "kB" field of /proc/PID/status, e.g. VmHWM.
func procStatusKB(t *testing.T, pid int, field string) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if n, err := strconv.ParseUint(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
				return n
			}
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// Records a sensor sends: a darknet's mix of SYN scans of popular ports,
// UDP probes, ICMP echo requests and backscatter, from a pool of sources,
// to the sensor's /24, a few milliseconds apart over the last minutes.
var (
	loadTCPPorts = []uint16{23, 23, 23, 2323, 22, 80, 443, 445, 3389, 8080, 5555, 6379, 1433, 81, 8443, 37215}
	loadUDPPorts = []uint16{53, 123, 161, 1900, 5060, 11211, 389, 137}
)

func loadRecords(rng *rand.Rand, dst uint32, t0 int64, n int, step time.Duration) []record.Record {
	recs := make([]record.Record, n)
	for i := range recs {
		r := &recs[i]
		*r = record.Record{
			Time: t0 + int64(i)*int64(step),
			// 4,096 sources in 45.0.0.0/8 and 185.0.0.0/8.
			Src:       record.AddrFromUint32([]uint32{45, 185}[rng.IntN(2)]<<24 | rng.Uint32N(2048)*4099&0xffffff),
			Dst:       record.AddrFromUint32(dst | rng.Uint32N(256)),
			IPVersion: 4, TTL: uint8(30 + rng.IntN(220)), IPID: rng.Uint32N(1 << 16),
			HasTransport: true, SrcPort: uint16(1024 + rng.IntN(64000)),
		}
		switch p := rng.IntN(100); {
		case p < 60: // SYN scans
			r.Protocol, r.TCPFlags, r.DstPort = record.ProtoTCP, record.FlagSYN, loadTCPPorts[rng.IntN(len(loadTCPPorts))]
			r.Seq, r.Window, r.IPLen = rng.Uint32(), []uint16{1024, 14600, 29200, 65535}[rng.IntN(4)], 40
			if rng.IntN(3) == 0 {
				r.Options = record.TCPOptions{Layout: 2, LayoutLen: 1, MSS: 1460, HasMSS: true}
				r.IPLen = 44
			}
		case p < 75: // UDP probes
			r.Protocol, r.DstPort, r.IPLen = record.ProtoUDP, loadUDPPorts[rng.IntN(len(loadUDPPorts))], uint16(28+rng.IntN(100))
		case p < 85: // ICMP echo requests: type in SrcPort, code in DstPort
			r.Protocol, r.SrcPort, r.DstPort, r.IPLen = record.ProtoICMP, 8, 0, 84
		default: // backscatter: SYN-ACKs and RSTs to a few ephemeral ports
			r.Protocol, r.TCPFlags, r.DstPort = record.ProtoTCP, []uint8{record.FlagSYN | record.FlagACK, record.FlagRST}[rng.IntN(2)], uint16(49152+rng.IntN(32))
			r.SrcPort, r.Seq, r.Ack, r.Window, r.IPLen = []uint16{80, 443, 53}[rng.IntN(3)], rng.Uint32(), rng.Uint32(), 0, 40
		}
		r.Tags = fingerprint.Tag(r)
	}
	return recs
}

// histogramQuantile returns the upper bound of the bucket of a scraped
// Prometheus histogram that holds its q quantile ("+Inf" above the last).
func histogramQuantile(m map[string]float64, name string, q float64) string {
	total := m[name+"_count"]
	type bucket struct {
		le    float64
		label string
		n     float64
	}
	var buckets []bucket
	for k, v := range m {
		label, ok := strings.CutPrefix(k, name+`_bucket{le="`)
		if !ok {
			continue
		}
		label = strings.TrimSuffix(label, `"}`)
		le, err := strconv.ParseFloat(label, 64)
		if err != nil {
			le = math.Inf(1)
		}
		buckets = append(buckets, bucket{le, label, v})
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.le < b.le:
			return -1
		case a.le > b.le:
			return 1
		}
		return 0
	})
	for _, b := range buckets {
		if b.n >= q*total {
			return b.label
		}
	}
	return "+Inf"
}
