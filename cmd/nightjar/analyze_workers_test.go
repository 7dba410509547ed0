package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// TestAnalyzeWorkers: run as a user would, `nightjar analyze --format
// json` prints byte for byte the same report with --workers 2, 3 and 4 as
// with --workers 1: for the scanner captures (every destination its own
// sensor), and for a simulated fleet's quarter — plain (byte ranges),
// zstd-compressed (blocks of frames), both with a copy cut short, and on
// standard input.
func TestAnalyzeWorkers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sim, fleet := filepath.Join(dir, "sim.pcap"), filepath.Join(dir, "fleet.yaml")
	if code, _, stderr := nightjar(t, "simulate", "--quiet", "--out", sim, "--fleet-out", fleet,
		"--start", "2024-07-01", "--days", "92", "--packets", "150000", "--seed", "3"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	zst := filepath.Join(dir, "sim.pcap.zst")
	if code, _, stderr := nightjar(t, "simulate", "--quiet", "--out", zst,
		"--start", "2024-07-01", "--days", "92", "--packets", "150000", "--seed", "3"); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(sim)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)/2+3], 0o644); err != nil {
		t.Fatal(err)
	}
	scanners, err := filepath.Glob(filepath.Join(testenv.Corpus(t, "scanners"), "*.pcap"))
	if err != nil || len(scanners) == 0 {
		t.Fatalf("scanner corpus: %d files, %v", len(scanners), err)
	}

	tests := []struct {
		name     string
		args     []string
		stdin    []byte
		wantCode int
	}{
		{name: "scanners", args: scanners},
		{name: "simulated", args: []string{"--sensors", fleet, sim}},
		{name: "simulated, compressed and cut", args: []string{"--sensors", fleet, zst, cut, sim}, wantCode: 1},
		{name: "standard input", args: []string{"--sensors", fleet, "-"}, stdin: data},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want string
			for workers := 1; workers <= 4; workers++ {
				args := append([]string{"analyze", "--quiet", "--format", "json", "--workers", strconv.Itoa(workers)}, tt.args...)
				var out, errb bytes.Buffer
				code := run(t.Context(), args, bytes.NewReader(tt.stdin), &out, &errb)
				if code != tt.wantCode {
					t.Fatalf("--workers %d: exit %d, want %d: %s", workers, code, tt.wantCode, errb.String())
				}
				if workers == 1 {
					want = out.String()
					if !strings.Contains(want, `"unicornscan": `) || strings.Count(want, `"packets": 0,`) > 100 {
						t.Fatalf("--workers 1 printed no real report:\n%.500s", want)
					}
					continue
				}
				if out.String() != want {
					t.Errorf("--workers %d: report differs from --workers 1 (-got, +want):\n%s", workers, cmp.Diff(out.String(), want))
				}
			}
		})
	}
}

func TestAnalyzeWorkersFlag(t *testing.T) {
	t.Parallel()
	if code, _, stderr := nightjar(t, "analyze", "--workers", "0", "x.pcap"); code != 1 || !strings.Contains(stderr, "--workers must be at least 1") {
		t.Errorf("--workers 0: exit %d, stderr %q; want a refusal", code, stderr)
	}
	if _, stdout, _ := nightjar(t, "analyze", "--help"); !strings.Contains(stdout, "--workers N") || !strings.Contains(stdout, "byte ranges") {
		t.Errorf("analyze --help does not explain --workers:\n%s", stdout)
	}
}
