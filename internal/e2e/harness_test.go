package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// bins are the binaries under test, built once per test run.
var bins struct {
	once             sync.Once
	nightjar, sensor string
	err              error
}

func binaries(t *testing.T) (nightjar, sensor string) {
	t.Helper()
	bins.once.Do(func() {
		dir, err := os.MkdirTemp("", "nightjar-e2e-bin-")
		if err != nil {
			bins.err = err
			return
		}
		bins.nightjar, bins.sensor = filepath.Join(dir, "nightjar"), filepath.Join(dir, "nightjar-sensor")
		for _, b := range []struct {
			out, pkg string
			cgo      string
		}{{bins.nightjar, "../../cmd/nightjar", "1"}, {bins.sensor, "../../cmd/nightjar-sensor", "0"}} {
			cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
			if out, err := cmd.CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.nightjar, bins.sensor
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.nightjar != "" {
		os.RemoveAll(filepath.Dir(bins.nightjar))
	}
	os.Exit(code)
}

// proc is a daemon started by a test, its output kept in a log file that
// is printed when the test fails.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("--- %s log:\n%s", name, tail(out, 60))
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("%s exited with %v", p.name, err)
		}
		p.done <- nil
	case <-time.After(60 * time.Second):
		p.t.Fatalf("%s did not stop within 60 s", p.name)
	}
}

func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(10 * time.Second):
	}
}

// signal signals the process group: `ip netns exec` runs the daemon as its
// child.
func (p *proc) signal(sig syscall.Signal) {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, sig) //nolint:errcheck // may be gone
	}
}

func (p *proc) output() string {
	out, _ := os.ReadFile(p.log)
	return string(out)
}

func tail(b []byte, lines int) string {
	s := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(s[max(0, len(s)-lines):], "\n")
}

// inNamespace returns a command that runs name inside ns, in its own
// process group so that signals reach the daemon.
func inNamespace(l *testenv.Link, ns, name string, args ...string) *exec.Cmd {
	cmd := l.Command(ns, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs a command to completion (killed after two minutes) and returns
// its standard output; any exit status but 0 fails the test.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	return runExpect(t, 0, name, args...)
}

// runExpect is run for a command whose expected exit status is status
// (hping3 exits 1 when nothing answers, as nothing does at a telescope).
func runExpect(t *testing.T, status int, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != status {
		t.Fatalf("%s %s: %v (want exit status %d)\n%s%s", filepath.Base(name), strings.Join(args, " "), err, status, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// metrics scrapes a Prometheus endpoint inside a namespace and returns the
// value of every sample, keyed by name and labels as exposed.
func metrics(t *testing.T, client *http.Client, url string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// portCounts reads per-sensor, per-port packet counts from a JSON report
// of `nightjar query top-ports` or `nightjar analyze`.
func portCounts(t *testing.T, data string) map[string]map[string]uint64 {
	t.Helper()
	var rep struct {
		Sensors []struct {
			Sensor string `json:"sensor"` // query
			Name   string `json:"name"`   // analyze
			Ports  []struct {
				Port    string `json:"port"`
				Packets uint64 `json:"packets"`
			} `json:"top_ports"`
		} `json:"sensors"`
	}
	if err := json.Unmarshal([]byte(data), &rep); err != nil {
		t.Fatalf("parse report: %v\n%s", err, tail([]byte(data), 20))
	}
	out := map[string]map[string]uint64{}
	for _, s := range rep.Sensors {
		name := s.Sensor + s.Name
		out[name] = map[string]uint64{}
		for _, p := range s.Ports {
			out[name][p.Port] = p.Packets
		}
	}
	return out
}
