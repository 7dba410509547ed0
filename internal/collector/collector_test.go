package collector_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/nightjar-telescope/nightjar/internal/collector"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
	"github.com/nightjar-telescope/nightjar/internal/store/duckdb"
	"github.com/nightjar-telescope/nightjar/internal/wire"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// bed is a registry, a store and a running collector on loopback.
type bed struct {
	t       *testing.T
	dir     string
	reg     *pki.Registry
	st      *duckdb.Store
	addr    string
	stop    func()
	dbPath  string
	sensors map[string]string // name -> credentials directory
	// configure adjusts the collector's configuration; c is the collector.
	configure func(*collector.Config)
	c         *collector.Collector
}

func newBed(t *testing.T, names ...string) *bed {
	t.Helper()
	return newBedWith(t, nil, names...)
}

// newBedWith is newBed with a collector configured by configure.
func newBedWith(t *testing.T, configure func(*collector.Config), names ...string) *bed {
	t.Helper()
	dir := t.TempDir()
	reg, err := pki.Init(filepath.Join(dir, "registry"), pki.InitOptions{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, dir: dir, reg: reg, dbPath: filepath.Join(dir, "nightjar.duckdb"), sensors: map[string]string{}, configure: configure}
	for i, name := range names {
		b.enroll(name, "198.18."+string(rune('1'+i))+".0/24")
	}
	b.start()
	t.Cleanup(func() { b.stop() })
	return b
}

func (b *bed) enroll(name, prefix string) {
	b.t.Helper()
	creds, err := b.reg.Enroll(fleet.Sensor{Name: name, Group: "test", Addresses: []string{prefix}}, time.Hour)
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join(b.dir, "sensor-"+name)
	if err := creds.WriteDir(dir); err != nil {
		b.t.Fatal(err)
	}
	b.sensors[name] = dir
}

// start opens the store and serves a collector until stop.
func (b *bed) start() {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := duckdb.Open(ctx, b.dbPath, duckdb.Options{})
	if err != nil {
		b.t.Fatal(err)
	}
	cfg := collector.Config{Store: st, Registry: b.reg, CommitInterval: 20 * time.Millisecond, RollupInterval: time.Hour,
		Now: func() time.Time { return testNow }}
	if b.configure != nil {
		b.configure(&cfg)
	}
	c, err := collector.New(cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	b.c = c
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.t.Fatal(err)
	}
	path, h := c.Handler()
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := &http.Server{Handler: mux, TLSConfig: pki.ServerTLS(b.reg)}
	go srv.ServeTLS(ln, "", "") //nolint:errcheck
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	b.st, b.addr = st, ln.Addr().String()
	stopped := false
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		cancel()
		if err := <-ran; err != nil {
			b.t.Error(err)
		}
		st.Close()
	}
}

func (b *bed) restart() {
	b.stop()
	b.start()
}

// client connects as the sensor whose credentials are in dir.
func (b *bed) client(name string) sensorv1connect.CollectorServiceClient {
	b.t.Helper()
	dir := b.sensors[name]
	cfg, err := pki.ClientTLS(filepath.Join(dir, pki.SensorCertFile), filepath.Join(dir, pki.SensorKeyFile), filepath.Join(dir, pki.SensorCAFile), "127.0.0.1")
	if err != nil {
		b.t.Fatal(err)
	}
	return clientWith(b.addr, cfg)
}

func clientWith(addr string, cfg *tls.Config) sensorv1connect.CollectorServiceClient {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	return sensorv1connect.NewCollectorServiceClient(hc, "https://"+addr)
}

// testNow is the collector's clock in the tests: after every record time
// the tests send, so that none is refused as from the future.
var testNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

func batch(t *testing.T, epoch, seq uint64, n int, dst string) *sensorv1.Batch {
	t.Helper()
	recs := make([]record.Record, n)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range recs {
		recs[i] = record.Record{Time: base + int64(seq)*1e9 + int64(i), Src: record.AddrFromUint32(0xc0000200 + uint32(i%7)),
			Dst: record.MustParseAddr(dst), IPVersion: 4, Protocol: record.ProtoTCP, TTL: 64, HasTransport: true,
			SrcPort: 40000, DstPort: 23, TCPFlags: record.FlagSYN}
	}
	b, err := wire.EncodeBatch(epoch, seq, time.Now(), recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange sends requests on one stream and returns the acks, then the
// error that ended the stream (nil if it was still open).
func exchange(t *testing.T, c sensorv1connect.CollectorServiceClient, reqs ...*sensorv1.SendRequest) ([]*sensorv1.Ack, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := c.Send(ctx)
	want := 0
	for _, r := range reqs {
		if r.Batch != nil {
			want++
		}
		if err := s.Send(r); err != nil {
			break
		}
	}
	var acks []*sensorv1.Ack
	for len(acks) < want {
		resp, err := s.Receive()
		if err != nil {
			return acks, err
		}
		acks = append(acks, resp.GetAck())
	}
	s.CloseRequest()
	_, err := s.Receive()
	if err != nil && !errors.Is(err, context.Canceled) && connect.CodeOf(err) != connect.CodeUnknown && !strings.Contains(err.Error(), "EOF") {
		return acks, err
	}
	return acks, nil
}

// storedPackets returns the packets each sensor has in the store, as the
// questions see them after a Sync.
func storedPackets(t *testing.T, st *duckdb.Store) map[string]uint64 {
	t.Helper()
	ctx := context.Background()
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := period.ParseRange("2026-01-01", "2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := st.TopPorts(ctx, store.TopPortsQuery{Period: p, N: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, c := range cols {
		if c.Packets > 0 {
			out[c.Sensor] = c.Packets
		}
	}
	return out
}

// bySeq lists acks as epoch/seq STATUS, ordered by epoch and seq (a
// duplicate is acknowledged before the batches waiting for a commit).
func bySeq(acks []*sensorv1.Ack) string {
	sorted := slices.SortedFunc(slices.Values(acks), func(a, b *sensorv1.Ack) int {
		return cmp.Or(cmp.Compare(a.GetEpoch(), b.GetEpoch()), cmp.Compare(a.GetSeq(), b.GetSeq()))
	})
	var s []string
	for _, a := range sorted {
		s = append(s, fmt.Sprintf("%x/%d %s", a.GetEpoch(), a.GetSeq(), strings.TrimPrefix(a.GetStatus().String(), "STATUS_")))
	}
	return strings.Join(s, ", ")
}

func statuses(acks []*sensorv1.Ack) string {
	var s []string
	for _, a := range acks {
		s = append(s, strings.TrimPrefix(a.GetStatus().String(), "STATUS_"))
	}
	return strings.Join(s, ",")
}

// TestExactlyOnce: batches are stored once, whatever is sent again — in
// the same stream, in a new one, or after a collector restart.
func TestExactlyOnce(t *testing.T) {
	b := newBed(t, "s1")
	c := b.client("s1")
	req := func(seq uint64) *sensorv1.SendRequest {
		return &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 9, seq, 100, "198.18.1.7"), Health: &sensorv1.Health{Version: "test", SpoolBatches: 3}}
	}
	acks, err := exchange(t, c, req(1), req(2), req(2), req(3))
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(acks); got != "STORED,STORED,DUPLICATE,STORED" {
		t.Fatalf("acks %s", got)
	}
	acks, err = exchange(t, c, req(3), req(4))
	if err != nil || statuses(acks) != "DUPLICATE,STORED" {
		t.Fatalf("second stream: %s, %v", statuses(acks), err)
	}
	b.restart()
	acks, err = exchange(t, b.client("s1"), req(1), req(4), req(5))
	if err != nil || statuses(acks) != "DUPLICATE,DUPLICATE,STORED" {
		t.Fatalf("after restart: %s, %v", statuses(acks), err)
	}
	if n := storedPackets(t, b.st); n["s1"] != 500 || len(n) != 1 {
		t.Fatalf("stored %v packets, want s1: 500 (5 batches of 100)", n)
	}
	health, err := b.st.Health(context.Background())
	if err != nil || len(health) != 1 || health[0].Sensor != "s1" || health[0].Version != "test" || health[0].SpoolBatches != 3 {
		t.Fatalf("health %+v, %v", health, err)
	}
}

// openStream opens a stream as sensor name and has one batch of 10
// records to 198.18.1.1 stored through it.
func openStream(t *testing.T, c sensorv1connect.CollectorServiceClient, name string) *connect.BidiStreamForClient[sensorv1.SendRequest, sensorv1.SendResponse] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	s := c.Send(ctx)
	if err := s.Send(&sensorv1.SendRequest{Sensor: name, Batch: batch(t, 1, 1, 10, "198.18.1.1")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Receive(); err != nil || resp.GetAck().GetStatus() != sensorv1.Status_STATUS_STORED {
		t.Fatalf("first batch: %v, %v", resp, err)
	}
	return s
}

// TestIdentityComesFromTheCertificate: a sensor cannot speak for another.
func TestIdentityComesFromTheCertificate(t *testing.T) {
	b := newBed(t, "s1", "s2")
	s := openStream(t, b.client("s1"), "s1")
	s.Send(&sensorv1.SendRequest{Sensor: "s2", Batch: batch(t, 1, 2, 10, "198.18.2.1")}) //nolint:errcheck // the answer is the error below
	_, err := s.Receive()
	if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), `certificate is for sensor "s1", message says "s2"`) {
		t.Fatalf("err = %v, want permission denied naming both sensors", err)
	}
	if n := storedPackets(t, b.st); n["s1"] != 10 || len(n) != 1 {
		t.Fatalf("stored %v, want s1: 10 and nothing for s2", n)
	}
}

// revokeElsewhere revokes the sensor name through a second Registry on the
// same directory, as `nightjar ca revoke` does.
func revokeElsewhere(t *testing.T, b *bed, name string) {
	t.Helper()
	other, err := pki.Open(b.reg.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.Revoke(name); err != nil || n != 1 {
		t.Fatalf("revoke %s: %d, %v", name, n, err)
	}
}

// TestRevocationStopsAConnectedSensor: revoked by another process (a
// second Registry on the same directory, as `nightjar ca revoke` is), the
// sensor's open stream ends at its next message and it cannot reconnect.
func TestRevocationStopsAConnectedSensor(t *testing.T) {
	b := newBed(t, "s1")
	s := openStream(t, b.client("s1"), "s1")
	revokeElsewhere(t, b, "s1")
	time.Sleep(2 * pki.ReloadInterval)
	s.Send(&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 2, 10, "198.18.1.1")}) //nolint:errcheck // the answer is the error below
	if _, err := s.Receive(); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("after revocation: %v, want permission denied", err)
	}
	if _, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1"}); err == nil {
		t.Fatal("a revoked sensor reconnected")
	}
	if n := storedPackets(t, b.st); n["s1"] != 10 || len(n) != 1 {
		t.Fatalf("stored %v, want s1: 10", n)
	}
}

// TestRevocationClosesAnIdleStream: a sensor that sends nothing after its
// certificate is revoked (a heartbeat is 10 s away) has its stream closed
// within a second or so, not at its next message.
func TestRevocationClosesAnIdleStream(t *testing.T) {
	b := newBed(t, "s1")
	s := openStream(t, b.client("s1"), "s1")
	revokeElsewhere(t, b, "s1")
	revoked := time.Now()
	ended := make(chan error, 1)
	go func() { _, err := s.Receive(); ended <- err }()
	select {
	case err := <-ended:
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Fatalf("after revocation: %v, want permission denied", err)
		}
		t.Logf("idle stream closed %.2f s after the revocation", time.Since(revoked).Seconds())
	case <-time.After(3 * time.Second):
		t.Fatal("the idle stream of a revoked sensor is still open 3 s after the revocation")
	}
}

// TestRefusedClients: no certificate, or one from another CA.
func TestRefusedClients(t *testing.T) {
	b := newBed(t, "s1")
	ca := x509.NewCertPool()
	ca.AppendCertsFromPEM(b.reg.CAPEM())
	noCert := &tls.Config{RootCAs: ca, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	if _, err := exchange(t, clientWith(b.addr, noCert), &sensorv1.SendRequest{Sensor: "s1"}); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	foreign, err := pki.Init(filepath.Join(b.dir, "foreign"), pki.InitOptions{Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := foreign.Enroll(fleet.Sensor{Name: "s1", Group: "x", Addresses: []string{"198.18.1.0/24"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(creds.CertPEM, creds.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	impostor := &tls.Config{RootCAs: ca, ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	if _, err := exchange(t, clientWith(b.addr, impostor), &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 1, 10, "198.18.1.1")}); err == nil {
		t.Fatal("a certificate of another CA was accepted")
	}
	if n := storedPackets(t, b.st); len(n) != 0 {
		t.Fatalf("stored %v, want nothing", n)
	}
}

// TestCorruptBatchRejected: the batch is refused with a reason, the stream
// goes on.
func TestCorruptBatchRejected(t *testing.T) {
	b := newBed(t, "s1")
	bad := batch(t, 1, 1, 10, "198.18.1.1")
	bad.RecordsZstd = bad.RecordsZstd[:len(bad.RecordsZstd)/2]
	acks, err := exchange(t, b.client("s1"),
		&sensorv1.SendRequest{Sensor: "s1", Batch: bad},
		&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 2, 10, "198.18.1.1")})
	if err != nil || statuses(acks) != "REJECTED,STORED" || !strings.Contains(acks[0].GetMessage(), "corrupt batch") {
		t.Fatalf("acks %s (%v), %v", statuses(acks), acks, err)
	}
}

// slowStore is a store that takes delay for every Append, as a store under
// load does.
type slowStore struct {
	collector.Store
	delay time.Duration
}

func (s slowStore) Append(ctx context.Context, recs []record.Record, sensors []int32) error {
	time.Sleep(s.delay)
	return s.Store.Append(ctx, recs, sensors)
}

// TestBackpressure: when the store is slower than the sensors, the records
// waiting in the collector stay within its queue bound, and every batch is
// still stored.
func TestBackpressure(t *testing.T) {
	const queue, sensors, batches, size = 3000, 4, 25, 1000
	// Room for two of the requests on the wire: the streams, which would
	// hold eight (one each decoding, one each read ahead), wait for it.
	message := int64(proto.Size(&sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 1, size, "198.18.1.9")})) + 5
	wireBound := 2*message + message/2
	b := newBedWith(t, func(c *collector.Config) {
		c.Store = slowStore{c.Store, 10 * time.Millisecond}
		c.QueueRecords = queue
		c.QueueBytes = wireBound
	}, "s1", "s2", "s3", "s4")
	var peak, peakBytes atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				if q := b.c.QueuedRecords(); q > peak.Load() {
					peak.Store(q)
				}
				if q := b.c.QueuedBytes(); q > peakBytes.Load() {
					peakBytes.Store(q)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, sensors)
	for i := range sensors {
		name := fmt.Sprintf("s%d", i+1)
		dst := fmt.Sprintf("198.18.%d.9", i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs := make([]*sensorv1.SendRequest, batches)
			for j := range reqs {
				reqs[j] = &sensorv1.SendRequest{Sensor: name, Batch: batch(t, 1, uint64(j+1), size, dst)}
			}
			acks, err := exchange(t, b.client(name), reqs...)
			if err == nil && strings.Count(statuses(acks), "STORED") != batches {
				err = fmt.Errorf("%s: acks %s", name, statuses(acks))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("peak queue: %d records (bound %d), %d request bytes (bound %d)", peak.Load(), queue, peakBytes.Load(), wireBound)
	if peakBytes.Load() > wireBound || peakBytes.Load() < message {
		t.Errorf("%d request bytes held at the peak, want between one request (%d) and the bound (%d)", peakBytes.Load(), message, wireBound)
	}
	if n := b.c.QueuedBytes(); n != 0 {
		t.Errorf("%d request bytes still held after every batch was acknowledged", n)
	}
	if peak.Load() > queue {
		t.Fatalf("%d records queued, above the bound of %d", peak.Load(), queue)
	}
	if peak.Load() < queue/2 {
		t.Fatalf("the queue peaked at %d records: the store was not slow enough to test backpressure", peak.Load())
	}
	for _, f := range gather(t, b) {
		if f.GetName() == "nightjar_collector_ack_seconds" {
			if n := f.GetMetric()[0].GetHistogram().GetSampleCount(); n != sensors*batches {
				t.Errorf("nightjar_collector_ack_seconds counts %d acknowledgements, want %d", n, sensors*batches)
			}
		}
	}
	n := storedPackets(t, b.st)
	for i := range sensors {
		if got := n[fmt.Sprintf("s%d", i+1)]; got != batches*size {
			t.Fatalf("sensor s%d: %d packets stored, want %d", i+1, got, batches*size)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := collector.DefaultConfig()
	if c.CommitInterval != 200*time.Millisecond || c.CommitRecords != 1<<18 || c.RollupInterval != 30*time.Second ||
		c.QueueRecords != 1<<20 || c.Window != 32 || c.MaxFutureSkew != 24*time.Hour || c.Logger != nil || c.Now != nil {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	bad := collector.DefaultConfig()
	bad.Window = -1
	if err := bad.Check(); err == nil {
		t.Error("a negative window passes Check")
	}
}

// TestResendOlderThanTheWindow: after the ledger's window in memory has
// moved past a batch, the batch sent again is still a duplicate — before
// and after a restart — and a batch of a gap below the window, never
// stored, is stored.
func TestResendOlderThanTheWindow(t *testing.T) {
	b := newBed(t, "s1")
	req := func(epoch, seq uint64) *sensorv1.SendRequest {
		return &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, epoch, seq, 3, "198.18.1.7")}
	}
	// 1, 3, 5, ...: every batch a run of its own, more than the window holds.
	var odd []*sensorv1.SendRequest
	for seq := uint64(1); seq <= 2*collector.LedgerRuns+9; seq += 2 {
		odd = append(odd, req(9, seq))
	}
	acks, err := exchange(t, b.client("s1"), odd...)
	if err != nil || strings.Count(statuses(acks), "STORED") != len(odd) {
		t.Fatalf("first batches: %s, %v", statuses(acks), err)
	}
	acks, err = exchange(t, b.client("s1"), req(9, 1), req(9, 2), req(9, 3))
	if got, want := bySeq(acks), "9/1 DUPLICATE, 9/2 STORED, 9/3 DUPLICATE"; err != nil || got != want {
		t.Fatalf("below the window: %s, %v; want %s", got, err, want)
	}
	b.restart()
	acks, err = exchange(t, b.client("s1"), req(9, 1), req(9, 2), req(9, 4), req(10, 1))
	if got, want := bySeq(acks), "9/1 DUPLICATE, 9/2 DUPLICATE, 9/4 STORED, a/1 STORED"; err != nil || got != want {
		t.Fatalf("after a restart: %s, %v; want %s", got, err, want)
	}
	if n, want := storedPackets(t, b.st)["s1"], uint64(3*(len(odd)+3)); n != want {
		t.Fatalf("stored %d packets, want %d (%d batches of 3)", n, want, len(odd)+3)
	}
}

// blockedRoller is a store whose background rollup rebuild waits for
// gate, as a long one does.
type blockedRoller struct {
	collector.Store
	gate    chan struct{}
	started chan struct{}
	once    *sync.Once
}

func (s blockedRoller) RollUp(ctx context.Context) error {
	s.once.Do(func() { close(s.started) })
	<-s.gate
	return s.Store.(store.BackgroundRoller).RollUp(ctx)
}

// TestCommitsGoOnDuringARollup: while the rollups are being rebuilt in
// the background, batches are still committed and acknowledged; the
// rebuild then makes them visible.
func TestCommitsGoOnDuringARollup(t *testing.T) {
	gate, started := make(chan struct{}), make(chan struct{})
	var open sync.Once
	b := newBedWith(t, func(c *collector.Config) {
		c.Store = blockedRoller{Store: c.Store, gate: gate, started: started, once: &sync.Once{}}
		c.RollupInterval = 50 * time.Millisecond
	}, "s1")
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	if _, err := exchange(t, b.client("s1"), &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, 1, 10, "198.18.1.1")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no background rollup started")
	}
	var reqs []*sensorv1.SendRequest
	for seq := uint64(2); seq <= 6; seq++ {
		reqs = append(reqs, &sensorv1.SendRequest{Sensor: "s1", Batch: batch(t, 1, seq, 10, "198.18.1.1")})
	}
	acks, err := exchange(t, b.client("s1"), reqs...)
	if err != nil || statuses(acks) != "STORED,STORED,STORED,STORED,STORED" {
		t.Fatalf("batches sent during the rebuild: %s, %v; want all STORED", statuses(acks), err)
	}
	open.Do(func() { close(gate) })
	b.stop() // the last rebuild at shutdown
	st, err := duckdb.Open(context.Background(), b.dbPath, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := storedPackets(t, st); got["s1"] != 60 {
		t.Errorf("packets stored = %v, want 60", got)
	}
}
