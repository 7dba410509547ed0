package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/decode"
	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/simulate"
)

// simulateOptions are the simulator's flags, shared by "simulate" and
// "analyze --simulate".
type simulateOptions struct {
	cfg      simulate.Config
	start    string
	days     float64
	sensors  string
	truth    string
	fleetOut string
	// geography is where to write the simulated Internet's GeoIP/ASN
	// database (simulate.Geography), for ingest --geoip.
	geography string
	// research is where to write the simulated Internet's research
	// scanners as a scanner list, for ingest --scanner-list.
	research string
	// banners is the directory to write banner scans of the sources into,
	// one file per format, with the attribution they call for
	// (simulate.WriteBanners).
	banners string
	// events is a YAML list of events to inject (simulate.LoadEvents);
	// scenario lays out simulate.AlertScenario instead. Either writes the
	// events' ground truth to eventsTruth.
	events      string
	scenario    bool
	eventsTruth string
	// packetsSet is true when --packets was given: it then wins over the
	// scenario's own count.
	packetsSet bool
	// end is where the period ends when --start is not given (default:
	// the start of today by the wall clock; `nightjar simulate` and the
	// demo end it now, by their clock).
	end time.Time
}

func defaultSimulateOptions() simulateOptions {
	return simulateOptions{cfg: simulate.DefaultConfig(), days: 90}
}

func (o *simulateOptions) addFlags(f *pflag.FlagSet, prefix string) {
	f.Uint64Var(&o.cfg.Packets, prefix+"packets", o.cfg.Packets, "number of packets to simulate")
	f.Uint64Var(&o.cfg.Seed, prefix+"seed", o.cfg.Seed, "random seed: the same seed and options give the same capture")
	f.StringVar(&o.start, prefix+"start", "", "first day of the period, YYYY-MM-DD (UTC); default: --days before now (the clock of --now)")
	f.Float64Var(&o.days, prefix+"days", o.days, "length of the period in days")
	f.IntVar(&o.cfg.Sources, prefix+"sources", o.cfg.Sources, "size of the pool of source addresses")
}

// config resolves the flags into a simulator configuration.
func (o *simulateOptions) config(fl *fleet.Fleet) (simulate.Config, error) {
	cfg := o.cfg
	cfg.Fleet = fl
	if !(o.days > 0) {
		return cfg, fmt.Errorf("--days must be positive, got %v", o.days)
	}
	cfg.Duration = time.Duration(o.days * float64(24*time.Hour))
	if o.start == "" {
		end := o.end
		if end.IsZero() {
			end = time.Now().UTC().Truncate(24 * time.Hour)
		}
		cfg.Start = end.Add(-cfg.Duration)
	} else {
		t, err := time.Parse(time.DateOnly, o.start)
		if err != nil {
			return cfg, fmt.Errorf("--start %q: want a date like 2024-07-01", o.start)
		}
		cfg.Start = t
	}
	if cfg.Packets == 0 {
		return cfg, errors.New("--packets must be at least 1")
	}
	return cfg, cfg.Validate()
}

// run simulates into path and returns the fleet it used.
func (o *simulateOptions) run(ctx context.Context, path string, stderr io.Writer, quiet bool) (*fleet.Fleet, error) {
	fl := simulate.DefaultFleet()
	if o.sensors != "" {
		var err error
		if fl, err = fleet.LoadContext(ctx, o.sensors); err != nil {
			return nil, interrupted(ctx, err, "reading the sensors file "+o.sensors)
		}
	}
	cfg, err := o.config(fl)
	if err != nil {
		return nil, err
	}
	if cfg, err = o.withEvents(cfg); err != nil {
		return nil, err
	}
	w, err := capfile.Create(path, uint32(decode.LinkEthernet))
	if err != nil {
		return nil, err
	}
	var progress func(done, total uint64)
	if !quiet {
		if line := newProgressLine(stderr, 1); line != nil {
			progress = func(done, total uint64) {
				line.update("simulating "+path, int64(done), int64(total), done)
			}
			defer line.done()
		}
	}
	truth, err := simulate.Run(ctx, cfg, w, progress)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("simulate into %s: %w", path, err)
	}
	if o.truth != "" {
		if err := writeFile(o.truth, truth.WriteJSON); err != nil {
			return nil, fmt.Errorf("write ground truth: %w", err)
		}
	}
	if truth.Events != nil && o.eventsTruth != "" {
		if err := writeFile(o.eventsTruth, truth.Events.WriteJSON); err != nil {
			return nil, fmt.Errorf("write the events' ground truth: %w", err)
		}
	}
	if o.fleetOut != "" {
		data, err := fl.Marshal()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(o.fleetOut, data, 0o644); err != nil {
			return nil, fmt.Errorf("write fleet: %w", err)
		}
	}
	if o.geography != "" {
		if err := origins.Write(o.geography, "Nightjar-Simulated-Geography", simulate.Geography()); err != nil {
			return nil, err
		}
	}
	if o.research != "" {
		if err := writeResearchList(o.research); err != nil {
			return nil, err
		}
	}
	if o.banners != "" {
		if _, err := simulate.WriteBanners(o.banners, truth); err != nil {
			return nil, fmt.Errorf("write banners: %w", err)
		}
	}
	fmt.Fprintf(stderr, "simulated %s packets for %d sensors from %s to %s\n",
		analyze.Thousands(cfg.Packets), len(fl.Sensors), cfg.Start.Format(time.DateOnly), cfg.Start.Add(cfg.Duration).Format(time.DateOnly))
	if truth.Events != nil {
		var packets, dropped uint64
		for _, e := range truth.Events.Events {
			packets += e.Packets
			dropped += e.Dropped
		}
		fmt.Fprintf(stderr, "injected %d events: %s packets written, %s dropped by outages; their ground truth is in %s\n",
			len(truth.Events.Events), analyze.Thousands(packets), analyze.Thousands(dropped), o.eventsTruth)
	}
	return fl, nil
}

// withEvents adds to cfg the events of --events, or lays out the alert
// scenario over cfg's start, fleet and seed (keeping --sources, and
// --packets when given).
func (o *simulateOptions) withEvents(cfg simulate.Config) (simulate.Config, error) {
	switch {
	case o.scenario:
		sc, err := simulate.AlertScenario(cfg.Start, cfg.Fleet, cfg.Seed)
		if err != nil {
			return cfg, err
		}
		sc.Sources = cfg.Sources
		if o.packetsSet {
			sc.Packets = cfg.Packets
		}
		return sc, sc.Validate()
	case o.events != "":
		f, err := os.Open(o.events)
		if err != nil {
			return cfg, fmt.Errorf("read events: %w", err)
		}
		defer f.Close()
		if cfg.Events, err = simulate.LoadEvents(f); err != nil {
			return cfg, fmt.Errorf("%s: %w", o.events, err)
		}
		if err := cfg.Validate(); err != nil {
			return cfg, fmt.Errorf("%s: %w", o.events, err)
		}
	}
	return cfg, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newSimulateCommand(g *globalOptions) *cobra.Command {
	o := defaultSimulateOptions()
	var out string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "simulate --out FILE [flags]",
		Short: "Write a pcap of simulated darknet traffic for a fleet of sensors",
		Long: `Writes a capture of what a fleet of darknet sensors would receive: Mirai-like
telnet scanning (23, 2323 and variant ports), ZMap, Masscan, Nmap and
unicornscan scanners, generic scanners with a heavy-tailed port popularity,
ICMP and UDP probes, backscatter from DoS victims and spoofed-looking
packets, with heavy-tailed per-source activity and a daily cycle.

The fleet comes from --sensors FILE (the YAML that "analyze --sensors" reads);
by default, three sensors in the group "Japan" and three "overseas". The
period is --days from --start, or the --days up to now (the instant of
"nightjar --now", or the wall clock). The output is seeded: the same
--seed, --start and options give the same capture. --truth writes what was generated as JSON
(packets per sensor, port, month and tag; packets and tags per source) and
--fleet-out the fleet, so that "nightjar analyze --sensors" can read it back;
--geography-out the simulated Internet's GeoIP/ASN database, so that
"nightjar ingest --geoip" places every source in a country and a network;
--research-out its research scanners' networks as a scanner list, for
"nightjar ingest --scanner-list";
--banners-out DIR a banner scan of the sources' own services (the routers,
cameras and CPE behind the Mirai-like and scanning sources), one file per
format "nightjar devices import" reads, and devices-truth.json, the
device each source must be attributed.
--events FILE injects labelled events (a YAML list: kind port-campaign,
fleet-surge, mirai-spread, sensor-outage, backscatter-burst or
research-scan; start, duration, and sensor, group, port, protocol, rate,
sources as the kind takes them), and --alert-scenario a quarter of them
laid out to evaluate alert detectors (13 weeks from --start); either writes
the events' ground truth to --events-truth (default events-truth.json
beside --out).
A name ending in .gz or .zst is compressed; "-" writes to standard output.`,
		Example: `  nightjar simulate --out sim.pcap --fleet-out fleet.yaml
  nightjar analyze --sensors fleet.yaml sim.pcap
  nightjar simulate --out q3.pcap.zst --start 2024-07-01 --days 92 --packets 10000000 --truth q3.json
  nightjar --now 2027-01-01T00:01:00Z simulate --out newyear.pcap --days 90`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q (the output file goes in --out)", args[0])
			}
			if out == "" {
				return errors.New("--out FILE is required (\"-\" for standard output)")
			}
			o.end = g.now().UTC()
			if o.scenario {
				if o.events != "" {
					return errors.New("--alert-scenario lays out its own events: leave --events out")
				}
				if cmd.Flags().Changed("days") {
					return fmt.Errorf("--alert-scenario lasts %d weeks: leave --days out", simulate.AlertScenarioWeeks)
				}
				o.days = simulate.AlertScenarioWeeks * 7
				o.packetsSet = cmd.Flags().Changed("packets")
			}
			if (o.events != "" || o.scenario) && o.eventsTruth == "" {
				dir := "."
				if out != "-" {
					dir = filepath.Dir(out)
				}
				o.eventsTruth = filepath.Join(dir, simulate.EventsTruthFile)
			}
			_, err := o.run(cmd.Context(), out, cmd.ErrOrStderr(), quiet || out == "-")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "capture `FILE` to write (.gz/.zst compress; - for standard output)")
	f.StringVar(&o.sensors, "sensors", "", "YAML `FILE` describing the fleet (default: 3 sensors in Japan, 3 overseas)")
	f.StringVar(&o.truth, "truth", "", "write the ground truth as JSON to `FILE`")
	f.StringVar(&o.fleetOut, "fleet-out", "", "write the fleet used as YAML to `FILE`")
	f.StringVar(&o.research, "research-out", "", "write the simulated Internet's research scanners' networks as a scanner list to `FILE`, for ingest --scanner-list")
	f.StringVar(&o.geography, "geography-out", "", "write the simulated Internet's GeoIP/ASN database (countries and networks of every source) to `FILE`, for ingest --geoip")
	f.StringVar(&o.banners, "banners-out", "", "write a banner scan of the sources into `DIR`: banners.zgrab2.json, banners.shodan.json.gz, banners.censys.json, banners.nmap.xml, banners.masscan.json, and devices-truth.json")
	f.StringVar(&o.events, "events", "", "inject the events of the YAML `FILE` (a list of kind, start, duration, sensor, group, port, protocol, rate, sources)")
	f.BoolVar(&o.scenario, "alert-scenario", false, "inject the alert-evaluation quarter's events (13 weeks from --start, laid out from --seed; 10,000,000 packets unless --packets)")
	f.StringVar(&o.eventsTruth, "events-truth", "", "write the events' ground truth as JSON to `FILE` (default: "+simulate.EventsTruthFile+" beside --out)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line on standard error")
	o.addFlags(f, "")
	return cmd
}
