package analyze

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
)

// tinyParts cuts inputs into parts of a few packets, so that small
// captures cross many part boundaries.
var tinyParts = partSizes{rangeBytes: 700, blockBytes: 900, blockFrames: 7}

// analysis is one way of reading the same inputs.
type analysis struct {
	workers int
	sizes   partSizes
	unicorn int // the unicornscan book's bound (0: the default)
	// oneByOne reads each input by a ReadAll of its own, on 1, 2, 3, 1...
	// workers: the state carries from one call to the next.
	oneByOne bool
}

func (an analysis) report(t *testing.T, f *fleet.Fleet, inputs []Input) (*Report, []string) {
	t.Helper()
	a := New(Config{Top: 1 << 20, Sources: 1 << 30}, f)
	a.partSizes = an.sizes
	if an.unicorn > 0 {
		a.unicorn = fingerprint.NewUnicornBook(an.unicorn)
	}
	var errs []string
	keep := func(read []error) {
		for _, err := range read {
			if err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if !an.oneByOne {
		keep(a.ReadAll(t.Context(), inputs, an.workers, nil))
		return a.Report(), errs
	}
	for i := range inputs {
		keep(a.ReadAll(t.Context(), inputs[i:i+1], 1+i%3, nil))
	}
	return a.Report(), errs
}

// compareWorkers: for each bound of the unicornscan book, every number of
// workers and size of parts gives the one-goroutine report and errors.
func compareWorkers(t *testing.T, f *fleet.Fleet, inputs []Input, bounds ...int) map[int]*Report {
	t.Helper()
	byBound := map[int]*Report{}
	for _, bound := range bounds {
		want, wantErrs := analysis{workers: 1, unicorn: bound}.report(t, f, inputs)
		byBound[bound] = want
		for _, an := range []analysis{
			{workers: 2, unicorn: bound},
			{workers: 3, unicorn: bound, sizes: tinyParts},
			{workers: 4, unicorn: bound, sizes: partSizes{rangeBytes: 1 << 16, blockBytes: 1 << 16, blockFrames: 1 << 10}},
			{oneByOne: true, unicorn: bound, sizes: tinyParts},
		} {
			got, errs := an.report(t, f, inputs)
			if !bytes.Equal(jsonOf(t, got), jsonOf(t, want)) { // cmp.Diff only then: it is slow on big reports
				t.Errorf("%+v: Report() (-got, +want):\n%s", an, cmp.Diff(got, want))
			}
			if diff := cmp.Diff(errs, wantErrs); diff != "" {
				t.Errorf("%+v: ReadAll() errors (-got, +want):\n%s", an, diff)
			}
		}
	}
	return byBound
}

func jsonOf(t *testing.T, rep *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rep.Write(&b, "json"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func files(paths ...string) []Input {
	in := make([]Input, len(paths))
	for i, p := range paths {
		in[i] = Input{Path: p}
	}
	return in
}

// TestReadAllCorpus: the whole capture corpus as one run of 800-odd
// inputs — pcap and pcapng, link types nightjar skips, files it cannot
// read — gives the one-goroutine report, with every destination its own
// sensor (numbered by its first packet) and the scanners' unicornscan
// state kept across files, under the default bound and one small enough
// to reset many times.
func TestReadAllCorpus(t *testing.T) {
	t.Parallel()
	var paths []string
	for _, dir := range []string{"scanners", "tcpdump-tests"} {
		m, err := filepath.Glob(filepath.Join(testenv.Corpus(t, dir), "*.pcap*"))
		if err != nil || len(m) == 0 {
			t.Fatalf("corpus %s: %d files, %v", dir, len(m), err)
		}
		paths = append(paths, m...)
	}
	// Two files that fail: one cut inside a record, one that is no capture.
	dir := t.TempDir()
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	cut, junk := filepath.Join(dir, "cut.pcap"), filepath.Join(dir, "junk.pcap")
	if err := os.WriteFile(cut, data[:len(data)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("not a capture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := files(append(paths, cut, junk, paths[0])...)
	reports := compareWorkers(t, nil, inputs, 0, 4)
	rep := reports[0]
	if rep.Packets < 5_000 || len(rep.Sensors) < 100 || rep.Tags["masscan"] == 0 || rep.Tags["zmap"] == 0 {
		t.Errorf("corpus report: %d packets, %d sensors, tags %v; want a real workload", rep.Packets, len(rep.Sensors), rep.Tags)
	}
	var failed []string
	for _, f := range rep.Files {
		if f.Error != "" {
			failed = append(failed, filepath.Base(f.Path))
		}
	}
	if len(failed) < 2 || failed[len(failed)-2] != "cut.pcap" || failed[len(failed)-1] != "junk.pcap" {
		t.Errorf("files that failed: %q; want cut.pcap and junk.pcap among them", failed)
	}
}

// TestReadAllSimulated: a simulated quarter of the default fleet, as a
// plain pcap (byte ranges), the same compressed (blocks of frames) and a
// copy cut short inside a record, read together and apart.
func TestReadAllSimulated(t *testing.T) {
	t.Parallel()
	cfg := simulate.DefaultConfig()
	cfg.Packets = 200_000
	cfg.Sources = 30_000
	cfg.Start = time.Date(2024, 6, 20, 0, 0, 0, 0, time.UTC)
	cfg.Duration = 80 * 24 * time.Hour
	cfg.Fleet = simulate.DefaultFleet()
	dir := t.TempDir()
	plain := filepath.Join(dir, "sim.pcap")
	zst := filepath.Join(dir, "sim.pcap.zst")
	for _, path := range []string{plain, zst} {
		w, err := capfile.Create(path, uint32(decode.LinkEthernet))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := simulate.Run(t.Context(), cfg, w, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)*2/3+5], 0o644); err != nil {
		t.Fatal(err)
	}

	for name, inputs := range map[string][]Input{
		"plain":      files(plain),
		"compressed": files(zst),
		"together":   files(plain, cut, zst, plain),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reports := compareWorkers(t, cfg.Fleet, inputs, 0, 2000)
			if reports[0].Tags["unicornscan"] == 0 {
				t.Fatal("no unicornscan tag: the test does not cover the stateful rule")
			}
			if reports[0].Tags["unicornscan"] == reports[2000].Tags["unicornscan"] {
				t.Error("the book's resets changed no unicornscan tag: the small bound covers nothing")
			}
		})
	}
}

// TestReadAllStream: standard input (a Stream) reads as blocks of
// frames, and its error (a capture cut short) is the one-goroutine's.
func TestReadAllStream(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "syns.pcap")
	writeSYNs(t, path, 500)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = data[:len(data)-10]
	var reports []*Report
	var errs [][]string
	for _, an := range []analysis{{workers: 1}, {workers: 2, sizes: tinyParts}} {
		rep, e := an.report(t, nil, []Input{{Path: "-", Stream: bytes.NewReader(data)}})
		reports, errs = append(reports, rep), append(errs, e)
	}
	if diff := cmp.Diff(reports[1], reports[0]); diff != "" {
		t.Errorf("Report() of 2 workers (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(errs[1], errs[0]); diff != "" {
		t.Errorf("errors of 2 workers (-got, +want):\n%s", diff)
	}
	if len(errs[0]) != 1 || !strings.Contains(errs[0][0], "truncated") || reports[0].Frames != 499 {
		t.Errorf("a stream cut in its last record: errors %q, %d frames; want one truncation, 499 frames", errs[0], reports[0].Frames)
	}
}

// TestReadAllInterrupted: a run stopped after its first part returns
// (no worker left blocked), with the interruption as the error of every
// input it did not finish.
func TestReadAllInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var inputs []Input
	for _, name := range []string{"a.pcap", "b.pcap", "c.pcap"} {
		path := filepath.Join(dir, name)
		writeSYNs(t, path, 2000)
		inputs = append(inputs, Input{Path: path})
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := New(DefaultConfig(), nil)
	a.partSizes = tinyParts
	errs := a.ReadAll(ctx, inputs, 3, func(int, int64, int64, uint64) { cancel() })
	if !errors.Is(errs[len(errs)-1], context.Canceled) {
		t.Errorf("ReadAll() errors = %v, want the last input interrupted", errs)
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("input %d: error %v, want nil or the interruption", i, err)
		}
	}
	if rep := a.Report(); rep.Frames >= 6000 || len(rep.Files) != 3 {
		t.Errorf("Report() after the interruption: %d frames, %d files; want fewer than 6000, 3", rep.Frames, len(rep.Files))
	}
}
