package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/attribution"
	"github.com/nightjar-telescope/nightjar/internal/banner"
	"github.com/nightjar-telescope/nightjar/internal/devices"
	devprobe "github.com/nightjar-telescope/nightjar/internal/probe"
)

func newDevicesCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices COMMAND",
		Short: "Identify the device models behind the scanning sources (import banners, probe, signatures)",
		Long: `Identifies the device models behind the source addresses — the routers,
cameras and CPE that send the scans (JPCERT/CC's TP-LINK routers, NICTER's
Logitec routers) — from what their own services answer: web page titles,
Server headers, authentication realms, TLS certificates, SSH, Telnet and
FTP greetings.

  import      read banner scans a team already has (zgrab2, Shodan, Censys,
              Nmap XML, masscan -oJ) into the database's device evidence
  probe       fetch the banners of a period's top sources yourself (off
              unless the configuration opts in)
  signatures  list or check the signature rules (shipped, and your own files)

The answers: nightjar query devices, /api/v1/devices, the dashboard's
Devices page and section 8 of nightjar report.`,
	}
	cmd.AddCommand(newDevicesImportCommand(g), newDevicesProbeCommand(g), newDevicesSignaturesCommand())
	return cmd
}

// loadSignatures loads the shipped rules and the user's files.
func loadSignatures(files []string) (*devices.Signatures, error) {
	sig, err := devices.Load(files...)
	if err != nil {
		return nil, fmt.Errorf("signatures: %w", err)
	}
	return sig, nil
}

// maxSkipsShown is how many malformed lines of a file import prints;
// the rest are counted.
const maxSkipsShown = 20

func newDevicesImportCommand(g *globalOptions) *cobra.Command {
	var (
		db, format string
		sigFiles   []string
	)
	cmd := &cobra.Command{
		Use:   "import --db PATH [--format F] [--signatures FILE]... FILE...",
		Short: "Import banner scans (zgrab2, Shodan, Censys, Nmap XML, masscan) as device evidence",
		Long: `Reads banner scan files, matches every banner against the signatures, stores
each match as evidence of its address (with the file, the port, the time of
the scan and the rule), and attributes every address that gained evidence
again from all of its evidence — files imported on different days decide
together. Importing a file twice stores its evidence once.

Formats (detected from the first bytes unless --format is given; .gz files
and gzip'd exports are read as such):
  zgrab2   zgrab2 NDJSON (http, tls, ssh, telnet, ftp modules)
  shodan   Shodan banner NDJSON (shodan download / the API's export)
  censys   Censys host JSON (NDJSON of hosts, or one array)
  nmap     Nmap XML (-oX), with -sV and the http-title, ssl-cert scripts
  masscan  masscan -oJ with --banners

A malformed line is reported with its line number and counted, never fatal;
files of millions of lines stream in bounded memory. Evidence is kept for
any address; the questions join it with the sources that scanned.`,
		Example: `  nightjar devices import --db telescope.duckdb shodan-export.json.gz
  nightjar devices import --db telescope.duckdb --format zgrab2 scan-80.json scan-443.json
  nightjar devices import --db telescope.duckdb --signatures our-rules.yaml nmap-sV.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return errors.New("--db PATH is required")
			}
			if len(args) == 0 {
				return errors.New("give the banner FILEs to import")
			}
			var f banner.Format
			if format != "" {
				var err error
				if f, err = banner.ParseFormat(format); err != nil {
					return err
				}
			}
			for _, path := range args {
				if _, err := os.Stat(path); err != nil {
					return fmt.Errorf("banner file: %w", err)
				}
			}
			sig, err := loadSignatures(sigFiles)
			if err != nil {
				return err
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			return importBanners(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), attribution.New(st, sig, g.now), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "database `PATH` (it must exist: its sources are what the devices are for)")
	fl.StringVar(&format, "format", "", "banner format: "+formatNames()+" (default: detected per file)")
	fl.StringSliceVar(&sigFiles, "signatures", nil, "YAML `FILE` of your own signature rules, beside the shipped ones (a rule with a shipped id replaces it; repeat for several)")
	return cmd
}

func formatNames() string {
	formats := banner.Formats()
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// importBanners reads each file into the Attributor, reporting malformed
// lines on errw, and prints what each file and the whole import gave. A
// file that fails (unreadable, a truncated gzip) or an interrupt stops the
// import, but what was read up to there is stored.
func importBanners(ctx context.Context, out, errw io.Writer, at *attribution.Attributor, f banner.Format, paths []string) (err error) {
	defer func() {
		if err != nil {
			if ferr := at.Flush(context.WithoutCancel(ctx)); ferr != nil {
				err = errors.Join(err, fmt.Errorf("store what was read before: %w", ferr))
			}
		}
	}()
	start := time.Now()
	lines := 0
	progress := newProgressLine(errw, len(paths)).counting("lines")
	defer progress.done()
	for _, path := range paths {
		before := at.Stats()
		r, oerr := banner.Open(path, f)
		if oerr != nil {
			return oerr
		}
		progress.nextFile(uint64(lines))
		skips, rerr := readBanners(ctx, errw, r, at, path, func() { progress.update(path, 0, 0, uint64(r.Lines())) })
		lines += r.Lines()
		if cerr := r.Close(); rerr == nil {
			rerr = cerr
		}
		if rerr != nil {
			return fmt.Errorf("%s: %w", path, rerr)
		}
		got := at.Stats()
		fmt.Fprintf(out, "%s: %s lines (%s), %s banners, %s matched a signature, %s malformed lines skipped\n", path, analyze.Thousands(uint64(r.Lines())),
			r.Format(), analyze.Thousands(uint64(got.Banners-before.Banners)), analyze.Thousands(uint64(got.Matched-before.Matched)), analyze.Thousands(uint64(skips)))
	}
	if err := at.Flush(ctx); err != nil {
		return err
	}
	s := at.Stats()
	elapsed := time.Since(start)
	fmt.Fprintf(out, "imported %s banners from %d files in %.1fs (%s lines/s): %s new evidence rows; %s addresses attributed, %s with conflicting evidence\n",
		analyze.Thousands(uint64(s.Banners)), len(paths), elapsed.Seconds(), analyze.Thousands(uint64(float64(lines)/max(elapsed.Seconds(), 1e-3))),
		analyze.Thousands(uint64(s.Evidence)), analyze.Thousands(uint64(s.Attributed)), analyze.Thousands(uint64(s.Conflicts)))
	return nil
}

// readBanners adds every banner of r, printing the first malformed lines
// and counting all of them, and calling progress now and then.
func readBanners(ctx context.Context, errw io.Writer, r *banner.Reader, at *attribution.Attributor, path string, progress func()) (int, error) {
	name := filepath.Base(path)
	skips := 0
	var rec banner.Record
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if ctx.Err() != nil {
				return skips, ctx.Err()
			}
			progress()
		}
		err := r.Next(&rec)
		var skip *banner.SkipError
		switch {
		case errors.Is(err, io.EOF):
			if skips > maxSkipsShown {
				fmt.Fprintf(errw, "%s: %d more malformed lines skipped\n", path, skips-maxSkipsShown)
			}
			return skips, nil
		case errors.As(err, &skip):
			skips++
			if skips <= maxSkipsShown {
				fmt.Fprintf(errw, "%s:%d: skipped: %s\n", path, skip.Line, skip.Reason)
			}
			continue
		case err != nil:
			return skips, err
		}
		if err := at.Add(ctx, &rec, name); err != nil {
			return skips, err
		}
	}
}

// probeSettings is the configuration of devices probe: the probe's, under
// probe:, in the --config file.
type probeSettings struct {
	Probe devprobe.Config `yaml:"probe"`
}

func (s probeSettings) check() error {
	if !s.Probe.Enabled {
		return devprobe.ErrDisabled
	}
	return s.Probe.Validate()
}

func newDevicesProbeCommand(g *globalOptions) *cobra.Command {
	var (
		db       string
		per      periodOptions
		top      int
		sigFiles []string
		d        daemonFlags
	)
	cmd := &cobra.Command{
		Use:   "probe --db PATH --config FILE (--period P | --from D --to D) [--top N]",
		Short: "Fetch the banners of a period's top scanning sources (opt-in; polite and bounded)",
		Long: `Fetches, from the period's top scanning sources, what analysts fetch by hand
to identify a device: the first page of its web interface over HTTP and
HTTPS on the configured ports, its TLS certificate and its favicon — then
stores the matches as evidence and attributes the sources, as devices import
does.

Probing connects to hosts you do not own, so it runs only when the
configuration file opts in:

  probe:
    enabled: true
    contact: https://telescope.example.org/probing   # in the User-Agent
    http_ports: [80, 8080]
    https_ports: [443, 8443]
    max_targets: 100        # addresses per run
    rate: 5                 # connections per second, for the whole run
    timeout: 5s             # per connection
    exclude: [192.0.2.0/24] # never contacted
    request_log: probe-requests.jsonl

It sends one GET of / and of /favicon.ico per service and nothing else: no
credentials, no cookies, no redirect followed, a fixed User-Agent
(Nightjar-probe/<version> (+contact)). Private, loopback and other
non-global addresses are never contacted, nor are sources on a
research-scanner list. Every request is logged.`,
		Example: `  nightjar devices probe --db telescope.duckdb --config probe.yaml --period 2024-07 --top 50`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg probeSettings
			return runDaemon(cmd, &d, &cfg, probeSettings{Probe: devprobe.DefaultConfig()}, func(probeSettings) error {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "configuration ok: probing is enabled")
				return err
			}, func(cfg probeSettings) error {
				if db == "" {
					return errors.New("--db PATH is required")
				}
				p, err := per.resolve()
				if err != nil {
					return err
				}
				sig, err := loadSignatures(sigFiles)
				if err != nil {
					return err
				}
				logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
				prober, err := devprobe.New(logger, cfg.Probe, devprobe.Deps{Clock: g.now, Version: version})
				if err != nil {
					return err
				}
				st, err := openExisting(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer st.Close()
				res, err := attribution.ProbeSources(cmd.Context(), st, prober, attribution.New(st, sig, g.now), p, top)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), res)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	per.addFlags(f)
	f.IntVar(&top, "top", 100, "probe the top `N` sources of the period by packets (at most the configuration's max_targets are contacted)")
	f.StringSliceVar(&sigFiles, "signatures", nil, "YAML `FILE` of your own signature rules, beside the shipped ones")
	d.add(f, "devices-probe")
	return cmd
}

func newDevicesSignaturesCommand() *cobra.Command {
	var sigFiles []string
	cmd := &cobra.Command{
		Use:   "signatures [--signatures FILE]...",
		Short: "Check the signature rules and count them by field",
		Long: `Loads the shipped signature rules (Nightjar's own and those imported from
Rapid7's recog) and your --signatures files, reports any error with its
file, rule and line, and prints how many rules read each banner field.

A rule file:

  rules:
    - id: acme-router-title          # a rule with a shipped id replaces it
      vendor: ACME
      kind: router                   # router, camera, nas, ont, cpe, ap, ...
      field: http.title              # http.title, http.server, http.www_authenticate,
                                     # http.body, http.favicon_md5, tls.subject,
                                     # tls.issuer, tls.san, ssh, telnet, ftp, upnp
      pattern: '^ACME (?P<model>R[0-9]+) login$'   # RE2; the model from its group,
                                     # or model: fixed text or "ACME ${model}"
      firmware: 'fw_ver = "([0-9.]+)"'   # optional: one group, read from
      firmware_field: http.body      # this field (default: the rule's field);
                                     # or a (?P<firmware>...) group in the pattern
      confidence: 0.9                # how sure one match alone is, (0, 1]
      source: "what the device shows, and how you know"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := loadSignatures(sigFiles)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d rules\n", sig.Len())
			for _, fc := range sig.Fields() {
				fmt.Fprintf(w, "  %-24s %d\n", fc.Field, fc.Rules)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&sigFiles, "signatures", nil, "YAML `FILE` of your own rules to check with the shipped ones")
	return cmd
}
