//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// TestInterruptedReads: a command reading a FIFO nobody writes to, or whose
// writer fell silent, stops within seconds of the cancellation that a
// SIGINT or SIGTERM causes (main's signal.NotifyContext), saying so — the
// FIFO a capture, or the --sensors file (a shell's <(...)).
func TestInterruptedReads(t *testing.T) {
	t.Parallel()
	// pcap file header (tcpdump -X): magic a1b2c3d4 (little-endian),
	// version 2.4, snaplen 65535, link type 1 (Ethernet).
	header := []byte{
		0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	}
	for _, tc := range []struct {
		name   string
		writes []byte // nil: no writer
		args   func(fifo string) []string
		want   string // before the FIFO's path
	}{
		{"capture, no writer", nil, func(fifo string) []string { return []string{"analyze", "-q", fifo} }, "interrupted while reading "},
		{"capture, silent writer", header, func(fifo string) []string { return []string{"analyze", "-q", fifo} }, "interrupted while reading "},
		{"sensors, no writer", nil, func(fifo string) []string { return []string{"analyze", "-q", "--sensors", fifo, "capture.pcap"} },
			"interrupted while reading the sensors file "},
		{"sensors, silent writer", []byte("sensors:\n"), func(fifo string) []string { return []string{"analyze", "-q", "--sensors", fifo, "capture.pcap"} },
			"interrupted while reading the sensors file "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("no FIFO here: %v", err)
			}
			if tc.writes != nil {
				go func() {
					w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
					if err != nil {
						return
					}
					defer w.Close()
					w.Write(tc.writes)
					<-t.Context().Done()
				}()
			}
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			var stdout, stderr bytes.Buffer
			code := run(ctx, tc.args(fifo), strings.NewReader(""), &stdout, &stderr)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("returned %v after it started, want within seconds of the cancellation", d)
			}
			if want := "nightjar: " + tc.want + fifo + "\n"; code != 1 || stderr.String() != want {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), want)
			}
		})
	}
}

// TestIngestRefusesStreams: ingest hashes a capture before importing it,
// so it reads regular files only; /dev/zero or a FIFO would never end.
func TestIngestRefusesStreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "capture.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	sensors := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(sensors, []byte("sensors:\n  - {name: jp-1, group: Japan, addresses: [198.18.0.0/24]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{os.DevNull: "device", "/dev/zero": "device", fifo: "FIFO", dir: "directory"} {
		code, _, stderr := nightjar(t, "ingest", "-q", "--db", filepath.Join(dir, "t.duckdb"), "--sensors", sensors, path)
		if want := path + " is a " + kind; code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("ingest %s: exit %d, stderr %q; want exit 1 and %q", path, code, stderr, want)
		}
	}
}

// TestInterruptedLongReads: ingest hashing a huge capture, and the
// commands reading a huge sensors file, stop within seconds of the
// cancellation that a SIGINT or SIGTERM causes, and say what they were
// doing. Each is cancelled 200 ms after it opened the huge file, so that
// the cancellation falls in the work on that file.
func TestInterruptedLongReads(t *testing.T) {
	t.Parallel()
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skipf("no /proc/self/fd to see when a file is opened: %v", err)
	}
	dir := t.TempDir()
	sensors, hugeSensors := filepath.Join(dir, "fleet.yaml"), filepath.Join(dir, "huge-fleet.yaml")
	fleet.WriteLargeFile(t, sensors, 2)
	fleet.WriteLargeFile(t, hugeSensors, 200_000) // 22 MiB: seconds to parse
	// 16 GiB of zeros without disk space: tens of seconds to hash.
	hugeCapture := filepath.Join(dir, "huge.pcap")
	if err := os.WriteFile(hugeCapture, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(hugeCapture, 16<<30); err != nil {
		t.Skipf("no sparse 16 GiB file here: %v", err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		huge, want string
	}{
		{"ingest hashing a huge capture", []string{"ingest", "-q", "--db", filepath.Join(dir, "a.duckdb"), "--sensors", sensors, hugeCapture},
			hugeCapture, "interrupted while importing " + hugeCapture},
		{"ingest reading a huge sensors file", []string{"ingest", "-q", "--db", filepath.Join(dir, "b.duckdb"), "--sensors", hugeSensors, hugeCapture},
			hugeSensors, "interrupted while reading the sensors file " + hugeSensors},
		{"analyze reading a huge sensors file", []string{"analyze", "-q", "--sensors", hugeSensors, hugeCapture},
			hugeSensors, "interrupted while reading the sensors file " + hugeSensors},
		{"simulate reading a huge sensors file", []string{"simulate", "-q", "--sensors", hugeSensors, "--out", filepath.Join(dir, "sim.pcap")},
			hugeSensors, "interrupted while reading the sensors file " + hugeSensors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancelled := cancelAfterOpen(ctx, tc.huge, 200*time.Millisecond, cancel)
			var stdout, stderr bytes.Buffer
			code := run(ctx, tc.args, strings.NewReader(""), &stdout, &stderr)
			select {
			case at := <-cancelled:
				if d := time.Since(at); d > 5*time.Second {
					t.Errorf("returned %v after the cancellation, want within seconds", d)
				}
			default:
				t.Fatalf("returned before %s was opened and the command cancelled: exit %d, stderr %q", tc.huge, code, stderr.String())
			}
			if want := "nightjar: " + tc.want + "\n"; code != 1 || stderr.String() != want {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), want)
			}
		})
	}
}

// cancelAfterOpen calls cancel after this process has held path open for
// wait (it watches /proc/self/fd), and sends the time of the call.
func cancelAfterOpen(ctx context.Context, path string, wait time.Duration, cancel func()) <-chan time.Time {
	cancelled := make(chan time.Time, 1)
	go func() {
		for !isOpen(path) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		time.Sleep(wait)
		cancelled <- time.Now()
		cancel()
	}()
	return cancelled
}

// isOpen reports whether this process has path open.
func isOpen(path string) bool {
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}
