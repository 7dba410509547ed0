package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/failpoint"
	"github.com/nightjar-telescope/nightjar/internal/pki"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// commitSteps are the failpoints of a commit: the raw records inserted,
// their import or ledger entries written, just before and just after the
// commit, and a rollup rebuilt but not committed.
var commitSteps = []string{
	"duckdb.flush.after-raw", "duckdb.flush.after-ledger", "duckdb.flush.before-commit",
	"duckdb.flush.after-commit", "duckdb.rollup.before-commit",
}

// killedAt checks that err is the end of a process killed by the
// failpoint fp, whose output is out.
func killedAt(t *testing.T, fp string, err error, out string) {
	t.Helper()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL || !strings.Contains(out, "failpoint "+fp) {
		t.Fatalf("want the process killed at failpoint %s, got %v:\n%s", fp, err, tail([]byte(out), 10))
	}
}

// TestIngestKilledAtEachCommitStep: `nightjar ingest` killed at each step
// of its commit, then run again, stores every packet once: the counts
// equal `nightjar analyze` of the capture.
func TestIngestKilledAtEachCommitStep(t *testing.T) {
	nj, _ := binaries(t)
	dir := t.TempDir()
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(twoSensorFleet), 0o600); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(dir, "sim.pcap")
	run(t, nj, "simulate", "-q", "--sensors", fleetFile, "--packets", "40000", "--start", "2026-06-01", "--days", "2", "--out", pcap)
	want := portCounts(t, run(t, nj, "analyze", "-q", "--sensors", fleetFile, "--top", "100000", "--format", "json", pcap))
	for _, fp := range commitSteps {
		t.Run(fp, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "t.duckdb")
			cmd := exec.Command(nj, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap)
			cmd.Env = append(os.Environ(), failpoint.Env+"="+fp)
			out, err := cmd.CombinedOutput()
			killedAt(t, fp, err, string(out))
			run(t, nj, "ingest", "-q", "--db", db, "--sensors", fleetFile, pcap)
			got := portCounts(t, run(t, nj, "query", "top-ports", "--db", db, "--top", "100000", "--format", "json",
				"--from", "2026-06-01", "--to", "2026-06-03"))
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("stored per-sensor, per-port counts after the crash and a second ingest (-got, +want):\n%s", diff)
			}
		})
	}
}

// TestCollectorKilledAtEachCommitStep: a collector killed at each step of
// a commit, then started again on the same database, with its sensor
// sending again what was not acknowledged (as a sensor's spool does),
// stores every record once.
func TestCollectorKilledAtEachCommitStep(t *testing.T) {
	nj, _ := binaries(t)
	for _, fp := range commitSteps {
		t.Run(fp, func(t *testing.T) {
			dir := t.TempDir()
			registry, db := filepath.Join(dir, "registry"), filepath.Join(dir, "crash.duckdb")
			reg, err := pki.Init(registry, pki.InitOptions{Hosts: []string{"127.0.0.1"}})
			if err != nil {
				t.Fatal(err)
			}
			creds, err := enrollSensor(reg, dir, "crash-1", "198.18.1.0/24")
			if err != nil {
				t.Fatal(err)
			}
			s := newResendingSensor(t, "crash-1", creds, 30, 512)
			args := []string{"--db", db, "--ca", registry, "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--ui", "off",
				"--commit-interval", "50ms", "--rollup-interval", "200ms"}
			col, addr, _ := startLoopbackCollectorEnv(t, nj, []string{failpoint.Env + "=" + fp}, args...)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			// Send until the collector dies; for the rollup's failpoint
			// that is once a rollup runs, after the first commits.
			for s.send(ctx, addr) == nil && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
				s.resendAll() // keep the collector busy until it dies
			}
			select {
			case err := <-col.done:
				killedAt(t, fp, err, col.output())
				col.done <- err
			case <-time.After(time.Minute):
				t.Fatalf("the collector did not die at %s", fp)
			}
			col2, addr2, _ := startLoopbackCollector(t, nj, args...)
			for s.send(ctx, addr2) != nil {
				if ctx.Err() != nil {
					t.Fatalf("the sensor's batches were not all acknowledged after the restart")
				}
				time.Sleep(100 * time.Millisecond)
			}
			col2.stop()
			got := portCounts(t, run(t, nj, "query", "top-ports", "--db", db, "--top", "100000", "--format", "json",
				"--from", "2026-06-01", "--to", "2026-06-02"))
			if diff := cmp.Diff(got["crash-1"], s.want); diff != "" {
				t.Errorf("stored per-port counts after the crash and the restart (-got, +want):\n%s", diff)
			}
		})
	}
}

// resendingSensor sends its batches until each is acknowledged, again
// after a broken stream, as a sensor's spool does.
type resendingSensor struct {
	t       *testing.T
	name    string
	dial    func(addr string, opts ...connect.ClientOption) sensorv1connect.CollectorServiceClient
	batches []*sensorv1.Batch
	acked   []bool
	want    map[string]uint64
}

func newResendingSensor(t *testing.T, name, creds string, batches, records int) *resendingSensor {
	s := &resendingSensor{t: t, name: name, acked: make([]bool, batches), want: map[string]uint64{}, dial: clientFor(t, creds)}
	rng := rand.New(rand.NewPCG(5, 5))
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	for seq := range batches {
		recs := loadRecords(rng, record.MustParseAddr("198.18.1.0").Uint32(), t0+int64(seq)*int64(time.Second), records, time.Millisecond)
		for i := range recs {
			s.want[recs[i].PortLabel()]++
		}
		s.batches = append(s.batches, mustEncode(t, 1, uint64(seq+1), recs))
	}
	return s
}

// resendAll forgets the acks: everything is sent again (the collector's
// ledger answers DUPLICATE for what it stored).
func (s *resendingSensor) resendAll() { clear(s.acked) }

// send opens a stream to addr and sends the unacknowledged batches, at
// most 8 unanswered; it returns nil once every batch is acknowledged
// STORED or DUPLICATE, or the error that broke the stream.
func (s *resendingSensor) send(ctx context.Context, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream := s.dial(addr).Send(ctx)
	defer stream.CloseRequest() //nolint:errcheck
	var todo []*sensorv1.Batch
	for i, b := range s.batches {
		if !s.acked[i] {
			todo = append(todo, b)
		}
	}
	inFlight := 0
	for len(todo) > 0 || inFlight > 0 {
		for inFlight < 8 && len(todo) > 0 {
			if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Batch: todo[0]}); err != nil {
				return err
			}
			todo, inFlight = todo[1:], inFlight+1
		}
		resp, err := stream.Receive()
		if err != nil {
			return err
		}
		inFlight--
		a := resp.GetAck()
		switch a.GetStatus() {
		case sensorv1.Status_STATUS_STORED, sensorv1.Status_STATUS_DUPLICATE:
			s.acked[a.GetSeq()-1] = true
		default:
			return fmt.Errorf("batch %d acknowledged %v: %s", a.GetSeq(), a.GetStatus(), a.GetMessage())
		}
	}
	return nil
}
