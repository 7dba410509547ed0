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
)

// TestInterruptedReads: a command reading a FIFO nobody writes to, or whose
// writer fell silent, stops within seconds of the cancellation that a
// SIGINT or SIGTERM causes (main's signal.NotifyContext), saying so.
func TestInterruptedReads(t *testing.T) {
	t.Parallel()
	// pcap file header (tcpdump -X): magic a1b2c3d4 (little-endian),
	// version 2.4, snaplen 65535, link type 1 (Ethernet).
	header := []byte{
		0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	}
	for name, writes := range map[string][]byte{"no writer": nil, "silent writer": header} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "capture.pcap")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("no FIFO here: %v", err)
			}
			if writes != nil {
				go func() {
					w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
					if err != nil {
						return
					}
					defer w.Close()
					w.Write(writes)
					<-t.Context().Done()
				}()
			}
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"analyze", "-q", fifo}, strings.NewReader(""), &stdout, &stderr)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("analyze returned %v after it started, want within seconds of the cancellation", d)
			}
			if want := "nightjar: interrupted while reading " + fifo + "\n"; code != 1 || stderr.String() != want {
				t.Errorf("analyze: exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), want)
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
