package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

type analyzeOptions struct {
	sensors  string
	format   string
	cfg      analyze.Config
	quiet    bool
	workers  int
	simulate bool
	sim      simulateOptions
}

func newAnalyzeCommand() *cobra.Command {
	o := analyzeOptions{cfg: analyze.DefaultConfig(), sim: defaultSimulateOptions()}
	cmd := &cobra.Command{
		Use:   "analyze [flags] FILE...",
		Short: "Summarise capture files per sensor",
		Long: `Reads pcap and pcapng captures (gzip or zstd compressed too; "-" is standard
input), decodes and fingerprints every packet, and summarises them per sensor
the way a monitoring team reads them: packets per sensor, the top destination
ports of each sensor side by side, packets per sensor per month, each group's
monthly average of packets per sensor, tag counts (mirai, zmap, masscan, nmap,
unicornscan, backscatter, spoofed) and the top sources.

Sensors come from --sensors FILE (YAML: a list of name, group, country,
description and addresses or prefixes); without it, every destination address
is a sensor of its own in the group "all".

A corrupt or truncated capture is reported with its byte offset; the packets
read before the damage are counted and the exit status is 1.

--workers N (default: every core the process may use) reads on N goroutines:
uncompressed pcap files are cut into byte ranges at record boundaries, and
other captures (compressed, pcapng, standard input) are decompressed by one
reader that hands blocks of packets to the workers. The report is the same
for every N, unicornscan tags included; --workers 1 reads on one goroutine.

With --simulate, a simulated fleet's traffic is generated first (see
"nightjar simulate"; its options are the --sim-* flags) and analysed with
the simulated fleet: a one-command look at what Nightjar reports.`,
		Example: `  nightjar analyze capture.pcap
  nightjar analyze --sensors fleet.yaml --top 5 --format json day1.pcap.gz day2.pcapng
  tcpdump -i eth0 -w - | nightjar analyze -
  nightjar analyze --simulate --sim-packets 5000000 --sim-days 30`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.sensors, "sensors", "", "YAML `FILE` describing the sensors (name, group, addresses)")
	f.IntVar(&o.cfg.Top, "top", o.cfg.Top, "number of destination ports listed per sensor")
	f.IntVar(&o.cfg.Sources, "sources", o.cfg.Sources, "number of top sources listed")
	f.StringVar(&o.format, "format", "table", "output format: "+strings.Join(analyze.Formats, ", "))
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line on standard error")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "goroutines that decode and count (1: one, in capture order); the report is the same for any number")
	f.BoolVar(&o.simulate, "simulate", false, "simulate a fleet's traffic first and analyse it (no FILE needed)")
	o.sim.addFlags(f, "sim-")
	return cmd
}

// analyzeError is a failure after which the report was still printed.
type analyzeError struct{ msg string }

func (e *analyzeError) Error() string { return e.msg }
func (e *analyzeError) ExitCode() int { return 1 }

func runAnalyze(cmd *cobra.Command, o analyzeOptions, files []string) error {
	if !slices.Contains(analyze.Formats, o.format) {
		return fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(analyze.Formats, ", "))
	}
	if o.cfg.Top < 1 {
		return fmt.Errorf("--top must be at least 1, got %d", o.cfg.Top)
	}
	if o.cfg.Sources < 0 {
		return fmt.Errorf("--sources must not be negative, got %d", o.cfg.Sources)
	}
	if o.workers < 1 {
		return fmt.Errorf("--workers must be at least 1, got %d", o.workers)
	}
	var fl *fleet.Fleet
	if o.sensors != "" {
		var err error
		if fl, err = fleet.LoadContext(cmd.Context(), o.sensors); err != nil {
			return interrupted(cmd.Context(), err, "reading the sensors file "+o.sensors)
		}
	}
	stderr := cmd.ErrOrStderr()
	if o.simulate {
		if len(files) > 0 || o.sensors != "" {
			return errors.New("--simulate analyses its own capture and fleet: give no FILE and no --sensors")
		}
		dir, err := os.MkdirTemp("", "nightjar-simulate-")
		if err != nil {
			return err
		}
		path := filepath.Join(dir, "simulated.pcap")
		if fl, err = o.sim.run(cmd.Context(), path, stderr, o.quiet); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "simulated capture kept in %s\n", path)
		files = []string{path}
	}
	if len(files) == 0 {
		return errors.New("no capture files given (use FILE..., \"-\" for standard input, or --simulate)")
	}

	a := analyze.New(o.cfg, fl)
	var progress *progressLine
	if !o.quiet {
		progress = newProgressLine(stderr, len(files))
	}
	inputs := make([]analyze.Input, len(files))
	for i, path := range files {
		inputs[i] = analyze.Input{Path: path}
		if path == "-" {
			inputs[i].Stream = cmd.InOrStdin()
		}
	}
	var cb analyze.InputProgress
	if progress != nil {
		current, before, last := -1, uint64(0), uint64(0) // input shown, frames of the inputs before it
		cb = func(i int, done, total int64, frames uint64) {
			for ; current < i; current++ {
				before += last
				last = 0
				progress.nextFile(before)
			}
			last = frames
			progress.update(files[i], done, total, frames)
		}
	}
	errs := a.ReadAll(cmd.Context(), inputs, o.workers, cb)
	progress.done()
	var failed int
	for i, err := range errs {
		if err == nil {
			continue
		}
		if cmd.Context().Err() != nil {
			return fmt.Errorf("interrupted while reading %s", files[i])
		}
		fmt.Fprintf(stderr, "nightjar: %v\n", err)
		failed++
	}
	progress.done()
	if err := a.Report().Write(cmd.OutOrStdout(), o.format); err != nil {
		return err
	}
	if failed > 0 {
		return &analyzeError{fmt.Sprintf("%d of %d capture file(s) could not be read to the end; the report counts the packets read before each error", failed, len(files))}
	}
	return nil
}
